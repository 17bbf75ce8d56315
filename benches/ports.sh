#!/usr/bin/env bash
# Throughput of the C, Python and JavaScript `map` and `filter` ports against the Rust plugins,
# on the same batches (issues: plugins in other languages; host compute kernels; results in
# BENCHMARKS.md and sdk/python/README.md).
#
#   benches/ports.sh [ROWS] [BATCH_ROWS]        (defaults: 1000000 rows, 8192 per batch)
#
# Generates a CSV of ROWS rows (id, customer, amount: float64 with ~1% nulls, qty: int64),
# then runs `quiver run --report` with each plugin over it, for a float config (the demo's
# `amount * 1.19, min 0, appended as a new column`) and an integer config (`qty * 3 - 1`, in
# place, exact with overflow check), then the `filter` ports (`amount > 100`, nulls dropped: keeps
# ~88 % of the rows). With python in LANGS it also times the Python SDK README's main example
# (`sdk/python/examples/orders`: keep qty > 2, add gross = clip(amount * 1.19, 0)) against the
# same job done by the Rust `filter` and `map` plugins as two stages (busy times added). The
# `floor` case runs a plugin that returns its batch unchanged (`benches/floor-python`,
# `benches/floor-js`; the Rust `passthrough`): the least a stage in that language can be
# busy on these batches, whatever its SDK does. Each run is repeated REPEAT times (default 3) after one
# warm-up run that fills the compiled-component cache; the best stage busy time of the run
# report (time spent inside the plugin's `process` and `finish` calls, boundary included)
# gives rows/s. Starting the instance (instantiate, `create`, `output-schema`: milliseconds for
# an interpreter touching its pre-initialised heap, once per instance) is the report's
# `startup_ms`, printed beside it and not counted as throughput.
#
# Environment: QUIVER (the CLI; default ${CARGO_TARGET_DIR:-target}/release/quiver),
# RUST_MAP / RUST_FILTER (a path or a plugin name; default `map` / `filter`, the first-party
# plugins built into the CLI from plugins/), WORK (scratch directory, default /tmp/quiver-ports-bench), REPEAT, LANGS
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
rust_map="${RUST_MAP:-map}"
rust_filter="${RUST_FILTER:-filter}"

if [[ ! -e "$quiver" ]]; then
    echo "error: $quiver not found (set QUIVER)" >&2
    exit 1
fi
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

build() { # lang example [source dir]: quiet, and on failure once more with its output shown
    local src="${3:-$repo/sdk/$1/examples/$2}"
    echo "building the $1 $2 port" >&2
    "$repo/sdk/$1/build.sh" "$src" "$work/$2-$1.wasm" >/dev/null 2>&1 ||
        "$repo/sdk/$1/build.sh" "$src" "$work/$2-$1.wasm"
}
for lang in $langs; do
    build "$lang" map
    build "$lang" filter
done
if [[ " $langs " == *" python "* ]]; then
    build python orders
    # The least a Python call costs (the `floor` case, and benches/calls.rs).
    build python floor "$repo/benches/floor-python"
fi
if [[ " $langs " == *" js "* ]]; then
    build js floor "$repo/benches/floor-js"
fi

float_cfg='{ columns = [{ column = "amount", scale = 1.19, min = 0.0, output = "gross" }] }'
int_cfg='{ columns = [{ column = "qty", scale = 3, offset = -1 }] }'
filter_cfg='{ column = "amount", op = "gt", value = 100 }'

stage() { # plugin config -> one [[stage]] table
    printf '[[stage]]\nplugin = "%s"\nconfig = %s\n\n' "$1" "$2"
}

run() { # impl case stages -> prints "busy_ms startup_ms rows_in" (every stage's added)
    local impl="$1" case="$2" stages="$3"
    local pipe="$work/$impl-$case.toml" report="$work/$impl-$case.json"
    cat > "$pipe" <<TOML
[source]
path = "$data"
batch_rows = $batch_rows

$stages
[sink]
path = "$work/out-$impl-$case.parquet"
mode = "overwrite"
TOML
    "$quiver" run "$pipe" --report "$report" >/dev/null
    python3 -c 'import json,sys; st=json.load(open(sys.argv[1]))["stages"]; print(sum(s["busy_ms"] for s in st), sum(s["startup_ms"] for s in st), st[0]["rows_in"])' "$report"
}

stages_of() { # impl case -> the [[stage]] tables of that job
    local impl="$1" case="$2" map filter
    if [[ $impl == rust ]]; then map="$rust_map" filter="$rust_filter"
    else map="$work/map-$impl.wasm" filter="$work/filter-$impl.wasm"; fi
    case "$case" in
        float) stage "$map" "$float_cfg" ;;
        int) stage "$map" "$int_cfg" ;;
        filter) stage "$filter" "$filter_cfg" ;;
        floor)
            if [[ $impl == rust ]]; then stage passthrough '{}'
            else stage "$work/floor-$impl.wasm" '{}'; fi ;;
        orders)
            if [[ $impl == rust ]]; then
                stage "$rust_filter" '{ column = "qty", op = "gt", value = 2 }'
                stage "$rust_map" '{ columns = [{ column = "amount", scale = 1.19, min = 0.0, output = "gross" }] }'
            else
                stage "$work/orders-$impl.wasm" '{}'
            fi ;;
    esac
}

printf '%-8s %-7s %10s %12s %14s %10s\n' impl case rows "busy ms" "rows/s" "start ms"
cases="float int filter"
if [[ " $langs " == *" python "* ]]; then cases="$cases orders"; fi
if [[ " $langs " == *" python "* || " $langs " == *" js "* ]]; then cases="$cases floor"; fi
for case in $cases; do
    impls="rust $langs"
    if [[ $case == orders ]]; then impls="rust python"; fi
    if [[ $case == floor ]]; then
        impls="rust"
        for l in $langs; do [[ $l == c ]] || impls="$impls $l"; done
    fi
    for impl in $impls; do
        stages="$(stages_of "$impl" "$case")"
        run "$impl" "$case" "$stages" >/dev/null # warm-up: compile and cache
        best="" start=""
        for _ in $(seq "$repeat"); do
            read -r busy st n < <(run "$impl" "$case" "$stages")
            if [[ -z "$best" ]] || python3 -c "import sys; sys.exit(0 if $busy < $best else 1)"; then
                best="$busy" start="$st"
            fi
        done
        python3 -c "
busy, st, n = $best, $start, $n
print(f'%-8s %-7s %10d %12.1f %14s %10.1f' % ('$impl', '$case', n, busy, f'{n / (busy / 1000):,.0f}', st))"
    done
done
