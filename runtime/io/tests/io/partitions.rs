//! Hive-partitioned data: `partition_by` writes `year=2013/month=1/part-00000.parquet`
//! directories, a source over the directory (or a glob over the partitions) gets the
//! partition columns back with their types, locally and on S3; a partitioned local
//! directory appears whole at commit and never partly, even when the writer is killed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use quiver_fault::{Fault, HasFault};
use quiver_io::{Compression, Format, SinkSpec, SourceSpec, Storage, WriteMode, create_sink_with};

use crate::moto::{Moto, storage};
use crate::{child, read_all, write_all};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("year", DataType::Int64, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("month", DataType::Int64, true),
        Field::new("amount", DataType::Float64, true),
    ]))
}

/// `len` rows from `start`: two years, twelve months, cities with characters a path must
/// escape, and a null city (the default partition).
fn rows(start: i64, len: usize) -> RecordBatch {
    let ids: Vec<i64> = (start..start + len as i64).collect();
    let cities = ["Paris", "São Paulo", "a/b=c", "New York"];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(Int64Array::from_iter_values(
            ids.iter().map(|i| 2013 + i % 2),
        )),
        Arc::new(StringArray::from_iter(
            ids.iter()
                .map(|i| (i % 5 != 4).then(|| cities[*i as usize % 4])),
        )),
        Arc::new(Int64Array::from_iter_values(
            ids.iter().map(|i| 1 + (i / 2) % 12),
        )),
        Arc::new(Float64Array::from_iter(
            ids.iter().map(|i| (i % 7 != 3).then_some(*i as f64 * 1.25)),
        )),
    ];
    RecordBatch::try_new(schema(), columns).expect("batch")
}

fn sales() -> Vec<RecordBatch> {
    vec![rows(0, 300), rows(300, 200)]
}

fn partitioned(path: &str, format: Format, by: &[&str]) -> SinkSpec {
    let mut spec = SinkSpec::new(path);
    spec.format = Some(format);
    spec.partition_by = by.iter().map(|c| c.to_string()).collect();
    spec
}

/// The rows of `batch` sorted by `id`.
fn sorted(batch: &RecordBatch) -> RecordBatch {
    let id = batch.column(batch.schema().index_of("id").expect("id"));
    let order = arrow_ord::sort::sort_to_indices(id.as_ref(), None, None).expect("sort");
    arrow_select::take::take_record_batch(batch, &order).expect("take")
}

fn expected() -> RecordBatch {
    arrow_select::concat::concat_batches(&schema(), &sales()).expect("concat")
}

/// Reads `path` with the columns in the written order.
async fn read_back(path: &str, base: &Path, storage: &Storage) -> (Vec<String>, RecordBatch) {
    let mut spec = SourceSpec::new(path);
    spec.columns = Some(schema().fields().iter().map(|f| f.name().clone()).collect());
    let (inputs, batch) = read_all(&spec, base, storage)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    (inputs, sorted(&batch))
}

/// Every regular file under `dir` whose path has no hidden segment, relative to `dir`.
fn visible_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in fs::read_dir(&next).expect("read_dir") {
            let entry = entry.expect("entry");
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if entry.file_type().expect("type").is_dir() {
                stack.push(entry.path());
            } else {
                found.push(entry.path().strip_prefix(dir).expect("under").to_path_buf());
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn a_partitioned_write_and_read_round_trip_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    for format in [
        Format::Parquet,
        Format::Csv,
        Format::Ndjson,
        Format::ArrowFile,
    ] {
        let target = format!("out-{format}/sales/");
        let mut sink = partitioned(&target, format, &["year", "month"]);
        sink.max_rows_per_file = Some(15);
        let committed = write_all(&sink, dir.path(), &storage, &sales()).await;
        assert_eq!(committed.rows, 500);
        let root = dir.path().join(&target);
        let files = visible_files(&root);
        let first = format!("year=2013/month=1/part-00000.{}", format.extension());
        assert!(
            files.contains(&PathBuf::from(&first)),
            "{format}: {files:?}"
        );
        // 24 partitions of ~21 rows each, at most 15 rows per file: two files each.
        assert_eq!(files.len(), 48, "{format}: {files:?}");
        assert!(
            committed.outputs.iter().all(|o| !o.contains(".partial")),
            "{committed:?}"
        );

        let (inputs, batch) = read_back(&target, dir.path(), &storage).await;
        assert_eq!(inputs.len(), 48);
        assert_eq!(
            batch
                .schema()
                .field_with_name("year")
                .expect("year")
                .data_type(),
            &DataType::Int64
        );
        assert_eq!(batch, expected(), "{format}: directory round trip");

        // A glob over the partitions gets the same columns.
        let glob = format!("{target}year=*/month=1*/*");
        let (inputs, batch) = read_back(&glob, dir.path(), &storage).await;
        assert_eq!(
            inputs.len(),
            4 * 2 * 2,
            "{format}: months 1, 10, 11, 12 of two years"
        );
        assert!(batch.num_rows() > 0);
    }
}

#[tokio::test]
async fn partition_values_needing_escapes_and_nulls_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    write_all(
        &partitioned("by-city/", Format::Parquet, &["city"]),
        dir.path(),
        &storage,
        &sales(),
    )
    .await;
    let names: Vec<String> = fs::read_dir(dir.path().join("by-city"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for name in [
        "city=a%2Fb%3Dc",
        "city=São Paulo",
        "city=__HIVE_DEFAULT_PARTITION__",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
    let (_, batch) = read_back("by-city/", dir.path(), &storage).await;
    assert_eq!(batch, expected());
}

#[tokio::test]
async fn an_explicit_hive_schema_types_the_partition_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    write_all(
        &partitioned("typed/", Format::Parquet, &["year", "month"]),
        dir.path(),
        &storage,
        &sales(),
    )
    .await;
    let spec: SourceSpec = serde_json::from_value(serde_json::json!({
        "path": "typed/",
        "hive_schema": [{"name": "year", "type": "int16"}, {"name": "month", "type": "utf8"}],
    }))
    .expect("spec");
    let (_, batch) = read_all(&spec, dir.path(), &storage).await.expect("read");
    let schema = batch.schema();
    assert_eq!(
        schema.field_with_name("year").expect("year").data_type(),
        &DataType::Int16
    );
    assert_eq!(
        schema.field_with_name("month").expect("month").data_type(),
        &DataType::Utf8
    );
}

#[tokio::test]
async fn a_partitioned_directory_appears_whole_at_commit_and_never_partly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    let spec = partitioned("atomic/sales/", Format::Parquet, &["year", "month"]);
    let mut sink = create_sink_with(&spec, dir.path(), schema(), &storage)
        .await
        .expect("create");
    for batch in sales() {
        sink.write(&batch).await.expect("write");
    }
    assert!(
        !dir.path().join("atomic/sales").exists(),
        "visible before commit"
    );
    assert!(visible_files(dir.path()).is_empty());
    sink.commit().await.expect("commit");
    assert_eq!(visible_files(&dir.path().join("atomic/sales")).len(), 24);
    assert_eq!(
        fs::read_dir(dir.path().join("atomic"))
            .expect("list")
            .count(),
        1,
        "no staging directory left beside it"
    );

    // error_if_exists refuses it now; overwrite replaces the whole directory.
    let error = create_sink_with(&spec, dir.path(), schema(), &storage)
        .await
        .expect_err("exists");
    assert_eq!(error.fault(), Fault::Config, "{error}");
    let mut replace = partitioned("atomic/sales/", Format::Parquet, &["year"]);
    replace.mode = WriteMode::Overwrite;
    write_all(&replace, dir.path(), &storage, &[rows(0, 10)]).await;
    let files = visible_files(&dir.path().join("atomic/sales"));
    assert_eq!(
        files,
        [
            PathBuf::from("year=2013/part-00000.parquet"),
            PathBuf::from("year=2014/part-00000.parquet")
        ]
    );

    // A dropped (failed) sink leaves nothing, not even its staging directory.
    let mut sink = create_sink_with(
        &partitioned("new/parents/dropped/", Format::Csv, &["year"]),
        dir.path(),
        schema(),
        &storage,
    )
    .await
    .expect("create");
    sink.write(&rows(0, 50)).await.expect("write");
    drop(sink);
    let left: Vec<_> = fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[tokio::test]
async fn a_killed_partitioned_write_leaves_nothing_visible() {
    if child::is_child() {
        return write_partitions_then_hang().await;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut process = child::spawn(
        "partitions::a_killed_partitioned_write_leaves_nothing_visible",
        &[("QUIVER_IO_TEST_DIR", dir.path().display().to_string())],
        Stdio::null(),
    );
    let mut stdout = child::stdout(&mut process);
    child::read_until(&mut stdout, "WRITTEN");
    process.kill().expect("SIGKILL");
    process.wait().expect("reaped");
    assert_eq!(
        visible_files(dir.path()),
        Vec::<PathBuf>::new(),
        "after SIGKILL"
    );
    assert!(!dir.path().join("out/sales").exists());
    // Only the hidden staging directory is left, holding every partition written so far.
    let hidden: Vec<String> = fs::read_dir(dir.path().join("out"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        hidden.len() == 1 && hidden[0].starts_with(".sales.") && hidden[0].ends_with(".partial"),
        "{hidden:?}"
    );
    // A reader of the parent directory skips it.
    let error = crate::read_error(&SourceSpec::new("out/"), dir.path(), &Storage::from_env()).await;
    assert_eq!(error.fault(), Fault::Config, "{error}");
}

/// The child's part: write every partition, with the files' parts finished, then hang.
async fn write_partitions_then_hang() {
    let base = PathBuf::from(std::env::var("QUIVER_IO_TEST_DIR").unwrap_or_default());
    let mut spec = partitioned("out/sales/", Format::Parquet, &["year", "month"]);
    spec.max_rows_per_file = Some(100);
    let mut sink = create_sink_with(&spec, &base, schema(), &Storage::from_env())
        .await
        .expect("create");
    for start in 0..20 {
        sink.write(&rows(start * 1000, 1000)).await.expect("write");
    }
    child::mark("WRITTEN");
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_round_trip_through_s3_with_a_glob() {
    let moto = Moto::start();
    moto.create_bucket("lake");
    let storage = storage(&moto);
    let base = Path::new("/");
    let mut sink = partitioned("s3://lake/sales/", Format::Csv, &["year", "month"]);
    sink.compression = Some(Compression::Gzip);
    let committed = write_all(&sink, base, &storage, &sales()).await;
    assert_eq!(committed.outputs.len(), 24);
    assert!(
        committed
            .outputs
            .contains(&"s3://lake/sales/year=2013/month=1/part-00000.csv.gz".to_string()),
        "{:?}",
        committed.outputs
    );
    let (inputs, batch) = read_back("s3://lake/sales/", base, &storage).await;
    assert_eq!(inputs.len(), 24);
    assert_eq!(batch, expected());
    let (inputs, batch) =
        read_back("s3://lake/sales/year=*/month=*/*.csv.gz", base, &storage).await;
    assert_eq!(inputs.len(), 24);
    assert_eq!(batch, expected());

    // An overwrite with other partitions leaves none of the old objects.
    let mut replace = partitioned("s3://lake/sales/", Format::Parquet, &["year"]);
    replace.mode = WriteMode::Overwrite;
    write_all(&replace, base, &storage, &sales()).await;
    let (inputs, batch) = read_back("s3://lake/sales/", base, &storage).await;
    assert_eq!(inputs.len(), 2, "{inputs:?}");
    assert_eq!(batch, expected());
}
