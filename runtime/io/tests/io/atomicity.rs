//! Atomicity of local sinks: nothing visible before commit, nothing left after a drop, an
//! abort or a SIGKILL, and `error_if_exists` never replaces an existing output.

use quiver_fault::{Fault, HasFault};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use quiver_io::{Format, IoError, SinkSpec, Storage, WriteMode, create_sink_with};

use crate::{child, ext, sample, sample_rows, sample_schema, sink_spec, write_all};

/// Every regular file under `dir` whose name does not start with `.`, relative to `dir`.
fn visible_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in fs::read_dir(&next).expect("read_dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if entry.file_type().expect("type").is_dir() {
                stack.push(path);
            } else if !entry.file_name().to_string_lossy().starts_with('.') {
                found.push(path.strip_prefix(dir).expect("under dir").to_path_buf());
            }
        }
    }
    found
}

/// Every entry under `dir`, hidden or not, files and directories.
fn all_entries(dir: &Path) -> usize {
    fs::read_dir(dir)
        .expect("read_dir")
        .map(|entry| {
            let entry = entry.expect("entry");
            1 + if entry.file_type().expect("type").is_dir() {
                all_entries(&entry.path())
            } else {
                0
            }
        })
        .sum()
}

#[tokio::test]
async fn nothing_is_visible_before_commit_and_a_drop_leaves_nothing() {
    let storage = Storage::from_env();
    for (target, max_rows) in [("new/dirs/out.csv", None), ("new/parts/", Some(2))] {
        for format in [Format::Csv, Format::Parquet] {
            let dir = tempfile::tempdir().expect("tempdir");
            let spec = sink_spec(target, format, max_rows);
            let mut sink = create_sink_with(&spec, dir.path(), sample_schema(), &storage)
                .await
                .expect("create");
            for batch in sample() {
                sink.write(&batch).await.expect("write");
            }
            assert_eq!(
                visible_files(dir.path()),
                Vec::<PathBuf>::new(),
                "{target} {format}"
            );
            drop(sink);
            assert_eq!(
                all_entries(dir.path()),
                0,
                "{target} {format}: all cleaned up"
            );
        }
    }
}

#[tokio::test]
async fn an_abort_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = sink_spec("parts/", Format::ArrowFile, Some(3));
    let mut sink = create_sink_with(&spec, dir.path(), sample_schema(), &Storage::from_env())
        .await
        .expect("create");
    for batch in sample() {
        sink.write(&batch).await.expect("write");
    }
    sink.abort().await.expect("abort");
    assert_eq!(all_entries(dir.path()), 0);
}

#[tokio::test]
async fn error_if_exists_refuses_an_existing_file_or_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    fs::write(dir.path().join("out.csv"), "precious").expect("write");
    fs::create_dir(dir.path().join("parts")).expect("mkdir");
    fs::write(dir.path().join("parts/part-00000.csv"), "precious").expect("write");
    for target in ["out.csv", "parts/"] {
        let error = create_sink_with(
            &sink_spec(target, Format::Csv, None),
            dir.path(),
            sample_schema(),
            &storage,
        )
        .await
        .expect_err("exists");
        let IoError::Exists { location } = &error else {
            panic!("{target}: not Exists: {error}");
        };
        assert!(location.contains(target.trim_end_matches('/')), "{error}");
        assert_eq!(error.fault(), Fault::Config);
    }
    assert_eq!(
        fs::read_to_string(dir.path().join("out.csv")).expect("read"),
        "precious"
    );
}

#[tokio::test]
async fn a_file_created_during_the_write_is_not_replaced_at_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    let mut sink = create_sink_with(
        &sink_spec("race.csv", Format::Csv, None),
        dir.path(),
        sample_schema(),
        &storage,
    )
    .await
    .expect("create");
    for batch in sample() {
        sink.write(&batch).await.expect("write");
    }
    fs::write(dir.path().join("race.csv"), "someone else's").expect("write");
    let error = sink.commit().await.expect_err("no clobber");
    assert!(matches!(error, IoError::Exists { .. }), "{error}");
    assert_eq!(
        fs::read_to_string(dir.path().join("race.csv")).expect("read"),
        "someone else's"
    );
    assert_eq!(all_entries(dir.path()), 1, "the temporary file is gone");
}

#[tokio::test]
async fn overwrite_replaces_an_existing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("out.parquet"), "old").expect("write");
    let mut spec = SinkSpec::new("out.parquet");
    spec.mode = WriteMode::Overwrite;
    let committed = write_all(&spec, dir.path(), &Storage::from_env(), &sample()).await;
    assert_eq!(committed.rows, 7);
    let written = fs::read(dir.path().join("out.parquet")).expect("read");
    assert!(written.starts_with(b"PAR1"));
}

#[tokio::test]
async fn a_writer_killed_with_sigkill_leaves_no_visible_file() {
    if child::is_child() {
        return write_then_hang().await;
    }
    for (target, max_rows) in [("single.parquet", None), ("parts/", Some(1000))] {
        for format in [Format::Parquet, Format::Csv] {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut process = child::spawn(
                "atomicity::a_writer_killed_with_sigkill_leaves_no_visible_file",
                &[
                    ("QUIVER_IO_TEST_DIR", dir.path().display().to_string()),
                    (
                        "QUIVER_IO_TEST_TARGET",
                        target.replace(".parquet", &format!(".{}", ext(format))),
                    ),
                    ("QUIVER_IO_TEST_FORMAT", format.to_string()),
                    (
                        "QUIVER_IO_TEST_MAX_ROWS",
                        max_rows.map(|m: u64| m.to_string()).unwrap_or_default(),
                    ),
                ],
                Stdio::null(),
            );
            let mut stdout = child::stdout(&mut process);
            child::read_until(&mut stdout, "WRITTEN");
            assert_eq!(
                visible_files(dir.path()),
                Vec::<PathBuf>::new(),
                "while writing"
            );
            process.kill().expect("SIGKILL");
            process.wait().expect("reaped");
            assert_eq!(
                visible_files(dir.path()),
                Vec::<PathBuf>::new(),
                "{target} {format}: after SIGKILL"
            );
            assert!(
                all_entries(dir.path()) > 0,
                "the hidden .partial files stay behind"
            );
        }
    }
}

/// The child's part: write thousands of rows, say so, then hang until killed.
async fn write_then_hang() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let format: Format =
        serde_json::from_value(serde_json::Value::String(var("QUIVER_IO_TEST_FORMAT")))
            .expect("format");
    let mut spec = sink_spec(&var("QUIVER_IO_TEST_TARGET"), format, None);
    spec.max_rows_per_file = var("QUIVER_IO_TEST_MAX_ROWS").parse().ok();
    let base = PathBuf::from(var("QUIVER_IO_TEST_DIR"));
    let mut sink = create_sink_with(&spec, &base, sample_schema(), &Storage::from_env())
        .await
        .expect("create");
    for start in 0..5 {
        sink.write(&sample_rows(start * 1000, 1000))
            .await
            .expect("write");
    }
    child::mark("WRITTEN");
    std::future::pending::<()>().await;
}
