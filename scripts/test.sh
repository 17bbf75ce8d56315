#!/usr/bin/env bash
# The whole test suite. `tests/build.rs` compiles the Rust guest plugins to wasm first;
# `scripts/install-test-deps.sh` installs the S3-compatible server (moto, from PyPI) the
# object-store tests start; `scripts/toolchains/{python,js,c}.sh` install the pinned guest
# toolchains of the other SDK languages (componentize-py from PyPI, jco from npm, Debian's
# clang-19 and wasi-libc), cached under ${QUIVER_TOOLCHAINS:-~/.cache/quiver/toolchains}, so a
# fresh clone needs nothing but Rust, Python 3 and Node.js (plus root for apt on first use).
# They run here, one after the other, because the tests that use them run in parallel.
# Release mode: the tests compile real plugins with cranelift, which is far slower unoptimised,
# and the demo shares the same build.
set -euo pipefail
cd "$(dirname "$0")/.."
server="$(scripts/install-test-deps.sh | tail -n 1)"
QUIVER_TEST_VENV="$(dirname "$(dirname "$server")")"
export QUIVER_TEST_VENV
for lang in python js c; do
    scripts/toolchains/$lang.sh >/dev/null
done
# The Python SDK's own unit tests, in plain CPython (about a second).
python3 sdk/python/tests/run_local.py
# The JavaScript SDK's unit tests, in plain node against a fake host (about a second).
node --test sdk/js/test/
# The C SDK's unit tests (config reader, errors, bitmaps), compiled natively (about a second).
sdk/c/tests/run.sh
cargo test --release "$@"
