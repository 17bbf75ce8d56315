#!/usr/bin/env bash
# Builds a C Quiver plugin into a WebAssembly component:
#
#   sdk/c/build.sh SRC_DIR OUT.wasm
#
# Compiles every SRC_DIR/*.c with the SDK (quiver.c) and the committed wit-bindgen bindings
# (bindings/plugin.c + plugin_component_type.o, world `plugin` of the repository's wit/) for
# wasm32-wasi (preview1, reactor) with Debian's clang-19 and wasi-libc, then wraps the core
# module into a component with `jco new --wasi-reactor` (jco's bundled preview1 adapter).
# If SRC_DIR/config.schema.json exists it is compiled in as QUIVER_CONFIG_SCHEMA (a C string).
# Extra compiler flags: CFLAGS. The toolchain comes from scripts/toolchains/c.sh.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 SRC_DIR OUT.wasm" >&2
    exit 2
fi
src="$1"
out="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

shopt -s nullglob
sources=("$src"/*.c)
if [[ ${#sources[@]} -eq 0 ]]; then
    echo "error: no .c files in $src" >&2
    exit 1
fi

# CC=... JCO=...
eval "$("$repo/scripts/toolchains/c.sh" | tail -n 1)"

work="$(mktemp -d "${TMPDIR:-/tmp}/quiver-c-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The config schema as a C string literal, so the plugin can return it from `metadata`.
schema_h="$work/quiver_config_schema.h"
if [[ -f "$src/config.schema.json" ]]; then
    node -e '
        const fs = require("fs");
        const text = fs.readFileSync(process.argv[1], "utf8");
        JSON.parse(text);
        fs.writeFileSync(process.argv[2], "#define QUIVER_CONFIG_SCHEMA " + JSON.stringify(text) + "\n");
    ' "$src/config.schema.json" "$schema_h"
else
    echo '#define QUIVER_CONFIG_SCHEMA "{\"type\": \"object\"}"' >"$schema_h"
fi

"$CC" --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor \
    -O2 -ffp-contract=off -std=c11 -Wall -Wextra -Wno-unused-parameter \
    -I"$here" -I"$work" ${CFLAGS:-} \
    -o "$work/module.wasm" \
    "${sources[@]}" "$here/quiver.c" "$here/kernels.c" "$here/common.c" "$here/bindings/plugin.c" "$here/bindings/plugin_component_type.o" \
    -Wl,--strip-debug

mkdir -p "$(dirname "$out")"
"$JCO" new "$work/module.wasm" --wasi-reactor -o "$out" >&2
echo "built $out ($(wc -c <"$out") bytes)" >&2
