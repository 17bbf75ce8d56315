#!/usr/bin/env bash
# The demo: builds the plugins and the `quiver` binary, shows what a plugin declares, then
# runs examples/demo/pipeline.toml over 100k+ bundled retail transactions to Parquet.
set -euo pipefail
cd "$(dirname "$0")/.."

# rust-toolchain.toml lists the target, but rustup adds it only when it installs the toolchain.
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

echo "== building the plugins (wasm32-wasip2 components)"
CARGO_TARGET_DIR=target/guests CARGO_PROFILE_RELEASE_DEBUG=false cargo build --release --target wasm32-wasip2 \
    -p passthrough -p map -p filter -p dedupe
echo "== building quiver"
cargo build --release -p quiver-cli

echo "== quiver plugin inspect dedupe.wasm"
"${CARGO_TARGET_DIR:-target}/release/quiver" plugin inspect target/guests/wasm32-wasip2/release/dedupe.wasm

echo "== quiver run examples/demo/pipeline.toml"
mkdir -p out
"${CARGO_TARGET_DIR:-target}/release/quiver" run examples/demo/pipeline.toml --report out/demo-report.json
echo "report: out/demo-report.json; output: out/demo.parquet"
