//! The threads of one stage: N workers, each driving one instance (a [`Transformer`]) over
//! the batches it takes, applying the stage's error policy (with row isolation) and hot
//! swaps at batch boundaries; and a collector that puts their outputs back in input order
//! and hands them downstream.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatch;
use crossbeam_channel::{Receiver, Sender, bounded};
use quiver_host::{ErrorKind, PluginError, PluginId, Transformer};

use crate::emitter::{Done, Emitter, Failure, Item};
use crate::engine::{DeadLetterRecord, RunError};
use crate::observer::{CallEvent, ErrorEvent, SwapEvent};
use crate::plan::{ErrorPolicy, StagePlan};
use crate::stats::{Progress, StageCounters, UsageMark, add};
use crate::swap::{Resolve, SwapOutcome};

/// Hand swap events to the observer, if any.
pub(crate) fn notify_swaps(progress: &Progress, stage: usize, events: Vec<SwapEvent>) {
    if let Some(o) = progress.observer() {
        for e in &events {
            o.swap(stage, e);
        }
    }
}

/// What every worker of one stage shares.
#[derive(Clone)]
pub(crate) struct Ctx<'env> {
    /// Position of the stage in the pipeline.
    pub(crate) index: usize,
    pub(crate) plan: &'env StagePlan,
    pub(crate) counters: &'env StageCounters,
    pub(crate) dl_tx: Sender<DeadLetterRecord>,
    pub(crate) progress: &'env Progress,
    pub(crate) failure: &'env Failure,
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
pub(crate) fn spawn_stage<'scope, 'env>(
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
    // Bounded by the window: a worker takes a batch only with a token, and reports each
    // one once, plus one `Finished` per worker.
    let (done_tx, done_rx) = bounded::<Done>(window + n);
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
                let (seq, mark) = (item.seq, item.mark);
                // A swap whose switch point this batch is at or past: finish the old
                // version first; what it flushes goes ahead of this batch's output.
                let mut out = Vec::new();
                if let Some(switch) = ctx.counters.swap.on_take(w, seq) {
                    let mut old = std::mem::replace(&mut t, switch.transformer);
                    ctx.counters.add_usage(None, t.usage());
                    out = ctx.switch(&mut old, switch.resolve, seq, item.first_row);
                    retired.push(old);
                }
                // An item with no rows only carries its mark on: no call.
                if !progress.is_cancelled() && item.batch.num_rows() > 0 {
                    out.extend(work(&mut t, item, &ctx));
                }
                // Every batch taken is reported, even when dropped, so the collector moves on
                // and hands the stage's window back.
                if done_tx.send(Done::Batch { seq, out, mark }).is_err() {
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
        let mut pending: BTreeMap<u64, (Vec<RecordBatch>, u64)> = BTreeMap::new();
        let mut finished: Vec<Option<Vec<RecordBatch>>> = (0..n).map(|_| None).collect();
        let mut next = 0_u64;
        let mut open = true;
        // The outputs of one input, in order: only the last one completes the input's mark
        // (a checkpoint between two of them must not count the input as written); an
        // input with no output moves the mark on by itself. `None`: `finish` output,
        // which completes no new mark.
        let emit = |batches: Vec<RecordBatch>, mark: Option<u64>, emitter: &mut Emitter| -> bool {
            let n = batches.len();
            for (i, b) in batches.into_iter().enumerate() {
                add(&counters.rows_out, b.num_rows() as u64);
                add(&counters.batches_out, 1);
                add(&counters.bytes_out, b.get_array_memory_size() as u64);
                let m = match mark {
                    Some(m) if i + 1 == n => m,
                    _ => emitter.mark(),
                };
                match emitter.emit(b, m) {
                    Ok(true) => {}
                    Ok(false) => return false,
                    Err(e) => {
                        failure.set(progress, e);
                        return false;
                    }
                }
            }
            match mark {
                Some(m) if n == 0 => emitter.advance(m),
                _ => true,
            }
        };
        for done in done_rx.iter() {
            match done {
                Done::Batch { seq, out, mark } => {
                    pending.insert(seq, (out, mark));
                    while let Some((out, mark)) = pending.remove(&next) {
                        next += 1;
                        // One more batch may now enter the stage.
                        let _ = token_tx.try_send(());
                        if open && !progress.is_cancelled() {
                            open = emit(out, Some(mark), &mut emitter);
                        }
                    }
                }
                Done::Finished { worker, out } => finished[worker] = Some(out),
            }
        }
        drop(token_tx);
        if open && !progress.is_cancelled() {
            for out in finished.into_iter().flatten() {
                if !emit(out, None, &mut emitter) {
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
