//! The end-to-end job, one definition for every implementation of it: read the "orders"
//! Parquet file, keep the rows with `qty > 2` (`filter`), compute `amount * 1.1 + 0.5`
//! (`map`), replace `email` by its HMAC-SHA256 hex token (`anonymise`), write Parquet
//! (zstd level 3). `end_to_end.rs` runs it through Quiver's engine and natively;
//! `peer/run.sh` runs it through the `quiver` CLI, natively (this crate's binary) and in
//! Polars (`peer/polars_job.py`).

use std::fs::File;
use std::path::Path;

use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use crate::{data, native};

/// Config of the `filter` stage.
pub const FILTER_CONFIG: &str = r#"{"column": "qty", "op": "gt", "value": 2}"#;
/// Config of the `map` stage.
pub const MAP_CONFIG: &str = r#"{"columns": [{"column": "amount", "scale": 1.1, "offset": 0.5}]}"#;
/// Config of the `anonymise` stage; the key file is granted at `/keys`.
pub const ANONYMISE_CONFIG: &str =
    r#"{"key_file": "/keys/anon.key", "columns": [{"column": "email", "method": "hash"}]}"#;
/// The HMAC key of the job: a published benchmark key, never a real one.
pub const KEY: &[u8] = b"quiver-benchmark-key-not-secret-0123456789";
/// Rows per batch read from the source.
pub const BATCH_ROWS: usize = 65_536;

/// The writer settings of every Parquet file the job writes: zstd level 3.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("a valid level"),
        ))
        .build()
}

/// Write `rows` rows of [`data::orders`] to `path` (row groups of 1 Mi rows, zstd 3).
///
/// # Errors
/// When the file cannot be written.
pub fn write_orders(path: &Path, rows: u64) -> Result<(), ParquetError> {
    let file = File::create(path)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("a valid level"),
        ))
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    let mut writer = ArrowWriter::try_new(file, data::orders_schema(), Some(props))?;
    let mut start = 0;
    while start < rows {
        let n = (rows - start).min(BATCH_ROWS as u64);
        writer.write(&data::orders(start, n as usize))?;
        start += n;
    }
    writer.close()?;
    Ok(())
}

/// The batches of the Parquet file at `path`, [`BATCH_ROWS`] at a time.
///
/// # Errors
/// When the file cannot be opened or is not Parquet.
pub fn read(path: &Path) -> Result<ParquetRecordBatchReader, ParquetError> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?
        .with_batch_size(BATCH_ROWS)
        .build()
}

/// The job in native arrow-rs on one thread, batch by batch: the baseline.
///
/// # Errors
/// When reading or writing fails.
pub fn run_native(input: &Path, output: &Path) -> Result<u64, ParquetError> {
    let schema = data::orders_schema();
    let mut writer =
        ArrowWriter::try_new(File::create(output)?, schema, Some(writer_properties()))?;
    let mut rows = 0;
    for batch in read(input)? {
        let batch = batch?;
        let batch = native::filter_gt_i64(&batch, 1, 2);
        let batch = native::map_f64(&batch, 2, 1.1, 0.5);
        let batch = native::hmac_hex(&batch, 3, KEY);
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    writer.close()?;
    Ok(rows)
}
