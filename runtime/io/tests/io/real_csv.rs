//! CSV and NDJSON as other systems write them: R's `NA`, comment and preamble lines, files
//! whose types show only after the first thousand rows, markers per column, and timestamps
//! that end in `Z` or an offset. Inputs are generated here, never committed.

use std::fmt::Write as _;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampSecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use quiver_io::{IoError, SourceSpec, Storage};
use serde_json::json;

use crate::{read_all, read_error};

fn spec(value: serde_json::Value) -> SourceSpec {
    serde_json::from_value(value).expect("source spec")
}

async fn read(dir: &Path, value: serde_json::Value) -> RecordBatch {
    let spec = spec(value);
    read_all(&spec, dir, &Storage::from_env())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", spec.path))
        .1
}

/// Expected null counts of the R export's columns, counted while generating it.
#[derive(Default)]
struct NullCounts {
    dep_time: usize,
    dep_delay: usize,
    air_time: usize,
    flight_date: usize,
    tailnum: usize,
}

/// A CSV the way R's `write.csv(flights, row.names = FALSE)` writes it: header and strings
/// quoted, numbers bare, `NA` for every missing value (integers, doubles, dates, strings
/// alike), cancelled flights (no departure time) scattered throughout and clustered after
/// the first thousand rows.
fn r_export(rows: usize) -> (String, NullCounts) {
    let mut text = String::from(
        "\"year\",\"month\",\"day\",\"dep_time\",\"dep_delay\",\"carrier\",\"tailnum\",\
         \"air_time\",\"distance\",\"flight_date\",\"time_hour\"\n",
    );
    let mut nulls = NullCounts::default();
    let carriers = ["UA", "AA", "B6", "DL", "EV"];
    for i in 0..rows {
        let cancelled = i % 37 == 5 || (1500..1520).contains(&i);
        let day = 1 + i % 28;
        let month = 1 + (i / 28) % 12;
        let field = |value: Option<String>, count: &mut usize| match value {
            Some(v) => v,
            None => {
                *count += 1;
                "NA".to_string()
            }
        };
        let dep_time = field(
            (!cancelled).then(|| (500 + (i * 7) % 1800).to_string()),
            &mut nulls.dep_time,
        );
        let dep_delay = field(
            (!cancelled).then(|| (i as i64 % 60 - 10).to_string()),
            &mut nulls.dep_delay,
        );
        let air_time = field(
            (!cancelled).then(|| format!("{}.{}", 30 + i % 300, i % 10)),
            &mut nulls.air_time,
        );
        let tailnum = field(
            (i % 101 != 7).then(|| format!("\"N{}{}\"", 100 + i % 800, "EV")),
            &mut nulls.tailnum,
        );
        let flight_date = field(
            (i % 53 != 11).then(|| format!("2013-{month:02}-{day:02}")),
            &mut nulls.flight_date,
        );
        writeln!(
            text,
            "2013,{month},{day},{dep_time},{dep_delay},\"{}\",{tailnum},{air_time},{},{flight_date},\
             \"2013-{month:02}-{day:02} {:02}:00:00\"",
            carriers[i % carriers.len()],
            200 + i % 2000,
            5 + i % 18,
        )
        .expect("write");
    }
    (text, nulls)
}

#[tokio::test]
async fn an_r_export_with_na_reads_typed_columns_with_their_null_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (text, nulls) = r_export(3000);
    std::fs::write(dir.path().join("flights.csv"), text).expect("write");

    // Without markers, the "NA" cells make the numeric columns text (the old behaviour).
    let plain = read(dir.path(), json!({"path": "flights.csv"})).await;
    assert_eq!(
        plain
            .schema()
            .field_with_name("dep_time")
            .expect("column")
            .data_type(),
        &DataType::Utf8
    );

    let batch = read(
        dir.path(),
        json!({"path": "flights.csv", "csv": {"null_values": ["NA"]}}),
    )
    .await;
    assert_eq!(batch.num_rows(), 3000);
    let schema = batch.schema();
    let ty = |name: &str| {
        schema
            .field_with_name(name)
            .expect(name)
            .data_type()
            .clone()
    };
    assert_eq!(ty("year"), DataType::Int64);
    assert_eq!(ty("dep_time"), DataType::Int64);
    assert_eq!(ty("dep_delay"), DataType::Int64);
    assert_eq!(ty("air_time"), DataType::Float64);
    assert_eq!(ty("flight_date"), DataType::Date32);
    assert_eq!(ty("tailnum"), DataType::Utf8);
    assert_eq!(ty("time_hour"), DataType::Timestamp(TimeUnit::Second, None));
    let null_count = |name: &str| {
        batch
            .column(schema.index_of(name).expect(name))
            .null_count()
    };
    assert_eq!(null_count("dep_time"), nulls.dep_time);
    assert_eq!(null_count("dep_delay"), nulls.dep_delay);
    assert_eq!(null_count("air_time"), nulls.air_time);
    assert_eq!(null_count("flight_date"), nulls.flight_date);
    assert_eq!(null_count("tailnum"), nulls.tailnum);
    assert_eq!(null_count("carrier"), 0);
    assert!(nulls.dep_time > 20, "the sample has cancelled flights");
}

#[tokio::test]
async fn preamble_lines_comments_and_a_missing_header_are_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("export.csv"),
        "Exported by LegacyTool 4.2\nrows: 3\n# a comment before the first record\n\
         1;alpha;2.5\n# a comment between records\n2;beta;\n3;gamma;-1\n",
    )
    .expect("write");
    let batch = read(
        dir.path(),
        json!({"path": "export.csv", "csv": {
            "skip_rows": 2, "comment": "#", "header": false, "delimiter": ";"
        }}),
    )
    .await;
    assert_eq!(batch.num_rows(), 3);
    assert_eq!(batch.num_columns(), 3);
    assert_eq!(batch.column(0).data_type(), &DataType::Int64);
    assert_eq!(batch.column(2).data_type(), &DataType::Float64);
    assert_eq!(batch.column(2).null_count(), 1);

    // A bad value after skipped lines is reported at its line in the file.
    std::fs::write(
        dir.path().join("bad.csv"),
        "preamble\npreamble\nid,amount\n1,2\n2,3\nx,4\n",
    )
    .expect("write");
    let error = read_error(
        &spec(
            json!({"path": "bad.csv", "csv": {"skip_rows": 2, "schema": [
                {"name": "id", "type": "int64"}, {"name": "amount", "type": "int64"}
            ]}}),
        ),
        dir.path(),
        &Storage::from_env(),
    )
    .await;
    let IoError::BadData { line, column, .. } = &error else {
        panic!("not bad data: {error}");
    };
    assert_eq!((*line, column.as_deref()), (Some(6), Some("id")), "{error}");
}

#[tokio::test]
async fn infer_rows_reaches_values_past_the_first_thousand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("id,amount\n");
    for i in 0..3000 {
        // Integers for 2500 rows, then a decimal.
        let amount = if i == 2500 {
            "7.5".to_string()
        } else {
            i.to_string()
        };
        writeln!(text, "{i},{amount}").expect("write");
    }
    std::fs::write(dir.path().join("late.csv"), text).expect("write");
    let error = read_error(
        &spec(json!({"path": "late.csv"})),
        dir.path(),
        &Storage::from_env(),
    )
    .await;
    let IoError::BadData { line, column, .. } = &error else {
        panic!("not bad data: {error}");
    };
    assert_eq!(
        (*line, column.as_deref()),
        (Some(2502), Some("amount")),
        "{error}"
    );
    for infer_rows in [json!("all"), json!(2600)] {
        let batch = read(
            dir.path(),
            json!({"path": "late.csv", "csv": {"infer_rows": infer_rows}}),
        )
        .await;
        assert_eq!(
            batch.column(1).data_type(),
            &DataType::Float64,
            "{infer_rows}"
        );
        assert_eq!(batch.num_rows(), 3000);
    }
    let refused = serde_json::from_value::<SourceSpec>(
        json!({"path": "x.csv", "csv": {"infer_rows": "most"}}),
    )
    .expect_err("not a count");
    assert!(refused.to_string().contains("\"all\""), "{refused}");
}

#[tokio::test]
async fn null_markers_per_column_apply_to_their_column_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("survey.csv"),
        "age,score,comment\n34,-,NA\nNA,7,fine\n51,?,-\n",
    )
    .expect("write");
    let batch = read(
        dir.path(),
        json!({"path": "survey.csv", "csv": {"null_values": {"age": "NA", "score": ["-", "?"]}}}),
    )
    .await;
    assert_eq!(batch.column(0).data_type(), &DataType::Int64);
    assert_eq!(batch.column(1).data_type(), &DataType::Int64);
    assert_eq!(batch.column(2).data_type(), &DataType::Utf8);
    let age = batch.column(0).as_primitive::<Int64Type>();
    assert_eq!(age.iter().collect::<Vec<_>>(), [Some(34), None, Some(51)]);
    assert_eq!(batch.column(1).null_count(), 2);
    let comment = batch.column(2).as_string::<i32>();
    assert_eq!(
        comment.iter().collect::<Vec<_>>(),
        [Some("NA"), Some("fine"), Some("-")]
    );

    // A value that is neither the type nor a marker names its line and column.
    std::fs::write(dir.path().join("bad.csv"), "age,x\n1,a\nNA,b\nn/a,c\n").expect("write");
    let error = read_error(
        &spec(json!({"path": "bad.csv", "csv": {
            "null_values": {"age": "NA"},
            "schema": [{"name": "age", "type": "int64"}, {"name": "x", "type": "utf8"}]
        }})),
        dir.path(),
        &Storage::from_env(),
    )
    .await;
    let IoError::BadData {
        line,
        column,
        message,
        ..
    } = &error
    else {
        panic!("not bad data: {error}");
    };
    assert_eq!(
        (*line, column.as_deref()),
        (Some(4), Some("age")),
        "{error}"
    );
    assert!(message.contains("\"n/a\""), "{error}");
}

#[tokio::test]
async fn timestamps_with_z_or_an_offset_infer_as_zoned() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("times.csv"),
        "utc,paris,mixed,naive\n\
         2026-01-01T10:00:00Z,2026-01-01T10:00:00+02:00,2026-01-01T10:00:00Z,2026-01-01T10:00:00\n\
         2026-06-01T23:30:00Z,2026-06-01T23:30:00+02:00,2026-06-01T23:30:00-05:00,2026-06-01T23:30:00\n",
    )
    .expect("write");
    let batch = read(dir.path(), json!({"path": "times.csv"})).await;
    let zone = |i: usize| match batch.column(i).data_type() {
        DataType::Timestamp(TimeUnit::Second, zone) => zone.as_deref().map(str::to_string),
        other => panic!("column {i} is {other}"),
    };
    assert_eq!(zone(0).as_deref(), Some("UTC"));
    assert_eq!(zone(1).as_deref(), Some("+02:00"));
    assert_eq!(zone(2).as_deref(), Some("UTC"));
    assert_eq!(zone(3), None);
    // Same instants: 10:00+02:00 is 08:00Z; 23:30-05:00 is 04:30Z the next day.
    let seconds = |i: usize| {
        batch
            .column(i)
            .as_primitive::<TimestampSecondType>()
            .values()
            .to_vec()
    };
    assert_eq!(seconds(1)[0], seconds(0)[0] - 7200);
    assert_eq!(seconds(2)[1], seconds(0)[1] + 5 * 3600);

    std::fs::write(
        dir.path().join("events.ndjson"),
        "{\"at\": \"2026-01-01T10:00:00.250Z\", \"note\": \"x\"}\n\
         {\"at\": \"2026-01-02T11:00:00Z\", \"note\": \"2026-01-02\"}\n",
    )
    .expect("write");
    let batch = read(dir.path(), json!({"path": "events.ndjson"})).await;
    assert_eq!(
        batch.column(0).data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    assert_eq!(batch.column(1).data_type(), &DataType::Utf8);
}
