//! Per-stage numbers: live counters while a run goes ([`Progress`]), and the final
//! [`StageStats`] of the run report.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use quiver_host::{PluginId, Usage};
use serde::Serialize;

/// Counters of one stage, updated as batches pass (readable at any time).
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
}

/// Live progress of a run: what the source read, what each stage did, what was written.
#[derive(Debug)]
pub struct Progress {
    /// Stage names and counters, in pipeline order.
    pub stages: Vec<(String, StageCounters)>,
    /// Rows read from the source.
    pub rows_read: AtomicU64,
    /// Rows handed to the sink.
    pub rows_written: AtomicU64,
    cancelled: AtomicBool,
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
        }
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
    /// Time inside plugin calls, summed over instances.
    pub busy_ms: f64,
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
    /// Whether the stage was quarantined.
    pub quarantined: bool,
}

impl StageStats {
    pub(crate) fn new(
        name: &str,
        id: &PluginId,
        parallelism: usize,
        counters: &StageCounters,
        usages: &[(&Usage, &BTreeMap<String, u64>)],
    ) -> Self {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut s = Self {
            name: name.to_owned(),
            plugin: id.name.clone(),
            version: id.version.clone(),
            sha256: id.sha256.clone(),
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
            errors: BTreeMap::new(),
            counters: BTreeMap::new(),
            fuel_consumed: None,
            peak_memory_bytes: 0,
            instances_created: 0,
            output_bytes: 0,
            capability_denials: 0,
            quarantined: false,
        };
        let mut busy = Duration::ZERO;
        for (u, counters) in usages {
            busy += u.busy;
            for (k, v) in &u.errors {
                *s.errors.entry(k).or_default() += v;
            }
            for (k, v) in *counters {
                let c = s.counters.entry(k.clone()).or_default();
                *c = c.saturating_add(*v);
            }
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
        s
    }
}
