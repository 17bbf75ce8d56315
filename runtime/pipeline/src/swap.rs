//! Hot swap: replacing the plugin version of a running stage at a batch boundary.
//!
//! [`Progress::swap`](crate::Progress::swap) hands a stage a [`Replacement`] (a plugin and one
//! transformer per instance of the stage, created for the stage's input schema). It is
//! checked at once (the run is going, the parallelism and both schemas fit), then a switch
//! point is chosen under the stage's lock: `from_seq`, one past the highest input batch any
//! instance of the stage has taken. Every batch numbered `from_seq` or later is processed by
//! the new version, every earlier one by the old: each worker, when it takes its first batch
//! at or past the switch point, calls `finish` on its old transformer (a stateful plugin
//! flushes there), sends what it flushed ahead of the batch's output, keeps the old
//! transformer for the run's statistics and goes on with a new one.
//!
//! A newer request while one is still waiting for its switch point replaces it (the older
//! ticket resolves [`SwapOutcome::Superseded`]); one that already took effect on any instance
//! is kept, and the newer one follows it. A [`SwapTicket`] tells the caller how it ended.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arrow_schema::{Schema, SchemaRef};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use quiver_host::{Plugin, PluginId, Transformer};
use serde::Serialize;

use crate::observer::SwapEvent;
use crate::stats::Progress;

/// What a stage switches to: the new plugin version and one transformer per instance of the
/// stage, each created (with its config and sandbox) for the stage's input schema
/// ([`StageCounters::input_schema`](crate::StageCounters::input_schema)).
#[derive(Debug)]
pub struct Replacement {
    /// The new plugin version (its identity goes into the run report's lineage).
    pub plugin: Plugin,
    /// One transformer of `plugin` per instance of the stage
    /// ([`StageCounters::parallelism`](crate::StageCounters::parallelism)).
    pub transformers: Vec<Transformer>,
}

/// Why a swap was refused. Nothing changed: the running version goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwapError {
    /// The run has not started yet (its stages' schemas are not known).
    #[error("the run has not started")]
    NotRunning,
    /// No stage has this index.
    #[error("no stage {stage}: the pipeline has {stages}")]
    NoSuchStage {
        /// The index asked for.
        stage: usize,
        /// How many stages there are.
        stages: usize,
    },
    /// The replacement has not one transformer per instance of the stage.
    #[error("the stage runs {expected} instances, the replacement has {got} transformers")]
    Parallelism {
        /// Instances of the stage.
        expected: usize,
        /// Transformers in the replacement.
        got: usize,
    },
    /// A transformer of the replacement does not take the stage's input schema or does not
    /// produce its output schema (which the next stage, or the sink, was built for).
    #[error("{side} schema does not fit: {detail}")]
    Schema {
        /// `input` or `output`.
        side: &'static str,
        /// The first differing field by name, when the difference is in a field.
        field: Option<String>,
        /// What differs: the field count, or a field's name, type or nullability.
        detail: String,
    },
    /// A transformer of the replacement runs another plugin than the replacement's.
    #[error("transformer {index} runs {got}, the replacement is {expected}")]
    Plugin {
        /// Position of the transformer in the replacement.
        index: usize,
        /// The replacement's plugin (`name@version`).
        expected: String,
        /// The transformer's (`name@version`).
        got: String,
    },
    /// The run is over, or the stage has already seen its last batch.
    #[error("the run is over")]
    RunOver,
}

/// How an accepted swap ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwapOutcome {
    /// The new version runs from this point of the stage's input on; everything before it
    /// was processed by the old version, which was finished (flushed) first.
    Applied {
        /// The first batch (numbered from 0 in the stage's input) the new version processed.
        at_batch: u64,
        /// The first row (numbered from 0 in the stage's input) the new version processed.
        at_row: u64,
    },
    /// A newer swap of the same stage replaced this one before it took effect.
    Superseded,
    /// The stream ended before the switch point: the old version processed every remaining
    /// batch and finished the run.
    RunEnded,
    /// The old version's `finish` failed at the switch (the run fails), or the run stopped
    /// (failure, cancellation) before the switch point.
    Failed(String),
}

/// A swap that took effect: which rows which version produced (an entry of the run report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwapRecord {
    /// Plugin name before the switch.
    pub from_plugin: String,
    /// Plugin version before the switch.
    pub from_version: String,
    /// sha256 of the component before the switch.
    pub from_sha256: String,
    /// Plugin name from the switch on.
    pub to_plugin: String,
    /// Plugin version from the switch on.
    pub to_version: String,
    /// sha256 of the component from the switch on.
    pub to_sha256: String,
    /// First row of the stage's input processed by the new version.
    pub at_row: u64,
    /// First batch of the stage's input processed by the new version.
    pub at_batch: u64,
}

/// The caller's handle on an accepted swap.
#[derive(Debug)]
pub struct SwapTicket {
    stage: usize,
    switch_batch: u64,
    rx: Receiver<SwapOutcome>,
    outcome: Mutex<Option<SwapOutcome>>,
}

impl SwapTicket {
    /// The stage being swapped.
    pub fn stage(&self) -> usize {
        self.stage
    }

    /// The switch point: the first batch of the stage's input the new version will process
    /// (when the swap takes effect).
    pub fn switch_batch(&self) -> u64 {
        self.switch_batch
    }

    /// Wait up to `timeout` for the outcome; `None` when it is not known yet. Once known, it
    /// is returned again by every later call.
    pub fn wait(&self, timeout: Duration) -> Option<SwapOutcome> {
        let mut known = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        if known.is_none() {
            *known = match self.rx.recv_timeout(timeout) {
                Ok(outcome) => Some(outcome),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(SwapOutcome::Failed(
                    "the swap was dropped without an outcome".into(),
                )),
            };
        }
        known.clone()
    }

    /// The outcome if already known, without waiting.
    pub fn outcome(&self) -> Option<SwapOutcome> {
        self.wait(Duration::ZERO)
    }
}

impl Progress {
    /// Ask stage `stage` to switch to `replacement` at its next batch boundary.
    ///
    /// Checked at once: the run is going and the stage has not seen its last batch, there is
    /// one transformer per instance of the stage, each of `replacement.plugin`, taking the
    /// stage's input schema and producing its output schema (names, types and nullability of
    /// every field). The switch point is the batch after the last one any instance of the
    /// stage has taken ([`SwapTicket::switch_batch`]); the returned ticket tells how the swap
    /// ended. A swap still waiting for its switch point is replaced by this one (its ticket
    /// resolves [`SwapOutcome::Superseded`]).
    ///
    /// # Errors
    /// [`SwapError`] when the replacement does not fit or the run is not going; nothing
    /// changes then and the running version goes on.
    pub fn swap(&self, stage: usize, replacement: Replacement) -> Result<SwapTicket, SwapError> {
        let Some((_, counters)) = self.stages.get(stage) else {
            return Err(SwapError::NoSuchStage {
                stage,
                stages: self.stages.len(),
            });
        };
        let to = Arc::clone(replacement.plugin.id());
        match counters.swap.request(stage, replacement) {
            Ok((ticket, superseded)) => {
                if let (Some(o), Some(event)) = (self.observer(), superseded) {
                    o.swap(stage, &event);
                }
                Ok(ticket)
            }
            Err(Refused { error, from }) => {
                if let (Some(o), Some(from)) = (self.observer(), from) {
                    o.swap(
                        stage,
                        &SwapEvent {
                            from,
                            to,
                            outcome: Err(error.clone()),
                        },
                    );
                }
                Err(error)
            }
        }
    }
}

/// What the engine recorded about a stage when the run started.
#[derive(Debug)]
struct Shape {
    input: SchemaRef,
    output: SchemaRef,
    parallelism: usize,
}

/// An accepted swap not yet applied by every instance.
#[derive(Debug)]
struct Accepted {
    /// Order of acceptance (from 1); an instance that applied it runs generation `gen`.
    generation: u64,
    /// The switch point.
    from_seq: u64,
    from: Arc<PluginId>,
    to: Arc<PluginId>,
    /// Transformers not yet taken by an instance.
    pool: Vec<Transformer>,
    /// Taken by the instance that processes batch `from_seq`, which reports the outcome.
    resolver: Option<Sender<SwapOutcome>>,
}

/// The swap state of one stage (behind its lock).
#[derive(Debug, Default)]
struct State {
    shape: Option<Shape>,
    /// No further batch will reach the stage.
    ended: bool,
    /// The version processing the newest batch taken.
    current: Option<Arc<PluginId>>,
    /// The highest input batch taken by any instance.
    taken: Option<u64>,
    generations: u64,
    pending: Vec<Accepted>,
    /// Per instance, the generation it runs (`u64::MAX` once it has stopped taking batches).
    worker_gen: Vec<u64>,
    exited: usize,
    history: Vec<SwapRecord>,
}

/// A swap one instance must apply before processing the batch it just took.
pub(crate) struct Switch {
    /// Its new transformer.
    pub(crate) transformer: Transformer,
    /// Present for the instance that took the switch point itself: it reports the outcome.
    pub(crate) resolve: Option<Resolve>,
}

/// The right to report an accepted swap's outcome.
pub(crate) struct Resolve {
    tx: Sender<SwapOutcome>,
    from: Arc<PluginId>,
    to: Arc<PluginId>,
}

impl Resolve {
    /// Send `outcome` to the ticket; the event for the observer.
    pub(crate) fn send(self, outcome: SwapOutcome) -> SwapEvent {
        let _ = self.tx.try_send(outcome.clone());
        SwapEvent {
            from: self.from,
            to: self.to,
            outcome: Ok(outcome),
        }
    }

    /// The lineage entry of this swap, applied at `at_batch`/`at_row`.
    pub(crate) fn record(&self, at_batch: u64, at_row: u64) -> SwapRecord {
        SwapRecord {
            from_plugin: self.from.name.clone(),
            from_version: self.from.version.clone(),
            from_sha256: self.from.sha256.clone(),
            to_plugin: self.to.name.clone(),
            to_version: self.to.version.clone(),
            to_sha256: self.to.sha256.clone(),
            at_row,
            at_batch,
        }
    }
}

/// A refused request, with the version running (for the observer) when known.
pub(crate) struct Refused {
    pub(crate) error: SwapError,
    pub(crate) from: Option<Arc<PluginId>>,
}

/// The swap slot of one stage: its shape, the version running, the swaps accepted.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    state: Mutex<State>,
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The run starts: the stage takes `input`, produces `output`, runs `parallelism`
    /// instances of `plugin`.
    pub(crate) fn start(
        &self,
        input: SchemaRef,
        output: SchemaRef,
        parallelism: usize,
        plugin: Arc<PluginId>,
    ) {
        *self.lock() = State {
            shape: Some(Shape {
                input,
                output,
                parallelism,
            }),
            current: Some(plugin),
            worker_gen: vec![0; parallelism],
            ..State::default()
        };
    }

    /// Accept `replacement` or say why not; with the event of the swap it superseded.
    pub(crate) fn request(
        &self,
        stage: usize,
        replacement: Replacement,
    ) -> Result<(SwapTicket, Option<SwapEvent>), Refused> {
        let mut guard = self.lock();
        let st = &mut *guard;
        let from = st.current.clone();
        let refuse = |error| Refused {
            error,
            from: from.clone(),
        };
        let Some(shape) = &st.shape else {
            return Err(refuse(SwapError::NotRunning));
        };
        if st.ended {
            return Err(refuse(SwapError::RunOver));
        }
        check(shape, &replacement).map_err(refuse)?;
        let Some(from) = from else {
            return Err(refuse(SwapError::NotRunning));
        };
        let from_seq = st.taken.map_or(0, |t| t + 1);
        // The newest accepted swap has not reached its switch point on any instance: replace it.
        let superseded = match st.pending.last() {
            Some(last) if last.from_seq >= from_seq => st.pending.pop(),
            _ => None,
        };
        let superseded = superseded.and_then(|old| {
            let tx = old.resolver?;
            Some(
                Resolve {
                    tx,
                    from: old.from,
                    to: old.to,
                }
                .send(SwapOutcome::Superseded),
            )
        });
        st.generations += 1;
        let (tx, rx) = bounded(1);
        let accepted = Accepted {
            generation: st.generations,
            from_seq,
            from,
            to: Arc::clone(replacement.plugin.id()),
            pool: replacement.transformers,
            resolver: Some(tx),
        };
        st.pending.push(accepted);
        let ticket = SwapTicket {
            stage,
            switch_batch: from_seq,
            rx,
            outcome: Mutex::new(None),
        };
        Ok((ticket, superseded))
    }

    /// Instance `worker` took input batch `seq`: record it, and return the swap it must apply
    /// first, if any.
    pub(crate) fn on_take(&self, worker: usize, seq: u64) -> Option<Switch> {
        let mut guard = self.lock();
        let st = &mut *guard;
        let taken = st.taken.map_or(seq, |t| t.max(seq));
        st.taken = Some(taken);
        if st.pending.is_empty() {
            return None;
        }
        if let Some(newest) = st.pending.iter().rev().find(|a| a.from_seq <= taken) {
            st.current = Some(Arc::clone(&newest.to));
        }
        let mine = *st.worker_gen.get(worker)?;
        let i = st
            .pending
            .iter()
            .rposition(|a| a.from_seq <= seq && a.generation > mine)?;
        let accepted = &mut st.pending[i];
        let transformer = accepted.pool.pop()?;
        let generation = accepted.generation;
        let resolve = if accepted.from_seq == seq {
            accepted.resolver.take().map(|tx| Resolve {
                tx,
                from: Arc::clone(&accepted.from),
                to: Arc::clone(&accepted.to),
            })
        } else {
            None
        };
        st.worker_gen[worker] = generation;
        // Swaps every instance has applied (or skipped for a newer one) are done with.
        let oldest = st.worker_gen.iter().copied().min().unwrap_or(u64::MAX);
        st.pending.retain(|a| a.generation > oldest);
        Some(Switch {
            transformer,
            resolve,
        })
    }

    /// A swap took effect: remember it for the run report.
    pub(crate) fn applied(&self, record: SwapRecord) {
        self.lock().history.push(record);
    }

    /// Instance `worker` takes no more batches; once every instance is done, the swaps still
    /// waiting for their switch point end (`RunEnded`, or `Failed` when the run is stopping).
    pub(crate) fn worker_done(&self, worker: usize, stopping: bool) -> Vec<SwapEvent> {
        let mut st = self.lock();
        if let Some(g) = st.worker_gen.get_mut(worker) {
            *g = u64::MAX;
        }
        st.exited += 1;
        let parallelism = st.shape.as_ref().map_or(0, |s| s.parallelism);
        if st.exited < parallelism {
            return Vec::new();
        }
        end(&mut st, stopping)
    }

    /// The run is over: nothing is accepted any more; whatever still waits ends.
    pub(crate) fn close(&self, stopping: bool) -> Vec<SwapEvent> {
        end(&mut self.lock(), stopping)
    }

    /// The version running now (`None` before the run starts).
    pub(crate) fn plugin(&self) -> Option<Arc<PluginId>> {
        self.lock().current.clone()
    }

    /// The stage's input schema, output schema and parallelism (once the run started).
    pub(crate) fn shape(&self) -> Option<(SchemaRef, SchemaRef, usize)> {
        self.lock()
            .shape
            .as_ref()
            .map(|s| (s.input.clone(), s.output.clone(), s.parallelism))
    }

    /// The swaps that took effect, in stream order.
    pub(crate) fn history(&self) -> Vec<SwapRecord> {
        let mut h = self.lock().history.clone();
        h.sort_by_key(|r| r.at_batch);
        h
    }
}

/// No more batches: resolve every swap still waiting and drop the unused transformers.
fn end(st: &mut State, stopping: bool) -> Vec<SwapEvent> {
    st.ended = true;
    st.pending
        .drain(..)
        .filter_map(|a| {
            let tx = a.resolver?;
            let outcome = if stopping {
                SwapOutcome::Failed("the run stopped before the switch point".into())
            } else {
                SwapOutcome::RunEnded
            };
            Some(
                Resolve {
                    tx,
                    from: a.from,
                    to: a.to,
                }
                .send(outcome),
            )
        })
        .collect()
}

/// Whether `replacement` fits a stage of `shape`.
fn check(shape: &Shape, replacement: &Replacement) -> Result<(), SwapError> {
    let got = replacement.transformers.len();
    if got != shape.parallelism {
        return Err(SwapError::Parallelism {
            expected: shape.parallelism,
            got,
        });
    }
    let want = replacement.plugin.id();
    for (index, t) in replacement.transformers.iter().enumerate() {
        let id = t.plugin().id();
        if id != want {
            return Err(SwapError::Plugin {
                index,
                expected: format!("{}@{}", want.name, want.version),
                got: format!("{}@{}", id.name, id.version),
            });
        }
        schema_fits("input", &shape.input, &t.input_schema())?;
        schema_fits("output", &shape.output, &t.output_schema())?;
    }
    Ok(())
}

/// Whether `got` has the fields of `want` (names, types, nullability, in order).
fn schema_fits(side: &'static str, want: &Schema, got: &Schema) -> Result<(), SwapError> {
    let (w, g) = (want.fields(), got.fields());
    for (i, (w, g)) in w.iter().zip(g.iter()).enumerate() {
        let detail = if w.name() != g.name() {
            format!(
                "field {i} is named `{}`, the stage's is `{}`",
                g.name(),
                w.name()
            )
        } else if w.data_type() != g.data_type() {
            format!(
                "field `{}` has type {}, the stage's has {}",
                w.name(),
                g.data_type(),
                w.data_type()
            )
        } else if w.is_nullable() != g.is_nullable() {
            let nullable = |n: bool| if n { "nullable" } else { "not nullable" };
            format!(
                "field `{}` is {}, the stage's is {}",
                w.name(),
                nullable(g.is_nullable()),
                nullable(w.is_nullable())
            )
        } else {
            continue;
        };
        return Err(SwapError::Schema {
            side,
            field: Some(w.name().clone()),
            detail,
        });
    }
    if w.len() != g.len() {
        let names = |fields: &[arrow_schema::FieldRef]| {
            fields
                .iter()
                .map(|f| format!("`{}`", f.name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (field, detail) = if g.len() > w.len() {
            (
                g.get(w.len()).map(|f| f.name().clone()),
                format!(
                    "{} fields, the stage's has {}: {} extra",
                    g.len(),
                    w.len(),
                    names(&g[w.len()..])
                ),
            )
        } else {
            (
                w.get(g.len()).map(|f| f.name().clone()),
                format!(
                    "{} fields, the stage's has {}: {} missing",
                    g.len(),
                    w.len(),
                    names(&w[g.len()..])
                ),
            )
        };
        return Err(SwapError::Schema {
            side,
            field,
            detail,
        });
    }
    Ok(())
}
