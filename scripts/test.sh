#!/usr/bin/env bash
# The whole test suite. `tests/build.rs` compiles the guest plugins to wasm first, so a
# fresh clone needs nothing but Rust (rust-toolchain.toml fetches the wasm32-wasip2 target).
# Release mode: the tests compile real plugins with cranelift, which is far slower unoptimised,
# and the demo shares the same build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release "$@"
