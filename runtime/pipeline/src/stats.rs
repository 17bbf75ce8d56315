//! Per-stage numbers: live counters while a run goes ([`Progress`]), and the final
//! [`StageStats`] of the run report.
//!
//! [`Progress`] is also the handle on a running run that other threads hold: cancel it,
//! drain it ([`Progress::stop_intake`]), swap a stage's plugin version
//! ([`Progress::swap`], in [`crate::swap`]), watch it ([`Progress::with_observer`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arrow_schema::SchemaRef;
use quiver_host::{PluginId, Usage};
use serde::Serialize;

use crate::observer::RunObserver;
use crate::swap::{Slot, SwapRecord};

/// Counters of one stage, updated as batches pass (readable at any time).
///
/// The plugin usage counters (`calls` … `instances_created`) are updated by the stage's
/// workers after every call, and cover every instance the stage ran, versions swapped out
/// included.
#[derive(Debug, Default)]
pub struct StageCounters {
    /// Rows sent into the stage.
    pub rows_in: AtomicU64,
    /// Rows the stage produced.
    pub rows_out: AtomicU64,
    /// Batches sent into the stage.
    pub batches_in: AtomicU64,
    /// Batches the stage produced.
    pub batches_out: AtomicU64,
    /// Arrow memory of the batches sent in.
    pub bytes_in: AtomicU64,
    /// Arrow memory of the batches produced.
    pub bytes_out: AtomicU64,
    /// Rows of failed batches dropped by the `skip` policy.
    pub rows_skipped: AtomicU64,
    /// Rows of failed batches sent to the dead-letter sink.
    pub rows_dead_lettered: AtomicU64,
    /// Failed calls.
    pub errors: AtomicU64,
    /// Guest calls made (instantiation excluded).
    pub calls: AtomicU64,
    /// Nanoseconds inside `process` and `finish` calls, summed over instances.
    pub busy_ns: AtomicU64,
    /// Nanoseconds starting instances (instantiate, `create`, `output-schema`), summed.
    pub startup_ns: AtomicU64,
    /// Fuel burned, summed over instances (0 unless the plugin runs metered).
    pub fuel_consumed: AtomicU64,
    /// Largest linear memory any instance grew to, in bytes.
    pub peak_memory_bytes: AtomicU64,
    /// Instances created, restarts included.
    pub instances_created: AtomicU64,
    /// The stage's shape, running version and swaps.
    pub(crate) swap: Slot,
}

impl StageCounters {
    /// The plugin version running now: set when the run starts and when a swap takes effect
    /// (`None` before the run starts).
    pub fn plugin(&self) -> Option<Arc<PluginId>> {
        self.swap.plugin()
    }

    /// The schema the stage takes (once the run started): what a replacement's transformers
    /// must be created for.
    pub fn input_schema(&self) -> Option<SchemaRef> {
        self.swap.shape().map(|(input, ..)| input)
    }

    /// The schema the stage produces (once the run started): what a replacement must
    /// produce.
    pub fn output_schema(&self) -> Option<SchemaRef> {
        self.swap.shape().map(|(_, output, _)| output)
    }

    /// Instances run side by side (once the run started): how many transformers a
    /// replacement needs.
    pub fn parallelism(&self) -> Option<usize> {
        self.swap.shape().map(|(.., n)| n)
    }

    /// The swaps that took effect so far, in stream order.
    pub fn swaps(&self) -> Vec<SwapRecord> {
        self.swap.history()
    }

    /// Add what `after` used beyond `before` (the usage of one instance before and after a
    /// call; `before` = `None`: all of it, for an instance joining the run).
    pub(crate) fn add_usage(&self, before: Option<&UsageMark>, after: &Usage) {
        let now = UsageMark::of(after);
        let base = before.copied().unwrap_or_default();
        add(&self.calls, now.calls.saturating_sub(base.calls));
        add(&self.busy_ns, now.busy_ns.saturating_sub(base.busy_ns));
        add(
            &self.startup_ns,
            now.startup_ns.saturating_sub(base.startup_ns),
        );
        add(&self.fuel_consumed, now.fuel.saturating_sub(base.fuel));
        add(
            &self.instances_created,
            now.instances.saturating_sub(base.instances),
        );
        self.peak_memory_bytes
            .fetch_max(after.peak_memory_bytes, Ordering::Relaxed);
    }
}

/// The scalar parts of a [`Usage`], taken before a call to add the difference after it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UsageMark {
    calls: u64,
    busy_ns: u64,
    startup_ns: u64,
    fuel: u64,
    instances: u64,
}

impl UsageMark {
    pub(crate) fn of(u: &Usage) -> Self {
        Self {
            calls: u.calls,
            busy_ns: u64::try_from(u.busy.as_nanos()).unwrap_or(u64::MAX),
            startup_ns: u64::try_from(u.startup.as_nanos()).unwrap_or(u64::MAX),
            fuel: u.fuel_consumed.unwrap_or(0),
            instances: u.instances_created,
        }
    }
}

/// Live progress of a run: what the source read, what each stage did, what was written.
///
/// Shared (usually in an `Arc`) between the thread calling [`crate::run`] and whoever watches
/// or steers the run: [`Self::cancel`], [`Self::stop_intake`], [`Self::swap`].
pub struct Progress {
    /// Stage names and counters, in pipeline order.
    pub stages: Vec<(String, StageCounters)>,
    /// Rows read from the source.
    pub rows_read: AtomicU64,
    /// Rows handed to the sink.
    pub rows_written: AtomicU64,
    cancelled: AtomicBool,
    stopping: AtomicBool,
    observer: Option<Arc<dyn RunObserver>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("stages", &self.stages)
            .field("rows_read", &self.rows_read)
            .field("rows_written", &self.rows_written)
            .field("cancelled", &self.cancelled)
            .field("stopping", &self.stopping)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Progress {
    /// Counters for stages named `names`, all zero.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        Self {
            stages: names
                .into_iter()
                .map(|n| (n, StageCounters::default()))
                .collect(),
            rows_read: AtomicU64::new(0),
            rows_written: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            observer: None,
        }
    }

    /// Report the run's events to `observer` (see [`RunObserver`]).
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn RunObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The observer, if any.
    pub(crate) fn observer(&self) -> Option<&dyn RunObserver> {
        self.observer.as_deref()
    }

    /// Drain the run: the source is not asked for another batch, the stream ends there and
    /// everything already read goes through every stage (every `finish` runs), to the sink;
    /// the run then returns `Ok` with [`RunOutcome::stopped_early`](crate::RunOutcome) set,
    /// and the caller may commit. Unlike [`Self::cancel`], nothing is lost.
    ///
    /// The flag is checked between batches: a source blocked inside its iterator's `next()`
    /// (waiting for data that may never come) is not interrupted; whoever feeds it must also
    /// end it (close its channel) or send one more batch, which is then processed too.
    pub fn stop_intake(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether [`Self::stop_intake`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Ask the run to stop as soon as it can (nothing is committed).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether the run was asked to stop (by [`Self::cancel`] or by a failure).
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// What one stage did over the whole run (an entry of the run report).
#[derive(Debug, Clone, Serialize)]
pub struct StageStats {
    /// Stage name.
    pub name: String,
    /// Plugin name.
    pub plugin: String,
    /// Plugin version.
    pub version: String,
    /// sha256 of the plugin component: the lineage of every row it produced.
    pub sha256: String,
    /// The contract the plugin speaks (`quiver:transform@0.2.0`).
    pub wit: String,
    /// Instances run side by side.
    pub parallelism: usize,
    /// Rows sent in.
    pub rows_in: u64,
    /// Rows produced.
    pub rows_out: u64,
    /// Batches sent in.
    pub batches_in: u64,
    /// Batches produced.
    pub batches_out: u64,
    /// Arrow memory of the batches sent in.
    pub bytes_in: u64,
    /// Arrow memory of the batches produced.
    pub bytes_out: u64,
    /// Rows dropped by the `skip` policy.
    pub rows_skipped: u64,
    /// Rows sent to the dead-letter sink.
    pub rows_dead_lettered: u64,
    /// Time inside the plugin's `process` and `finish` calls and settling their output
    /// (validation, a returned selection applied), summed over instances.
    pub busy_ms: f64,
    /// Time starting the plugin's instances (instantiate, `create`, `output-schema`),
    /// summed: a cost per instance, not per batch.
    pub startup_ms: f64,
    /// Failed calls by kind (`deadline`, `data`, …).
    pub errors: BTreeMap<&'static str, u64>,
    /// Counters the plugin bumped, summed over instances.
    pub counters: BTreeMap<String, u64>,
    /// Resources used, summed (peak memory: the largest) over instances.
    pub fuel_consumed: Option<u64>,
    /// Largest linear memory of any instance, in bytes.
    pub peak_memory_bytes: u64,
    /// Instances created, restarts included.
    pub instances_created: u64,
    /// Bytes the plugin wrote to stdout and stderr.
    pub output_bytes: u64,
    /// Capabilities the plugin asked for and was refused.
    pub capability_denials: u64,
    /// Log records dropped over a log limit (see `limits.log*`).
    pub logs_dropped: u64,
    /// Counter bumps dropped: a name longer than `limits.counter_name`, or a new name once
    /// the stage (or one of its instances) has `limits.counters` of them.
    pub counters_dropped: u64,
    /// Whether the stage was quarantined.
    pub quarantined: bool,
    /// Hot swaps that took effect, in stream order: rows before a swap's `at_row` were
    /// produced by its `from` version, rows from there on by its `to` version (until the
    /// next swap). `plugin`, `version` and `sha256` above are the version that ran last.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub swaps: Vec<SwapRecord>,
}

impl StageStats {
    /// The statistics of stage `name` whose last version was `id`, from its counters and the
    /// usage of every transformer it ran (swapped-out ones included). At most `max_counters`
    /// counter names are kept for the stage (each instance keeps that many; together they
    /// could hold `parallelism` times more): bumps of further names count as dropped.
    pub(crate) fn new(
        name: &str,
        id: &PluginId,
        parallelism: usize,
        counters: &StageCounters,
        usages: &[(&Usage, &BTreeMap<String, u64>)],
        swaps: Vec<SwapRecord>,
        max_counters: usize,
    ) -> Self {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut s = Self {
            name: name.to_owned(),
            plugin: id.name.clone(),
            version: id.version.clone(),
            sha256: id.sha256.clone(),
            wit: id.contract.to_string(),
            parallelism,
            rows_in: get(&counters.rows_in),
            rows_out: get(&counters.rows_out),
            batches_in: get(&counters.batches_in),
            batches_out: get(&counters.batches_out),
            bytes_in: get(&counters.bytes_in),
            bytes_out: get(&counters.bytes_out),
            rows_skipped: get(&counters.rows_skipped),
            rows_dead_lettered: get(&counters.rows_dead_lettered),
            busy_ms: 0.0,
            startup_ms: 0.0,
            errors: BTreeMap::new(),
            counters: BTreeMap::new(),
            fuel_consumed: None,
            peak_memory_bytes: 0,
            instances_created: 0,
            output_bytes: 0,
            capability_denials: 0,
            logs_dropped: 0,
            counters_dropped: 0,
            quarantined: false,
            swaps,
        };
        let mut busy = Duration::ZERO;
        let mut startup = Duration::ZERO;
        for (u, counters) in usages {
            busy += u.busy;
            startup += u.startup;
            for (k, v) in &u.errors {
                *s.errors.entry(k).or_default() += v;
            }
            for (k, v) in *counters {
                if let Some(c) = s.counters.get_mut(k) {
                    *c = c.saturating_add(*v);
                } else if s.counters.len() < max_counters {
                    s.counters.insert(k.clone(), *v);
                } else {
                    s.counters_dropped += 1;
                }
            }
            s.logs_dropped += u.logs_dropped;
            s.counters_dropped += u.counters_dropped;
            if let Some(f) = u.fuel_consumed {
                *s.fuel_consumed.get_or_insert(0) += f;
            }
            s.peak_memory_bytes = s.peak_memory_bytes.max(u.peak_memory_bytes);
            s.instances_created += u.instances_created;
            s.output_bytes += u.stdout_bytes + u.stderr_bytes;
            s.capability_denials += u.capability_denials;
            s.quarantined |= u.quarantined;
        }
        s.busy_ms = busy.as_secs_f64() * 1e3;
        s.startup_ms = startup.as_secs_f64() * 1e3;
        s
    }
}
