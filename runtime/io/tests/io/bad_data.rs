//! Bad inputs: errors say which file, and where the reader can tell, which line and column.

use quiver_fault::{Fault, HasFault};
use std::fs;

use quiver_io::{Format, IoError, SourceSpec, Storage};
use serde_json::json;

use crate::{read_error, sample, sink_spec, write_all};

#[tokio::test]
async fn a_corrupt_parquet_file_is_bad_data_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    write_all(
        &sink_spec("good.parquet", Format::Parquet, None),
        dir.path(),
        &storage,
        &sample(),
    )
    .await;
    let mut bytes = fs::read(dir.path().join("good.parquet")).expect("read");
    // Keep the magic at both ends, scramble the footer.
    let (start, end) = (bytes.len() - 40, bytes.len() - 8);
    for byte in &mut bytes[start..end] {
        *byte = !*byte;
    }
    fs::write(dir.path().join("bad.parquet"), &bytes).expect("write");
    fs::write(dir.path().join("tiny.parquet"), b"PAR1").expect("write");

    for name in ["bad.parquet", "tiny.parquet"] {
        let error = read_error(&SourceSpec::new(name), dir.path(), &storage).await;
        let IoError::BadData { location, .. } = &error else {
            panic!("{name}: not bad data: {error}");
        };
        assert!(location.ends_with(name), "{error}");
        assert_eq!(error.fault(), Fault::Data);
    }
}

#[tokio::test]
async fn a_truncated_arrow_file_is_bad_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    write_all(
        &sink_spec("good.arrow", Format::ArrowFile, None),
        dir.path(),
        &storage,
        &sample(),
    )
    .await;
    let bytes = fs::read(dir.path().join("good.arrow")).expect("read");
    fs::write(dir.path().join("cut.arrow"), &bytes[..bytes.len() / 2]).expect("write");
    let error = read_error(&SourceSpec::new("cut.arrow"), dir.path(), &storage).await;
    assert!(matches!(error, IoError::BadData { .. }), "{error}");
    assert!(error.to_string().contains("cut.arrow"), "{error}");
}

#[tokio::test]
async fn a_csv_row_with_too_many_fields_is_bad_data_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("rows.csv"), "a,b\n1,2\n3,4,5\n6,7\n").expect("write");
    let inferred = SourceSpec::new("rows.csv");
    // With a schema nothing is inferred: the error comes from the decoder, not inference.
    let declared: SourceSpec = serde_json::from_value(json!({
        "path": "rows.csv",
        "csv": {"schema": [{"name": "a", "type": "int64"}, {"name": "b", "type": "int64"}]},
    }))
    .expect("spec");
    for spec in [inferred, declared] {
        let error = read_error(&spec, dir.path(), &Storage::from_env()).await;
        let IoError::BadData { location, line, .. } = &error else {
            panic!("not bad data: {error}");
        };
        assert!(location.ends_with("rows.csv"), "{error}");
        assert_eq!(*line, Some(3), "{error}");
        assert!(error.to_string().contains("line 3"), "{error}");
    }
}

#[tokio::test]
async fn a_csv_value_that_does_not_parse_under_the_schema_names_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("typed.csv"),
        "id,price\n1,2.5\n2,3.5\n3,cheap\n",
    )
    .expect("write");
    let spec: SourceSpec = serde_json::from_value(json!({
        "path": "typed.csv",
        "csv": {"schema": [
            {"name": "id", "type": "int64"},
            {"name": "price", "type": "float64"},
        ]},
    }))
    .expect("spec");
    let error = read_error(&spec, dir.path(), &Storage::from_env()).await;
    let IoError::BadData {
        location,
        line,
        column,
        message,
    } = &error
    else {
        panic!("not bad data: {error}");
    };
    assert!(location.ends_with("typed.csv"), "{error}");
    assert_eq!(*line, Some(4), "{error}");
    assert_eq!(column.as_deref(), Some("price"), "{error}");
    assert!(message.contains("cheap"), "{error}");
}

#[tokio::test]
async fn an_ndjson_value_of_the_wrong_type_names_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("rows.ndjson"),
        "{\"a\": 1}\n{\"a\": 2}\n{\"a\": \"three\"}\n",
    )
    .expect("write");
    let spec: SourceSpec = serde_json::from_value(json!({
        "path": "rows.ndjson",
        "ndjson": {"schema": [{"name": "a", "type": "int64"}]},
    }))
    .expect("spec");
    let error = read_error(&spec, dir.path(), &Storage::from_env()).await;
    let IoError::BadData { column, .. } = &error else {
        panic!("not bad data: {error}");
    };
    assert_eq!(column.as_deref(), Some("a"), "{error}");
    assert!(error.to_string().contains("rows.ndjson"), "{error}");
}

#[tokio::test]
async fn a_missing_file_is_not_found_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["absent.parquet", "absent.csv", "memory://absent/x.arrows"] {
        let error = read_error(&SourceSpec::new(name), dir.path(), &Storage::from_env()).await;
        assert!(matches!(error, IoError::NotFound { .. }), "{name}: {error}");
        let shown = name.trim_start_matches("memory://");
        assert!(error.to_string().contains(shown), "{error}");
        assert_eq!(error.fault(), Fault::Config);
    }
}

#[tokio::test]
async fn specs_with_unknown_fields_or_types_are_refused() {
    let unknown = serde_json::from_value::<SourceSpec>(json!({"path": "x", "colour": 1}));
    assert!(unknown.is_err());
    let bad_type = serde_json::from_value::<SourceSpec>(json!({
        "path": "x", "csv": {"schema": [{"name": "a", "type": "integer-ish"}]}
    }));
    let error = bad_type.expect_err("unknown type");
    assert!(error.to_string().contains("integer-ish"), "{error}");

    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("x.csv"), "a\n1\n").expect("write");
    let mut spec = SourceSpec::new("x.csv");
    spec.csv.delimiter = '→';
    let error = read_error(&spec, dir.path(), &Storage::from_env()).await;
    let IoError::Config { key, .. } = &error else {
        panic!("not a config error: {error}");
    };
    assert_eq!(key, "csv.delimiter");
    assert_eq!(error.fault(), Fault::Config);
}
