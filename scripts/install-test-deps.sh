#!/usr/bin/env bash
# Installs what the tests need beyond Rust: moto's S3-compatible server (object-store tests)
# and openapi-spec-validator (the `quiver serve` OpenAPI document), in a virtualenv at ${CARGO_TARGET_DIR:-target}/test-venv. Idempotent: a second run with the
# pinned version already installed does nothing. Prints the server's path on its last line.
# The tests find the venv through QUIVER_TEST_VENV, else target/test-venv above the crate.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned so a new moto release cannot change the tests' behaviour unannounced.
MOTO_VERSION="5.2.5"
VALIDATOR_VERSION="0.8.5"

target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target"
venv="$(cd "$target" && pwd)/test-venv"
server="$venv/bin/moto_server"

installed_version() {
    "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true
}

if [[ -x "$server" && "$(installed_version moto)" == "$MOTO_VERSION" \
    && "$(installed_version openapi-spec-validator)" == "$VALIDATOR_VERSION" ]]; then
    echo "moto $MOTO_VERSION and openapi-spec-validator $VALIDATOR_VERSION already installed" >&2
else
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet "moto[server]==$MOTO_VERSION" \
        "openapi-spec-validator==$VALIDATOR_VERSION"
    if [[ ! -x "$server" ]]; then
        echo "error: moto installed but $server is missing" >&2
        exit 1
    fi
fi
echo "$server"
