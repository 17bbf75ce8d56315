//! Every format in and out through `quiver run` and the `passthrough` plugin, with exact
//! round trips: locally, through stdin and stdout, and through a real S3-compatible server
//! (moto). Inputs are written and outputs read with arrow's own readers and writers, never
//! with quiver-io, so the test does not check quiver-io against itself.

use std::fs::File;
use std::io::{BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use quiver_tests::moto::Moto;
use quiver_tests::plugins;

use super::{quiver_with, stderr};

/// The formats, by file extension, as quiver-io names them.
const FORMATS: [&str; 5] = ["parquet", "csv", "ndjson", "arrow", "arrows"];

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("qty", DataType::Int32, true),
        Field::new("price", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("member", DataType::Boolean, true),
        Field::new("day", DataType::Date32, true),
        Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, None), true),
    ]))
}

/// The columns in the pipeline file's syntax, for the formats that carry no types.
const COLUMNS: &str = r#"[
  { name = "id", type = "int64" },
  { name = "qty", type = "int32" },
  { name = "price", type = "float64" },
  { name = "name", type = "utf8" },
  { name = "member", type = "bool" },
  { name = "day", type = "date32" },
  { name = "at", type = "timestamp[us]" },
]"#;

/// Three batches: awkward values (quotes, commas, newlines, unicode, extremes) and nulls in
/// every column. No empty strings: CSV writes an empty string and a null alike (an empty
/// field), so it cannot round-trip the difference.
fn sample() -> Vec<RecordBatch> {
    (0..3)
        .map(|b| {
            let n = 1000usize;
            let row = |i: usize| (b * n + i) as i64;
            let columns: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from_iter((0..n).map(|i| {
                    let r = row(i);
                    match r % 97 {
                        0 => None,
                        1 => Some(i64::MAX - r),
                        2 => Some(i64::MIN + r),
                        _ => Some(r * 7919),
                    }
                }))),
                Arc::new(Int32Array::from_iter((0..n).map(|i| {
                    (row(i) % 11 != 0).then(|| (row(i) as i32 % 200) - 100)
                }))),
                Arc::new(Float64Array::from_iter((0..n).map(|i| {
                    (row(i) % 13 != 0).then(|| row(i) as f64 / 7.0 - 1e3 * (b as f64))
                }))),
                Arc::new(StringArray::from_iter((0..n).map(|i| match row(i) % 9 {
                    0 => None,
                    1 => Some("comma, \"quoted\"".to_string()),
                    2 => Some("line\nbreak".to_string()),
                    3 => Some("Zoë Ørsted 東京".to_string()),
                    _ => Some(format!("customer-{}", row(i))),
                }))),
                Arc::new(BooleanArray::from_iter(
                    (0..n).map(|i| (row(i) % 5 != 0).then_some(row(i) % 2 == 0)),
                )),
                Arc::new(Date32Array::from_iter(
                    (0..n).map(|i| (row(i) % 17 != 0).then_some(19_000 + row(i) as i32)),
                )),
                Arc::new(TimestampMicrosecondArray::from_iter((0..n).map(|i| {
                    (row(i) % 19 != 0).then_some(1_700_000_000_000_000 + row(i) * 1_234_567)
                }))),
            ];
            RecordBatch::try_new(schema(), columns).unwrap()
        })
        .collect()
}

fn write(path: &Path, ext: &str, batches: &[RecordBatch]) {
    let file = File::create(path).unwrap();
    match ext {
        "parquet" => {
            let mut w = parquet::arrow::ArrowWriter::try_new(file, schema(), None).unwrap();
            for b in batches {
                w.write(b).unwrap();
            }
            w.close().unwrap();
        }
        "csv" => {
            let mut w = arrow_csv::WriterBuilder::new()
                .with_header(true)
                .build(file);
            for b in batches {
                w.write(b).unwrap();
            }
        }
        "ndjson" => {
            let mut w = arrow_json::LineDelimitedWriter::new(file);
            for b in batches {
                w.write(b).unwrap();
            }
            w.finish().unwrap();
        }
        "arrow" => {
            let mut w = arrow_ipc::writer::FileWriter::try_new(file, &schema()).unwrap();
            for b in batches {
                w.write(b).unwrap();
            }
            w.finish().unwrap();
        }
        "arrows" => {
            let mut w = arrow_ipc::writer::StreamWriter::try_new(file, &schema()).unwrap();
            for b in batches {
                w.write(b).unwrap();
            }
            w.finish().unwrap();
        }
        other => panic!("no writer for {other}"),
    }
}

fn read(path: &Path, ext: &str) -> RecordBatch {
    let open = || BufReader::new(File::open(path).unwrap());
    let batches: Vec<RecordBatch> = match ext {
        "parquet" => parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            File::open(path).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect(),
        "csv" => arrow_csv::ReaderBuilder::new(schema())
            .with_header(true)
            .build(open())
            .unwrap()
            .map(Result::unwrap)
            .collect(),
        "ndjson" => arrow_json::ReaderBuilder::new(schema())
            .build(open())
            .unwrap()
            .map(Result::unwrap)
            .collect(),
        "arrow" => arrow_ipc::reader::FileReader::try_new(File::open(path).unwrap(), None)
            .unwrap()
            .map(Result::unwrap)
            .collect(),
        "arrows" => arrow_ipc::reader::StreamReader::try_new(open(), None)
            .unwrap()
            .map(Result::unwrap)
            .collect(),
        other => panic!("no reader for {other}"),
    };
    arrow_select::concat::concat_batches(&schema(), &batches).unwrap()
}

/// Equal batches, or a panic naming the first differing column and row.
fn assert_same(got: &RecordBatch, want: &RecordBatch, context: &str) {
    assert_eq!(got.schema(), want.schema(), "{context}: schema");
    assert_eq!(got.num_rows(), want.num_rows(), "{context}: rows");
    for (i, field) in want.schema().fields().iter().enumerate() {
        let (g, w) = (got.column(i), want.column(i));
        if g == w {
            continue;
        }
        let row = (0..w.len())
            .find(|&r| g.slice(r, 1) != w.slice(r, 1))
            .unwrap_or(0);
        panic!(
            "{context}: column {} differs first at row {row}: got {:?}, want {:?}",
            field.name(),
            g.slice(row, 1),
            w.slice(row, 1)
        );
    }
}

fn expected() -> RecordBatch {
    arrow_select::concat::concat_batches(&schema(), &sample()).unwrap()
}

/// The source table of a pipeline file reading `path` as `ext`.
fn source(path: &str, ext: &str) -> String {
    match ext {
        "csv" => format!("[source]\npath = {path:?}\n[source.csv]\nschema = {COLUMNS}\n"),
        "ndjson" => format!("[source]\npath = {path:?}\n[source.ndjson]\nschema = {COLUMNS}\n"),
        _ => format!("[source]\npath = {path:?}\n"),
    }
}

fn passthrough_pipeline(dir: &Path, name: &str, source: &str, sink: &str) -> String {
    let text = format!(
        "{source}\n[[stage]]\nplugin = {:?}\n\n[sink]\n{sink}\n",
        plugins::PASSTHROUGH
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn run_ok(dir: &Path, pipeline: &str, envs: &[(&str, String)]) {
    let out = quiver_with(&["run", pipeline], dir, envs);
    assert!(
        out.status.success(),
        "{pipeline}: exit {:?}\n{}",
        out.status.code(),
        stderr(&out)
    );
}

#[test]
fn every_format_round_trips_exactly_through_passthrough_locally() {
    let dir = tempfile::tempdir().unwrap();
    let want = expected();
    for input in FORMATS {
        let in_path = dir.path().join(format!("in.{input}"));
        write(&in_path, input, &sample());
        for output in FORMATS {
            let name = format!("{input}-to-{output}");
            let pipeline = passthrough_pipeline(
                dir.path(),
                &name,
                &source(&format!("in.{input}"), input),
                &format!("path = \"{name}.{output}\""),
            );
            run_ok(dir.path(), &pipeline, &[]);
            let got = read(&dir.path().join(format!("{name}.{output}")), output);
            assert_same(&got, &want, &format!("{input} → passthrough → {output}"));
        }
    }
}

#[test]
fn streaming_formats_read_stdin_and_write_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let want = expected();
    for format in ["csv", "ndjson", "arrows"] {
        let in_path = dir.path().join(format!("in.{format}"));
        write(&in_path, format, &sample());
        let format_key = match format {
            "arrows" => "arrow_stream",
            f => f,
        };
        let schema_table = match format {
            "csv" => format!("[source.csv]\nschema = {COLUMNS}\n"),
            "ndjson" => format!("[source.ndjson]\nschema = {COLUMNS}\n"),
            _ => String::new(),
        };
        let pipeline = passthrough_pipeline(
            dir.path(),
            &format!("stdio-{format}"),
            &format!("[source]\npath = \"-\"\nformat = \"{format_key}\"\n{schema_table}"),
            &format!("path = \"-\"\nformat = \"{format_key}\""),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
            .args(["run", &pipeline])
            .env("QUIVER_CACHE_DIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let bytes = std::fs::read(&in_path).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || {
            stdin.write_all(&bytes).unwrap();
        });
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap();
        assert!(
            out.status.success(),
            "{format} via stdio: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The summary goes to stderr when the data goes to stdout.
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("wrote 3000 rows"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out_path = dir.path().join(format!("out.{format}"));
        std::fs::write(&out_path, &out.stdout).unwrap();
        assert_same(
            &read(&out_path, format),
            &want,
            &format!("{format} via stdin → stdout"),
        );
    }
}

#[test]
fn every_format_round_trips_exactly_through_s3() {
    let moto = Moto::start();
    moto.create_bucket("quiver");
    let envs = moto.env();
    let dir = tempfile::tempdir().unwrap();
    let want = expected();
    for format in FORMATS {
        let local_in = format!("in.{format}");
        write(&dir.path().join(&local_in), format, &sample());
        // Up: local file → S3 object; a directory of parts for the formats that split.
        let remote = format!("s3://quiver/{format}/data.{format}");
        let up = passthrough_pipeline(
            dir.path(),
            &format!("up-{format}"),
            &source(&local_in, format),
            &format!("path = {remote:?}"),
        );
        run_ok(dir.path(), &up, &envs);
        // Down: S3 object → local file, read with arrow's own reader.
        let down = passthrough_pipeline(
            dir.path(),
            &format!("down-{format}"),
            &source(&remote, format),
            &format!("path = \"back.{format}\""),
        );
        run_ok(dir.path(), &down, &envs);
        assert_same(
            &read(&dir.path().join(format!("back.{format}")), format),
            &want,
            &format!("{format} through S3"),
        );
    }

    // A directory of parts on S3, read back through a glob.
    let parts = passthrough_pipeline(
        dir.path(),
        "parts",
        &source("in.parquet", "parquet"),
        "path = \"s3://quiver/parts/\"\nformat = \"parquet\"\nmax_rows_per_file = 700",
    );
    run_ok(dir.path(), &parts, &envs);
    let glob = passthrough_pipeline(
        dir.path(),
        "glob",
        &source("s3://quiver/parts/*.parquet", "parquet"),
        "path = \"joined.parquet\"",
    );
    let report = dir.path().join("glob-report.json");
    let out = quiver_with(
        &["run", &glob, "--report", report.to_str().unwrap()],
        dir.path(),
        &envs,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same(
        &read(&dir.path().join("joined.parquet"), "parquet"),
        &want,
        "parts on S3 read through a glob",
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["inputs"].as_array().unwrap().len(), 5, "{r}");
    assert_eq!(r["rows_read"], 3000);
}

#[test]
fn an_unreachable_object_store_exits_69_and_names_the_location() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: connection refused is transient, so the run retries with
    // backoff (about 25 s in all) before it gives up.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let envs = vec![
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true".to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ];
    let pipeline = passthrough_pipeline(
        dir.path(),
        "unreachable",
        &source("s3://nowhere/in.parquet", "parquet"),
        "path = \"out.parquet\"",
    );
    let out = quiver_with(&["run", &pipeline], dir.path(), &envs);
    assert_eq!(out.status.code(), Some(69), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("s3://nowhere/in.parquet"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("out.parquet").exists());
}
