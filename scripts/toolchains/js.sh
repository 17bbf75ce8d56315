#!/usr/bin/env bash
# Installs the JavaScript guest toolchain: @bytecodealliance/jco 1.35.0 and
# @bytecodealliance/componentize-js 0.23.0 from npm, with every transitive package pinned by
# sdk/js/toolchain/package-lock.json, into
# ${QUIVER_TOOLCHAINS:-$HOME/.cache/quiver/toolchains}/js-jco-<v>-componentize-js-<v>/.
# Idempotent: when that directory is complete and was installed from the same lockfile it
# does nothing but print its path.
# Prints the absolute toolchain directory as its LAST stdout line; everything else goes to
# stderr, so `tc="$(scripts/toolchains/js.sh | tail -n 1)"` works. The jco executable is
# "$tc/node_modules/.bin/jco". The C SDK uses the same toolchain (`jco new --wasi-reactor`
# turns a core wasm module into a component with jco's bundled WASI preview1 adapter).
# Needs node (>= 18) and npm, and network access to the npm registry on the first run.
set -euo pipefail

# Pinned: a new release changes the embedded JS engine and the generated bindings.
# Keep in step with sdk/js/toolchain/package.json.
JCO_VERSION="1.35.0"
COMPONENTIZE_JS_VERSION="0.23.0"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
spec="$here/../../sdk/js/toolchain"
root="${QUIVER_TOOLCHAINS:-$HOME/.cache/quiver/toolchains}"
dir="$root/js-jco-$JCO_VERSION-componentize-js-$COMPONENTIZE_JS_VERSION"
stamp="$dir/.quiver-complete"

lock_sum() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$stamp" && -x "$dir/node_modules/.bin/jco" \
        && "$(cat "$stamp")" == "$(lock_sum "$spec/package-lock.json")" ]]; then
    echo "jco $JCO_VERSION + componentize-js $COMPONENTIZE_JS_VERSION already installed in $dir" >&2
else
    for tool in node npm sha256sum; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "error: $tool not found; install Node.js 18+ with npm" >&2
            exit 1
        fi
    done
    mkdir -p "$root"
    # Install into a temporary sibling and move it into place only once complete, so an
    # interrupted install never leaves a half-made directory that looks installed.
    tmp="$(mktemp -d "$root/.js-install.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    echo "installing jco $JCO_VERSION + componentize-js $COMPONENTIZE_JS_VERSION into $dir" >&2
    cp "$spec/package.json" "$spec/package-lock.json" "$tmp/"
    if ! (cd "$tmp" && npm install --no-audit --no-fund --no-save --loglevel=error >&2); then
        echo "error: npm install of jco $JCO_VERSION / componentize-js $COMPONENTIZE_JS_VERSION failed" >&2
        exit 1
    fi
    version_of() {
        node -p "JSON.parse(require('fs').readFileSync('$tmp/node_modules/$1/package.json','utf8')).version" 2>/dev/null || true
    }
    if [[ "$(version_of @bytecodealliance/jco)" != "$JCO_VERSION" \
            || "$(version_of @bytecodealliance/componentize-js)" != "$COMPONENTIZE_JS_VERSION" \
            || ! -x "$tmp/node_modules/.bin/jco" ]]; then
        echo "error: installed versions differ from jco $JCO_VERSION / componentize-js $COMPONENTIZE_JS_VERSION" >&2
        exit 1
    fi
    lock_sum "$spec/package-lock.json" >"$tmp/.quiver-complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
    trap - EXIT
fi
echo "$dir"
