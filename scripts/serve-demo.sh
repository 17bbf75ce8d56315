#!/usr/bin/env bash
# The README's curl session against a real `quiver serve`: upload a plugin, define a pipeline
# whose source is the API, start a run, push CSV and NDJSON rows, watch it, stop it (drain and
# commit), read the report and the output, and shut the server down with SIGTERM.
# Needs the plugins and quiver built (scripts/demo.sh does both); `.ci/run` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

QUIVER="${CARGO_TARGET_DIR:-target}/release/quiver"
PLUGINS="${CARGO_TARGET_DIR:-target}/guests/wasm32-wasip2/release"
export QUIVER_TOKEN="demo-token-$(date +%s)-not-for-production"
# A free port unless one is given (the README's session uses the default, 7878).
PORT="${QUIVER_DEMO_PORT:-0}"
AUTH="Authorization: Bearer $QUIVER_TOKEN"
rm -rf out/serve-data out/serve-demo.csv
mkdir -p out

"$QUIVER" serve --listen "127.0.0.1:$PORT" --data-dir out/serve-data >out/serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
API=""
for _ in $(seq 300); do
    API=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' out/serve.log | head -1)
    [[ -n "$API" ]] && curl -sf "$API/readyz" >/dev/null && break
    kill -0 $server 2>/dev/null || { cat out/serve.log; exit 1; }
    sleep 0.1
done
[[ -n "$API" ]] || { echo "the server did not start:"; cat out/serve.log; exit 1; }

show() { echo; echo "\$ $*"; "$@"; echo; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

show curl -s "$API/readyz"
show curl -s -H "$AUTH" -H 'Content-Type: application/wasm' \
    --data-binary "@$PLUGINS/map.wasm" "$API/v1/plugins" -o /dev/null -w '%{http_code}\n'
show curl -s -H "$AUTH" "$API/v1/plugins"
show curl -s -H "$AUTH" -H 'Content-Type: application/json' "$API/v1/pipelines" -d '{
  "name": "prices",
  "pipeline": {
    "source": {"api": {"schema": [{"name": "sku", "type": "utf8"}, {"name": "price", "type": "float64"}]}},
    "stage": [{"plugin": "map", "config": {"columns": [{"column": "price", "scale": 1.19, "output": "gross"}]}}],
    "sink": {"path": "out/serve-demo.csv"}
  }
}'
run=$(curl -s -H "$AUTH" -H 'Content-Type: application/json' "$API/v1/runs" -d '{"pipeline": "prices"}' | field '["id"]')
echo "\$ curl -s -H \"\$AUTH\" -H 'Content-Type: application/json' $API/v1/runs -d '{\"pipeline\": \"prices\"}'   # → run $run"
show curl -s -H "$AUTH" -H 'Content-Type: text/csv' --data-binary $'sku,price\nA-1,10\nB-2,2.5\n' \
    "$API/v1/runs/$run/batches"
show curl -s -H "$AUTH" -H 'Content-Type: application/x-ndjson' \
    --data-binary $'{"sku": "C-3", "price": 100}\n{"sku": "D-4", "price": null}\n' "$API/v1/runs/$run/batches"
show curl -s -H "$AUTH" -X POST "$API/v1/runs/$run/stop" -o /dev/null -w '%{http_code}\n'
for _ in $(seq 200); do
    state=$(curl -s -H "$AUTH" "$API/v1/runs/$run" | field '["state"]')
    [[ "$state" == succeeded || "$state" == failed || "$state" == cancelled ]] && break
    sleep 0.1
done
echo "run $run: $state"
[[ "$state" == succeeded ]]
show curl -s -H "$AUTH" "$API/v1/runs/$run"
show curl -s -H "$AUTH" "$API/v1/runs/$run/report"
show cat out/serve-demo.csv
echo "\$ curl -s $API/metrics | grep stage_rows"
curl -s "$API/metrics" | grep stage_rows
kill -TERM "$server"
wait "$server"
trap - EXIT
echo "server drained and exited"
