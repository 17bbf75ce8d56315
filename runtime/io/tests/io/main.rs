//! Integration tests of quiver-io on real files, a real S3-compatible server (moto) and real
//! child processes. One binary; one module per topic. Helpers shared by the topics live
//! here: the sample batch (every type the round trips must preserve), specs, and the
//! read/write/compare helpers.

mod atomicity;
mod bad_data;
mod child;
mod compressed;
mod glob;
mod local;
mod matrix;
mod moto;
mod partitions;
mod projection;
mod real_csv;
mod row_groups;
mod s3;
mod stdio;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures::TryStreamExt;
use quiver_io::{
    Committed, Format, IoError, SinkSpec, SourceSpec, Storage, create_sink_with, open_source_with,
};
use serde_json::json;

/// Every format, for tests that cover them all.
pub const FORMATS: [Format; 5] = [
    Format::Parquet,
    Format::Csv,
    Format::Ndjson,
    Format::ArrowFile,
    Format::ArrowStream,
];

/// The extension this crate writes for `format`.
pub fn ext(format: Format) -> &'static str {
    format.extension()
}

/// The schema of [`sample`].
pub fn sample_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("price", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("ok", DataType::Boolean, true),
        Field::new("day", DataType::Date32, true),
        Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("amount", DataType::Decimal128(10, 2), true),
    ]))
}

/// The same columns as a spec's `schema` (CSV and NDJSON need them to read every type back).
pub fn columns() -> serde_json::Value {
    json!([
        {"name": "id", "type": "int64"},
        {"name": "price", "type": "float64"},
        {"name": "name", "type": "utf8"},
        {"name": "ok", "type": "bool"},
        {"name": "day", "type": "date32"},
        {"name": "at", "type": "timestamp[us]"},
        {"name": "amount", "type": "decimal128(10,2)"},
    ])
}

/// Rows `start..start + len` of a deterministic table with nulls, non-ASCII text, text that
/// CSV must quote, extreme floats, dates, microsecond timestamps and decimals.
pub fn sample_rows(start: i64, len: usize) -> RecordBatch {
    let rows: Vec<i64> = (start..start + len as i64).collect();
    let names = [
        "Zoë",
        "東京",
        "naïve, \"quoted\"",
        "line\nbreak",
        "plain",
        "ünïcödé ✓",
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter(
            rows.iter()
                .map(|&r| (r % 3 != 1).then_some(r * 1_000_003 - 7)),
        )),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(
            |&r| match r % 4 {
                0 => 0.1 * r as f64,
                1 => -2.5e10,
                2 => 1.0 / 3.0,
                _ => f64::MIN_POSITIVE,
            },
        ))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|&r| names[r as usize % names.len()]),
        )),
        Arc::new(BooleanArray::from_iter(
            rows.iter().map(|&r| Some(r % 2 == 0)),
        )),
        Arc::new(Date32Array::from_iter_values(
            rows.iter().map(|&r| 20_454 + r as i32),
        )),
        Arc::new(TimestampMicrosecondArray::from_iter_values(
            rows.iter()
                .map(|&r| 1_767_225_600_123_456 + r * 3_600_000_001),
        )),
        Arc::new(
            Decimal128Array::from_iter_values(rows.iter().map(|&r| (r * 12_345 - 6) as i128))
                .with_precision_and_scale(10, 2)
                .expect("valid decimal"),
        ),
    ];
    RecordBatch::try_new(sample_schema(), columns).expect("sample batch")
}

/// Seven rows in two batches.
pub fn sample() -> Vec<RecordBatch> {
    vec![sample_rows(0, 4), sample_rows(4, 3)]
}

/// A source spec for `path` that declares the sample's columns for CSV and NDJSON.
pub fn source_spec(path: &str) -> SourceSpec {
    serde_json::from_value(json!({
        "path": path,
        "csv": {"schema": columns()},
        "ndjson": {"schema": columns()},
    }))
    .expect("source spec")
}

/// A sink spec for `path` in `format`.
pub fn sink_spec(path: &str, format: Format, max_rows: Option<u64>) -> SinkSpec {
    let mut spec = SinkSpec::new(path);
    spec.format = Some(format);
    spec.max_rows_per_file = max_rows;
    spec
}

/// Writes `batches` through a sink and commits.
pub async fn write_all(
    spec: &SinkSpec,
    base: &Path,
    storage: &Storage,
    batches: &[RecordBatch],
) -> Committed {
    let schema = batches
        .first()
        .map_or_else(sample_schema, |batch| batch.schema());
    let mut sink = create_sink_with(spec, base, schema, storage)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", spec.path));
    for batch in batches {
        sink.write(batch)
            .await
            .unwrap_or_else(|e| panic!("write {}: {e}", spec.path));
    }
    sink.commit()
        .await
        .unwrap_or_else(|e| panic!("commit {}: {e}", spec.path))
}

/// Reads a whole source: its input names and all its rows as one batch.
pub async fn read_all(
    spec: &SourceSpec,
    base: &Path,
    storage: &Storage,
) -> Result<(Vec<String>, RecordBatch), IoError> {
    let source = open_source_with(spec, base, storage).await?;
    let schema = Arc::clone(&source.schema);
    let batches: Vec<RecordBatch> = source.batches.try_collect().await?;
    let all = arrow_select::concat::concat_batches(&schema, &batches).expect("concat");
    Ok((source.inputs, all))
}

/// The error reading `spec` gives, whether at open or while streaming.
pub async fn read_error(spec: &SourceSpec, base: &Path, storage: &Storage) -> IoError {
    match read_all(spec, base, storage).await {
        Ok((inputs, _)) => panic!("reading {inputs:?} succeeded"),
        Err(error) => error,
    }
}

/// Exact equality of fields and values (schema metadata aside).
pub fn assert_same(actual: &RecordBatch, expected: &[RecordBatch], context: &str) {
    let expected =
        arrow_select::concat::concat_batches(&sample_schema(), expected).expect("concat");
    assert_eq!(
        actual.schema().fields(),
        expected.schema().fields(),
        "{context}: fields"
    );
    assert_eq!(actual.num_rows(), expected.num_rows(), "{context}: rows");
    for (index, (have, want)) in actual.columns().iter().zip(expected.columns()).enumerate() {
        assert_eq!(
            have.as_ref(),
            want.as_ref(),
            "{context}: column {}",
            expected.schema().field(index).name()
        );
    }
}
