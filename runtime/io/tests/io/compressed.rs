//! Compressed CSV, NDJSON and Arrow streams (`.csv.gz`, `.ndjson.zst`, `.csv.bz2`,
//! `.arrows.xz`), written and read back locally and on a real S3 server (moto), from the
//! extension or the explicit `compression` key; and the refusal of whole-file compression
//! for the formats that need ranged reads.

use std::path::Path;

use quiver_fault::{Fault, HasFault};
use quiver_io::{Compression, Format, IoError, SinkSpec, Storage, create_sink_with};

use crate::moto::{Moto, storage};
use crate::{assert_same, read_all, sample, sample_rows, sample_schema, source_spec, write_all};

/// (file name, format, codec, the codec's magic bytes).
const CASES: [(&str, Format, Compression, &[u8]); 6] = [
    ("data.csv.gz", Format::Csv, Compression::Gzip, b"\x1f\x8b"),
    (
        "data.ndjson.zst",
        Format::Ndjson,
        Compression::Zstd,
        b"\x28\xb5\x2f\xfd",
    ),
    ("data.csv.bz2", Format::Csv, Compression::Bzip2, b"BZh"),
    (
        "data.arrows.xz",
        Format::ArrowStream,
        Compression::Xz,
        b"\xfd7zXZ\0",
    ),
    (
        "data.ndjson.gz",
        Format::Ndjson,
        Compression::Gzip,
        b"\x1f\x8b",
    ),
    ("data.csv.xz", Format::Csv, Compression::Xz, b"\xfd7zXZ\0"),
];

/// Enough rows that every codec emits more than one block.
fn many_rows() -> Vec<arrow_array::RecordBatch> {
    (0..4).map(|b| sample_rows(b * 5000, 5000)).collect()
}

#[tokio::test]
async fn compressed_files_round_trip_locally_by_extension() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    for (name, format, codec, magic) in CASES {
        let committed = write_all(&SinkSpec::new(name), dir.path(), &storage, &many_rows()).await;
        assert_eq!(committed.rows, 20_000, "{name}");
        let bytes = std::fs::read(dir.path().join(name)).expect("written");
        assert!(bytes.starts_with(magic), "{name} is not {codec}");
        let (_, batch) = read_all(&source_spec(name), dir.path(), &storage)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same(&batch, &many_rows(), &format!("{name} ({format}, {codec})"));
    }
}

#[tokio::test]
async fn an_explicit_compression_overrides_the_extension() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    let mut sink = SinkSpec::new("export.dat");
    sink.format = Some(Format::Csv);
    sink.compression = Some(Compression::Zstd);
    write_all(&sink, dir.path(), &storage, &sample()).await;
    let bytes = std::fs::read(dir.path().join("export.dat")).expect("written");
    assert!(bytes.starts_with(b"\x28\xb5\x2f\xfd"));
    let mut source = source_spec("export.dat");
    source.format = Some(Format::Csv);
    source.compression = Some(Compression::Zstd);
    let (_, batch) = read_all(&source, dir.path(), &storage).await.expect("read");
    assert_same(&batch, &sample(), "explicit zstd");

    // A directory of compressed parts, read back with a glob over the compound extension.
    let mut parts = SinkSpec::new("parts/");
    parts.format = Some(Format::Ndjson);
    parts.compression = Some(Compression::Gzip);
    parts.max_rows_per_file = Some(3);
    let committed = write_all(&parts, dir.path(), &storage, &sample()).await;
    assert!(
        committed.outputs[0].ends_with("part-00000.ndjson.gz"),
        "{committed:?}"
    );
    let (inputs, batch) = read_all(&source_spec("parts/*.ndjson.gz"), dir.path(), &storage)
        .await
        .expect("read parts");
    assert_eq!(inputs.len(), 3);
    assert_same(&batch, &sample(), "gzip parts");
}

#[tokio::test]
async fn formats_read_by_ranges_refuse_whole_file_compression() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["out.parquet.gz", "out.arrow.zst"] {
        let error = create_sink_with(
            &SinkSpec::new(name),
            dir.path(),
            sample_schema(),
            &Storage::from_env(),
        )
        .await
        .expect_err("refused");
        assert!(
            matches!(&error, IoError::Config { key, .. } if key == "compression"),
            "{name}: {error}"
        );
    }
}

#[tokio::test]
async fn corrupt_compressed_input_is_bad_data_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("broken.csv.gz"),
        b"\x1f\x8b\x08\0 this is not deflate",
    )
    .expect("write");
    let error = crate::read_error(
        &source_spec("broken.csv.gz"),
        dir.path(),
        &Storage::from_env(),
    )
    .await;
    assert!(
        matches!(&error, IoError::BadData { location, .. } if location.ends_with("broken.csv.gz")),
        "{error}"
    );
    assert_eq!(error.fault(), Fault::Data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_objects_round_trip_through_s3() {
    let moto = Moto::start();
    moto.create_bucket("packed");
    let storage = storage(&moto);
    let base = Path::new("/");
    for (name, _, codec, _) in CASES {
        let url = format!("s3://packed/{name}");
        write_all(&SinkSpec::new(&url), base, &storage, &many_rows()).await;
        let (inputs, batch) = read_all(&source_spec(&url), base, &storage)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(inputs, std::slice::from_ref(&url));
        assert_same(&batch, &many_rows(), &format!("{url} ({codec})"));
    }
    let (inputs, _) = read_all(&source_spec("s3://packed/*.csv.*"), base, &storage)
        .await
        .expect("glob");
    assert_eq!(inputs.len(), 3, "{inputs:?}");
}
