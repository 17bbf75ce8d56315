#!/usr/bin/env bash
# Builds a Python plugin folder into a Quiver plugin component.
#
#   sdk/python/build.sh SRC_DIR OUT.wasm
#
# SRC_DIR holds `app.py` (the module that ends with `Transform = quiver_sdk.export(...)`) and
# whatever else it imports or reads at import time (e.g. `config.schema.json`). The component
# targets world `plugin` of the repository's `wit/0.2.0` (quiver:transform@0.2.0) and bundles the
# SDK (`sdk/python/quiver_sdk`). componentize-py comes from scripts/toolchains/python.sh
# (installed on first use). Only SRC_DIR and the SDK are on the build's Python path:
# the machine's own site-packages are never bundled.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 SRC_DIR OUT.wasm" >&2
    exit 2
fi
src="$1"
out="$2"
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$sdk/../.." && pwd)"

if [[ ! -f "$src/app.py" ]]; then
    echo "error: $src/app.py not found (a plugin folder holds app.py)" >&2
    exit 1
fi
src="$(cd "$src" && pwd)"

cpy="$("$repo/scripts/toolchains/python.sh" | tail -n 1)"

mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
# Build from a staged copy: the build's Python writes __pycache__ next to what it imports,
# and the source tree stays untouched.
mkdir -p "$stage/app" "$stage/sdk" "$stage/env/lib/site-packages"
# Components (e.g. a build/ folder inside SRC_DIR), caches and VCS data are left out.
(cd "$src" && tar cf - --exclude='*.wasm' --exclude='__pycache__' --exclude='.git' .) |
    (cd "$stage/app" && tar xf -)
(cd "$sdk" && tar cf - --exclude='__pycache__' quiver_sdk) | (cd "$stage/sdk" && tar xf -)
# componentize-py adds $VIRTUAL_ENV's site-packages (or else the system python's) to the
# path and scans it; point it at an empty one so builds are hermetic.
(cd "$stage" && VIRTUAL_ENV="$stage/env" "$cpy" -q \
    -d "$repo/wit/0.2.0" -w plugin \
    componentize -p "$stage/app" -p "$stage/sdk" app -o "$out")
echo "built $out" >&2
