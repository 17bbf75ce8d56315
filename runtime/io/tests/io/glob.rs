//! Globs: several files read as one source in key order, with schemas checked between files.

use quiver_fault::{Fault, HasFault};
use std::fs;

use quiver_io::{Format, IoError, SourceSpec, Storage};

use crate::{read_all, read_error, sample, sink_spec, write_all};

#[tokio::test]
async fn a_glob_over_three_csv_files_reads_them_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir(dir.path().join("data")).expect("mkdir");
    for (name, rows) in [
        ("b.csv", "3,c\n4,d\n"),
        ("a.csv", "1,a\n2,b\n"),
        ("c.csv", "5,é\n"),
    ] {
        fs::write(dir.path().join("data").join(name), format!("n,s\n{rows}")).expect("write");
    }
    fs::write(dir.path().join("data/notes.txt"), "not csv").expect("write");
    fs::write(dir.path().join("data/.hidden.csv"), "n,s\n99,x\n").expect("write");

    let storage = Storage::from_env();
    let (inputs, batch) = read_all(&SourceSpec::new("data/*.csv"), dir.path(), &storage)
        .await
        .expect("read");
    let names: Vec<String> = inputs
        .iter()
        .map(|i| i.rsplit('/').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        names,
        ["a.csv", "b.csv", "c.csv"],
        "hidden files never match"
    );
    let n = batch
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::Int64Array>()
        .expect("inferred int64");
    assert_eq!(n.values().to_vec(), [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn a_csv_header_that_changes_between_files_names_both_files_and_the_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("1.csv"), "id,name\n1,a\n").expect("write");
    fs::write(dir.path().join("2.csv"), "id,label\n2,b\n").expect("write");
    let error = read_error(&SourceSpec::new("*.csv"), dir.path(), &Storage::from_env()).await;
    let IoError::BadData {
        location, column, ..
    } = &error
    else {
        panic!("not bad data: {error}");
    };
    assert!(location.ends_with("2.csv"), "{error}");
    assert_eq!(column.as_deref(), Some("name"));
    let text = error.to_string();
    assert!(text.contains("1.csv") && text.contains("2.csv"), "{text}");
    assert_eq!(error.fault(), Fault::Data);
}

#[tokio::test]
async fn a_parquet_schema_that_changes_between_files_names_both_files_and_the_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    write_all(
        &sink_spec("p/a.parquet", Format::Parquet, None),
        dir.path(),
        &storage,
        &sample(),
    )
    .await;
    let other = sample()[0]
        .project(&[0, 1, 3])
        .expect("projection without column 2");
    write_all(
        &sink_spec("p/b.parquet", Format::Parquet, None),
        dir.path(),
        &storage,
        &[other],
    )
    .await;
    let error = read_error(&SourceSpec::new("p/*.parquet"), dir.path(), &storage).await;
    let text = error.to_string();
    assert!(
        text.contains("a.parquet") && text.contains("b.parquet") && text.contains("\"name\""),
        "{text}"
    );
}

#[tokio::test]
async fn a_glob_that_matches_nothing_is_not_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = read_error(
        &SourceSpec::new("nothing/*.parquet"),
        dir.path(),
        &Storage::from_env(),
    )
    .await;
    assert!(matches!(error, IoError::NotFound { .. }), "{error}");
    assert!(error.to_string().contains("nothing/*.parquet"), "{error}");
    assert_eq!(error.fault(), Fault::Config);
}
