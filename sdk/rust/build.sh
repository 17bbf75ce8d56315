#!/usr/bin/env bash
# Builds a Rust Quiver plugin crate into a WebAssembly component:
#
#   sdk/rust/build.sh SRC_DIR OUT.wasm
#
# SRC_DIR is a cdylib crate depending on quiver-sdk (as `quiver plugin new --lang rust`
# makes it). Compiles it for wasm32-wasip2 in release mode, in SRC_DIR/target, and copies the
# component to OUT.wasm. Needs only rustup: the wasm32-wasip2 target is added when missing.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 SRC_DIR OUT.wasm" >&2
    exit 2
fi
src="$(cd "$1" && pwd)"
out="$2"
if [[ ! -f "$src/Cargo.toml" ]]; then
    echo "error: $src/Cargo.toml not found (a Rust plugin is a crate)" >&2
    exit 1
fi
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2 >&2

# The crate's library name: the package name with '-' as '_'.
name="$(sed -n '/^\[package\]/,/^\[/s/^name *= *"\([^"]*\)".*/\1/p' "$src/Cargo.toml" | head -n 1 | tr - _)"
if [[ -z "$name" ]]; then
    echo "error: no package name in $src/Cargo.toml" >&2
    exit 1
fi
# Flags meant for a host build must not leak into the guest build.
env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_TARGET \
    CARGO_TARGET_DIR="${QUIVER_RUST_TARGET_DIR:-$src/target}" \
    cargo build --release --target wasm32-wasip2 --manifest-path "$src/Cargo.toml" >&2
built="${QUIVER_RUST_TARGET_DIR:-$src/target}/wasm32-wasip2/release/$name.wasm"
mkdir -p "$(dirname "$out")"
cp "$built" "$out"
echo "built $out ($(wc -c <"$out") bytes)" >&2
