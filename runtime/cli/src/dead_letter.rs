//! The dead-letter file: every batch a `dead-letter` stage failed on, row by row, as NDJSON,
//! each row carrying its error context.
//!
//! NDJSON because batches from different stages have different schemas and a dead-letter
//! file must take them all. Each row is the failed row's own fields plus `_quiver_stage`,
//! `_quiver_plugin`, `_quiver_version`, `_quiver_sha256`, `_quiver_error_kind`,
//! `_quiver_error` and `_quiver_row` (the row's position in the stage's input stream). Like
//! the sink, the file is written beside its final path and appears there only when the run
//! commits.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use quiver_pipeline::DeadLetter;
use quiver_pipeline::engine::{BoxError, DeadLetterRecord};

use crate::exit::Coded;
use crate::io::{hidden_temp, publish};

/// A dead-letter NDJSON file being written.
pub struct DeadLetterFile {
    path: PathBuf,
    overwrite: bool,
    tmp: tempfile::TempPath,
    writer: arrow_json::LineDelimitedWriter<BufWriter<File>>,
    rows: u64,
}

impl DeadLetterFile {
    /// Start writing towards `path`.
    pub fn create(path: &Path, overwrite: bool) -> Result<Self> {
        if !overwrite && path.exists() {
            return Err(Coded::config(format!(
                "dead-letter file {} already exists; remove it or set `overwrite = true` in \
                 [dead_letter]",
                path.display()
            )));
        }
        let (file, tmp) = hidden_temp(path)?;
        Ok(Self {
            path: path.to_owned(),
            overwrite,
            tmp,
            writer: arrow_json::LineDelimitedWriter::new(BufWriter::new(file)),
            rows: 0,
        })
    }

    /// Finish the file and move it to its final path; `None` (and no file) when nothing
    /// was dead-lettered.
    pub fn commit(mut self) -> Result<Option<PathBuf>> {
        if self.rows == 0 {
            return Ok(None);
        }
        self.writer.finish()?;
        let file = self
            .writer
            .into_inner()
            .into_inner()
            .map_err(|e| e.into_error())?;
        file.sync_all()?;
        publish(self.tmp, &self.path, self.overwrite, "dead-letter file")?;
        Ok(Some(self.path))
    }
}

impl DeadLetter for DeadLetterFile {
    fn write(&mut self, r: &DeadLetterRecord) -> Result<(), BoxError> {
        let n = r.batch.num_rows();
        let text = |v: &str| Arc::new(StringArray::from(vec![v; n])) as ArrayRef;
        let mut fields: Vec<Arc<Field>> = r.batch.schema().fields().iter().cloned().collect();
        let mut columns = r.batch.columns().to_vec();
        let message = r.error.to_string();
        let context = [
            ("_quiver_stage", text(&r.stage)),
            ("_quiver_plugin", text(&r.plugin.name)),
            ("_quiver_version", text(&r.plugin.version)),
            ("_quiver_sha256", text(&r.plugin.sha256)),
            ("_quiver_error_kind", text(r.error.kind_name())),
            ("_quiver_error", text(&message)),
            (
                "_quiver_row",
                Arc::new(UInt64Array::from_iter_values(
                    (0..n as u64).map(|i| r.first_row + i),
                )) as ArrayRef,
            ),
        ];
        for (name, column) in context {
            let ty = if name == "_quiver_row" {
                DataType::UInt64
            } else {
                DataType::Utf8
            };
            fields.push(Arc::new(Field::new(name, ty, false)));
            columns.push(column);
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        self.writer.write(&batch)?;
        self.rows += n as u64;
        Ok(())
    }
}
