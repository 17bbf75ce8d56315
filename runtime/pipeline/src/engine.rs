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

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use arrow_array::RecordBatch;
use crossbeam_channel::{Receiver, Sender, bounded, select, unbounded};
use quiver_host::{ErrorKind, PluginError, PluginId, Transformer};

use crate::observer::{CallEvent, ErrorEvent, SwapEvent};
use crate::plan::{ErrorPolicy, Prepared, StagePlan};
use crate::rechunk::Rechunker;
use crate::stats::{Progress, StageCounters, StageStats, UsageMark, add};
use crate::swap::{Resolve, SwapOutcome};

/// A boxed error from a source, sink or dead-letter sink.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where batches come from: an iterator run on a thread of its own.
pub type BatchSource = Box<dyn Iterator<Item = Result<RecordBatch, BoxError>> + Send>;

/// Where the batches of the last stage go. Called on the caller's thread, in order.
pub trait BatchSink {
    /// Write one batch.
    ///
    /// # Errors
    /// Whatever the sink reports; the run is cancelled.
    fn write(&mut self, batch: &RecordBatch) -> Result<(), BoxError>;
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

/// A batch on its way into a stage.
struct Item {
    /// Position in the stage's input stream (batches).
    seq: u64,
    /// Position of its first row in the stage's input stream.
    first_row: u64,
    batch: RecordBatch,
}

/// What a worker hands its stage's collector.
enum Done {
    /// The outputs for input `seq` (empty when the batch was skipped or dead-lettered).
    Batch { seq: u64, out: Vec<RecordBatch> },
    /// What instance `worker` flushed at end of stream.
    Finished {
        worker: usize,
        out: Vec<RecordBatch>,
    },
}

/// The first failure of a run; later ones are only logged.
struct Failure {
    first: Mutex<Option<RunError>>,
}

impl Failure {
    fn set(&self, progress: &Progress, e: RunError) {
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
struct Emitter {
    tx: Sender<Item>,
    rechunk: Option<Rechunker>,
    seq: u64,
    rows: u64,
}

impl Emitter {
    fn new(tx: Sender<Item>, next: Option<&StagePlan>, schema: arrow_schema::SchemaRef) -> Self {
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
    fn emit(&mut self, batch: RecordBatch) -> Result<bool, RunError> {
        let batches = match &mut self.rechunk {
            Some(r) => r
                .push(batch)
                .map_err(|e| RunError::Internal(e.to_string()))?,
            None => vec![batch],
        };
        Ok(batches.into_iter().all(|b| self.send(b)))
    }

    fn flush(&mut self) -> Result<bool, RunError> {
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
    mut dead_letter: Option<&mut dyn DeadLetter>,
    progress: &Progress,
) -> Result<RunOutcome, RunError> {
    if dead_letter.is_none()
        && let Some((p, _)) = prepared
            .stages
            .iter()
            .find(|(p, _)| p.on_error == ErrorPolicy::DeadLetter)
    {
        return Err(RunError::DeadLetter(
            format!(
                "stage `{}` has on_error = \"dead-letter\" but the pipeline has no \
                 dead_letter sink; add one or change the policy",
                p.name
            )
            .into(),
        ));
    }
    let failure = Failure {
        first: Mutex::new(None),
    };
    let Prepared { input, stages } = prepared;
    let (plans, instance_sets): (Vec<StagePlan>, Vec<Vec<Transformer>>) =
        stages.into_iter().unzip();
    if plans.len() != progress.stages.len() {
        return Err(RunError::Internal(format!(
            "the progress counters are for {} stages, the pipeline has {}; build them with \
             Progress::new over the stage names",
            progress.stages.len(),
            plans.len()
        )));
    }
    // Record what each stage takes, produces and runs: swaps are checked against it.
    for ((plan, instances), (_, counters)) in plans.iter().zip(&instance_sets).zip(&progress.stages)
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
    let (dl_tx, dl_rx) = unbounded::<DeadLetterRecord>();
    let mut rows_written = 0;
    let mut rows_dead_lettered = 0;

    let (stats, stopped_early) = std::thread::scope(|scope| {
        // Source → stage 0 (or straight to the sink when there are no stages).
        let (first_tx, mut rx) = bounded::<Item>(2);
        let source_thread = {
            let failure = &failure;
            let mut emitter = Emitter::new(first_tx, plans.first(), input.clone());
            let mut source = source;
            // Whether the stream was ended by `stop_intake` rather than by the source.
            scope.spawn(move || -> bool {
                let mut stopped = false;
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
                            match emitter.emit(batch) {
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
        };

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
                failure: &failure,
            };
            handles.push(spawn_stage(
                scope,
                ctx,
                instances,
                rx,
                Emitter::new(out_tx, plans.get(i + 1), schema),
            ));
            rx = out_rx;
        }
        drop(dl_tx);

        // The caller's thread: the sink and the dead-letter sink.
        let mut dl_open = true;
        let mut out_open = true;
        while out_open || dl_open {
            select! {
                recv(rx) -> item => match item {
                    Ok(item) => {
                        if progress.is_cancelled() {
                            continue;
                        }
                        let rows = item.batch.num_rows() as u64;
                        match sink.write(&item.batch) {
                            Ok(()) => {
                                rows_written += rows;
                                add(&progress.rows_written, rows);
                            }
                            Err(e) => failure.set(progress, RunError::Sink(e)),
                        }
                    }
                    Err(_) => out_open = false,
                },
                recv(dl_rx) -> record => match record {
                    Ok(record) => {
                        if progress.is_cancelled() {
                            continue;
                        }
                        let rows = record.batch.num_rows() as u64;
                        let written = match dead_letter.as_deref_mut() {
                            Some(dl) => dl.write(&record).map_err(RunError::DeadLetter),
                            None => Err(RunError::DeadLetter("no dead-letter sink".into())),
                        };
                        match written {
                            Ok(()) => rows_dead_lettered += rows,
                            Err(e) => failure.set(progress, e),
                        }
                    }
                    Err(_) => dl_open = false,
                },
            }
        }
        let stopped_early = source_thread.join().unwrap_or(false);
        let stats = handles
            .into_iter()
            .zip(&plans)
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
                )
            })
            .collect::<Vec<_>>();
        (stats, stopped_early)
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
        rows_written,
        rows_dead_lettered,
        stopped_early,
        stages: stats,
    })
}

/// Hand swap events to the observer, if any.
fn notify_swaps(progress: &Progress, stage: usize, events: Vec<SwapEvent>) {
    if let Some(o) = progress.observer() {
        for e in &events {
            o.swap(stage, e);
        }
    }
}

/// What every worker of one stage shares.
#[derive(Clone)]
struct Ctx<'env> {
    /// Position of the stage in the pipeline.
    index: usize,
    plan: &'env StagePlan,
    counters: &'env StageCounters,
    dl_tx: Sender<DeadLetterRecord>,
    progress: &'env Progress,
    failure: &'env Failure,
}

impl Ctx<'_> {
    /// One `process` (`batch`) or `finish` (`None`) call: the live usage counters and the
    /// observer are updated after it.
    fn call(
        &self,
        t: &mut Transformer,
        batch: Option<&RecordBatch>,
    ) -> Result<Vec<RecordBatch>, PluginError> {
        let before = UsageMark::of(t.usage());
        let started = self.progress.observer().map(|_| Instant::now());
        let result = match batch {
            Some(b) => t.process(b),
            None => t.finish(),
        };
        self.counters.add_usage(Some(&before), t.usage());
        if let (Some(o), Some(started)) = (self.progress.observer(), started) {
            let event = CallEvent {
                plugin: t.plugin().id(),
                finish: batch.is_none(),
                duration: started.elapsed(),
                rows_in: batch.map_or(0, |b| b.num_rows() as u64),
                rows_out: result
                    .as_ref()
                    .map_or(0, |out| out.iter().map(|b| b.num_rows() as u64).sum()),
                error_kind: result.as_ref().err().map(PluginError::kind_name),
            };
            o.call(self.index, &event);
        }
        result
    }

    /// Report a failed call to the observer.
    fn error_event(
        &self,
        plugin: &PluginId,
        error: &PluginError,
        (rows, first_row): (u64, u64),
        policy: ErrorPolicy,
    ) {
        if let Some(o) = self.progress.observer() {
            let event = ErrorEvent {
                plugin,
                error,
                rows,
                first_row,
                policy,
                fatal: policy == ErrorPolicy::Fail,
            };
            o.error(self.index, &event);
        }
    }

    /// `error` of `plugin` stops the run (rows: those of the failed call).
    fn fatal(&self, plugin: &PluginId, error: PluginError, rows: (u64, u64)) {
        self.error_event(plugin, &error, rows, ErrorPolicy::Fail);
        self.failure.set(
            self.progress,
            RunError::Stage {
                stage: self.plan.name.clone(),
                error: Box::new(error),
            },
        );
    }

    /// Finish `old` before a swap takes effect at batch `at_batch` (row `at_row`); what it
    /// flushed. The instance that took the switch point itself (`resolve`) reports the
    /// outcome and records the swap in the lineage.
    fn switch(
        &self,
        old: &mut Transformer,
        resolve: Option<Resolve>,
        at_batch: u64,
        at_row: u64,
    ) -> Vec<RecordBatch> {
        let report = |outcome: SwapOutcome, resolve: Option<Resolve>| {
            if let Some(r) = resolve {
                if let SwapOutcome::Applied { .. } = outcome {
                    self.counters.swap.applied(r.record(at_batch, at_row));
                }
                notify_swaps(self.progress, self.index, vec![r.send(outcome)]);
            }
        };
        if self.progress.is_cancelled() {
            report(
                SwapOutcome::Failed("the run stopped before the switch point".into()),
                resolve,
            );
            return Vec::new();
        }
        match self.call(old, None) {
            Ok(flushed) => {
                report(SwapOutcome::Applied { at_batch, at_row }, resolve);
                flushed
            }
            Err(error) => {
                // As at end of stream: a failing `finish` stops the run.
                let message = error.to_string();
                let plugin = Arc::clone(old.plugin().id());
                self.fatal(&plugin, error, (0, 0));
                report(SwapOutcome::Failed(message), resolve);
                Vec::new()
            }
        }
    }
}

/// Start the workers and the collector of one stage; the handle yields its transformers
/// back (for their usage) when the stage is done: those running at the end and those swapped
/// out.
fn spawn_stage<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    ctx: Ctx<'env>,
    instances: Vec<Transformer>,
    rx: Receiver<Item>,
    mut emitter: Emitter,
) -> std::thread::ScopedJoinHandle<'scope, Vec<Transformer>> {
    let n = instances.len();
    // At most `window` batches of this stage are in flight between the oldest unfinished
    // one and the newest taken: the collector's reorder buffer stays bounded.
    let window = 2 * n;
    let (token_tx, token_rx) = bounded::<()>(window);
    for _ in 0..window {
        let _ = token_tx.send(());
    }
    let (done_tx, done_rx) = unbounded::<Done>();
    let mut workers = Vec::with_capacity(n);
    for (w, mut t) in instances.into_iter().enumerate() {
        let rx = rx.clone();
        let token_rx = token_rx.clone();
        let done_tx = done_tx.clone();
        let ctx = ctx.clone();
        workers.push(scope.spawn(move || {
            let progress = ctx.progress;
            // Transformers swapped out: their usage still counts.
            let mut retired = Vec::new();
            loop {
                if token_rx.recv().is_err() {
                    break;
                }
                let Ok(item) = rx.recv() else { break };
                let seq = item.seq;
                // A swap whose switch point this batch is at or past: finish the old
                // version first; what it flushes goes ahead of this batch's output.
                let mut out = Vec::new();
                if let Some(switch) = ctx.counters.swap.on_take(w, seq) {
                    let mut old = std::mem::replace(&mut t, switch.transformer);
                    ctx.counters.add_usage(None, t.usage());
                    out = ctx.switch(&mut old, switch.resolve, seq, item.first_row);
                    retired.push(old);
                }
                if !progress.is_cancelled() {
                    out.extend(work(&mut t, item, &ctx));
                }
                // Every batch taken is reported, even when dropped, so the collector moves on
                // and hands the stage's window back.
                if done_tx.send(Done::Batch { seq, out }).is_err() {
                    break;
                }
            }
            let events = ctx.counters.swap.worker_done(w, progress.is_cancelled());
            notify_swaps(progress, ctx.index, events);
            if !progress.is_cancelled() {
                match ctx.call(&mut t, None) {
                    Ok(out) => {
                        let _ = done_tx.send(Done::Finished { worker: w, out });
                    }
                    Err(error) => {
                        let plugin = Arc::clone(t.plugin().id());
                        ctx.fatal(&plugin, error, (0, 0));
                    }
                }
            }
            retired.push(t);
            retired
        }));
    }
    drop(done_tx);
    drop(rx);
    drop(token_rx);
    let Ctx {
        counters,
        progress,
        failure,
        dl_tx,
        ..
    } = ctx;
    drop(dl_tx);
    scope.spawn(move || {
        let mut pending: BTreeMap<u64, Vec<RecordBatch>> = BTreeMap::new();
        let mut finished: Vec<Option<Vec<RecordBatch>>> = (0..n).map(|_| None).collect();
        let mut next = 0_u64;
        let mut open = true;
        let emit = |batches: Vec<RecordBatch>, emitter: &mut Emitter| -> bool {
            for b in batches {
                add(&counters.rows_out, b.num_rows() as u64);
                add(&counters.batches_out, 1);
                add(&counters.bytes_out, b.get_array_memory_size() as u64);
                match emitter.emit(b) {
                    Ok(true) => {}
                    Ok(false) => return false,
                    Err(e) => {
                        failure.set(progress, e);
                        return false;
                    }
                }
            }
            true
        };
        for done in done_rx.iter() {
            match done {
                Done::Batch { seq, out } => {
                    pending.insert(seq, out);
                    while let Some(out) = pending.remove(&next) {
                        next += 1;
                        // One more batch may now enter the stage.
                        let _ = token_tx.try_send(());
                        if open && !progress.is_cancelled() {
                            open = emit(out, &mut emitter);
                        }
                    }
                }
                Done::Finished { worker, out } => finished[worker] = Some(out),
            }
        }
        drop(token_tx);
        if open && !progress.is_cancelled() {
            for out in finished.into_iter().flatten() {
                if !emit(out, &mut emitter) {
                    return;
                }
            }
            if let Err(e) = emitter.flush() {
                failure.set(progress, e);
            }
        }
        // Dropping the emitter closes the channel to the next stage.
    });
    scope.spawn(move || {
        workers
            .into_iter()
            .flat_map(|h| h.join().ok())
            .flatten()
            .collect::<Vec<Transformer>>()
    })
}

/// Rows isolated one by one per input batch before the error policy applies to the rest of
/// a failing part as a whole: under `skip` and `dead-letter`, a data error naming a row
/// isolates that row (the rows around it are sent again), up to this many times per batch.
pub const MAX_ISOLATED_ROWS: usize = 256;

/// Send one batch through one instance and apply the stage's error policy; the outputs
/// (none when the batch failed).
///
/// Under `skip` and `dead-letter`, a data error that names a row isolates that row: the row
/// alone is skipped or dead-lettered, and the rows before and after it are sent again, as
/// two batches, in order. A batch with k bad rows thus costs k + 1 calls or more, and only
/// the bad rows leave the stream. Since each call may look at every row it is sent, at most
/// [`MAX_ISOLATED_ROWS`] rows are isolated per batch: past that the policy applies to the
/// rest of the failing part as a whole (still counted, never dropped silently), so a batch
/// of nothing but bad rows costs a bounded number of calls instead of one per row. A failed
/// call's output and counters are discarded, so re-sent rows are neither duplicated nor
/// counted twice (a plugin that keeps state across batches must not update it in a call that
/// fails). Any other error applies the policy to the whole batch.
fn work(t: &mut Transformer, item: Item, ctx: &Ctx<'_>) -> Vec<RecordBatch> {
    let Ctx { plan, counters, .. } = *ctx;
    let rows = item.batch.num_rows() as u64;
    add(&counters.rows_in, rows);
    add(&counters.batches_in, 1);
    add(
        &counters.bytes_in,
        item.batch.get_array_memory_size() as u64,
    );
    let mut out = Vec::new();
    // Segments of the batch still to send, next one last: (rows, position of the first).
    let mut todo = vec![(item.batch, item.first_row)];
    let mut isolated = 0_usize;
    while let Some((batch, first_row)) = todo.pop() {
        if ctx.progress.is_cancelled() {
            return Vec::new();
        }
        let error = match ctx.call(t, Some(&batch)) {
            Ok(batches) => {
                out.extend(batches);
                continue;
            }
            Err(error) => error,
        };
        add(&counters.errors, 1);
        // A quarantined stage would fail every batch from here on: never skip the rest of
        // the data silently.
        let fatal = matches!(error.kind, ErrorKind::Quarantined { .. }) || t.is_quarantined();
        if plan.on_error == ErrorPolicy::Fail || fatal {
            let plugin = Arc::clone(t.plugin().id());
            ctx.fatal(&plugin, error, (batch.num_rows() as u64, first_row));
            return Vec::new();
        }
        let n = batch.num_rows();
        let (bad, bad_first) = match &error.kind {
            ErrorKind::Data { row: Some(r), .. }
                if (*r as usize) < n && n > 1 && isolated < MAX_ISOLATED_ROWS =>
            {
                let r = *r as usize;
                isolated += 1;
                // The rows after, then the rows before (popped first): order is kept.
                if r + 1 < n {
                    todo.push((batch.slice(r + 1, n - r - 1), first_row + r as u64 + 1));
                }
                if r > 0 {
                    todo.push((batch.slice(0, r), first_row));
                }
                (batch.slice(r, 1), first_row + r as u64)
            }
            _ => (batch, first_row),
        };
        if !reject(bad, bad_first, error, t.plugin().id(), ctx) {
            return Vec::new();
        }
    }
    // Isolating rows cut the batch into pieces: hand the next stage one batch again.
    if isolated > 0
        && out.len() > 1
        && let Some(first) = out.first()
        && let Ok(joined) = arrow_select::concat::concat_batches(&first.schema(), &out)
    {
        return vec![joined];
    }
    out
}

/// Skip or dead-letter `batch` (rows from `first_row` of the stage's input) for `error` of
/// `plugin` (the version that failed); false when the dead-letter sink is gone (the run is
/// failing).
fn reject(
    batch: RecordBatch,
    first_row: u64,
    error: PluginError,
    plugin: &Arc<PluginId>,
    ctx: &Ctx<'_>,
) -> bool {
    let Ctx { plan, counters, .. } = *ctx;
    let rows = batch.num_rows() as u64;
    ctx.error_event(plugin, &error, (rows, first_row), plan.on_error);
    if plan.on_error == ErrorPolicy::Skip {
        tracing::warn!(stage = %plan.name, rows, first_row, "rows skipped: {error}");
        add(&counters.rows_skipped, rows);
        return true;
    }
    add(&counters.rows_dead_lettered, rows);
    let record = DeadLetterRecord {
        stage: plan.name.clone(),
        plugin: Arc::clone(plugin),
        error,
        batch,
        first_row,
    };
    if ctx.dl_tx.send(record).is_err() {
        ctx.failure.set(
            ctx.progress,
            RunError::DeadLetter("the dead-letter sink is gone".into()),
        );
        return false;
    }
    true
}
