//! What flows between the threads of a run: [`Item`]s (a batch with its position in a
//! stage's input), what workers hand their stage's collector ([`Done`]), the first
//! [`Failure`] of a run, and the [`Emitter`] that sends batches downstream, re-cut to the
//! next stage's batch size and numbered.

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
    /// The batch.
    pub(crate) batch: RecordBatch,
}

/// What a worker hands its stage's collector.
pub(crate) enum Done {
    /// The outputs for input `seq` (empty when the batch was skipped or dead-lettered).
    Batch { seq: u64, out: Vec<RecordBatch> },
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

/// Sends batches downstream in order, re-cut to the next stage's size, numbered.
pub(crate) struct Emitter {
    tx: Sender<Item>,
    rechunk: Option<Rechunker>,
    seq: u64,
    rows: u64,
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
                .map(|n| Rechunker::new(schema, n)),
            seq: 0,
            rows: 0,
        }
    }

    /// Send `batch` on (possibly re-cut). `false` when downstream has gone away.
    pub(crate) fn emit(&mut self, batch: RecordBatch) -> Result<bool, RunError> {
        let batches = match &mut self.rechunk {
            Some(r) => r
                .push(batch)
                .map_err(|e| RunError::Internal(e.to_string()))?,
            None => vec![batch],
        };
        Ok(batches.into_iter().all(|b| self.send(b)))
    }

    /// Send what the re-cutter still holds. `false` when downstream has gone away.
    pub(crate) fn flush(&mut self) -> Result<bool, RunError> {
        match &mut self.rechunk {
            Some(r) => match r.flush().map_err(|e| RunError::Internal(e.to_string()))? {
                Some(b) => Ok(self.send(b)),
                None => Ok(true),
            },
            None => Ok(true),
        }
    }

    fn send(&mut self, batch: RecordBatch) -> bool {
        if batch.num_rows() == 0 {
            return true;
        }
        let rows = batch.num_rows() as u64;
        let item = Item {
            seq: self.seq,
            first_row: self.rows,
            batch,
        };
        self.seq += 1;
        self.rows += rows;
        self.tx.send(item).is_ok()
    }
}
