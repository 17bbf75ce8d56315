#!/usr/bin/env bash
# Installs what the tests need beyond Rust: moto's S3-compatible server (object-store tests),
# openapi-spec-validator (the `quiver serve` OpenAPI document), schemathesis (the API against
# its document, scripts/schemathesis.sh) and the three readers of the
# reader-matrix tests (pyarrow, Polars, DuckDB: what Quiver writes must read back in each),
# in a virtualenv at ${CARGO_TARGET_DIR:-target}/test-venv. Idempotent: a second run with the
# pinned versions already installed does nothing. Prints the server's path on its last line.
# The tests find the venv through QUIVER_TEST_VENV, else target/test-venv above the crate.
set -euo pipefail
cd "$(dirname "$0")/.."

# The stream and distributed-run tests start Debian's nats-server (2.9.10 on bookworm) with
# JetStream, one per test on a free loopback port (tests/src/nats.rs). Installed with apt
# when missing, like scripts/toolchains/c.sh installs clang (needs root the first time).
if ! command -v nats-server >/dev/null && [[ ! -x /usr/sbin/nats-server ]]; then
    if [[ "$(id -u)" != 0 ]]; then
        echo "error: need root to install nats-server with apt-get (or install it and rerun)" >&2
        exit 1
    fi
    echo "installing nats-server" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends nats-server >&2
fi

# Pinned so a new moto release cannot change the tests' behaviour unannounced.
MOTO_VERSION="5.2.5"
VALIDATOR_VERSION="0.8.5"
# Polars 2.1 reads parquet-rs 60's footers; 1.x refuses them (see README, Parquet output).
PYARROW_VERSION="26.0.1"
POLARS_VERSION="2.1.0"
DUCKDB_VERSION="2.0.0"
# The API fuzzer of scripts/schemathesis.sh: a new release may add checks, so it is pinned.
SCHEMATHESIS_VERSION="4.32.5"

target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target"
venv="$(cd "$target" && pwd)/test-venv"
server="$venv/bin/moto_server"

# One python start for every version check: each start costs ~50 ms.
installed_versions() {
    "$venv/bin/python" -c "
import importlib.metadata as m
for name in ['moto', 'openapi-spec-validator', 'pyarrow', 'polars', 'duckdb', 'schemathesis']:
    try:
        print(name + '==' + m.version(name))
    except m.PackageNotFoundError:
        print(name + '==missing')
" 2>/dev/null | tr '\n' ' ' || true
}
wanted="moto==$MOTO_VERSION openapi-spec-validator==$VALIDATOR_VERSION pyarrow==$PYARROW_VERSION polars==$POLARS_VERSION duckdb==$DUCKDB_VERSION schemathesis==$SCHEMATHESIS_VERSION "

if [[ -x "$server" && "$(installed_versions)" == "$wanted" ]]; then
    echo "already installed: $wanted" >&2
else
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet "moto[server]==$MOTO_VERSION" \
        "openapi-spec-validator==$VALIDATOR_VERSION" "pyarrow==$PYARROW_VERSION" \
        "polars==$POLARS_VERSION" "duckdb==$DUCKDB_VERSION" "schemathesis==$SCHEMATHESIS_VERSION"
    if [[ ! -x "$server" ]]; then
        echo "error: moto installed but $server is missing" >&2
        exit 1
    fi
fi
echo "$server"
