//! `row_groups = [...]`: a Parquet source reads only the chosen row groups, in the chosen
//! order (what a distributed run's tasks use to split a large file); `input_layouts` reports
//! each Parquet input's row groups from its footer. A missing row group, and row groups of a
//! CSV input, are config errors naming what is wrong.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use quiver_io::{IoError, SourceSpec, Storage, input_layouts};

use crate::{read_all, read_error};

/// `ids.parquet`: ids 0..1000 in 4 row groups of 250.
fn write_ids(dir: &Path) {
    let batch = RecordBatch::try_from_iter([(
        "id",
        Arc::new(Int64Array::from_iter_values(0..1000)) as ArrayRef,
    )])
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(250))
        .build();
    let file = std::fs::File::create(dir.join("ids.parquet")).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    std::fs::write(dir.join("ids.csv"), "id\n1\n2\n").unwrap();
}

fn spec(path: &str, row_groups: Option<Vec<usize>>) -> SourceSpec {
    let mut s = SourceSpec::new(path);
    s.row_groups = row_groups;
    s
}

#[tokio::test]
async fn only_the_chosen_row_groups_are_read_in_the_chosen_order() {
    let dir = tempfile::tempdir().unwrap();
    write_ids(dir.path());
    let storage = Storage::default();
    let (_, all) = read_all(&spec("ids.parquet", Some(vec![2, 0])), dir.path(), &storage)
        .await
        .unwrap();
    let ids = all.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    let want: Vec<i64> = (500..750).chain(0..250).collect();
    assert_eq!(ids.values().to_vec(), want);

    let layouts = input_layouts(&spec("ids.parquet", None), dir.path(), &storage)
        .await
        .unwrap();
    assert_eq!(layouts.len(), 1);
    let groups = layouts[0].row_groups.as_ref().expect("a Parquet input");
    assert_eq!(groups.len(), 4);
    assert!(groups.iter().all(|&b| b > 0), "{groups:?}");
    let csv = input_layouts(&spec("ids.csv", None), dir.path(), &storage)
        .await
        .unwrap();
    assert_eq!(csv[0].row_groups, None);
}

#[tokio::test]
async fn a_missing_row_group_or_row_groups_of_a_csv_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_ids(dir.path());
    let storage = Storage::default();
    let e = read_error(&spec("ids.parquet", Some(vec![1, 4])), dir.path(), &storage).await;
    assert!(
        matches!(&e, IoError::Config { .. })
            && e.to_string().contains("row group 4")
            && e.to_string().contains("has 4"),
        "{e}"
    );
    let e = read_error(&spec("ids.csv", Some(vec![0])), dir.path(), &storage).await;
    assert!(
        matches!(&e, IoError::Config { .. }) && e.to_string().contains("row_groups"),
        "{e}"
    );
}
