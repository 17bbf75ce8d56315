#!/usr/bin/env bash
# The demo: builds the `quiver` binary (its build compiles the first-party plugins to
# wasm32-wasip2 components and embeds them), lists the plugins it carries, then runs
# examples/demo/pipeline.toml — which names its plugins: dedupe, filter, map — over 100k+
# bundled retail transactions to Parquet.
set -euo pipefail
cd "$(dirname "$0")/.."

# rust-toolchain.toml lists the target, but rustup adds it only when it installs the toolchain.
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

echo "== building quiver (and the first-party plugins it embeds)"
cargo build --release -p quiver-cli
quiver="${CARGO_TARGET_DIR:-target}/release/quiver"

echo "== quiver plugin list"
"$quiver" plugin list

echo "== quiver run examples/demo/pipeline.toml"
mkdir -p out
"$quiver" run examples/demo/pipeline.toml --report out/demo-report.json
echo "report: out/demo-report.json; output: out/demo.parquet"
