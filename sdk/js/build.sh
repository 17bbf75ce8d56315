#!/usr/bin/env bash
# Builds a JavaScript Quiver plugin into a WebAssembly component:
#
#   sdk/js/build.sh SRC_DIR OUT.wasm
#
# SRC_DIR holds `plugin.js` (the entry: it must `export const transform = definePlugin(...)`),
# any modules it imports by relative path, and optionally `config.schema.json` (importable as
# `import configSchema from './quiver-config-schema.js'`). The SDK (the modules of
# `quiver-sdk/`, with `quiver-sdk.js` as their one entry) is placed next to them. The component
# targets world `plugin` of `wit/0.2.0` (contract 0.2: host columns and compute kernels) with
# jco componentize on StarlingMonkey, HTTP disabled (`-d http fetch-event`, else the component
# imports wasi:http). jco's other backend, QuickJS, is not offered: the components it builds use
# the component model's async built-ins (`task.cancel`), which the host does not enable, so the
# host refuses them at load (sdk/js/README.md, "Build").
# The toolchain comes from scripts/toolchains/js.sh (installed on first use).
set -euo pipefail

if [[ $# -ne 2 || "$1" == -* ]]; then
    echo "usage: $0 SRC_DIR OUT.wasm" >&2
    exit 2
fi
src="$1"
out="$2"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [[ ! -f "$src/plugin.js" ]]; then
    echo "error: $src/plugin.js not found (the plugin's entry module)" >&2
    exit 1
fi
tc="$("$repo/scripts/toolchains/js.sh" | tail -n 1)"
jco="$tc/node_modules/.bin/jco"

stage="$(mktemp -d "${TMPDIR:-/tmp}/quiver-js-build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
cp -R "$src/." "$stage/"
cp -R "$here/quiver-sdk" "$stage/quiver-sdk"
echo "export * from './quiver-sdk/index.js';" >"$stage/quiver-sdk.js"
if [[ -f "$src/config.schema.json" ]]; then
    node -e '
        const fs = require("fs");
        const text = fs.readFileSync(process.argv[1], "utf8");
        JSON.parse(text); // fail the build on an invalid schema document
        fs.writeFileSync(process.argv[2], "export default " + JSON.stringify(text) + ";\n");
    ' "$src/config.schema.json" "$stage/quiver-config-schema.js"
else
    echo 'export default "{\"type\": \"object\"}";' >"$stage/quiver-config-schema.js"
fi

mkdir -p "$(dirname "$out")"
out_abs="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
(cd "$stage" && "$jco" componentize plugin.js \
    --wit "$repo/wit/0.2.0" --world-name plugin \
    --backend starlingmonkey --bundle \
    -d http fetch-event \
    -o "$out_abs" >&2)
echo "built $out_abs ($(wc -c <"$out_abs") bytes)" >&2
