#!/usr/bin/env bash
# The retail forecasting demo: builds the `quiver` binary (with its first-party plugins), then runs
# examples/retail/pipeline.toml over ~50k raw till sales (duplicates, missing values, bad rows,
# personal data): dedupe → impute → validate (bad rows to the dead-letter file) → anonymise →
# features → score (an XGBoost forecast) → Parquet. See examples/retail/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

# rust-toolchain.toml lists the target, but rustup adds it only when it installs the toolchain.
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

echo "== building quiver (and the first-party plugins it embeds)"
cargo build --release -p quiver-cli

echo "== quiver validate examples/retail/pipeline.toml"
"${CARGO_TARGET_DIR:-target}/release/quiver" validate examples/retail/pipeline.toml

echo "== quiver run examples/retail/pipeline.toml"
mkdir -p out
"${CARGO_TARGET_DIR:-target}/release/quiver" run examples/retail/pipeline.toml --report out/retail-report.json
echo "output: out/retail.parquet; rejected rows: out/retail-dead-letter.ndjson; report: out/retail-report.json"
