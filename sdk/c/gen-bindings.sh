#!/usr/bin/env bash
# Regenerates sdk/c/bindings/ from wit/0.2.0 (world `plugin` of contract 0.2) with wit-bindgen-cli.
# The generated files are committed, so building a C plugin needs no wit-bindgen; run this
# only when wit/ changes. Needs `wit-bindgen` 0.63.0 on PATH (or WIT_BINDGEN=/path):
#   cargo install wit-bindgen-cli --version 0.63.0 --locked   (~4 min on 2 cores)
set -euo pipefail
WIT_BINDGEN_VERSION="0.63.0"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wb="${WIT_BINDGEN:-wit-bindgen}"
got="$("$wb" --version | awk '{print $2}')"
if [[ "$got" != "$WIT_BINDGEN_VERSION" ]]; then
    echo "error: $wb is version $got; the committed bindings are from $WIT_BINDGEN_VERSION" >&2
    exit 1
fi
rm -rf "$here/bindings"
mkdir -p "$here/bindings"
"$wb" c --world plugin --out-dir "$here/bindings" "$here/../../wit/0.2.0" >&2
echo "$here/bindings"
