//! The reader matrix: what Quiver writes must read back in pyarrow, Polars and DuckDB with
//! the same logical types and values, and what they write must read back in Quiver.
//!
//! One batch holds every type sources and sinks support — booleans, every integer width,
//! floats, text (large too), binary, dates, timestamps without a zone, in UTC and in
//! Europe/Paris, seconds to nanoseconds, decimals, lists and structs — each with a null.
//! It is written in every format (text formats get the columns they can hold; `.csv.gz` and
//! `.ndjson.zst` too), then `matrix.py read` opens every file with the three libraries, in
//! one Python process, and compares types (typed formats) and values (all). `matrix.py
//! write` makes the libraries write their own files, which Quiver then reads and compares.
//! Values are compared in the canonical JSON form `matrix.py` describes.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::types::Int64Type;
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Date64Array, Decimal128Array,
    DictionaryArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array,
    LargeStringArray, ListArray, RecordBatch, StringArray, StructArray, Time64MicrosecondArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use quiver_io::{Format, SinkSpec, SourceSpec, Storage};
use serde_json::{Value, json};

use crate::{read_all, write_all};

/// One column of the matrix: its array, its kind in `matrix.py`'s spelling, its zone, its
/// canonical values, and whether CSV (scalars only) and NDJSON can hold it.
struct Column {
    name: &'static str,
    array: ArrayRef,
    kind: &'static str,
    zone: Option<&'static str>,
    values: Vec<Value>,
    csv: bool,
    ndjson: bool,
}

fn column(name: &'static str, array: ArrayRef, kind: &'static str, values: Vec<Value>) -> Column {
    Column {
        name,
        array,
        kind,
        zone: None,
        values,
        csv: true,
        ndjson: true,
    }
}

/// Microseconds since the epoch of 2026-01-01T10:00:00.123456Z and friends.
const T0: i64 = 1_767_261_600_123_456;

fn every_type() -> Vec<Column> {
    let ts = [
        Some(T0),
        None,
        Some(-3_600_000_000),
        Some(T0 + 86_400_000_000 * 59),
    ];
    let us = |v: &[Option<i64>], div: i64| -> Vec<Value> {
        v.iter()
            .map(|v| v.map_or(Value::Null, |v| json!(v / div * div)))
            .collect()
    };
    let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
        Some(vec![Some(1), Some(2)]),
        None,
        Some(vec![]),
        Some(vec![Some(i64::MAX), None]),
    ]);
    let point = StructArray::try_new(
        Fields::from(vec![
            Field::new("x", DataType::Int64, true),
            Field::new("label", DataType::Utf8, true),
        ]),
        vec![
            Arc::new(Int64Array::from(vec![Some(1), None, None, Some(-4)])),
            Arc::new(StringArray::from(vec![
                Some("a"),
                None,
                Some("b"),
                Some("ü"),
            ])),
        ],
        Some(vec![true, false, true, true].into()),
    )
    .expect("struct");
    let mut columns = vec![
        column(
            "flag",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                None,
                Some(false),
                Some(true),
            ])),
            "bool",
            vec![json!(true), Value::Null, json!(false), json!(true)],
        ),
        column(
            "i8",
            Arc::new(Int8Array::from(vec![Some(-128), None, Some(127), Some(0)])),
            "int8",
            vec![json!(-128), Value::Null, json!(127), json!(0)],
        ),
        column(
            "i16",
            Arc::new(Int16Array::from(vec![
                Some(-32768),
                None,
                Some(32767),
                Some(5),
            ])),
            "int16",
            vec![json!(-32768), Value::Null, json!(32767), json!(5)],
        ),
        column(
            "i32",
            Arc::new(Int32Array::from(vec![
                Some(i32::MIN),
                None,
                Some(i32::MAX),
                Some(-1),
            ])),
            "int32",
            vec![json!(i32::MIN), Value::Null, json!(i32::MAX), json!(-1)],
        ),
        column(
            "i64",
            Arc::new(Int64Array::from(vec![
                Some(-9_007_199_254_740_993),
                None,
                Some(i64::MAX),
                Some(0),
            ])),
            "int64",
            vec![
                json!(-9_007_199_254_740_993_i64),
                Value::Null,
                json!(i64::MAX),
                json!(0),
            ],
        ),
        column(
            "u8",
            Arc::new(UInt8Array::from(vec![Some(0), None, Some(255), Some(1)])),
            "uint8",
            vec![json!(0), Value::Null, json!(255), json!(1)],
        ),
        column(
            "u16",
            Arc::new(UInt16Array::from(vec![Some(0), None, Some(65535), Some(1)])),
            "uint16",
            vec![json!(0), Value::Null, json!(65535), json!(1)],
        ),
        column(
            "u32",
            Arc::new(UInt32Array::from(vec![
                Some(0),
                None,
                Some(u32::MAX),
                Some(1),
            ])),
            "uint32",
            vec![json!(0), Value::Null, json!(u32::MAX), json!(1)],
        ),
        column(
            "u64",
            Arc::new(UInt64Array::from(vec![
                Some(10_000_000_000),
                None,
                Some(1),
                Some(0),
            ])),
            "uint64",
            vec![json!(10_000_000_000_u64), Value::Null, json!(1), json!(0)],
        ),
        column(
            "f32",
            Arc::new(Float32Array::from(vec![
                Some(0.5),
                None,
                Some(-1.25),
                Some(0.1),
            ])),
            "float32",
            vec![json!(0.5), Value::Null, json!(-1.25), json!(0.1)],
        ),
        column(
            "f64",
            Arc::new(Float64Array::from(vec![
                Some(1.0 / 3.0),
                None,
                Some(-2.5e10),
                Some(f64::MIN_POSITIVE),
            ])),
            "float64",
            vec![
                json!(1.0 / 3.0),
                Value::Null,
                json!(-2.5e10),
                json!(f64::MIN_POSITIVE),
            ],
        ),
        column(
            "text",
            Arc::new(StringArray::from(vec![
                Some("Zoë, \"quoted\""),
                None,
                Some("東京"),
                Some("tab\there"),
            ])),
            "string",
            vec![
                json!("Zoë, \"quoted\""),
                Value::Null,
                json!("東京"),
                json!("tab\there"),
            ],
        ),
        column(
            "large",
            Arc::new(LargeStringArray::from(vec![
                Some("x".repeat(300)),
                Some("y".into()),
                None,
                Some("ü".into()),
            ])),
            "string",
            vec![json!("x".repeat(300)), json!("y"), Value::Null, json!("ü")],
        ),
        Column {
            csv: false,
            ndjson: false,
            ..column(
                "blob",
                Arc::new(BinaryArray::from(vec![
                    Some(&b"\x00\xff"[..]),
                    None,
                    Some(b"quiver"),
                    Some(b""),
                ])),
                "binary",
                vec![json!("00ff"), Value::Null, json!(hex(b"quiver")), json!("")],
            )
        },
        column(
            "day",
            Arc::new(Date32Array::from(vec![
                Some(15_706),
                None,
                Some(-1),
                Some(20_512),
            ])),
            "date",
            vec![
                json!("2013-01-01"),
                Value::Null,
                json!("1969-12-31"),
                json!("2026-02-28"),
            ],
        ),
        column(
            "ts_s",
            Arc::new(TimestampSecondArray::from(
                ts.map(|v| v.map(|v| v / 1_000_000)).to_vec(),
            )),
            "timestamp",
            us(&ts, 1_000_000),
        ),
        Column {
            zone: Some("UTC"),
            ..column(
                "ts_utc",
                Arc::new(
                    TimestampMillisecondArray::from(ts.map(|v| v.map(|v| v / 1_000)).to_vec())
                        .with_timezone("UTC"),
                ),
                "timestamptz",
                us(&ts, 1_000),
            )
        },
        Column {
            zone: Some("Europe/Paris"),
            ..column(
                "ts_paris",
                Arc::new(
                    TimestampMicrosecondArray::from(ts.to_vec()).with_timezone("Europe/Paris"),
                ),
                "timestamptz",
                us(&ts, 1),
            )
        },
        column(
            "ts_ns",
            Arc::new(TimestampNanosecondArray::from(
                ts.map(|v| v.map(|v| v * 1_000)).to_vec(),
            )),
            "timestamp",
            us(&ts, 1),
        ),
        column(
            "amount",
            Arc::new(
                Decimal128Array::from(vec![Some(1234), None, Some(-5), Some(9_999_999_999)])
                    .with_precision_and_scale(10, 2)
                    .expect("decimal"),
            ),
            "decimal(10,2)",
            vec![
                json!("12.34"),
                Value::Null,
                json!("-0.05"),
                json!("99999999.99"),
            ],
        ),
        Column {
            csv: false,
            ..column(
                "tags",
                Arc::new(list),
                "list<int64>",
                vec![
                    json!([1, 2]),
                    Value::Null,
                    json!([]),
                    json!([i64::MAX, null]),
                ],
            )
        },
        Column {
            csv: false,
            ..column(
                "point",
                Arc::new(point),
                "struct",
                vec![
                    json!({"x": 1, "label": "a"}),
                    Value::Null,
                    json!({"x": null, "label": "b"}),
                    json!({"x": -4, "label": "ü"}),
                ],
            )
        },
    ];
    // Times of day, Date64 (written to Parquet as a DATE) and dictionaries (which may stay
    // dictionaries): the typed formats.
    let typed = |c: Column| Column {
        csv: false,
        ndjson: false,
        ..c
    };
    columns.push(typed(column(
        "time_us",
        Arc::new(Time64MicrosecondArray::from(vec![
            Some(0),
            None,
            Some(86_399_999_999),
            Some(45_296_789_000),
        ])),
        "time",
        vec![
            json!(0),
            Value::Null,
            json!(86_399_999_999_i64),
            json!(45_296_789_000_i64),
        ],
    )));
    columns.push(typed(column(
        "day64",
        Arc::new(Date64Array::from(vec![
            Some(1_356_998_400_000),
            None,
            Some(-86_400_000),
            Some(0),
        ])),
        "date",
        vec![
            json!("2013-01-01"),
            Value::Null,
            json!("1969-12-31"),
            json!("1970-01-01"),
        ],
    )));
    columns.push(typed(column(
        "category",
        Arc::new(
            ["red", "green", "red", "blue"]
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i != 1).then_some(v))
                .collect::<DictionaryArray<Int32Type>>(),
        ),
        "string",
        vec![json!("red"), Value::Null, json!("red"), json!("blue")],
    )));
    // Extremes only the typed formats promise to keep: text readers infer u64::MAX as
    // something else.
    columns.push(Column {
        csv: false,
        ndjson: false,
        ..column(
            "u64_max",
            Arc::new(UInt64Array::from(vec![
                Some(u64::MAX),
                None,
                Some(0),
                Some(1),
            ])),
            "uint64",
            vec![json!(u64::MAX), Value::Null, json!(0), json!(1)],
        )
    });
    columns
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn batch_of(columns: &[&Column]) -> RecordBatch {
    let schema = Schema::new(
        columns
            .iter()
            .map(|c| Field::new(c.name, c.array.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        columns.iter().map(|c| Arc::clone(&c.array)).collect(),
    )
    .expect("matrix batch")
}

/// Runs `matrix.py MODE DIR` in the test venv; its JSON report.
fn python(mode: &str, dir: &Path) -> Value {
    let python = quiver_tests::test_venv_bin("python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/io/matrix.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(mode)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "matrix.py {mode} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "matrix.py {mode} printed no report ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[tokio::test]
async fn what_quiver_writes_reads_back_the_same_in_pyarrow_polars_and_duckdb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    let columns = every_type();
    // (file, format, which columns it can hold); compression from the extension.
    type Keeps = fn(&Column) -> bool;
    let files: [(&str, Format, Keeps); 7] = [
        ("quiver.parquet", Format::Parquet, |_| true),
        ("quiver.arrow", Format::ArrowFile, |_| true),
        ("quiver.arrows", Format::ArrowStream, |_| true),
        ("quiver.csv", Format::Csv, |c| c.csv),
        ("quiver.csv.gz", Format::Csv, |c| c.csv),
        ("quiver.ndjson", Format::Ndjson, |c| c.ndjson),
        ("quiver.ndjson.zst", Format::Ndjson, |c| c.ndjson),
    ];
    let mut listed = Vec::new();
    for (name, format, keeps) in files {
        let kept: Vec<&Column> = columns.iter().filter(|c| keeps(c)).collect();
        write_all(
            &SinkSpec::new(name),
            dir.path(),
            &storage,
            &[batch_of(&kept)],
        )
        .await;
        listed.push(json!({
            "path": name,
            "format": format.to_string(),
            "columns": kept.iter().map(|c| c.name).collect::<Vec<_>>(),
        }));
    }
    let expected = json!({
        "columns": columns.iter().map(|c| json!({
            "name": c.name, "kind": c.kind, "zone": c.zone, "values": c.values,
        })).collect::<Vec<_>>(),
        "files": listed,
    });
    std::fs::write(dir.path().join("expected.json"), expected.to_string()).expect("write");
    let report = python("read", dir.path());
    let failures: Vec<&str> = report["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    eprintln!(
        "reader matrix: {} cells, read {}",
        report["checked"], report["read"]
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // pyarrow and Polars read all 7 files; DuckDB the 5 that are not Arrow IPC.
    assert_eq!(
        report["read"].as_array().map(Vec::len),
        Some(7 + 7 + 5),
        "{report}"
    );
}

/// The kind of an arrow type, in `matrix.py`'s spelling.
fn kind_of(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "bool".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time".into(),
        DataType::Timestamp(_, None) => "timestamp".into(),
        DataType::Timestamp(_, Some(_)) => "timestamptz".into(),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
            format!("list<{}>", kind_of(f.data_type()))
        }
        DataType::Struct(_) => "struct".into(),
        DataType::Dictionary(_, value) => kind_of(value),
        other => other.to_string(),
    }
}

/// The canonical values of `array`, read as `kind`.
fn canonical(array: &ArrayRef, kind: &str) -> Result<Vec<Value>, String> {
    let cast = |to: &DataType| arrow_cast::cast(array.as_ref(), to).map_err(|e| e.to_string());
    let nulls = |values: Vec<Value>| -> Vec<Value> {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| if array.is_null(i) { Value::Null } else { v })
            .collect()
    };
    Ok(match kind {
        k if k.starts_with("timestamp") => {
            let DataType::Timestamp(_, zone) = array.data_type() else {
                return Err(format!("{} is not a timestamp", array.data_type()));
            };
            let micros = cast(&DataType::Timestamp(TimeUnit::Microsecond, zone.clone()))?;
            let ints = arrow_cast::cast(&micros, &DataType::Int64).map_err(|e| e.to_string())?;
            ints.as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map_or(Value::Null, |v| json!(v)))
                .collect()
        }
        "time" => {
            let micros = cast(&DataType::Time64(TimeUnit::Microsecond))?;
            let ints = arrow_cast::cast(&micros, &DataType::Int64).map_err(|e| e.to_string())?;
            ints.as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map_or(Value::Null, |v| json!(v)))
                .collect()
        }
        "bool" => cast(&DataType::Boolean)?
            .as_boolean()
            .iter()
            .map(|v| v.map_or(Value::Null, Value::Bool))
            .collect(),
        k if k.starts_with("uint") => cast(&DataType::UInt64)?
            .as_primitive::<arrow_array::types::UInt64Type>()
            .iter()
            .map(|v| v.map_or(Value::Null, |v| json!(v)))
            .collect(),
        k if k.starts_with("int") => cast(&DataType::Int64)?
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.map_or(Value::Null, |v| json!(v)))
            .collect(),
        k if k.starts_with("float") => cast(&DataType::Float64)?
            .as_primitive::<arrow_array::types::Float64Type>()
            .iter()
            .map(|v| v.map_or(Value::Null, |v| json!(v)))
            .collect(),
        "binary" => {
            let binary = cast(&DataType::Binary)?;
            binary
                .as_binary::<i32>()
                .iter()
                .map(|v| v.map_or(Value::Null, |v| json!(hex(v))))
                .collect()
        }
        k if k.starts_with("decimal") => {
            let scale: usize = k
                .trim_end_matches(')')
                .rsplit(',')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            match array.data_type() {
                DataType::Float64 | DataType::Float32 => cast(&DataType::Float64)?
                    .as_primitive::<arrow_array::types::Float64Type>()
                    .iter()
                    .map(|v| v.map_or(Value::Null, |v| json!(format!("{v:.scale$}"))))
                    .collect(),
                _ => strings(array)?,
            }
        }
        "string" | "date" => strings(array)?,
        _ => nulls(json_values(array)?),
    })
}

/// Every value as arrow displays it (dates `2013-01-01`, decimals with their scale).
fn strings(array: &ArrayRef) -> Result<Vec<Value>, String> {
    let options = arrow_cast::display::FormatOptions::default();
    let formatter = arrow_cast::display::ArrayFormatter::try_new(array.as_ref(), &options)
        .map_err(|e| e.to_string())?;
    Ok((0..array.len())
        .map(|i| {
            if array.is_null(i) {
                Value::Null
            } else {
                json!(formatter.value(i).to_string())
            }
        })
        .collect())
}

/// Nested values through arrow-json, nulls written out.
fn json_values(array: &ArrayRef) -> Result<Vec<Value>, String> {
    let batch =
        RecordBatch::try_from_iter([("v", Arc::clone(array))]).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut writer = arrow_json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow_json::writer::LineDelimited>(&mut buf);
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    drop(writer);
    String::from_utf8_lossy(&buf)
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .map(|row| row["v"].clone())
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn same(have: &Value, want: &Value, kind: &str) -> bool {
    match (have.as_f64(), want.as_f64()) {
        (Some(h), Some(w)) if kind == "float32" => (h - w).abs() <= w.abs() * 1e-6,
        (Some(h), Some(w)) if kind == "float64" => h == w,
        _ => have == want,
    }
}

#[tokio::test]
async fn what_pyarrow_polars_and_duckdb_write_reads_back_the_same_in_quiver() {
    let dir = tempfile::tempdir().expect("tempdir");
    python("write", dir.path());
    let written: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("written.json")).expect("written.json"),
    )
    .expect("json");
    let storage = Storage::from_env();
    let mut failures = Vec::new();
    let mut read = 0;
    for file in written["files"].as_array().expect("files") {
        let path = file["path"].as_str().expect("path");
        let typed = matches!(
            file["format"].as_str(),
            Some("parquet" | "arrow_file" | "arrow_stream")
        );
        let mut spec = SourceSpec::new(path);
        spec.csv.null_values = None;
        let batch = match read_all(&spec, dir.path(), &storage).await {
            Ok((_, batch)) => batch,
            Err(error) => {
                failures.push(format!("{path}: {error}"));
                continue;
            }
        };
        read += 1;
        let schema = batch.schema();
        for column in file["columns"].as_array().expect("columns") {
            let name = column["name"].as_str().expect("name");
            let kind = column["kind"].as_str().expect("kind");
            let Ok(index) = schema.index_of(name) else {
                failures.push(format!("{path} {name}: missing"));
                continue;
            };
            let data_type = schema.field(index).data_type();
            if typed && kind_of(data_type) != kind {
                failures.push(format!("{path} {name}: type {data_type}, expected {kind}"));
            }
            let writer = file["writer"].as_str().unwrap_or_default();
            if typed
                && writer != "duckdb"
                && let (Some(zone), DataType::Timestamp(_, have)) =
                    (column["zone"].as_str(), data_type)
                && have.as_deref() != Some(zone)
            {
                failures.push(format!("{path} {name}: zone {have:?}, expected {zone}"));
            }
            let want = column["values"].as_array().expect("values");
            match canonical(batch.column(index), kind) {
                Err(error) => failures.push(format!("{path} {name} ({data_type}): {error}")),
                Ok(have) => {
                    if let Some(row) = (0..want.len())
                        .find(|&i| have.get(i).is_none_or(|h| !same(h, &want[i], kind)))
                    {
                        failures.push(format!(
                            "{path} {name} ({data_type}) row {row}: {:?}, expected {}",
                            have.get(row),
                            want[row]
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(read, written["files"].as_array().map_or(0, Vec::len));
}
