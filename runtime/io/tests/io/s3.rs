//! The same round trips and atomicity guarantees against a real S3 server (moto), plus the
//! errors only remote storage has.

use quiver_fault::{Fault, HasFault};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use futures::TryStreamExt;
use quiver_io::object_store::{BackoffConfig, RetryConfig};
use quiver_io::{
    Format, IoError, Location, SourceSpec, Storage, create_sink_with, open_source_with,
};

use crate::moto::{Moto, storage, storage_for};
use crate::{
    FORMATS, assert_same, child, ext, read_all, read_error, sample, sample_rows, sample_schema,
    sink_spec, write_all,
};

/// Every key in `bucket`.
async fn keys(storage: &Storage, bucket: &str) -> Vec<String> {
    let location = Location::parse_with(&format!("s3://{bucket}/"), Path::new("/"), storage)
        .expect("bucket location");
    let Location::Object(object) = location else {
        panic!("not an object location");
    };
    let mut keys: Vec<String> = object
        .store()
        .list(None)
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .expect("list");
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_round_trips_through_s3() {
    let moto = Moto::start();
    moto.create_bucket("trips");
    let storage = storage(&moto);
    let base = Path::new("/");
    for format in FORMATS {
        let single = format!("s3://trips/single/data.{}", ext(format));
        let committed =
            write_all(&sink_spec(&single, format, None), base, &storage, &sample()).await;
        assert_eq!(committed.outputs, std::slice::from_ref(&single));
        let (inputs, batch) = read_all(&crate::source_spec(&single), base, &storage)
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(inputs, [single]);
        assert_same(&batch, &sample(), &format!("{format} on S3"));

        let dir = format!("s3://trips/parts-{format}/");
        let committed =
            write_all(&sink_spec(&dir, format, Some(3)), base, &storage, &sample()).await;
        assert_eq!(committed.outputs.len(), 3, "{format}");
        let pattern = format!("{dir}part-*.{}", ext(format));
        let (inputs, batch) = read_all(&crate::source_spec(&pattern), base, &storage)
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(inputs, committed.outputs);
        assert_same(&batch, &sample(), &format!("{format} parts on S3"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_larger_than_one_upload_part_round_trips() {
    let moto = Moto::start();
    moto.create_bucket("large");
    let storage = storage(&moto);
    let base = Path::new("/");
    // About 12 MB of Arrow IPC: three 5 MB multipart parts.
    let batches: Vec<_> = (0..6).map(|i| sample_rows(i * 40_000, 40_000)).collect();
    let name = "s3://large/big.arrows";
    let committed = write_all(
        &sink_spec(name, Format::ArrowStream, None),
        base,
        &storage,
        &batches,
    )
    .await;
    assert!(
        committed.bytes > 10 * 1024 * 1024,
        "{} bytes",
        committed.bytes
    );
    let (_, batch) = read_all(&SourceSpec::new(name), base, &storage)
        .await
        .expect("read");
    let expected =
        arrow_select::concat::concat_batches(&sample_schema(), &batches).expect("concat");
    assert_eq!(batch.columns(), expected.columns());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_outputs_appear_only_at_commit() {
    let moto = Moto::start();
    moto.create_bucket("atomic");
    let storage = storage(&moto);
    let base = Path::new("/");

    // Dropped without commit.
    let mut sink = create_sink_with(
        &sink_spec("s3://atomic/dropped.parquet", Format::Parquet, None),
        base,
        sample_schema(),
        &storage,
    )
    .await
    .expect("create");
    for batch in sample() {
        sink.write(&batch).await.expect("write");
    }
    assert_eq!(keys(&storage, "atomic").await, Vec::<String>::new());
    drop(sink);
    assert_eq!(keys(&storage, "atomic").await, Vec::<String>::new());

    // Parts finished but aborted.
    let mut sink = create_sink_with(
        &sink_spec("s3://atomic/parts/", Format::Csv, Some(2)),
        base,
        sample_schema(),
        &storage,
    )
    .await
    .expect("create");
    for batch in sample() {
        sink.write(&batch).await.expect("write");
    }
    assert_eq!(keys(&storage, "atomic").await, Vec::<String>::new());
    sink.abort().await.expect("abort");
    assert_eq!(keys(&storage, "atomic").await, Vec::<String>::new());

    // Committed: visible, and then error_if_exists refuses it.
    write_all(
        &sink_spec("s3://atomic/parts/", Format::Csv, Some(2)),
        base,
        &storage,
        &sample(),
    )
    .await;
    write_all(
        &sink_spec("s3://atomic/one.csv", Format::Csv, None),
        base,
        &storage,
        &sample(),
    )
    .await;
    assert_eq!(
        keys(&storage, "atomic").await,
        [
            "one.csv",
            "parts/part-00000.csv",
            "parts/part-00001.csv",
            "parts/part-00002.csv",
            "parts/part-00003.csv"
        ]
    );
    for target in ["s3://atomic/one.csv", "s3://atomic/parts/"] {
        let error = create_sink_with(
            &sink_spec(target, Format::Csv, None),
            base,
            sample_schema(),
            &storage,
        )
        .await
        .expect_err("exists");
        assert!(matches!(error, IoError::Exists { .. }), "{target}: {error}");
        assert!(
            error.to_string().contains(target.trim_end_matches('/')),
            "{error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_objects_are_not_found() {
    let moto = Moto::start();
    moto.create_bucket("empty");
    let storage = storage(&moto);
    for path in ["s3://empty/missing.parquet", "s3://empty/events/2026-*.csv"] {
        let error = read_error(&SourceSpec::new(path), Path::new("/"), &storage).await;
        assert!(matches!(error, IoError::NotFound { .. }), "{path}: {error}");
        assert!(error.to_string().contains(path), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_writer_killed_with_sigkill_leaves_no_visible_object() {
    if child::is_child() {
        return write_then_hang().await;
    }
    let moto = Moto::start();
    moto.create_bucket("killed");
    let mut process = child::spawn(
        "s3::an_s3_writer_killed_with_sigkill_leaves_no_visible_object",
        &[("QUIVER_IO_TEST_ENDPOINT", moto.endpoint())],
        Stdio::null(),
    );
    let mut stdout = child::stdout(&mut process);
    child::read_until(&mut stdout, "WRITTEN");
    let storage = storage(&moto);
    assert_eq!(
        keys(&storage, "killed").await,
        Vec::<String>::new(),
        "while writing"
    );
    process.kill().expect("SIGKILL");
    process.wait().expect("reaped");
    assert_eq!(
        keys(&storage, "killed").await,
        Vec::<String>::new(),
        "after SIGKILL"
    );
}

/// The child's part: upload more than one multipart part to a single object and to a
/// directory of parts, say so, then hang until killed.
async fn write_then_hang() {
    let endpoint = std::env::var("QUIVER_IO_TEST_ENDPOINT").unwrap_or_default();
    let storage = storage_for(&endpoint);
    let base = Path::new("/");
    let mut single = create_sink_with(
        &sink_spec("s3://killed/single.arrows", Format::ArrowStream, None),
        base,
        sample_schema(),
        &storage,
    )
    .await
    .expect("create");
    let mut parts = create_sink_with(
        &sink_spec("s3://killed/parts/", Format::Csv, Some(1000)),
        base,
        sample_schema(),
        &storage,
    )
    .await
    .expect("create");
    for start in 0..4 {
        let batch = sample_rows(start * 40_000, 40_000);
        single.write(&batch).await.expect("write");
    }
    for start in 0..3 {
        parts
            .write(&sample_rows(start * 1000, 1000))
            .await
            .expect("write");
    }
    child::mark("WRITTEN");
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn unreachable_storage_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    // Nothing listens there any more; no retries, so the test does not wait for backoff.
    let storage = storage_for(&format!("http://127.0.0.1:{port}")).with_retry(RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: 0,
        retry_timeout: Duration::ZERO,
    });
    let error = match open_source_with(
        &SourceSpec::new("s3://nowhere/x.csv"),
        Path::new("/"),
        &storage,
    )
    .await
    {
        Ok(_) => panic!("opened"),
        Err(error) => error,
    };
    assert!(matches!(error, IoError::Unavailable { .. }), "{error}");
    assert_eq!(error.fault(), Fault::Unavailable);
    assert!(error.to_string().contains("s3://nowhere/x.csv"), "{error}");
}
