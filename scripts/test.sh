#!/usr/bin/env bash
# The whole test suite. `tests/build.rs` compiles the guest plugins to wasm first, and
# `scripts/install-test-deps.sh` installs the S3-compatible server (moto, from PyPI) the
# object-store tests start, so a fresh clone needs nothing but Rust and Python 3.
# Release mode: the tests compile real plugins with cranelift, which is far slower unoptimised,
# and the demo shares the same build.
set -euo pipefail
cd "$(dirname "$0")/.."
server="$(scripts/install-test-deps.sh | tail -n 1)"
QUIVER_TEST_VENV="$(dirname "$(dirname "$server")")"
export QUIVER_TEST_VENV
cargo test --release "$@"
