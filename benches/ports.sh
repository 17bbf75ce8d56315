#!/usr/bin/env bash
# Throughput of the C, Python and JavaScript `map` and `filter` ports against the Rust plugins,
# on the same batches (issue: plugins in other languages; results in BENCHMARKS.md).
#
#   benches/ports.sh [ROWS] [BATCH_ROWS]        (defaults: 1000000 rows, 8192 per batch)
#
# Generates a CSV of ROWS rows (id, customer, amount: float64 with ~1% nulls, qty: int64),
# then runs `quiver run --report` with each plugin over it, for a float config (the demo's
# `amount * 1.19, min 0, appended as a new column`) and an integer config (`qty * 3 - 1`, in
# place, exact with overflow check), and `filter` for `amount > 100` (about 88 % of the rows
# kept; null amounts dropped). Each run is repeated REPEAT times (default 3) after one
# warm-up run that fills the compiled-component cache; the best stage busy time of the run
# report (time spent inside the plugin's `process`, boundary copies included) gives rows/s.
#
# Environment: QUIVER (the CLI; default ${CARGO_TARGET_DIR:-target}/release/quiver),
# RUST_MAP / RUST_FILTER (default target/guests/wasm32-wasip2/release/{map,filter}.wasm, built
# by the test suite or the demo), WORK (scratch directory, default /tmp/quiver-ports-bench), REPEAT, LANGS
# (default "c python js"). Each port is built with `sdk/<lang>/build.sh`, which installs its
# toolchain on first use.
set -euo pipefail

rows="${1:-1000000}"
batch_rows="${2:-8192}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${WORK:-/tmp/quiver-ports-bench}"
repeat="${REPEAT:-3}"
langs="${LANGS:-c python js}"
quiver="${QUIVER:-${CARGO_TARGET_DIR:-$repo/target}/release/quiver}"
rust_map="${RUST_MAP:-$repo/target/guests/wasm32-wasip2/release/map.wasm}"
rust_filter="${RUST_FILTER:-$repo/target/guests/wasm32-wasip2/release/filter.wasm}"

for f in "$quiver" "$rust_map" "$rust_filter"; do
    if [[ ! -e "$f" ]]; then
        echo "error: $f not found (set QUIVER / RUST_MAP)" >&2
        exit 1
    fi
done
mkdir -p "$work"

data="$work/rows-$rows.csv"
if [[ ! -s "$data" ]]; then
    echo "generating $data" >&2
    python3 - "$data" "$rows" <<'PY'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
names = ["ann", "bob", "cy", "dee", "eve"]
with open(path, "w") as f:
    f.write("id,customer,amount,qty\n")
    for i in range(n):
        amt = "" if i % 97 == 0 else f"{rng.uniform(-100, 1000):.2f}"
        f.write(f"{i},{names[i % 5]},{amt},{rng.randint(-50, 500)}\n")
PY
fi

for lang in $langs; do
    for p in map filter; do
        echo "building the $lang $p port" >&2
        "$repo/sdk/$lang/build.sh" "$repo/sdk/$lang/examples/$p" "$work/$p-$lang.wasm" >/dev/null 2>&1 ||
            "$repo/sdk/$lang/build.sh" "$repo/sdk/$lang/examples/$p" "$work/$p-$lang.wasm"
    done
done

float_cfg='{ columns = [{ column = "amount", scale = 1.19, min = 0.0, output = "gross" }] }'
int_cfg='{ columns = [{ column = "qty", scale = 3, offset = -1 }] }'
filter_cfg='{ column = "amount", op = "gt", value = 100 }'

run() { # impl plugin case config -> prints "busy_ms rows_in"
    local impl="$1" plugin="$2" case="$3" config="$4"
    local pipe="$work/$impl-$case.toml" report="$work/$impl-$case.json"
    cat > "$pipe" <<TOML
[source]
path = "$data"
batch_rows = $batch_rows

[[stage]]
name = "$case"
plugin = "$plugin"
config = $config

[sink]
path = "$work/out-$impl-$case.parquet"
mode = "overwrite"
TOML
    "$quiver" run "$pipe" --report "$report" >/dev/null
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["stages"][0]; print(s["busy_ms"], s["rows_in"])' "$report"
}

printf '%-8s %-7s %10s %12s %14s\n' impl case rows "busy ms" "rows/s"
for case in float int filter; do
    case $case in
        float) config="$float_cfg"; p=map ;;
        int) config="$int_cfg"; p=map ;;
        filter) config="$filter_cfg"; p=filter ;;
    esac
    for impl in rust $langs; do
        if [[ $impl == rust ]]; then
            if [[ $p == map ]]; then plugin="$rust_map"; else plugin="$rust_filter"; fi
        else
            plugin="$work/$p-$impl.wasm"
        fi
        run "$impl" "$plugin" "$case" "$config" >/dev/null # warm-up: compile and cache
        best=""
        for _ in $(seq "$repeat"); do
            read -r busy n < <(run "$impl" "$plugin" "$case" "$config")
            if [[ -z "$best" ]] || python3 -c "import sys; sys.exit(0 if $busy < $best else 1)"; then
                best="$busy"
            fi
        done
        python3 -c "
busy, n = $best, $n
print(f'%-8s %-7s %10d %12.1f %14s' % ('$impl', '$case', n, busy, f'{n / (busy / 1000):,.0f}'))"
    done
done
