//! [`Encoder`]: one output file's format writer (arrow-csv, arrow-json, arrow-ipc or
//! parquet's `ArrowWriter`) writing into a memory buffer that is drained after every batch,
//! so the bytes can go to a file, a multipart upload or stdout alike.
//!
//! Parquet has no seconds unit: parquet-rs stores `timestamp[s]` and `time32[s]` as plain
//! integers, which pyarrow and DuckDB then read as int64/int32. Such columns are written in
//! milliseconds instead (exact), so every reader sees a timestamp or a time. Date64 columns
//! are written as Date32 (Polars reads a Date64 as a datetime).

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::RecordBatch;
use arrow_ipc::writer::{FileWriter, StreamWriter};
use arrow_json::LineDelimitedWriter;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::{Format, IoError};

/// The per-format write options of a sink.
#[derive(Debug, Clone)]
pub(crate) struct EncodeOptions {
    /// Parquet writer properties (compression, row group size).
    pub(crate) parquet: WriterProperties,
    /// Whether CSV starts with a header line.
    pub(crate) csv_header: bool,
    /// The CSV field separator.
    pub(crate) csv_delimiter: u8,
}

/// A `Write` into a buffer shared with the [`Encoder`] that drains it.
#[derive(Clone, Default)]
struct Spool(Arc<Mutex<Vec<u8>>>);

impl Spool {
    fn take(&self) -> Bytes {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        Bytes::from(std::mem::take(&mut *buffer))
    }
}

impl Write for Spool {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        buffer.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

enum Writer {
    Parquet(Box<ArrowWriter<Spool>>),
    Csv(arrow_csv::Writer<Spool>),
    Ndjson(LineDelimitedWriter<Spool>),
    ArrowFile(FileWriter<Spool>),
    ArrowStream(StreamWriter<Spool>),
}

/// Encodes the batches of one output file.
pub(crate) struct Encoder {
    writer: Writer,
    /// The schema batches are cast to before encoding (Parquet with second units).
    cast_to: Option<SchemaRef>,
    spool: Spool,
    format: Format,
    /// Display name of the output, for errors.
    name: String,
}

impl Encoder {
    /// Starts a `format` file of `schema`. Returns the encoder and the bytes it wrote first
    /// (the CSV header, the IPC schema message, the Parquet magic).
    pub(crate) fn new(
        format: Format,
        schema: &SchemaRef,
        options: &EncodeOptions,
        name: String,
    ) -> Result<(Encoder, Bytes), IoError> {
        let spool = Spool::default();
        let fail = |error: &dyn std::fmt::Display| unsupported(format, &name, error);
        let cast_to = match format {
            Format::Parquet => parquet_schema(schema),
            _ => None,
        };
        let writer = match format {
            Format::Parquet => Writer::Parquet(Box::new(
                ArrowWriter::try_new(
                    spool.clone(),
                    Arc::clone(cast_to.as_ref().unwrap_or(schema)),
                    Some(options.parquet.clone()),
                )
                .map_err(|e| fail(&e))?,
            )),
            Format::Csv => {
                let mut writer = arrow_csv::WriterBuilder::new()
                    .with_header(options.csv_header)
                    .with_delimiter(options.csv_delimiter)
                    .build(spool.clone());
                // arrow-csv writes the header with the first batch: an empty one makes even a
                // file without rows say its columns.
                writer
                    .write(&RecordBatch::new_empty(Arc::clone(schema)))
                    .map_err(|e| fail(&e))?;
                Writer::Csv(writer)
            }
            Format::Ndjson => Writer::Ndjson(LineDelimitedWriter::new(spool.clone())),
            Format::ArrowFile => {
                Writer::ArrowFile(FileWriter::try_new(spool.clone(), schema).map_err(|e| fail(&e))?)
            }
            Format::ArrowStream => Writer::ArrowStream(
                StreamWriter::try_new(spool.clone(), schema).map_err(|e| fail(&e))?,
            ),
        };
        let first = spool.take();
        Ok((
            Encoder {
                writer,
                cast_to,
                spool,
                format,
                name,
            },
            first,
        ))
    }

    /// Encodes `batch`; returns the bytes ready so far (Parquet holds a row group back until
    /// it is full).
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<Bytes, IoError> {
        let cast;
        let batch = match &self.cast_to {
            Some(schema) => {
                cast = cast_batch(batch, schema)
                    .map_err(|e| unsupported(self.format, &self.name, &e))?;
                &cast
            }
            None => batch,
        };
        let result = match &mut self.writer {
            Writer::Parquet(writer) => writer.write(batch).map_err(|e| e.to_string()),
            Writer::Csv(writer) => writer.write(batch).map_err(|e| e.to_string()),
            Writer::Ndjson(writer) => writer.write(batch).map_err(|e| e.to_string()),
            Writer::ArrowFile(writer) => writer.write(batch).map_err(|e| e.to_string()),
            Writer::ArrowStream(writer) => writer.write(batch).map_err(|e| e.to_string()),
        };
        result.map_err(|e| unsupported(self.format, &self.name, &e))?;
        Ok(self.spool.take())
    }

    /// Ends the file (footer, end-of-stream marker); returns its last bytes.
    pub(crate) fn finish(self) -> Result<Bytes, IoError> {
        let result = match self.writer {
            Writer::Parquet(writer) => writer.close().map(drop).map_err(|e| e.to_string()),
            Writer::Csv(writer) => {
                drop(writer.into_inner());
                Ok(())
            }
            Writer::Ndjson(mut writer) => writer.finish().map_err(|e| e.to_string()),
            Writer::ArrowFile(mut writer) => writer.finish().map_err(|e| e.to_string()),
            Writer::ArrowStream(mut writer) => writer.finish().map_err(|e| e.to_string()),
        };
        result.map_err(|e| unsupported(self.format, &self.name, &e))?;
        Ok(self.spool.take())
    }
}

/// `schema` with second-unit timestamps and times in milliseconds, if it has any.
fn parquet_schema(schema: &SchemaRef) -> Option<SchemaRef> {
    let finer = |data_type: &DataType| match data_type {
        DataType::Timestamp(TimeUnit::Second, zone) => {
            Some(DataType::Timestamp(TimeUnit::Millisecond, zone.clone()))
        }
        DataType::Time32(TimeUnit::Second) => Some(DataType::Time32(TimeUnit::Millisecond)),
        // Whole days by definition; as Date64 the embedded Arrow schema makes Polars read a
        // datetime.
        DataType::Date64 => Some(DataType::Date32),
        _ => None,
    };
    if !schema
        .fields()
        .iter()
        .any(|f| finer(f.data_type()).is_some())
    {
        return None;
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match finer(f.data_type()) {
            Some(data_type) => f.as_ref().clone().with_data_type(data_type),
            None => f.as_ref().clone(),
        })
        .collect();
    Some(Arc::new(Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )))
}

/// `batch` with its columns cast to `schema`'s types (exact: to finer units, and Date64's
/// whole days to Date32).
fn cast_batch(
    batch: &RecordBatch,
    schema: &SchemaRef,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(Arc::clone(column))
            } else {
                arrow_cast::cast(column.as_ref(), field.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns)
}

/// Encoders fail on valid batches only when the format cannot hold the schema (CSV and
/// nested types, for instance): the pipeline chose the wrong format.
fn unsupported(format: Format, name: &str, error: &dyn std::fmt::Display) -> IoError {
    IoError::config(
        "format",
        format!("cannot write this data as {format} to {name}: {error}; choose another format"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema};

    fn options() -> EncodeOptions {
        EncodeOptions {
            parquet: WriterProperties::builder().build(),
            csv_header: true,
            csv_delimiter: b';',
        }
    }

    #[test]
    fn csv_without_rows_still_has_its_header() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Int64, true),
        ]));
        let (encoder, first) =
            Encoder::new(Format::Csv, &schema, &options(), "x.csv".into()).expect("starts");
        let last = encoder.finish().expect("ends");
        assert_eq!([first, last].concat(), b"a;b\n");
    }

    #[test]
    fn bytes_come_out_batch_by_batch() {
        let schema: SchemaRef =
            Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from(vec![1, 2]))],
        )
        .expect("batch");
        let (mut encoder, _) =
            Encoder::new(Format::Ndjson, &schema, &options(), "x.ndjson".into()).expect("starts");
        let bytes = encoder.write(&batch).expect("writes");
        assert_eq!(bytes.as_ref(), b"{\"a\":1}\n{\"a\":2}\n");
    }
}
