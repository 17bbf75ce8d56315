//! The bridge between quiver-io's async sources and sinks and the engine's threads.
//!
//! quiver-io reads and writes on tokio; the engine runs plugins on its own OS threads and
//! calls the sink on the caller's thread. This file owns the one tokio runtime of a command
//! and hands the engine blocking adapters over it: the source stream is pulled with
//! `Handle::block_on` from the engine's source thread, and every sink write is driven the
//! same way from the caller's thread. Plugin code therefore never runs on a tokio thread,
//! and no tokio thread ever waits for a plugin.

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::StreamExt;
use quiver_io::{Committed, IoError, Sink, SinkSpec, Source, SourceSpec, Storage};
use quiver_pipeline::BatchSink;
use quiver_pipeline::engine::{BatchSource, BoxError};
use tokio::runtime::{Handle, Runtime};

/// The tokio runtime of one command, and the storage settings (credentials from the
/// environment, retries) every source and sink of the command shares.
pub struct Io {
    /// Owned by a command; `None` when borrowed from the server's runtime.
    _runtime: Option<Runtime>,
    handle: Handle,
    storage: Storage,
    /// Whether the readers' own words about bad data are withheld (the server: they may
    /// quote the file, and its errors go to API clients).
    withhold: bool,
}

/// What replaces a reader's description of bad data when details are withheld.
pub const WITHHELD: &str = "the reader's details are withheld, as they may quote the data; \
                            `quiver validate` or `quiver run` on the host shows them";

/// `e` without the reader's description of bad data (which may quote the data): the
/// location, line and column stay.
pub fn withhold_details(e: IoError) -> IoError {
    match e {
        IoError::BadData {
            location,
            line,
            column,
            ..
        } => IoError::BadData {
            location,
            line,
            column,
            message: WITHHELD.into(),
        },
        other => other,
    }
}

impl Io {
    /// A runtime with two I/O threads: enough to overlap reading, writing and uploads; the
    /// CPU-heavy work (plugins, encoding) happens on the engine's own threads.
    ///
    /// # Errors
    /// The OS refuses the runtime's threads.
    pub fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("quiver-io")
            .enable_all()
            .build()?;
        Ok(Io {
            handle: runtime.handle().clone(),
            _runtime: Some(runtime),
            storage: Storage::from_env(),
            withhold: false,
        })
    }

    /// An `Io` on an existing runtime (the server's). Its methods block: call them from
    /// threads that are not the runtime's own (the server's run threads).
    pub fn with_handle(handle: Handle, storage: Storage) -> Self {
        Io {
            _runtime: None,
            handle,
            storage,
            withhold: false,
        }
    }

    /// Withhold the readers' own words about bad data from every error (they may quote the
    /// data): the location, line and column stay. The server's runs use this, since their
    /// errors go to API clients.
    pub fn withholding_data_details(mut self) -> Self {
        self.withhold = true;
        self
    }

    fn shown(&self, e: IoError) -> IoError {
        if self.withhold {
            withhold_details(e)
        } else {
            e
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
    ///
    /// # Errors
    /// The source cannot be opened (see [`IoError`]).
    pub fn open_source(&self, spec: &SourceSpec, base: &Path) -> Result<Source, IoError> {
        self.handle
            .block_on(quiver_io::open_source_with(spec, base, &self.storage))
            .map_err(|e| self.shown(e))
    }

    /// Create the sink `spec` describes for batches of `schema`.
    ///
    /// # Errors
    /// The sink cannot be created (see [`IoError`]).
    pub fn create_sink(
        &self,
        spec: &SinkSpec,
        base: &Path,
        schema: SchemaRef,
    ) -> Result<IoSink, IoError> {
        let sink = self
            .handle
            .block_on(quiver_io::create_sink_with(
                spec,
                base,
                schema,
                &self.storage,
            ))
            .map_err(|e| self.shown(e))?;
        Ok(IoSink {
            sink: Some(sink),
            handle: self.handle.clone(),
            withhold: self.withhold,
        })
    }

    /// The source's batches as the engine's blocking iterator.
    pub fn batches(&self, source: Source) -> BatchSource {
        Box::new(Blocking {
            stream: source.batches,
            handle: self.handle.clone(),
            withhold: self.withhold,
        })
    }
}

/// A source stream pulled from a non-tokio thread.
struct Blocking {
    stream: quiver_io::BatchStream,
    handle: Handle,
    withhold: bool,
}

impl Iterator for Blocking {
    type Item = Result<RecordBatch, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        let withhold = self.withhold;
        self.handle
            .block_on(self.stream.next())
            .map(|r| r.map_err(|e| BoxError::from(if withhold { withhold_details(e) } else { e })))
    }
}

/// A quiver-io sink written from the caller's thread. Dropped without [`IoSink::commit`],
/// it leaves nothing behind (see [`IoSink::abort`] for remote uploads).
pub struct IoSink {
    /// `None` once committed or aborted.
    sink: Option<Sink>,
    handle: Handle,
    /// As the [`Io`] that created it.
    withhold: bool,
}

impl IoSink {
    /// Make the output visible.
    ///
    /// # Errors
    /// The output cannot be committed (see [`IoError`]).
    pub fn commit(mut self) -> Result<Committed, IoError> {
        match self.sink.take() {
            Some(sink) => {
                let withhold = self.withhold;
                self.handle
                    .block_on(sink.commit())
                    .map_err(|e| if withhold { withhold_details(e) } else { e })
            }
            None => Err(IoError::Internal {
                message: "the sink was committed twice".into(),
            }),
        }
    }

    /// Make everything written so far visible and go on writing (a stream run's
    /// checkpoint; directories of parts only).
    ///
    /// # Errors
    /// The sink is not a directory, or the storage failed (see [`IoError`]).
    pub fn checkpoint(&mut self) -> Result<Committed, IoError> {
        let sink = self.sink.as_mut().ok_or_else(|| IoError::Internal {
            message: "a checkpoint of a closed sink".into(),
        })?;
        self.handle.block_on(sink.checkpoint())
    }

    /// Name its part files `<stem>-NNNNN.<ext>` (before the first write).
    pub fn set_part_stem(&mut self, stem: &str) {
        if let Some(sink) = self.sink.as_mut() {
            sink.set_part_stem(stem);
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
        let withhold = self.withhold;
        self.handle
            .block_on(sink.write(batch))
            .map_err(|e| BoxError::from(if withhold { withhold_details(e) } else { e }))
    }
}
