//! Local file sources and sinks for `quiver run`, chosen by file extension.
//!
//! Sources: CSV (header row, schema inferred), Parquet, Arrow IPC file (`.arrow`) and stream
//! (`.arrows`). Sinks: the same formats. A sink writes to a temporary file beside the target
//! and renames it into place only on [`Sink::commit`]: a failed or killed run leaves no
//! partial output behind, and a reader never sees a half-written file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::exit::Coded;

/// File formats, from the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.csv`
    Csv,
    /// `.parquet`
    Parquet,
    /// `.arrow` (IPC file)
    IpcFile,
    /// `.arrows` (IPC stream)
    IpcStream,
}

impl Format {
    /// The format of `path`, from its extension.
    pub fn of(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Format::Csv),
            Some("parquet") | Some("pq") => Ok(Format::Parquet),
            Some("arrow") | Some("feather") => Ok(Format::IpcFile),
            Some("arrows") => Ok(Format::IpcStream),
            _ => Err(Coded::config(format!(
                "cannot tell the format of {} from its extension; use .csv, .parquet, .arrow or .arrows",
                path.display()
            ))),
        }
    }
}

/// Batches read from a file, with the schema known before the first batch.
pub struct Source {
    /// Schema of every batch.
    pub schema: SchemaRef,
    /// The batches, in file order.
    pub batches: Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>,
}

fn open(path: &Path) -> Result<File> {
    File::open(path)
        .map_err(|e| Coded::config(format!("cannot open source {}: {e}", path.display())))
}

/// Open `path` as a source of batches of about `batch_rows` rows.
pub fn open_source(path: &Path, batch_rows: usize) -> Result<Source> {
    let bad = |e: &dyn std::fmt::Display| Coded::data(format!("{}: {e}", path.display()));
    match Format::of(path)? {
        Format::Csv => {
            let format = arrow_csv::reader::Format::default().with_header(true);
            let (schema, _) = format
                .infer_schema(open(path)?, Some(10_000))
                .map_err(|e| bad(&e))?;
            let schema = Arc::new(schema);
            let reader = arrow_csv::ReaderBuilder::new(schema.clone())
                .with_format(format)
                .with_batch_size(batch_rows)
                .build(open(path)?)
                .map_err(|e| bad(&e))?;
            Ok(Source {
                schema,
                batches: Box::new(reader),
            })
        }
        Format::Parquet => {
            let builder =
                ParquetRecordBatchReaderBuilder::try_new(open(path)?).map_err(|e| bad(&e))?;
            let schema = builder.schema().clone();
            let reader = builder
                .with_batch_size(batch_rows)
                .build()
                .map_err(|e| bad(&e))?;
            Ok(Source {
                schema,
                batches: Box::new(reader),
            })
        }
        Format::IpcFile => {
            let reader =
                arrow_ipc::reader::FileReader::try_new(open(path)?, None).map_err(|e| bad(&e))?;
            Ok(Source {
                schema: reader.schema(),
                batches: Box::new(reader),
            })
        }
        Format::IpcStream => {
            let reader =
                arrow_ipc::reader::StreamReader::try_new(open(path)?, None).map_err(|e| bad(&e))?;
            Ok(Source {
                schema: reader.schema(),
                batches: Box::new(reader),
            })
        }
    }
}

enum Writer {
    Csv(arrow_csv::Writer<File>),
    Parquet(ArrowWriter<File>),
    IpcFile(arrow_ipc::writer::FileWriter<File>),
    IpcStream(arrow_ipc::writer::StreamWriter<File>),
}

/// A file being written; invisible at its final path until [`Sink::commit`].
pub struct Sink {
    /// The final path.
    path: PathBuf,
    /// Replace an existing file at `path` on commit.
    overwrite: bool,
    /// The hidden temporary file beside `path`; deleted if the sink is dropped uncommitted.
    tmp: tempfile::TempPath,
    writer: Writer,
    /// Schema of the output (for the header of a CSV that received no batch).
    schema: SchemaRef,
    /// Whether any batch was written.
    written: bool,
}

impl Sink {
    /// Start writing batches of `schema` towards `path`.
    pub fn create(path: &Path, schema: &SchemaRef, overwrite: bool) -> Result<Self> {
        let format = Format::of(path)?;
        if !overwrite && path.exists() {
            return Err(Coded::config(format!(
                "sink {} already exists; remove it or set `overwrite = true` in the sink",
                path.display()
            )));
        }
        let (file, tmp) = hidden_temp(path)?;
        let writer = match format {
            Format::Csv => Writer::Csv(
                arrow_csv::WriterBuilder::new()
                    .with_header(true)
                    .build(file),
            ),
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    // A row group is buffered whole before it is written: bound it so the
                    // sink's memory does not grow with the input.
                    .set_max_row_group_row_count(Some(128 * 1024))
                    .build();
                Writer::Parquet(ArrowWriter::try_new(file, schema.clone(), Some(props))?)
            }
            Format::IpcFile => {
                Writer::IpcFile(arrow_ipc::writer::FileWriter::try_new(file, schema)?)
            }
            Format::IpcStream => {
                Writer::IpcStream(arrow_ipc::writer::StreamWriter::try_new(file, schema)?)
            }
        };
        Ok(Self {
            path: path.to_owned(),
            overwrite,
            tmp,
            writer,
            schema: schema.clone(),
            written: false,
        })
    }

    /// Append one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.written = true;
        match &mut self.writer {
            Writer::Csv(w) => w.write(batch)?,
            Writer::Parquet(w) => w.write(batch)?,
            Writer::IpcFile(w) => w.write(batch)?,
            Writer::IpcStream(w) => w.write(batch)?,
        }
        Ok(())
    }

    /// Finish the file, flush it to disk and move it to its final path.
    pub fn commit(mut self) -> Result<PathBuf> {
        if !self.written {
            // A CSV with no rows still says what its columns are.
            let empty = RecordBatch::new_empty(self.schema.clone());
            self.write(&empty)?;
        }
        let file = match self.writer {
            Writer::Csv(w) => w.into_inner(),
            Writer::Parquet(w) => w.into_inner()?,
            Writer::IpcFile(mut w) => {
                w.finish()?;
                w.into_inner()?
            }
            Writer::IpcStream(mut w) => {
                w.finish()?;
                w.into_inner()?
            }
        };
        file.sync_all()?;
        publish(self.tmp, &self.path, self.overwrite, "sink")?;
        Ok(self.path)
    }
}

/// A hidden temporary file (`.NAME.*.partial`) beside `path`, its directory created: where
/// an output is written before [`publish`] moves it into place. Deleted if dropped.
pub fn hidden_temp(path: &Path) -> Result<(File, tempfile::TempPath)> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating directory {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    Ok(tmp.into_parts())
}

/// Move a finished temporary file to `path` in one rename; without `overwrite`, never over
/// a file that appeared meanwhile. `what` names the output in messages.
pub fn publish(tmp: tempfile::TempPath, path: &Path, overwrite: bool, what: &str) -> Result<()> {
    if overwrite {
        tmp.persist(path)?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            Coded::config(format!(
                "{what} {} appeared while the run was writing: {}",
                path.display(),
                e.error
            ))
        })?;
    }
    Ok(())
}
