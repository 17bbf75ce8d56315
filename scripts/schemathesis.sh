#!/usr/bin/env bash
# The API against its own document: schemathesis (pinned in scripts/install-test-deps.sh)
# runs every check — status codes, content types, headers and response schemas, positive and
# negative data, missing headers, unsupported methods, auth ignored, use after free, resource
# availability — over every operation and the stateful sequences the document's links
# describe, against a real `quiver serve` with a token, data roots and small quotas. Fails on
# any failure. Bounded: a fixed number of examples per operation and a wall-clock limit.
# Needs quiver built (`cargo build --release -p quiver-cli`); `.ci/run` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
QUIVER="$target/release/quiver"
venv="${QUIVER_TEST_VENV:-$target/test-venv}"
ST="$venv/bin/schemathesis"
[[ -x "$ST" ]] || { echo "schemathesis is missing: run scripts/install-test-deps.sh" >&2; exit 1; }

work="$(mktemp -d)"
# The server drains on SIGTERM and may still be writing run records under $work: wait for it
# (10 s, then SIGKILL) before removing the folder, or `rm -rf` races its writes.
stop_server() {
    if [[ -n "${server:-}" ]] && kill -TERM "$server" 2>/dev/null; then
        for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop_server EXIT
mkdir -p "$work/state" "$work/work/out" "$work/input"
printf 'id,name\n1,a\n' >"$work/input/in.csv"
cp "$work/input/in.csv" "$work/work/in.csv"
token="schemathesis-$(date +%s)-token-not-for-production"

# Relative pipeline paths (the document's example writes out/example.csv) start in the work
# folder, which is the `work` root; the data directory and the cache lie outside every
# writable root (the server refuses otherwise).
QUIVER_TOKEN="$token" QUIVER_CACHE_DIR="$work/state/cache" "$QUIVER" serve --listen 127.0.0.1:0 \
    --data-dir "$work/state/data" --work-dir "$work/work" \
    --root "work:read+write=$work/work" --root "input:read+grant=$work/input" \
    --max-runs 4 --max-instances 16 --max-run-instances 8 --max-parallelism 4 \
    --request-timeout 20s >"$work/serve.log" 2>&1 &
server=$!
API=""
for _ in $(seq 300); do
    API=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/serve.log" | head -1)
    [[ -n "$API" ]] && curl -sf "$API/readyz" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
    sleep 0.1
done
[[ -n "$API" ]] || { echo "the server did not start:"; cat "$work/serve.log"; exit 1; }

started=$(date +%s)
status=0
timeout 150 "$ST" --config-file scripts/schemathesis.toml run "$API/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $token" \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-50}" \
    --seed 18 \
    --request-timeout 30 \
    --suppress-health-check all \
    >"$work/st.log" 2>&1 || status=$?
cat "$work/st.log"
echo "schemathesis: $(( $(date +%s) - started )) s, exit $status"
if [[ $status -ne 0 ]]; then
    echo "--- server log (tail)"; tail -n 40 "$work/serve.log"
    exit "$status"
fi
