#!/usr/bin/env bash
# Builds a JavaScript Quiver plugin into a WebAssembly component:
#
#   sdk/js/build.sh [--backend sm|qjs] SRC_DIR OUT.wasm
#
# SRC_DIR holds `plugin.js` (the entry: it must `export const transform = definePlugin(...)`),
# any modules it imports by relative path, and optionally `config.schema.json` (importable as
# `import configSchema from './quiver-config-schema.js'`). The SDK (the modules of
# `quiver-sdk/`, with `quiver-sdk.js` as their one entry) is placed next to them. The component
# targets world `plugin` of `wit/0.2.0` (contract 0.2: host columns and compute kernels) with
# jco componentize, HTTP disabled (`-d http fetch-event`).
#
# Backend: StarlingMonkey (`sm`, the default) or QuickJS (`qjs`); also QUIVER_JS_BACKEND.
# The toolchain comes from scripts/toolchains/js.sh (installed on first use).
set -euo pipefail

usage() {
    echo "usage: $0 [--backend sm|qjs] SRC_DIR OUT.wasm" >&2
    exit 2
}

backend="${QUIVER_JS_BACKEND:-sm}"
args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --backend) [[ $# -ge 2 ]] || usage; backend="$2"; shift 2 ;;
        --backend=*) backend="${1#--backend=}"; shift ;;
        -h|--help) usage ;;
        *) args+=("$1"); shift ;;
    esac
done
[[ ${#args[@]} -eq 2 ]] || usage
src="${args[0]}"
out="${args[1]}"
case "$backend" in
    # StarlingMonkey: HTTP off (else the component imports wasi:http). QuickJS has no HTTP
    # feature and jco refuses --disable for it.
    sm|starlingmonkey) backend=sm; jco_backend=starlingmonkey; features=(-d http fetch-event) ;;
    qjs|quickjs) backend=qjs; jco_backend=quickjs; features=() ;;
    *) echo "error: unknown backend '$backend' (sm or qjs)" >&2; exit 2 ;;
esac

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
echo "export const BACKEND = '$backend';" >"$stage/quiver-sdk/quiver-backend.js"
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
    --backend "$jco_backend" --bundle \
    "${features[@]}" \
    -o "$out_abs" >&2)
echo "built $out_abs ($backend backend, $(wc -c <"$out_abs") bytes)" >&2
