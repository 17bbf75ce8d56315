//! The bridge between quiver-io's async sources and sinks and the engine's threads.
//!
//! quiver-io reads and writes on tokio; the engine runs plugins on its own OS threads and
//! calls the sink on the caller's thread. This file owns the one tokio runtime of a command
//! and hands the engine blocking adapters over it: the source stream is pulled with
//! `Handle::block_on` from the engine's source thread, and every sink write is driven the
//! same way from the caller's thread. Plugin code therefore never runs on a tokio thread,
//! and no tokio thread ever waits for a plugin.
//!
//! It also owns the dead-letter sink: failed batches from any stage, turned into one fixed
//! schema (context columns plus the row itself as a JSON object) so that a single file or
//! object of any format can hold rows of every stage.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::StreamExt;
use quiver_io::{Committed, IoError, Sink, SinkSpec, Source, SourceSpec, Storage};
use quiver_pipeline::engine::{BatchSource, BoxError, DeadLetterRecord};
use quiver_pipeline::{BatchSink, DeadLetter};
use tokio::runtime::{Handle, Runtime};

/// The tokio runtime of one command, and the storage settings (credentials from the
/// environment, retries) every source and sink of the command shares.
pub struct Io {
    /// Owned by a command; `None` when borrowed from the server's runtime.
    _runtime: Option<Runtime>,
    handle: Handle,
    storage: Storage,
}

impl Io {
    /// A runtime with two I/O threads: enough to overlap reading, writing and uploads; the
    /// CPU-heavy work (plugins, encoding) happens on the engine's own threads.
    pub fn new() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("quiver-io")
            .enable_all()
            .build()?;
        Ok(Io {
            handle: runtime.handle().clone(),
            _runtime: Some(runtime),
            storage: Storage::from_env(),
        })
    }

    /// An `Io` on an existing runtime (the server's). Its methods block: call them from
    /// threads that are not the runtime's own (the server's run threads).
    pub fn with_handle(handle: Handle, storage: Storage) -> Self {
        Io {
            _runtime: None,
            handle,
            storage,
        }
    }

    /// The storage settings (credentials, retries).
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The runtime's handle (for signal handlers and progress tasks).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Open the source `spec` describes (its schema is read; no data yet).
    pub fn open_source(&self, spec: &SourceSpec, base: &Path) -> Result<Source, IoError> {
        self.handle
            .block_on(quiver_io::open_source_with(spec, base, &self.storage))
    }

    /// Create the sink `spec` describes for batches of `schema`.
    pub fn create_sink(&self, spec: &SinkSpec, base: &Path, schema: SchemaRef) -> Result<IoSink> {
        let sink = self.handle.block_on(quiver_io::create_sink_with(
            spec,
            base,
            schema,
            &self.storage,
        ))?;
        Ok(IoSink {
            sink: Some(sink),
            handle: self.handle.clone(),
        })
    }

    /// The source's batches as the engine's blocking iterator.
    pub fn batches(&self, source: Source) -> BatchSource {
        Box::new(Blocking {
            stream: source.batches,
            handle: self.handle.clone(),
        })
    }
}

/// A source stream pulled from a non-tokio thread.
struct Blocking {
    stream: quiver_io::BatchStream,
    handle: Handle,
}

impl Iterator for Blocking {
    type Item = Result<RecordBatch, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.handle
            .block_on(self.stream.next())
            .map(|r| r.map_err(BoxError::from))
    }
}

/// A quiver-io sink written from the caller's thread. Dropped without [`IoSink::commit`],
/// it leaves nothing behind (see [`IoSink::abort`] for remote uploads).
pub struct IoSink {
    /// `None` once committed or aborted.
    sink: Option<Sink>,
    handle: Handle,
}

impl IoSink {
    /// Make the output visible.
    pub fn commit(mut self) -> Result<Committed, IoError> {
        match self.sink.take() {
            Some(sink) => self.handle.block_on(sink.commit()),
            None => Err(IoError::Internal {
                message: "the sink was committed twice".into(),
            }),
        }
    }

    /// Discard everything written, aborting uploads now rather than leaving them to expire.
    pub fn abort(mut self) {
        if let Some(sink) = self.sink.take()
            && let Err(e) = self.handle.block_on(sink.abort())
        {
            tracing::warn!("cleaning up an uncommitted output: {e}");
        }
    }
}

impl BatchSink for IoSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), BoxError> {
        let sink = self.sink.as_mut().ok_or("the sink is already closed")?;
        self.handle
            .block_on(sink.write(batch))
            .map_err(BoxError::from)
    }
}

/// The schema of the dead-letter output: one row per failed input row.
pub fn dead_letter_schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        text("stage"),
        text("plugin"),
        text("plugin_version"),
        text("plugin_sha256"),
        text("error_kind"),
        text("error"),
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
    pub fn create(io: &Io, spec: &SinkSpec, base: &Path) -> Result<Self> {
        Ok(DeadLetterSink {
            sink: io.create_sink(spec, base, dead_letter_schema())?,
            rows: 0,
        })
    }

    /// Commit the output when something was dead-lettered; otherwise discard it, so a clean
    /// run leaves no empty dead-letter file behind.
    pub fn finish(self) -> Result<Option<Committed>, IoError> {
        if self.rows == 0 {
            self.sink.abort();
            return Ok(None);
        }
        self.sink.commit().map(Some)
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
        let message = r.error.to_string();
        let columns = vec![
            text(&r.stage),
            text(&r.plugin.name),
            text(&r.plugin.version),
            text(&r.plugin.sha256),
            text(r.error.kind_name()),
            text(&message),
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
