//! Running a prepared pipeline: threads, bounded channels, order, error policies.
//!
//! ```text
//! source thread ──ch──▶ stage 0: N worker threads ──▶ collector ──ch──▶ stage 1 … ──ch──▶ caller: sink
//!                                   │ (dead-letter records) ───────────────────────────▶ caller: dead-letter sink
//! ```
//!
//! - Every channel between threads is bounded, and each stage lets at most `2 × N` batches
//!   be in flight past its slowest one, so memory stays bounded whatever the input size:
//!   a slow sink or stage makes the source wait (backpressure).
//! - Plugin calls run on plain threads owned by the run: never on an async runtime's I/O
//!   threads.
//! - A stage with N instances hands batches to whichever instance is free; the collector puts
//!   the outputs back in input order. At end of stream each instance's `finish` runs, and
//!   what they flush follows, in instance order.
//! - A failure under the `fail` policy (or any failure of the source, the sink, `finish`, or
//!   a quarantined stage) cancels the run: every thread stops at its next step, nothing
//!   more is written, and the first failure is returned. The caller then must not commit.
//! - [`Progress::stop_intake`] drains the run instead: the source thread asks for no further
//!   batch and ends the stream as if the source had ended; the run then succeeds.
//! - A hot swap ([`Progress::swap`]) takes effect at a batch boundary: each worker checks,
//!   right after taking a batch, whether the batch is at or past an accepted swap's switch
//!   point (see [`crate::swap`]); if so it finishes its old transformer, puts what that
//!   flushed ahead of the batch's output, and processes the batch with the new one.

use std::sync::{Arc, PoisonError};
use std::thread::{Scope, ScopedJoinHandle};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use crossbeam_channel::{Receiver, Sender, bounded, select};
use quiver_host::{PluginError, PluginId, Transformer};

use crate::emitter::{Emitter, Failure, Item};
use crate::plan::{ErrorPolicy, Prepared, StagePlan};
use crate::stats::{Progress, StageStats, add};
use crate::worker::{Ctx, notify_swaps, spawn_stage};

pub use crate::worker::MAX_ISOLATED_ROWS;

/// Dead-letter records in flight between the stages and the caller's thread, at most: a
/// slow dead-letter sink makes failing stages wait, as a slow sink makes the source wait.
const DEAD_LETTER_QUEUE: usize = 4;

/// A boxed error from a source, sink or dead-letter sink.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where batches come from: an iterator run on a thread of its own.
pub type BatchSource = Box<dyn Iterator<Item = Result<RecordBatch, BoxError>> + Send>;

/// How long the caller's thread waits for the next batch before it calls
/// [`BatchSink::idle`] (time-based checkpoints of stream runs need a clock that ticks
/// while nothing arrives).
pub const IDLE_TICK: std::time::Duration = std::time::Duration::from_millis(200);

/// Where the batches of the last stage go. Called on the caller's thread, in order.
///
/// A sink that commits while the run goes (a stream run's periodic checkpoint) asks for
/// *marks* ([`BatchSink::wants_marks`]): the engine numbers the source's batches 1, 2, …
/// and tells the sink, after the write that completes them, that every row of the first
/// `mark` source batches has been handed to it or to the dead-letter sink
/// ([`BatchSink::reached`]). Order is kept through every stage, so marks only grow; how
/// re-cutting and stages that hold state keep them true is in `docs/streams.md`.
pub trait BatchSink {
    /// Write one batch.
    ///
    /// # Errors
    /// Whatever the sink reports; the run is cancelled.
    fn write(&mut self, batch: &RecordBatch) -> Result<(), BoxError>;

    /// Whether the sink wants [`BatchSink::reached`] calls (default: no). With marks, a
    /// source batch that yields no rows downstream still moves the mark on.
    fn wants_marks(&self) -> bool {
        false
    }

    /// Every row of the first `mark` source batches has been written (or dead-lettered:
    /// the dead-letter sink has been given those records first). Called only with growing
    /// marks, and only when [`BatchSink::wants_marks`].
    ///
    /// # Errors
    /// Whatever the sink reports (a failed checkpoint); the run is cancelled.
    fn reached(&mut self, mark: u64) -> Result<(), BoxError> {
        let _ = mark;
        Ok(())
    }

    /// Nothing arrived for [`IDLE_TICK`] (only called when [`BatchSink::wants_marks`]).
    ///
    /// # Errors
    /// As [`BatchSink::reached`].
    fn idle(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Collects every batch in memory (tests, `quiver test`, small results).
impl BatchSink for Vec<RecordBatch> {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), BoxError> {
        self.push(batch.clone());
        Ok(())
    }
}

/// Where failed batches go under the `dead-letter` policy. Called on the caller's thread.
pub trait DeadLetter {
    /// Record one failed batch and why it failed.
    ///
    /// # Errors
    /// Whatever the sink reports; the run is cancelled (a dead letter is never dropped).
    fn write(&mut self, record: &DeadLetterRecord) -> Result<(), BoxError>;
}

/// A batch a stage failed on, with everything needed to find out why and replay it.
#[derive(Debug, Clone)]
pub struct DeadLetterRecord {
    /// The stage's name.
    pub stage: String,
    /// The plugin version that failed.
    pub plugin: Arc<PluginId>,
    /// The error.
    pub error: PluginError,
    /// The batch, as the stage received it.
    pub batch: RecordBatch,
    /// Position of the batch's first row in the stage's input stream (for stage 0, in the
    /// source).
    pub first_row: u64,
}

/// Why a run stopped. The message says where; the cause (`source()`) says what.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The source failed (unreadable or bad data).
    #[error("reading the source")]
    Source(#[source] BoxError),
    /// A stage failed under the `fail` policy, in `finish`, or was quarantined.
    #[error("stage `{stage}`")]
    Stage {
        /// The stage's name.
        stage: String,
        /// The plugin's error.
        #[source]
        error: Box<PluginError>,
    },
    /// The sink failed.
    #[error("writing the sink")]
    Sink(#[source] BoxError),
    /// The dead-letter sink failed, or a stage has the `dead-letter` policy and there is
    /// no dead-letter sink.
    #[error("writing the dead-letter sink")]
    DeadLetter(#[source] BoxError),
    /// Batches could not be re-cut (a bug: batches of different schemas).
    #[error("internal error: {0}")]
    Internal(String),
    /// [`Progress::cancel`] was called.
    #[error("the run was cancelled")]
    Cancelled,
}

/// What a successful run did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Rows read from the source.
    pub rows_read: u64,
    /// Rows handed to the sink.
    pub rows_written: u64,
    /// Rows handed to the dead-letter sink.
    pub rows_dead_lettered: u64,
    /// Whether the run was drained ([`Progress::stop_intake`]) before the source ended: the
    /// output holds exactly what was read until then.
    pub stopped_early: bool,
    /// Per stage, in order.
    pub stages: Vec<StageStats>,
}

/// Run `prepared` from `source` to `sink`, sending failed batches of `dead-letter` stages
/// to `dead_letter`. Blocks until the run is over.
///
/// `progress` is the handle other threads steer the run with while it goes: cancel it,
/// drain it ([`Progress::stop_intake`]), swap a stage's plugin version ([`Progress::swap`]).
///
/// # Errors
/// The first failure; the sink has then received only part of the data and must not be
/// committed.
pub fn run(
    prepared: Prepared,
    source: BatchSource,
    sink: &mut dyn BatchSink,
    dead_letter: Option<&mut dyn DeadLetter>,
    progress: &Progress,
) -> Result<RunOutcome, RunError> {
    check_dead_letter(&prepared, dead_letter.is_some())?;
    let Prepared { input, stages } = prepared;
    let (plans, instance_sets): (Vec<StagePlan>, Vec<Vec<Transformer>>) =
        stages.into_iter().unzip();
    record_stages(&plans, &instance_sets, &input, progress)?;
    let failure = Failure::default();
    let marks = sink.wants_marks();
    let (written, stopped_early, stats) = std::thread::scope(|scope| {
        let (first_tx, first_rx) = bounded::<Item>(2);
        let emitter = Emitter::new(first_tx, plans.first(), input.clone()).with_marks(marks);
        let source_thread = spawn_source(scope, source, emitter, progress, &failure);
        let (dl_tx, dl_rx) = bounded::<DeadLetterRecord>(DEAD_LETTER_QUEUE);
        let (handles, last_rx) = spawn_stages(
            scope,
            &plans,
            instance_sets,
            first_rx,
            &input,
            dl_tx,
            progress,
            &failure,
            marks,
        );
        let written = drain_to_sinks(last_rx, dl_rx, sink, dead_letter, progress, &failure);
        let stopped_early = source_thread.join().unwrap_or(false);
        let stats = collect_stats(handles, &plans, progress);
        (written, stopped_early, stats)
    });
    let failed = failure
        .first
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(e) = failed {
        return Err(e);
    }
    if progress.is_cancelled() {
        return Err(RunError::Cancelled);
    }
    Ok(RunOutcome {
        rows_read: progress
            .rows_read
            .load(std::sync::atomic::Ordering::Relaxed),
        rows_written: written.0,
        rows_dead_lettered: written.1,
        stopped_early,
        stages: stats,
    })
}

/// A stage with the `dead-letter` policy needs a dead-letter sink. The pipeline document's
/// check reports this as a configuration problem first; this guard keeps a caller of the
/// engine from losing rows anyway.
fn check_dead_letter(prepared: &Prepared, has_dead_letter: bool) -> Result<(), RunError> {
    match prepared
        .stages
        .iter()
        .find(|(p, _)| p.on_error == ErrorPolicy::DeadLetter)
    {
        Some((p, _)) if !has_dead_letter => Err(RunError::DeadLetter(
            format!(
                "stage `{}` has on_error = \"dead-letter\" but the pipeline has no \
                 dead_letter sink; add one or change the policy",
                p.name
            )
            .into(),
        )),
        _ => Ok(()),
    }
}

/// Record what each stage takes, produces and runs (swaps are checked against it), and
/// the usage of creating its transformers.
fn record_stages(
    plans: &[StagePlan],
    instance_sets: &[Vec<Transformer>],
    input: &SchemaRef,
    progress: &Progress,
) -> Result<(), RunError> {
    if plans.len() != progress.stages.len() {
        return Err(RunError::Internal(format!(
            "the progress counters are for {} stages, the pipeline has {}; build them with \
             Progress::new over the stage names",
            progress.stages.len(),
            plans.len()
        )));
    }
    for ((plan, instances), (_, counters)) in plans.iter().zip(instance_sets).zip(&progress.stages)
    {
        let schema_in = instances
            .first()
            .map_or_else(|| input.clone(), Transformer::input_schema);
        let schema_out = instances
            .first()
            .map_or_else(|| schema_in.clone(), Transformer::output_schema);
        counters.swap.start(
            schema_in,
            schema_out,
            instances.len(),
            Arc::clone(plan.plugin.id()),
        );
        for t in instances {
            counters.add_usage(None, t.usage());
        }
    }
    Ok(())
}

/// The source thread: pull batches and emit them to stage 0 (or straight to the sink) until
/// the source ends, the run is drained (returns `true`) or it fails or is cancelled.
fn spawn_source<'scope>(
    scope: &'scope Scope<'scope, '_>,
    mut source: BatchSource,
    mut emitter: Emitter,
    progress: &'scope Progress,
    failure: &'scope Failure,
) -> ScopedJoinHandle<'scope, bool> {
    scope.spawn(move || -> bool {
        let mut stopped = false;
        // Source batches taken: the mark each one completes.
        let mut taken = 0_u64;
        loop {
            if progress.is_cancelled() {
                return false;
            }
            // Checked between batches only: a `next()` that blocks is not interrupted.
            if progress.is_stopping() {
                stopped = true;
                break;
            }
            let Some(next) = source.next() else { break };
            if progress.is_cancelled() {
                return false;
            }
            match next {
                Ok(batch) => {
                    add(&progress.rows_read, batch.num_rows() as u64);
                    taken += 1;
                    match emitter.emit(batch, taken) {
                        Ok(true) => {}
                        Ok(false) => return false,
                        Err(e) => {
                            failure.set(progress, e);
                            return false;
                        }
                    }
                }
                Err(e) => {
                    failure.set(progress, RunError::Source(e));
                    return false;
                }
            }
        }
        if let Err(e) = emitter.flush() {
            failure.set(progress, e);
        }
        stopped
    })
}

/// The stages' threads, each fed by the previous one; the handles (each yields its stage's
/// transformers when done) and the receiver of the last stage's output.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the arguments are the run's pieces"
)]
fn spawn_stages<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    plans: &'env [StagePlan],
    instance_sets: Vec<Vec<Transformer>>,
    mut rx: Receiver<Item>,
    input: &SchemaRef,
    dl_tx: Sender<DeadLetterRecord>,
    progress: &'env Progress,
    failure: &'env Failure,
    marks: bool,
) -> (
    Vec<ScopedJoinHandle<'scope, Vec<Transformer>>>,
    Receiver<Item>,
) {
    let mut handles = Vec::with_capacity(plans.len());
    for (i, (plan, instances)) in plans.iter().zip(instance_sets).enumerate() {
        let (out_tx, out_rx) = bounded::<Item>(2);
        let schema = instances
            .first()
            .map_or_else(|| input.clone(), Transformer::output_schema);
        let ctx = Ctx {
            index: i,
            plan,
            counters: &progress.stages[i].1,
            dl_tx: dl_tx.clone(),
            progress,
            failure,
        };
        handles.push(spawn_stage(
            scope,
            ctx,
            instances,
            rx,
            Emitter::new(out_tx, plans.get(i + 1), schema).with_marks(marks),
        ));
        rx = out_rx;
    }
    (handles, rx)
}

/// The caller's thread: write the last stage's batches to the sink and failed batches to
/// the dead-letter sink, in the order they come, until both channels close. Rows written to
/// each.
fn drain_to_sinks(
    rx: Receiver<Item>,
    dl_rx: Receiver<DeadLetterRecord>,
    sink: &mut dyn BatchSink,
    mut dead_letter: Option<&mut dyn DeadLetter>,
    progress: &Progress,
    failure: &Failure,
) -> (u64, u64) {
    let (mut rows_written, mut rows_dead_lettered) = (0, 0);
    let mut dl_open = true;
    let mut out_open = true;
    let marks = sink.wants_marks();
    let mut reached = 0_u64;
    let letter = |record: DeadLetterRecord,
                  dead_letter: &mut Option<&mut dyn DeadLetter>,
                  rows_dead_lettered: &mut u64| {
        if progress.is_cancelled() {
            return;
        }
        let rows = record.batch.num_rows() as u64;
        let written = match dead_letter.as_deref_mut() {
            Some(dl) => dl.write(&record).map_err(RunError::DeadLetter),
            None => Err(RunError::DeadLetter("no dead-letter sink".into())),
        };
        match written {
            Ok(()) => *rows_dead_lettered += rows,
            Err(e) => failure.set(progress, e),
        }
    };
    while out_open || dl_open {
        let tick = if marks && out_open {
            IDLE_TICK
        } else {
            std::time::Duration::from_secs(3600)
        };
        select! {
            recv(rx) -> item => match item {
                Ok(item) => {
                    if progress.is_cancelled() {
                        continue;
                    }
                    let rows = item.batch.num_rows() as u64;
                    if rows > 0 {
                        match sink.write(&item.batch) {
                            Ok(()) => {
                                rows_written += rows;
                                add(&progress.rows_written, rows);
                            }
                            Err(e) => {
                                failure.set(progress, RunError::Sink(e));
                                continue;
                            }
                        }
                    }
                    if marks && item.mark > reached {
                        // Every dead letter of the rows up to this mark was sent before
                        // the item left its stage: take them first, so a checkpoint
                        // holds them too.
                        while let Ok(record) = dl_rx.try_recv() {
                            letter(record, &mut dead_letter, &mut rows_dead_lettered);
                        }
                        reached = item.mark;
                        if !progress.is_cancelled()
                            && let Err(e) = sink.reached(reached)
                        {
                            failure.set(progress, RunError::Sink(e));
                        }
                    }
                }
                Err(_) => out_open = false,
            },
            recv(dl_rx) -> record => match record {
                Ok(record) => letter(record, &mut dead_letter, &mut rows_dead_lettered),
                Err(_) => dl_open = false,
            },
            default(tick) => {
                if !progress.is_cancelled()
                    && let Err(e) = sink.idle()
                {
                    failure.set(progress, RunError::Sink(e));
                }
            }
        }
    }
    (rows_written, rows_dead_lettered)
}

/// Join every stage and turn its counters and its transformers' usage into statistics.
fn collect_stats(
    handles: Vec<ScopedJoinHandle<'_, Vec<Transformer>>>,
    plans: &[StagePlan],
    progress: &Progress,
) -> Vec<StageStats> {
    handles
        .into_iter()
        .zip(plans)
        .enumerate()
        .map(|(i, (h, plan))| {
            let instances = h.join().unwrap_or_else(|_| Vec::new());
            let usages: Vec<_> = instances
                .iter()
                .map(|t| (t.usage(), t.counters()))
                .collect();
            let counters = &progress.stages[i].1;
            let events = counters.swap.close(progress.is_cancelled());
            notify_swaps(progress, i, events);
            let id = counters
                .plugin()
                .unwrap_or_else(|| Arc::clone(plan.plugin.id()));
            StageStats::new(
                &plan.name,
                &id,
                plan.parallelism.max(1),
                counters,
                &usages,
                counters.swaps(),
                plan.sandbox.limits.counters as usize,
            )
        })
        .collect()
}
