//! Round trips through local files and the in-memory store: every format, one file and a
//! directory of parts, read back equal to what was written.

use std::path::Path;

use quiver_io::{Format, SourceSpec, Storage, WriteMode};

use crate::{
    FORMATS, assert_same, ext, read_all, sample, sample_rows, sink_spec, source_spec, write_all,
};

#[tokio::test]
async fn every_format_round_trips_through_one_local_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    for format in FORMATS {
        let name = format!("out/data.{}", ext(format));
        let committed = write_all(
            &sink_spec(&name, format, None),
            dir.path(),
            &storage,
            &sample(),
        )
        .await;
        let path = dir.path().join(&name);
        assert_eq!(committed.outputs, [path.display().to_string()], "{format}");
        assert_eq!(committed.rows, 7, "{format}");
        let size = std::fs::metadata(&path).expect("written").len();
        assert_eq!(committed.bytes, size, "{format}: bytes counted");

        let (inputs, batch) = read_all(&source_spec(&name), dir.path(), &storage)
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(inputs, [path.display().to_string()]);
        assert_same(&batch, &sample(), &format!("{format} file"));
    }
}

#[tokio::test]
async fn every_format_round_trips_through_a_local_directory_of_parts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    for format in FORMATS {
        let out = format!("parts-{format}/");
        let committed = write_all(
            &sink_spec(&out, format, Some(3)),
            dir.path(),
            &storage,
            &sample(),
        )
        .await;
        let expected: Vec<String> = (0..3)
            .map(|i| {
                dir.path()
                    .join(&out)
                    .join(format!("part-0000{i}.{}", ext(format)))
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            committed.outputs, expected,
            "{format}: 7 rows in parts of 3"
        );

        let pattern = format!("{out}*.{}", ext(format));
        let (inputs, batch) = read_all(&source_spec(&pattern), dir.path(), &storage)
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(inputs, expected);
        assert_same(&batch, &sample(), &format!("{format} parts"));
    }
}

#[tokio::test]
async fn a_trailing_slash_writes_one_part_and_overwrite_drops_stale_parts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    let committed = write_all(
        &sink_spec("d/", Format::Parquet, Some(2)),
        dir.path(),
        &storage,
        &sample(),
    )
    .await;
    assert_eq!(committed.outputs.len(), 4);

    let mut spec = sink_spec("d/", Format::Parquet, None);
    spec.mode = WriteMode::Overwrite;
    let committed = write_all(&spec, dir.path(), &storage, &sample()).await;
    assert_eq!(committed.outputs.len(), 1);
    let mut left: Vec<String> = std::fs::read_dir(dir.path().join("d"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["part-00000.parquet"]);
    let (_, batch) = read_all(&SourceSpec::new("d/*.parquet"), dir.path(), &storage)
        .await
        .expect("read");
    assert_same(&batch, &sample(), "overwritten directory");
}

#[tokio::test]
async fn a_sink_without_rows_writes_an_empty_file_with_the_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    for format in [Format::Parquet, Format::ArrowFile, Format::ArrowStream] {
        let name = format!("empty.{}", ext(format));
        let committed = write_all(&sink_spec(&name, format, None), dir.path(), &storage, &[]).await;
        assert_eq!(committed.rows, 0);
        let (_, batch) = read_all(&source_spec(&name), dir.path(), &storage)
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(batch.num_rows(), 0);
        assert_eq!(batch.schema().fields(), crate::sample_schema().fields());
    }
}

#[tokio::test]
async fn memory_objects_written_by_one_sink_are_read_by_a_later_source() {
    let storage = Storage::from_env();
    let base = Path::new("/");
    for format in FORMATS {
        let name = format!("memory://local-test/{format}/data.{}", ext(format));
        write_all(&sink_spec(&name, format, None), base, &storage, &sample()).await;
        // A separate Storage: the in-memory store is per process, not per Storage.
        let (inputs, batch) = read_all(&source_spec(&name), base, &Storage::from_env())
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(inputs, [name]);
        assert_same(&batch, &sample(), &format!("{format} in memory"));
    }
}

#[tokio::test]
async fn batch_rows_sets_the_size_of_batches_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    let rows = vec![sample_rows(0, 1000)];
    for format in [Format::Csv, Format::Ndjson, Format::Parquet] {
        let name = format!("many.{}", ext(format));
        write_all(&sink_spec(&name, format, None), dir.path(), &storage, &rows).await;
        let mut spec = source_spec(&name);
        spec.batch_rows = 300;
        let source = quiver_io::open_source_with(&spec, dir.path(), &storage)
            .await
            .expect("open");
        let sizes: Vec<usize> = futures::TryStreamExt::try_collect::<Vec<_>>(source.batches)
            .await
            .expect("read")
            .iter()
            .map(|b| b.num_rows())
            .collect();
        assert_eq!(sizes, [300, 300, 300, 100], "{format}");
    }
}
