//! Issue 17's acceptance checks through the `quiver` binary: files other systems wrote (an R
//! export with `NA`, a Polars Parquet file with UTC timestamps) going through plugins, the
//! dead-letter file and every text sink; a Polars Parquet file read by `row_groups`; compressed inputs and outputs on local disk and on
//! S3 (moto); `columns` keeping `validate`'s schemas exact; partitioned output that a killed
//! run leaves invisible.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use quiver_tests::moto::Moto;
use quiver_tests::plugins;

use super::{quiver, quiver_with, stderr, stdout};

/// Writes `pipeline.toml` in `dir` and runs it; panics unless it succeeds.
fn run(dir: &Path, name: &str, text: &str, envs: &[(&str, String)]) -> String {
    let pipeline = dir.join(name);
    fs::write(&pipeline, text).expect("pipeline");
    let out = quiver_with(&["run", pipeline.to_str().expect("utf-8")], dir, envs);
    assert!(out.status.success(), "{name}:\n{}", stderr(&out));
    stdout(&out)
}

fn read_parquet(path: &Path) -> RecordBatch {
    let file = fs::File::open(path).expect("parquet output");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("footer")
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).expect("concat")
}

#[test]
fn an_r_export_with_na_becomes_typed_parquet_with_the_right_null_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    // As R's write.csv(flights, row.names = FALSE) writes it.
    let mut csv = String::from(
        "\"year\",\"dep_time\",\"dep_delay\",\"air_time\",\"carrier\",\"flight_date\"\n",
    );
    let mut missing = 0;
    for i in 0..2000_i64 {
        let cancelled = i % 41 == 3;
        missing += usize::from(cancelled);
        let na = |v: String| if cancelled { "NA".to_string() } else { v };
        writeln!(
            csv,
            "2013,{},{},{},\"{}\",{}",
            na((517 + i % 1800).to_string()),
            na((i % 50 - 5).to_string()),
            na(format!("{}.5", 100 + i % 200)),
            ["UA", "AA", "B6"][(i % 3) as usize],
            na(format!("2013-01-{:02}", 1 + i % 28)),
        )
        .expect("write");
    }
    fs::write(dir.path().join("flights.csv"), csv).expect("csv");
    let text = "[source]\npath = \"flights.csv\"\n[source.csv]\nnull_values = [\"NA\"]\n\n\
                [sink]\npath = \"flights.parquet\"\n";
    fs::write(dir.path().join("flights.toml"), text).expect("pipeline");
    let out = quiver(
        &[
            "validate",
            dir.path().join("flights.toml").to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    for line in [
        "dep_time: Int64",
        "dep_delay: Int64",
        "air_time: Float64",
        "flight_date: Date32",
        "carrier: Utf8",
    ] {
        assert!(shown.contains(line), "{line} not in:\n{shown}");
    }
    run(dir.path(), "flights.toml", text, &[]);
    let batch = read_parquet(&dir.path().join("flights.parquet"));
    assert_eq!(batch.num_rows(), 2000);
    for (index, field) in batch.schema().fields().iter().enumerate() {
        let expected = match field.name().as_str() {
            "year" | "carrier" => 0,
            _ => missing,
        };
        assert_eq!(
            batch.column(index).null_count(),
            expected,
            "{}",
            field.name()
        );
    }
}

/// Runs `script` in the test venv's Python (pyarrow, Polars, DuckDB installed).
pub(crate) fn python(dir: &Path, script: &str) {
    let python = quiver_tests::test_venv_bin("python");
    let out = Command::new(python)
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

#[test]
fn a_polars_utc_parquet_goes_to_csv_ndjson_and_dead_letters_and_date_parts_match_polars() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Polars writes timestamp[us, tz=UTC]; it also says what hour and weekday each is, in UTC
    // and in Europe/Paris (Polars' weekday: Monday = 1).
    python(
        dir.path(),
        r#"
import datetime, json, polars as pl
start = datetime.datetime(2024, 3, 28, 20, 30, tzinfo=datetime.timezone.utc)
at = [start + datetime.timedelta(minutes=97 * i) for i in range(200)]
frame = pl.DataFrame({"id": list(range(200)), "amount": [float(i % 13) - 2 for i in range(200)], "at": at},
                     schema={"id": pl.Int64, "amount": pl.Float64, "at": pl.Datetime("us", "UTC")})
frame.write_parquet("events.parquet")
paris = frame["at"].dt.convert_time_zone("Europe/Paris")
json.dump({"hour": frame["at"].dt.hour().to_list(), "weekday": frame["at"].dt.weekday().to_list(),
           "paris_hour": paris.dt.hour().to_list(), "paris_weekday": paris.dt.weekday().to_list()},
          open("polars.json", "w"))
"#,
    );
    let expected: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("polars.json")).expect("json"))
            .expect("json");
    let ints = |key: &str| -> Vec<i64> {
        expected[key]
            .as_array()
            .expect(key)
            .iter()
            .map(|v| v.as_i64().expect("int"))
            .collect()
    };

    // date_parts in UTC, then in Europe/Paris (shape casts the zone; instants unchanged).
    let stages = format!(
        "[[stage]]\nplugin = {features:?}\nconfig = {{ features = [{{ column = \"at\", op = \"date_parts\", parts = [\"hour\", \"day_of_week\"] }}] }}\n\n\
         [[stage]]\nplugin = {shape:?}\nconfig = {{ cast = {{ at = \"timestamp[us, Europe/Paris]\" }}, rename = {{ at_hour = \"utc_hour\", at_day_of_week = \"utc_day_of_week\" }} }}\n\n\
         [[stage]]\nplugin = {features:?}\nconfig = {{ features = [{{ column = \"at\", op = \"date_parts\", parts = [\"hour\", \"day_of_week\"] }}] }}\n",
        features = plugins::FEATURES,
        shape = plugins::SHAPE,
    );
    for sink in ["parts.csv", "parts.ndjson", "parts.parquet"] {
        run(
            dir.path(),
            "parts.toml",
            &format!(
                "[source]\npath = \"events.parquet\"\n\n{stages}\n[sink]\npath = \"{sink}\"\n"
            ),
            &[],
        );
    }
    let batch = read_parquet(&dir.path().join("parts.parquet"));
    let column = |name: &str| -> Vec<i64> {
        let array = batch.column(batch.schema().index_of(name).expect(name));
        assert_eq!(array.data_type(), &DataType::Int32, "{name}");
        array
            .as_any()
            .downcast_ref::<arrow_array::Int32Array>()
            .expect("int32")
            .values()
            .iter()
            .map(|&v| i64::from(v))
            .collect()
    };
    assert_eq!(column("utc_hour"), ints("hour"));
    let monday_is_one = |days: Vec<i64>| days.into_iter().map(|d| d + 1).collect::<Vec<_>>();
    assert_eq!(monday_is_one(column("utc_day_of_week")), ints("weekday"));
    assert_eq!(
        column("at_hour"),
        ints("paris_hour"),
        "Europe/Paris, DST switch on 2024-03-31 included"
    );
    assert_eq!(
        monday_is_one(column("at_day_of_week")),
        ints("paris_weekday")
    );
    let csv = fs::read_to_string(dir.path().join("parts.csv")).expect("csv");
    assert!(
        csv.lines()
            .nth(1)
            .is_some_and(|l| l.contains("2024-03-28T21:30:00+01:00")),
        "{csv:.300}"
    );
    let ndjson = fs::read_to_string(dir.path().join("parts.ndjson")).expect("ndjson");
    assert!(
        ndjson.lines().next().is_some_and(|l| l.contains("+01:00")),
        "{ndjson:.300}"
    );

    // Failed rows go to the dead-letter file with their UTC timestamp (`evil` fails every
    // batch; a small plugin, so that this test does not compile another large one).
    let failing = format!(
        "[[stage]]\nplugin = {:?}\non_error = \"dead-letter\"\nconfig = {{ mode = \"wrong-row-count\" }}\n\n\
         [dead_letter]\npath = \"failed.ndjson\"\n",
        plugins::EVIL
    );
    run(
        dir.path(),
        "dead.toml",
        &format!("[source]\npath = \"events.parquet\"\n\n{failing}\n[sink]\npath = \"kept.csv\"\n"),
        &[],
    );
    let dead = fs::read_to_string(dir.path().join("failed.ndjson")).expect("dead letters");
    let rows: Vec<serde_json::Value> = dead
        .lines()
        .map(|l| serde_json::from_str(l).expect("row"))
        .collect();
    assert_eq!(rows.len(), 200);
    let record: serde_json::Value =
        serde_json::from_str(rows[0]["record"].as_str().expect("record")).expect("json");
    assert_eq!(record["id"], 0);
    assert!(
        record["at"]
            .as_str()
            .is_some_and(|at| at.starts_with("2024-03-28T20:30:00")),
        "{record}"
    );
}

#[test]
fn a_polars_parquet_read_by_row_groups_is_what_pyarrow_reads_of_those_groups() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Polars' own writer, five row groups, with the types it writes for what its users hold:
    // large strings (with a quoted newline), a categorical (a dictionary), a UTC timestamp
    // and a list column.
    python(
        dir.path(),
        r#"
import datetime, polars as pl, pyarrow.parquet as pq
n = 5000
start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
frame = pl.DataFrame(
    {"id": list(range(n)),
     "name": [None if i % 11 == 0 else f"customer {i}\nline two" for i in range(n)],
     "kind": [["card", "cash", "voucher"][i % 3] for i in range(n)],
     "at": [start + datetime.timedelta(seconds=37 * i) for i in range(n)],
     "tags": [[f"t{i % 4}"] * (i % 3) for i in range(n)]},
    schema={"id": pl.Int64, "name": pl.String, "kind": pl.Categorical,
            "at": pl.Datetime("us", "UTC"), "tags": pl.List(pl.String)})
frame.write_parquet("events.parquet", row_group_size=1000)
groups = pq.ParquetFile("events.parquet").num_row_groups
assert groups == 5, groups
"#,
    );
    let pipeline = |groups: &str| {
        format!(
            "[source]\npath = \"events.parquet\"\nrow_groups = {groups}\n\n\
             [[stage]]\nplugin = {:?}\n\n[sink]\npath = \"groups.parquet\"\nmode = \"overwrite\"\n",
            plugins::PASSTHROUGH
        )
    };
    // Groups 3 then 1, in that order, through a plugin, read back by pyarrow, Polars and
    // DuckDB.
    run(dir.path(), "groups.toml", &pipeline("[3, 1]"), &[]);
    python(
        dir.path(),
        r#"
import duckdb, polars as pl, pyarrow.parquet as pq
want = pq.ParquetFile("events.parquet").read_row_groups([3, 1])
got = pq.read_table("groups.parquet")
assert got.num_rows == 2000, got.num_rows
for name in want.column_names:
    assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
assert str(got.schema.field("at").type) == "timestamp[us, tz=UTC]", got.schema
frame = pl.read_parquet("groups.parquet")
assert frame["id"].head(2).to_list() == [3000, 3001], frame.head(2)
assert frame["name"].null_count() == want.column("name").null_count
assert duckdb.sql("select count(*), min(id), max(id) from 'groups.parquet'").fetchall() == [(2000, 1000, 3999)]
"#,
    );
    // A group the file does not have is a config error naming the key, the file and how
    // many groups it has; nothing is written.
    fs::remove_file(dir.path().join("groups.parquet")).expect("remove");
    let bad = dir.path().join("bad.toml");
    fs::write(&bad, pipeline("[1, 5]")).expect("pipeline");
    let out = quiver_with(&["run", bad.to_str().expect("utf-8")], dir.path(), &[]);
    assert!(!out.status.success(), "row group 5 was accepted");
    let err = stderr(&out);
    assert!(
        err.contains("row_groups")
            && err.contains("row group 5 does not exist")
            && err.contains("events.parquet has 5"),
        "{err}"
    );
    assert!(!dir.path().join("groups.parquet").exists());
}

#[test]
fn compressed_files_go_through_quiver_locally_and_on_s3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let moto = Moto::start();
    moto.create_bucket("packed");
    let envs = moto.env();
    let mut csv = String::from("id,name,amount\n");
    for i in 0..5000 {
        writeln!(csv, "{i},customer-{},{}.{:02}", i % 97, i % 500, i % 100).expect("write");
    }
    fs::write(dir.path().join("in.csv"), &csv).expect("csv");
    let hop = |name: &str, from: &str, to: &str| {
        run(
            dir.path(),
            name,
            &format!(
                "[source]\npath = \"{from}\"\n\n[[stage]]\nplugin = {:?}\n\n[sink]\npath = \"{to}\"\n",
                plugins::PASSTHROUGH
            ),
            &envs,
        );
    };
    // local .csv -> S3 .csv.gz -> S3 .ndjson.zst -> S3 .csv.bz2 -> local .csv.bz2 -> local .csv
    hop("1.toml", "in.csv", "s3://packed/a.csv.gz");
    hop("2.toml", "s3://packed/a.csv.gz", "s3://packed/b.ndjson.zst");
    hop(
        "3.toml",
        "s3://packed/b.ndjson.zst",
        "s3://packed/c.csv.bz2",
    );
    hop("4.toml", "s3://packed/c.csv.bz2", "d.csv.bz2");
    hop("5.toml", "d.csv.bz2", "e.ndjson.zst");
    hop("6.toml", "e.ndjson.zst", "out.csv");
    let bz2 = fs::read(dir.path().join("d.csv.bz2")).expect("bz2");
    assert!(bz2.starts_with(b"BZh"));
    let back = fs::read_to_string(dir.path().join("out.csv")).expect("csv");
    // Floats come back as floats ("5.0") and NDJSON inference orders columns by name
    // (arrow-json's): compare values by column name, not text.
    let values = |text: &str| -> Vec<(i64, String, f64)> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let at = |name: &str| header.iter().position(|h| *h == name).expect(name);
        let (id, name, amount) = (at("id"), at("name"), at("amount"));
        lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (
                    f[id].parse().expect("id"),
                    f[name].to_string(),
                    f[amount].parse().expect("amount"),
                )
            })
            .collect()
    };
    assert_eq!(values(&back), values(&csv));
}

#[test]
fn columns_keep_validates_schemas_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("wide.csv"),
        "id,name,amount,extra\n1,ann,2.5,x\n2,bob,,y\n",
    )
    .expect("csv");
    let good = format!(
        "[source]\npath = \"wide.csv\"\ncolumns = [\"amount\", \"id\"]\n\n\
         [[stage]]\nplugin = {:?}\nconfig = {{ columns = [{{ column = \"amount\", scale = 2.0, output = \"double\" }}] }}\n\n\
         [sink]\npath = \"out.csv\"\n",
        plugins::MAP
    );
    fs::write(dir.path().join("good.toml"), &good).expect("pipeline");
    let out = quiver(
        &[
            "validate",
            dir.path().join("good.toml").to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.contains("  amount: Float64\n  id: Int64\nafter stage map (map@")
            && shown.contains("):\n  amount: Float64\n  id: Int64\n  double: Float64"),
        "{shown}"
    );
    run(dir.path(), "good.toml", &good, &[]);
    assert_eq!(
        fs::read_to_string(dir.path().join("out.csv")).expect("out"),
        "amount,id,double\n2.5,1,5.0\n,2,\n"
    );
    // A stage that needs a column left out fails validation, naming it.
    let bad = good.replace(r#"column = "amount""#, r#"column = "extra""#);
    fs::write(dir.path().join("bad.toml"), &bad).expect("pipeline");
    let out = quiver(
        &[
            "validate",
            dir.path().join("bad.toml").to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("extra"), "{}", stderr(&out));
    // A column the source does not have is a config error naming it.
    let missing = good.replace("[\"amount\", \"id\"]", "[\"amount\", \"colour\"]");
    fs::write(dir.path().join("missing.toml"), &missing).expect("pipeline");
    let out = quiver(
        &[
            "validate",
            dir.path().join("missing.toml").to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("\"colour\""), "{}", stderr(&out));
}

#[test]
fn a_partitioned_run_round_trips_and_a_killed_one_leaves_nothing_visible() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut csv = String::from("id,year,month,amount\n");
    for i in 0..3000 {
        writeln!(csv, "{i},{},{},{}.5", 2013 + i % 3, 1 + i % 12, i).expect("write");
    }
    fs::write(dir.path().join("in.csv"), &csv).expect("csv");
    run(
        dir.path(),
        "write.toml",
        "[source]\npath = \"in.csv\"\n\n[sink]\npath = \"lake/sales/\"\nformat = \"parquet\"\npartition_by = [\"year\", \"month\"]\n",
        &[],
    );
    assert!(
        dir.path()
            .join("lake/sales/year=2014/month=2/part-00000.parquet")
            .is_file()
    );
    run(
        dir.path(),
        "read.toml",
        "[source]\npath = \"lake/sales/\"\ncolumns = [\"id\", \"year\", \"month\", \"amount\"]\n\n[sink]\npath = \"back.csv\"\n",
        &[],
    );
    let mut back: Vec<String> = fs::read_to_string(dir.path().join("back.csv"))
        .expect("back")
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    back.sort_by_key(|l| l.split(',').next().and_then(|v| v.parse::<i64>().ok()));
    let original: Vec<String> = csv.lines().skip(1).map(str::to_string).collect();
    assert_eq!(back, original);

    // A slow run killed while writing leaves no partition visible.
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ mode = \"spin\", iterations = 20000000 }}\nbatch_rows = 50\n",
        plugins::EVIL
    );
    let pipeline = dir.path().join("slow.toml");
    fs::write(
        &pipeline,
        format!(
            "[source]\npath = \"in.csv\"\nbatch_rows = 50\n\n{stages}\n[sink]\npath = \"slow/sales/\"\nformat = \"csv\"\npartition_by = [\"year\"]\n"
        ),
    )
    .expect("pipeline");
    let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["run", pipeline.to_str().expect("utf-8")])
        .env("QUIVER_CACHE_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let staged = || {
        fs::read_dir(dir.path().join("slow"))
            .ok()
            .is_some_and(|entries| {
                entries.flatten().any(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.starts_with(".sales.")
                        && name.ends_with(".partial")
                        && fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_some())
                })
            })
    };
    let mut waited = 0;
    while !staged() {
        assert!(
            child.try_wait().expect("poll").is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        waited += 1;
        assert!(waited < 6000, "the sink never started writing");
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert!(
        !dir.path().join("slow/sales").exists(),
        "a killed run left partitions visible"
    );
}
