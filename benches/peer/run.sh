#!/usr/bin/env bash
# The peer comparison in one command: the end-to-end job (benches/src/job.rs) run by the
# `quiver` CLI, by native arrow-rs (quiver-bench-data native-job) and by Polars (eager and
# lazy, polars_job.py), on the same generated Parquet files, one process per run, each run
# measured from outside by /usr/bin/time (wall time, peak resident memory).
#
#   benches/peer/run.sh                 # 1M and 10M rows, 3 repetitions
#   ROWS="1000000" REPEAT=1 benches/peer/run.sh
#
# Everything lands in <target>/bench-data/: the inputs (orders-<rows>.parquet, generated
# once), the key, the pipeline file, the outputs, the JSON run reports and results.tsv.
# Polars is installed from PyPI (pinned) into a venv under <target>/bench-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
DATA=$TARGET/bench-data
ROWS=${ROWS:-"1000000 10000000"}
REPEAT=${REPEAT:-3}
POLARS_VERSION=2.1.0
VENV=$TARGET/bench-venv

mkdir -p "$DATA/keys" "$DATA/out" "$DATA/reports" "$DATA/cache"

echo "== Polars $POLARS_VERSION in $VENV"
if ! "$VENV/bin/python" -c "import polars, sys; sys.exit(polars.__version__ != '$POLARS_VERSION')" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "polars==$POLARS_VERSION"
fi

# SKIP_BUILD=1 takes the binaries as they are (e.g. while another cargo holds the build lock).
if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== building (release): quiver (with its first-party plugins), quiver-bench-data"
    cargo build --release --quiet -p quiver-cli --bin quiver -p quiver-benches --bin quiver-bench-data
fi
QUIVER=$TARGET/release/quiver
NATIVE=$TARGET/release/quiver-bench-data

# The job's key (src/job.rs `KEY`): a published benchmark key, never a real one.
printf '%s' 'quiver-benchmark-key-not-secret-0123456789' > "$DATA/keys/anon.key"

cat > "$DATA/pipeline.toml" <<TOML
# The end-to-end benchmark job (benches/src/job.rs); paths are set with --set by run.sh.
[source]
path = "orders-1000000.parquet"
batch_rows = 65536

[[stage]]
name = "filter"
plugin = "filter"
config = { column = "qty", op = "gt", value = 2 }

[[stage]]
name = "map"
plugin = "map"
config = { columns = [{ column = "amount", scale = 1.1, offset = 0.5 }] }

[[stage]]
name = "anonymise"
plugin = "anonymise"
grants = { dirs = [{ host = "keys", guest = "/keys" }] }
config = { key_file = "/keys/anon.key", columns = [{ column = "email", method = "hash" }] }

[sink]
path = "out/quiver.parquet"
format = "parquet"
mode = "overwrite"
[sink.parquet]
compression = "zstd(3)"
TOML

for rows in $ROWS; do
    if [ ! -f "$DATA/orders-$rows.parquet" ]; then
        echo "== generating $DATA/orders-$rows.parquet"
        "$NATIVE" gen "$DATA/orders-$rows.parquet.partial" "$rows"
        mv "$DATA/orders-$rows.parquet.partial" "$DATA/orders-$rows.parquet"
    fi
done

export QUIVER_CACHE_DIR=$DATA/cache
# One untimed run first, so the plugins are compiled into the cache (cold start is
# startup.rs's question, not this one's).
first=${ROWS%% *}
"$QUIVER" run "$DATA/pipeline.toml" --quiet --set "source.path=orders-$first.parquet" \
    --set "sink.path=out/warmup.parquet" >/dev/null

RESULTS=$DATA/results.tsv
printf 'rows\ttool\trep\twall_s\tmaxrss_kib\n' > "$RESULTS"
measure() { # rows tool rep command...
    local rows=$1 tool=$2 rep=$3
    shift 3
    /usr/bin/time -f '%e %M' -o "$DATA/time.txt" "$@" > "$DATA/stdout.txt"
    read -r wall rss < "$DATA/time.txt"
    printf '%s\t%s\t%s\t%s\t%s\n' "$rows" "$tool" "$rep" "$wall" "$rss" | tee -a "$RESULTS"
}

echo "== measuring (rows, tool, repetition, wall seconds, peak RSS KiB)"
for rows in $ROWS; do
    in=$DATA/orders-$rows.parquet
    for rep in $(seq "$REPEAT"); do
        measure "$rows" quiver "$rep" "$QUIVER" run "$DATA/pipeline.toml" --quiet \
            --set "source.path=orders-$rows.parquet" --set "sink.path=out/quiver-$rows.parquet" \
            --report "$DATA/reports/quiver-$rows-$rep.json"
        measure "$rows" native "$rep" "$NATIVE" native-job "$in" "$DATA/out/native-$rows.parquet"
        measure "$rows" polars-eager "$rep" "$VENV/bin/python" benches/peer/polars_job.py eager \
            "$in" "$DATA/out/polars-eager-$rows.parquet" "$DATA/keys/anon.key"
        measure "$rows" polars-lazy "$rep" "$VENV/bin/python" benches/peer/polars_job.py lazy \
            "$in" "$DATA/out/polars-lazy-$rows.parquet" "$DATA/keys/anon.key"
    done
    # The four outputs must hold the same data, or the comparison means nothing.
    "$VENV/bin/python" - "$DATA/out" "$rows" <<'PY'
import sys
import polars as pl
out, rows = sys.argv[1], sys.argv[2]
frames = {t: pl.read_parquet(f"{out}/{t}-{rows}.parquet").sort("id")
          for t in ["quiver", "native", "polars-eager", "polars-lazy"]}
base = frames["native"]
for t, df in frames.items():
    assert df.height == base.height, f"{t}: {df.height} rows, native {base.height}"
    assert df["email"].equals(base["email"]), f"{t}: email tokens differ"
    assert (df["amount"] - base["amount"]).abs().max() < 1e-9, f"{t}: amounts differ"
print(f"   outputs agree: {base.height} rows each")
PY
done

echo "== summary: median of $REPEAT (min–max); ratio = tool / polars-eager"
"$VENV/bin/python" - "$RESULTS" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
with open(sys.argv[1]) as f:
    next(f)
    for line in f:
        n, tool, _, wall, rss = line.split()
        rows[(int(n), tool)].append((float(wall), int(rss)))
for n in sorted({k[0] for k in rows}):
    ref = rows.get((n, "polars-eager"))
    rw = statistics.median(w for w, _ in ref) if ref else None
    rm = statistics.median(m for _, m in ref) if ref else None
    print(f"{n:>9} rows | tool         | wall s (min–max)        | peak RSS MiB (min–max) | wall ratio | RSS ratio")
    for tool in ["quiver", "native", "polars-eager", "polars-lazy"]:
        v = rows.get((n, tool))
        if not v:
            continue
        w = [x for x, _ in v]; m = [y / 1024 for _, y in v]
        mw, mm = statistics.median(w), statistics.median(m)
        print(f"{'':>14} | {tool:<12} | {mw:6.2f} ({min(w):.2f}–{max(w):.2f}) | "
              f"{mm:7.0f} ({min(m):.0f}–{max(m):.0f}) | "
              f"{mw / rw if rw else float('nan'):.2f}x | {mm * 1024 / rm if rm else float('nan'):.2f}x")
PY
