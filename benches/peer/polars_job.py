"""The end-to-end benchmark job written the way a data scientist would write it in Polars.

Same job as Quiver's pipeline (benches/src/job.rs): read the "orders" Parquet file, keep
the rows with qty > 2, amount * 1.1 + 0.5, replace email by its HMAC-SHA256 hex token
(nulls stay null), write Parquet with zstd level 3. Polars has no keyed hash, so the token
is a Python UDF (`map_elements` + `hmac`), which is what the Polars user guide points to.

    python polars_job.py {eager|lazy} IN.parquet OUT.parquet KEY_FILE

eager: read_parquet → DataFrame ops → write_parquet (the usual notebook code).
lazy:  scan_parquet → LazyFrame ops → sink_parquet (Polars' streaming engine).

Prints one line, `rows=<n> seconds=<wall> maxrss_kib=<peak RSS>`; run.sh measures the
process from outside as well (/usr/bin/time).
"""

import hashlib
import hmac
import resource
import sys
import time

import polars as pl


def main() -> None:
    mode, src, dst, key_file = sys.argv[1:5]
    started = time.perf_counter()
    with open(key_file, "rb") as f:
        key = f.read().rstrip()

    def token(value: str) -> str:
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    transform = [
        (pl.col("amount") * 1.1 + 0.5).alias("amount"),
        pl.col("email").map_elements(token, return_dtype=pl.String),
    ]
    if mode == "eager":
        df = pl.read_parquet(src)
        df = df.filter(pl.col("qty") > 2).with_columns(transform)
        df.write_parquet(dst, compression="zstd", compression_level=3)
        rows = df.height
    elif mode == "lazy":
        lf = pl.scan_parquet(src).filter(pl.col("qty") > 2).with_columns(transform)
        lf.sink_parquet(dst, compression="zstd", compression_level=3)
        rows = pl.scan_parquet(dst).select(pl.len()).collect().item()
    else:
        sys.exit(f"unknown mode {mode!r}: eager or lazy")
    seconds = time.perf_counter() - started
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"rows={rows} seconds={seconds:.3f} maxrss_kib={maxrss}")


if __name__ == "__main__":
    main()
