//! Where a run's batches go, and — for a stream run — when they are committed and the
//! source's messages acknowledged.
//!
//! [`RunSink`] is the engine's sink for every run: a quiver-io sink (files, object stores)
//! or a JetStream subject. A stream run (a JetStream source) adds a [`Checkpoint`]: the
//! engine reports marks (`BatchSink::reached`: every row of the first `m` source batches
//! is written), and once `checkpoint.rows` rows were written or `checkpoint.interval`
//! passed — or half the consumer's `max_ack_pending` messages wait — the dead letters and
//! the output are committed (part files made visible; publishes acknowledged by the
//! stream) and only then the messages of batches `1..=m` acknowledged. A crash anywhere in
//! between leaves those messages unacknowledged: they are delivered again, so every row is
//! committed at least once (and exactly once into a JetStream sink, by message id).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatch;
use quiver_io::{Committed, IoError};
use quiver_pipeline::engine::{BoxError, DeadLetterRecord};
use quiver_pipeline::{BatchSink, DeadLetter};
use quiver_stream::{Checkpoint, KafkaSink, Ledger, NatsSink};
use tokio::runtime::Handle;

use crate::dead_letter::DeadLetterSink;
use crate::io::IoSink;

/// The sink proper.
#[expect(
    clippy::large_enum_variant,
    reason = "one per run, never moved in a loop"
)]
pub(crate) enum Output {
    /// Files or objects (quiver-io).
    Io(IoSink),
    /// A JetStream subject.
    Nats(Box<NatsSink>),
    /// A Kafka topic.
    Kafka(Box<KafkaSink>),
}

/// A stream run's checkpoint state.
pub(crate) struct Stream {
    /// The source's messages until acknowledged.
    pub(crate) ledger: Arc<Ledger>,
    /// When to commit.
    pub(crate) policy: Checkpoint,
    /// Take a checkpoint when this many messages wait for their ack.
    pub(crate) max_pending: usize,
    /// The source's server, for errors.
    pub(crate) server: String,
    /// Rows written since the last checkpoint.
    rows: u64,
    /// When the last checkpoint was taken.
    last: Instant,
    /// The mark the engine reached, and the one acknowledged.
    reached: u64,
    acked: u64,
    /// Checkpoints taken and messages acknowledged.
    pub(crate) checkpoints: u64,
    pub(crate) messages_acked: u64,
    /// Messages a JetStream sink published that the stream had already stored (dropped
    /// by their ids: the exactly-once mechanism at work after a restart).
    pub(crate) duplicates: u64,
}

impl Stream {
    pub(crate) fn new(
        ledger: Arc<Ledger>,
        policy: Checkpoint,
        max_pending: usize,
        server: String,
    ) -> Self {
        Stream {
            ledger,
            policy,
            max_pending,
            server,
            rows: 0,
            last: Instant::now(),
            reached: 0,
            acked: 0,
            checkpoints: 0,
            messages_acked: 0,
            duplicates: 0,
        }
    }
}

/// The dead-letter sink, shared between the engine (which writes to it) and the
/// checkpoint (which commits it): both run on the caller's thread.
#[derive(Clone)]
pub(crate) struct SharedDeadLetter(pub(crate) Rc<RefCell<DeadLetterSink>>);

impl DeadLetter for SharedDeadLetter {
    fn write(&mut self, record: &DeadLetterRecord) -> Result<(), BoxError> {
        self.0.borrow_mut().write(record)
    }
}

/// The engine's sink for one run.
pub(crate) struct RunSink {
    pub(crate) output: Output,
    pub(crate) stream: Option<Stream>,
    pub(crate) dead_letter: Option<SharedDeadLetter>,
    pub(crate) handle: Handle,
    /// Message ids of a JetStream sink without a stream source start with this (unique per
    /// run); batches written since the last mark, for ids.
    pub(crate) id_base: String,
    written_since_mark: u64,
    /// The last mark the engine reported.
    mark: u64,
    /// Everything committed by checkpoints so far.
    pub(crate) committed: Committed,
}

impl RunSink {
    pub(crate) fn new(
        output: Output,
        stream: Option<Stream>,
        dead_letter: Option<SharedDeadLetter>,
        handle: Handle,
        id_base: String,
    ) -> Self {
        RunSink {
            output,
            stream,
            dead_letter,
            handle,
            id_base,
            written_since_mark: 0,
            mark: 0,
            committed: Committed {
                outputs: Vec::new(),
                rows: 0,
                bytes: 0,
            },
        }
    }

    /// The id of the next message batch: from the source message that produces it (a
    /// stream source: stream, sequence), else from this run's id and the source batch; and
    /// its place among that source batch's outputs.
    fn next_id(&mut self) -> String {
        let reached = self.mark;
        // Rows written after mark `r` come from source batch `r + 1` (order is kept).
        let origin = self
            .stream
            .as_ref()
            .and_then(|s| s.ledger.origin_of(reached + 1));
        let j = self.written_since_mark;
        self.written_since_mark += 1;
        match origin {
            Some((stream, seq)) => format!("{stream}:{seq}:{j}"),
            None => format!("{}:{}:{j}", self.id_base, reached + 1),
        }
    }

    /// Commit the dead letters and the output written so far, then acknowledge the source
    /// messages whose rows they hold. Nothing is acknowledged unless both commits succeed.
    fn checkpoint(&mut self) -> Result<(), BoxError> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        if let Some(dl) = &self.dead_letter {
            dl.0.borrow_mut().checkpoint()?;
        }
        match &mut self.output {
            Output::Io(sink) => {
                if stream.rows > 0 {
                    let c = sink.checkpoint()?;
                    self.committed.outputs.extend(c.outputs);
                    self.committed.rows += c.rows;
                    self.committed.bytes += c.bytes;
                }
            }
            Output::Nats(sink) => {
                self.handle.block_on(sink.flush())?;
            }
            Output::Kafka(sink) => {
                self.handle.block_on(sink.flush())?;
            }
        }
        let acked = self
            .handle
            .block_on(stream.ledger.ack_through(stream.reached, &stream.server))?;
        tracing::debug!(
            mark = stream.reached,
            acked,
            rows = stream.rows,
            "checkpoint: committed, then acknowledged"
        );
        stream.messages_acked += acked as u64;
        stream.acked = stream.reached;
        stream.rows = 0;
        stream.last = Instant::now();
        stream.checkpoints += 1;
        Ok(())
    }

    /// Whether a checkpoint is due.
    fn due(&self) -> bool {
        let Some(s) = &self.stream else { return false };
        let waiting = s.reached > s.acked;
        waiting
            && (s.rows >= s.policy.rows
                || s.last.elapsed() >= s.policy.interval
                || s.ledger.pending() >= s.max_pending)
    }

    /// The last checkpoint of a run that succeeded, then the final commit: what the run
    /// made visible in all.
    ///
    /// # Errors
    /// The commit failed: messages since the last checkpoint stay unacknowledged.
    pub(crate) fn commit(mut self) -> Result<(Committed, Option<Stream>), IoError> {
        let failed = |e: BoxError| IoError::Internal {
            message: e.to_string(),
        };
        match self.output {
            Output::Io(sink) => {
                let c = sink.commit()?;
                if self.stream.is_some() {
                    self.committed.outputs.extend(c.outputs);
                    self.committed.rows = c.rows;
                    self.committed.bytes += c.bytes;
                } else {
                    self.committed = c;
                }
            }
            Output::Nats(mut sink) => {
                let (messages, duplicates) = self
                    .handle
                    .block_on(sink.flush())
                    .map_err(|e| failed(Box::new(e)))?;
                tracing::info!(messages, duplicates, "published and stored");
                if let Some(s) = self.stream.as_mut() {
                    s.duplicates = duplicates;
                }
                self.committed = Committed {
                    outputs: vec![sink.shown()],
                    rows: sink.rows(),
                    bytes: 0,
                };
            }
            Output::Kafka(mut sink) => {
                let records = self
                    .handle
                    .block_on(sink.flush())
                    .map_err(|e| failed(Box::new(e)))?;
                tracing::info!(records, "sent and delivered");
                self.committed = Committed {
                    outputs: vec![sink.shown()],
                    rows: sink.rows(),
                    bytes: 0,
                };
            }
        }
        if let Some(stream) = self.stream.as_mut() {
            let acked = self
                .handle
                .block_on(stream.ledger.ack_through(u64::MAX, &stream.server))
                .map_err(|e| failed(Box::new(e)))?;
            stream.messages_acked += acked as u64;
            stream.checkpoints += 1;
        }
        Ok((self.committed, self.stream))
    }

    /// Discard what is not committed (nothing is acknowledged).
    pub(crate) fn abort(self) {
        if let Output::Io(sink) = self.output {
            sink.abort();
        }
    }
}

impl BatchSink for RunSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), BoxError> {
        match &mut self.output {
            Output::Io(sink) => sink.write(batch)?,
            Output::Nats(_) => {
                let id = self.next_id();
                let Output::Nats(sink) = &mut self.output else {
                    unreachable!("matched above")
                };
                self.handle.block_on(sink.publish(batch, &id))?;
            }
            Output::Kafka(_) => {
                let id = self.next_id();
                let Output::Kafka(sink) = &mut self.output else {
                    unreachable!("matched above")
                };
                self.handle.block_on(sink.publish(batch, &id))?;
            }
        }
        if let Some(s) = self.stream.as_mut() {
            s.rows += batch.num_rows() as u64;
        }
        Ok(())
    }

    fn wants_marks(&self) -> bool {
        self.stream.is_some() || matches!(self.output, Output::Nats(_))
    }

    fn reached(&mut self, mark: u64) -> Result<(), BoxError> {
        self.written_since_mark = 0;
        self.mark = mark;
        if let Some(s) = self.stream.as_mut() {
            s.reached = mark;
        }
        if self.due() {
            self.checkpoint()?;
        }
        Ok(())
    }

    fn idle(&mut self) -> Result<(), BoxError> {
        if self.due() {
            self.checkpoint()?;
        }
        Ok(())
    }
}
