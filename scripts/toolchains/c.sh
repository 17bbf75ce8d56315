#!/usr/bin/env bash
# Installs the C guest toolchain, only what is missing:
# - Debian bookworm packages clang-19, lld-19, libclang-rt-19-dev-wasm32 (1:19.1.7-3~deb12u1)
#   and wasi-libc (0.0~git20220510.9886d3d-2), with apt-get (needs root);
# - jco 1.35.0 from npm (scripts/toolchains/js.sh, cached under
#   ${QUIVER_TOOLCHAINS:-$HOME/.cache/quiver/toolchains}): its `jco new --wasi-reactor` wraps
#   the core module into a component with the WASI preview1 reactor adapter jco ships, which
#   replaces `cargo install wasm-tools` and the adapter crate.
# No wit-bindgen: the C bindings are generated once and committed under sdk/c/bindings/
# (sdk/c/gen-bindings.sh regenerates them).
# Idempotent. Prints, as its LAST stdout line, shell assignments for the build script:
#   CC=/usr/bin/clang-19 JCO=/…/node_modules/.bin/jco
set -euo pipefail

LLVM_VERSION="1:19.1.7-3~deb12u1"
WASI_LIBC_VERSION="0.0~git20220510.9886d3d-2"
packages=(
    "clang-19=$LLVM_VERSION"
    "lld-19=$LLVM_VERSION"
    "libclang-rt-19-dev-wasm32=$LLVM_VERSION"
    "wasi-libc=$WASI_LIBC_VERSION"
)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

missing=()
for spec in "${packages[@]}"; do
    name="${spec%%=*}"
    want="${spec#*=}"
    have="$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)"
    if [[ "$have" != "install ok installed $want" ]]; then
        missing+=("$spec")
    fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ "$(id -u)" != 0 ]]; then
        echo "error: need root to install: ${missing[*]} (or install them and rerun)" >&2
        exit 1
    fi
    echo "installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
        # The pinned version left the mirror (a Debian point release): take what bookworm ships now.
        echo "warning: pinned versions unavailable; installing the current bookworm versions" >&2
        apt-get install -y -q --no-install-recommends "${missing[@]%%=*}" >&2
    fi
else
    echo "clang-19, lld-19, libclang-rt-19-dev-wasm32 and wasi-libc already installed" >&2
fi
for f in /usr/bin/clang-19 /usr/lib/wasm32-wasi/libc.a /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a; do
    if [[ ! -e "$f" ]]; then
        echo "error: $f missing after install" >&2
        exit 1
    fi
done

js="$("$here/js.sh" | tail -n 1)"
echo "CC=/usr/bin/clang-19 JCO=$js/node_modules/.bin/jco"
