//! `/metrics`: Prometheus counters and histograms per pipeline and stage, fed by every
//! run's engine through [`quiver_pipeline::RunObserver`] (see `runs.rs`) and by the API
//! handlers. One registry per server; the text format is prometheus-client's.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a stage's series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    /// Pipeline name.
    pub pipeline: String,
    /// Stage name.
    pub stage: String,
}

/// Labels of a plugin failure.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// Pipeline name.
    pub pipeline: String,
    /// Stage name.
    pub stage: String,
    /// Plugin name.
    pub plugin: String,
    /// Plugin version.
    pub version: String,
    /// Error kind (`data`, `deadline`, `fuel-exhausted`, `out-of-memory`, `panic`, `trap`, ...).
    pub kind: String,
}

/// Labels of a hot swap.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SwapLabels {
    /// Pipeline name.
    pub pipeline: String,
    /// Stage name.
    pub stage: String,
    /// `applied`, `refused`, `superseded`, `run-ended`, `failed`.
    pub outcome: String,
}

/// Labels of per-pipeline series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineLabels {
    /// Pipeline name.
    pub pipeline: String,
}

/// Labels of finished runs.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    /// Pipeline name.
    pub pipeline: String,
    /// Final state: `succeeded`, `failed`, `cancelled`.
    pub state: String,
}

fn call_histogram() -> Histogram {
    // 20 µs … ~10 s: a plugin call on a small batch up to a deadline-bound one.
    Histogram::new(exponential_buckets(20e-6, 2.5, 15))
}

/// Every series the server exports.
pub struct Metrics {
    registry: Registry,
    /// Rows into each stage.
    pub rows_in: Family<StageLabels, Counter>,
    /// Rows out of each stage.
    pub rows_out: Family<StageLabels, Counter>,
    /// Plugin calls (`process` and `finish`) of each stage.
    pub calls: Family<StageLabels, Counter>,
    /// Wall time of each plugin call.
    pub call_seconds: Family<StageLabels, Histogram, fn() -> Histogram>,
    /// Failed plugin calls by kind (traps by their kind).
    pub errors: Family<ErrorLabels, Counter>,
    /// Hot swaps by outcome.
    pub swaps: Family<SwapLabels, Counter>,
    /// Rows accepted by the ingest endpoint.
    pub ingest_rows: Family<PipelineLabels, Counter>,
    /// Runs started.
    pub runs_started: Family<PipelineLabels, Counter>,
    /// Runs finished, by final state.
    pub runs_finished: Family<RunLabels, Counter>,
    /// Runs in progress.
    pub runs_active: Gauge,
    /// Plugin versions uploaded.
    pub plugins_uploaded: Counter,
}

impl Metrics {
    /// A registry with every series registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("quiver");
        let m = Metrics {
            rows_in: Family::default(),
            rows_out: Family::default(),
            calls: Family::default(),
            call_seconds: Family::new_with_constructor(call_histogram as fn() -> Histogram),
            errors: Family::default(),
            swaps: Family::default(),
            ingest_rows: Family::default(),
            runs_started: Family::default(),
            runs_finished: Family::default(),
            runs_active: Gauge::default(),
            plugins_uploaded: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("stage_rows_in", "Rows sent into a stage", m.rows_in.clone());
        registry.register(
            "stage_rows_out",
            "Rows a stage produced",
            m.rows_out.clone(),
        );
        registry.register("stage_calls", "Plugin calls of a stage", m.calls.clone());
        registry.register(
            "stage_call_seconds",
            "Wall time of one plugin call",
            m.call_seconds.clone(),
        );
        registry.register(
            "plugin_errors",
            "Failed plugin calls by kind (deadline, fuel-exhausted, out-of-memory, panic, trap, data, ...)",
            m.errors.clone(),
        );
        registry.register(
            "swaps",
            "Hot swaps of a stage's plugin, by outcome",
            m.swaps.clone(),
        );
        registry.register(
            "ingest_rows",
            "Rows accepted by the ingest endpoint",
            m.ingest_rows.clone(),
        );
        registry.register("runs_started", "Runs started", m.runs_started.clone());
        registry.register(
            "runs_finished",
            "Runs finished, by final state",
            m.runs_finished.clone(),
        );
        registry.register("runs_active", "Runs in progress", m.runs_active.clone());
        registry.register(
            "plugins_uploaded",
            "Plugin versions stored",
            m.plugins_uploaded.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The OpenMetrics/Prometheus text of every series.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("encoding metrics: {e}");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
