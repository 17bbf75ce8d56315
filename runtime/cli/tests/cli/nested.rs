//! Issue 15's real-data check through the `quiver` binary: a Parquet file pyarrow wrote with
//! time, duration, fixed-size list (embeddings), fixed-size binary (UUIDs), list, nested struct,
//! map and decimal columns, and a JSON file of events with nested structs and lists, go through
//! `passthrough` and through `shape` dropping one nested column. pyarrow reads every output
//! back and compares it with the source exactly; Polars and DuckDB read the outputs too.

use std::fs;
use std::path::Path;
use std::process::Command;

use super::{quiver, stderr};

/// Runs `script` in the test venv's Python (pyarrow, Polars, DuckDB installed).
fn python(dir: &Path, script: &str) {
    let out = Command::new(quiver_tests::test_venv_bin("python"))
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `name` in `dir` and runs it with `quiver run`; panics unless it succeeds.
fn run(dir: &Path, name: &str, source: &str, stages: &str, sink: &str) {
    let pipeline = dir.join(name);
    fs::write(
        &pipeline,
        format!("[source]\npath = {source:?}\n\n{stages}\n[sink]\npath = {sink:?}\n"),
    )
    .expect("pipeline");
    let out = quiver(&["run", pipeline.to_str().expect("utf-8")], dir);
    assert!(out.status.success(), "{name}:\n{}", stderr(&out));
}

const PASSTHROUGH: &str = "[[stage]]\nplugin = \"passthrough\"\n";

#[test]
fn nested_and_temporal_parquet_and_json_round_trip_through_passthrough_and_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    python(
        dir.path(),
        r#"
import datetime as dt, decimal, json
import pyarrow as pa, pyarrow.parquet as pq
n = 1000
def maybe(i, v):
    return None if i % 7 == 3 else v
geo = pa.struct([("lat", pa.float64()), ("lon", pa.float64())])
t = pa.table({
    "id": pa.array(range(n), pa.int64()),
    "at": pa.array([maybe(i, dt.time(i % 24, i % 60, i % 60, i)) for i in range(n)], pa.time64("us")),
    "lap": pa.array([maybe(i, dt.time(i % 24, i % 60)) for i in range(n)], pa.time32("ms")),
    "took": pa.array([maybe(i, dt.timedelta(milliseconds=i * 37)) for i in range(n)], pa.duration("ms")),
    "emb": pa.array([maybe(i, [float(i), i / 2, None if i % 5 == 0 else -i, 0.25]) for i in range(n)],
                    pa.list_(pa.float32(), 4)),
    "uuid": pa.array([maybe(i, i.to_bytes(16, "big")) for i in range(n)], pa.binary(16)),
    "tags": pa.array([maybe(i, [f"t{j}" if j % 3 else None for j in range(i % 4)]) for i in range(n)],
                     pa.list_(pa.string())),
    "who": pa.array([maybe(i, {"name": f"u{i}", "geo": maybe(i + 1, {"lat": i / 10, "lon": None if i % 2 else -i / 10})})
                     for i in range(n)], pa.struct([("name", pa.string()), ("geo", geo)])),
    "attrs": pa.array([maybe(i, [("k", i), ("j", None)]) for i in range(n)], pa.map_(pa.string(), pa.int32())),
    "price": pa.array([maybe(i, decimal.Decimal(i) / 100) for i in range(n)], pa.decimal128(12, 2)),
})
pq.write_table(t, "typed.parquet")
with open("events.ndjson", "w") as f:
    for i in range(n):
        ev = {"id": i, "kind": "click" if i % 2 else "view",
              "user": {"id": i * 3, "name": f"u{i}", "geo": {"lat": i / 10, "lon": -i / 10}},
              "items": [{"sku": f"s{j}", "qty": j} for j in range(i % 3)],
              "scores": [i, i + 1]}
        if i % 11 == 5:
            ev["user"] = None
        f.write(json.dumps(ev) + "\n")
"#,
    );
    let drop = |column: &str| {
        format!(
            "{PASSTHROUGH}\n[[stage]]\nplugin = \"shape\"\nconfig = {{ drop = [{column:?}] }}\n"
        )
    };
    let d = dir.path();
    run(d, "p1.toml", "typed.parquet", PASSTHROUGH, "out1.parquet");
    run(d, "p2.toml", "typed.parquet", &drop("who"), "out2.parquet");
    run(d, "p3.toml", "events.ndjson", PASSTHROUGH, "events.parquet");
    run(
        d,
        "p4.toml",
        "events.ndjson",
        &drop("items"),
        "no_items.parquet",
    );
    run(
        d,
        "p5.toml",
        "events.ndjson",
        &drop("items"),
        "no_items.ndjson",
    );
    python(
        d,
        r#"
import duckdb, polars as pl, pyarrow as pa, pyarrow.json as pj, pyarrow.parquet as pq
src = pq.read_table("typed.parquet")
out = pq.read_table("out1.parquet")
assert out.schema.equals(src.schema), (out.schema, src.schema)
assert out.equals(src), "passthrough changed the typed file"
out = pq.read_table("out2.parquet")
assert out.equals(src.drop_columns(["who"])), (out.schema, "shape drop who")

# The events as pyarrow reads them: the same columns in the same order, the same values.
events = pj.read_json("events.ndjson")
out = pq.read_table("events.parquet")
assert out.column_names == events.column_names, (out.column_names, events.column_names)
assert out.schema.field("user").type.equals(events.schema.field("user").type), out.schema
assert out.schema.field("items").type.equals(events.schema.field("items").type), out.schema
assert out.to_pylist() == events.to_pylist(), "events differ"
assert out.column("user").null_count == sum(1 for i in range(1000) if i % 11 == 5)
want = events.drop_columns(["items"])
out = pq.read_table("no_items.parquet")
assert out.column_names == want.column_names and out.to_pylist() == want.to_pylist()
# The NDJSON writer leaves null fields out (arrow's default); read with the schema, it is the same.
back = pj.read_json("no_items.ndjson", parse_options=pj.ParseOptions(explicit_schema=want.schema))
assert back.equals(want), (back.schema, want.schema)

# Polars and DuckDB read what quiver wrote (DuckDB sees a duration as its BIGINT count).
df = pl.read_parquet("out1.parquet")
assert df.shape == (1000, 10) and df["emb"].dtype == pl.Array(pl.Float32, 4), df.schema
assert df["who"].struct.field("geo").struct.field("lat").null_count() == src.column("who").null_count + sum(
    1 for i in range(1000) if i % 7 != 3 and (i + 1) % 7 == 3)
ev = pl.read_parquet("events.parquet")
assert ev["user"].struct.field("geo").struct.field("lat").sum() == sum(i / 10 for i in range(1000) if i % 11 != 5)
assert ev["items"].list.len().sum() == sum(i % 3 for i in range(1000))
con = duckdb.connect()
(rows, uuids, took, qty) = con.sql(
    "select count(*), count(distinct uuid), sum(took), "
    "(select sum(it.qty) from (select unnest(items) as it from 'events.parquet')) "
    "from 'out1.parquet'").fetchall()[0]
nonnull = [i for i in range(1000) if i % 7 != 3]
assert (rows, uuids, took) == (1000, len(nonnull), sum(i * 37 for i in nonnull)), (rows, uuids, took)
assert qty == sum(j for i in range(1000) for j in range(i % 3)), qty
"#,
    );
}
