#!/usr/bin/env bash
# The C SDK's unit tests: common.c (config reader, errors, bitmaps) and tests/common_test.c,
# compiled natively with the host's C compiler (clang-19 from scripts/toolchains/c.sh, or CC)
# and run. Only the plain-C parts are tested here; the kernels run in the golden cases
# (runtime/cli/tests/cli/sdk.rs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cc="${CC:-$(command -v clang-19 || command -v cc)}"
out="$(mktemp -d "${TMPDIR:-/tmp}/quiver-c-test.XXXXXX")"
trap 'rm -rf "$out"' EXIT
# No sanitizers: Debian's clang-19 ships no native ASan runtime.
# -Wno-unknown-attributes: the bindings' wasm import attributes mean nothing natively (and
# nothing here calls an import).
"$cc" -std=c11 -O1 -g -Wall -Wextra -Wno-unused-parameter -Wno-unknown-attributes \
    -I"$here" \
    -o "$out/common_test" "$here/tests/common_test.c" "$here/common.c" -lm
"$out/common_test"
