//! What flows between the threads of a run: [`Item`]s (a batch with its position in a
//! stage's input), what workers hand their stage's collector ([`Done`]), the first
//! [`Failure`] of a run, and the [`Emitter`] that sends batches downstream, re-cut to the
//! next stage's batch size and numbered.
//!
//! Every item also carries a source *mark*: how many source batches have all their rows in
//! this item or before it. Marks only grow along a channel; the sink learns from them which
//! source positions its written rows cover (`BatchSink::reached`), which is what a stream
//! run acknowledges after a commit (`docs/streams.md`). When the sink asks for marks, an
//! input that produces no rows still sends its mark on, as an item with no rows.

use std::sync::{Mutex, PoisonError};

use arrow_array::RecordBatch;
use crossbeam_channel::Sender;

use crate::engine::RunError;
use crate::plan::StagePlan;
use crate::rechunk::Rechunker;
use crate::stats::Progress;

/// A batch on its way into a stage.
pub(crate) struct Item {
    /// Position in the stage's input stream (batches).
    pub(crate) seq: u64,
    /// Position of its first row in the stage's input stream.
    pub(crate) first_row: u64,
    /// The batch (no rows: the item only carries its mark on).
    pub(crate) batch: RecordBatch,
    /// Source batches whose rows are all in this item or before it.
    pub(crate) mark: u64,
}

/// What a worker hands its stage's collector.
pub(crate) enum Done {
    /// The outputs for input `seq` (empty when the batch was skipped or dead-lettered),
    /// and the input's mark.
    Batch {
        seq: u64,
        out: Vec<RecordBatch>,
        mark: u64,
    },
    /// What instance `worker` flushed at end of stream.
    Finished {
        worker: usize,
        out: Vec<RecordBatch>,
    },
}

/// The first failure of a run; later ones are only logged.
#[derive(Default)]
pub(crate) struct Failure {
    pub(crate) first: Mutex<Option<RunError>>,
}

impl Failure {
    /// Record `e` (if it is the first) and cancel the run.
    pub(crate) fn set(&self, progress: &Progress, e: RunError) {
        let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some(e);
        } else {
            tracing::debug!("further failure after the run was cancelled: {e}");
        }
        progress.cancel();
    }
}

/// Sends batches downstream in order, re-cut to the next stage's size, numbered, marked.
pub(crate) struct Emitter {
    tx: Sender<Item>,
    /// The schema of what is sent (for items that carry only a mark).
    schema: arrow_schema::SchemaRef,
    rechunk: Option<Rechunker>,
    seq: u64,
    rows: u64,
    /// The highest mark sent on.
    sent: u64,
    /// Whether items with no rows are sent to carry a mark on (the sink asked for marks).
    marks: bool,
}

impl Emitter {
    /// An emitter into `tx`, re-cutting for `next` (the stage the batches go to).
    pub(crate) fn new(
        tx: Sender<Item>,
        next: Option<&StagePlan>,
        schema: arrow_schema::SchemaRef,
    ) -> Self {
        Self {
            tx,
            rechunk: next
                .and_then(|p| p.batch_rows)
                .map(|n| Rechunker::new(schema.clone(), n)),
            schema,
            seq: 0,
            rows: 0,
            sent: 0,
            marks: false,
        }
    }

    /// Send items with no rows to carry marks on (for a sink that asked for marks).
    pub(crate) fn with_marks(mut self, marks: bool) -> Self {
        self.marks = marks;
        self
    }

    /// The highest mark sent on so far.
    pub(crate) fn mark(&self) -> u64 {
        self.sent
    }

    /// Send `batch`, which completes `mark`, on (possibly re-cut). `false` when downstream
    /// has gone away.
    pub(crate) fn emit(&mut self, batch: RecordBatch, mark: u64) -> Result<bool, RunError> {
        if batch.num_rows() == 0 {
            return Ok(self.advance(mark));
        }
        let batches = match &mut self.rechunk {
            Some(r) => r
                .push_marked(batch, mark)
                .map_err(|e| RunError::Internal(e.to_string()))?,
            None => vec![(batch, mark)],
        };
        Ok(batches.into_iter().all(|(b, m)| self.send(b, m)))
    }

    /// `mark` is reached with no rows: send it on (unless rows held for re-cutting carry it
    /// later, or nobody asked for marks). `false` when downstream has gone away.
    pub(crate) fn advance(&mut self, mark: u64) -> bool {
        let ready = match &mut self.rechunk {
            Some(r) => r.advance(mark),
            None => Some(mark),
        };
        match ready {
            Some(m) if self.marks && m > self.sent => {
                let empty = RecordBatch::new_empty(self.schema());
                self.send(empty, m)
            }
            _ => true,
        }
    }

    fn schema(&self) -> arrow_schema::SchemaRef {
        self.schema.clone()
    }

    /// Send what the re-cutter still holds. `false` when downstream has gone away.
    pub(crate) fn flush(&mut self) -> Result<bool, RunError> {
        match &mut self.rechunk {
            Some(r) => match r
                .flush_marked()
                .map_err(|e| RunError::Internal(e.to_string()))?
            {
                Some((b, m)) => Ok(self.send(b, m)),
                None => Ok(true),
            },
            None => Ok(true),
        }
    }

    fn send(&mut self, batch: RecordBatch, mark: u64) -> bool {
        let mark = mark.max(self.sent);
        if batch.num_rows() == 0 && !(self.marks && mark > self.sent) {
            return true;
        }
        let rows = batch.num_rows() as u64;
        let item = Item {
            seq: self.seq,
            first_row: self.rows,
            batch,
            mark,
        };
        self.seq += 1;
        self.rows += rows;
        self.sent = mark;
        self.tx.send(item).is_ok()
    }
}
