//! The dead-letter sink: failed batches from any stage, turned into one fixed schema
//! (context columns plus the row itself as a JSON object) so that a single file or object
//! of any format can hold rows of every stage.
//!
//! A batch's rows share one error when the plugin did not name a row, and that error's text
//! is the plugin's choice (up to `limits.error_message`): the `error` column is
//! dictionary-encoded, so a batch's rows reference one copy of the text instead of holding
//! one each (8,192 copies of a 300 KB message once overflowed a string column's offsets).
//! Text formats (CSV, NDJSON) still write the text on every row; Parquet and Arrow keep it
//! once per batch.

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Int32Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use quiver_io::{Committed, IoError, SinkSpec};
use quiver_pipeline::engine::{BoxError, DeadLetterRecord};
use quiver_pipeline::{BatchSink, DeadLetter};

use crate::io::{Io, IoSink};

/// The schema of the dead-letter output: one row per failed input row.
pub fn dead_letter_schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        text("stage"),
        text("plugin"),
        text("plugin_version"),
        text("plugin_sha256"),
        text("error_kind"),
        Field::new(
            "error",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            false,
        ),
        Field::new("row", DataType::UInt64, false),
        text("record"),
    ]))
}

/// The dead-letter sink: every batch a `dead-letter` stage failed on, one output row per
/// failed row. `record` holds the row's own fields as a JSON object (nulls written out), so
/// rows of stages with different schemas share one output; `row` is the row's position in
/// the failing stage's input stream (for the first stage, in the source).
pub struct DeadLetterSink {
    sink: IoSink,
    rows: u64,
}

impl DeadLetterSink {
    /// Create the dead-letter output `spec` describes.
    ///
    /// # Errors
    /// The sink cannot be created.
    pub fn create(io: &Io, spec: &SinkSpec, base: &Path) -> Result<Self, IoError> {
        Ok(DeadLetterSink {
            sink: io.create_sink(spec, base, dead_letter_schema())?,
            rows: 0,
        })
    }

    /// Commit the output when something was dead-lettered; otherwise discard it, so a clean
    /// run leaves no empty dead-letter file behind.
    ///
    /// # Errors
    /// The output cannot be committed.
    pub fn finish(self) -> Result<Option<Committed>, IoError> {
        if self.rows == 0 {
            self.sink.abort();
            return Ok(None);
        }
        self.sink.commit().map(Some)
    }

    /// Commit the dead letters written so far and go on (a stream run's checkpoint).
    ///
    /// # Errors
    /// As [`IoSink::checkpoint`].
    pub(crate) fn checkpoint(&mut self) -> Result<Committed, IoError> {
        self.sink.checkpoint()
    }

    /// Name its part files `<stem>-NNNNN.<ext>`.
    pub(crate) fn set_part_stem(&mut self, stem: &str) {
        self.sink.set_part_stem(stem);
    }

    /// Discard the output.
    pub fn abort(self) {
        self.sink.abort();
    }
}

/// The rows of `batch` as JSON objects, one per row, nulls included.
fn rows_as_json(batch: &RecordBatch) -> Result<Vec<String>, BoxError> {
    let mut buf = Vec::new();
    {
        let mut writer = arrow_json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow_json::writer::LineDelimited>(&mut buf);
        writer.write(batch)?;
        writer.finish()?;
    }
    let text = String::from_utf8(buf)?;
    Ok(text.lines().map(str::to_owned).collect())
}

impl DeadLetter for DeadLetterSink {
    fn write(&mut self, r: &DeadLetterRecord) -> Result<(), BoxError> {
        let n = r.batch.num_rows();
        let records = rows_as_json(&r.batch)?;
        if records.len() != n {
            return Err(format!(
                "encoding a dead-lettered batch of {n} rows gave {} JSON lines",
                records.len()
            )
            .into());
        }
        let text = |v: &str| Arc::new(StringArray::from(vec![v; n])) as ArrayRef;
        // One copy of the text per batch, referenced by every row (see the module doc).
        let message = r.error.to_string();
        let columns = vec![
            text(&r.stage),
            text(&r.plugin.name),
            text(&r.plugin.version),
            text(&r.plugin.sha256),
            text(r.error.kind_name()),
            Arc::new(DictionaryArray::<Int32Type>::try_new(
                Int32Array::from(vec![0; n]),
                Arc::new(StringArray::from(vec![message])),
            )?) as ArrayRef,
            Arc::new(UInt64Array::from_iter_values(
                (0..n as u64).map(|i| r.first_row + i),
            )) as ArrayRef,
            Arc::new(StringArray::from(records)) as ArrayRef,
        ];
        let batch = RecordBatch::try_new(dead_letter_schema(), columns)?;
        self.sink.write(&batch)?;
        self.rows += n as u64;
        Ok(())
    }
}
