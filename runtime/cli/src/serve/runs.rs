//! Runs of server pipelines: started, watched, stopped (drained, then committed) or
//! cancelled (nothing committed), fed through the ingest endpoint when their source is the
//! API, and hot-swapped when a stage's plugin gets a new version.
//!
//! Threading: each run is prepared on a blocking task (plugins loaded, transformers created,
//! schemas negotiated) and then executed by the engine on a thread of its own, which owns
//! the sink; quiver-io's reads and writes go through the server's tokio runtime
//! (`stream::Io::with_handle`). An API source is a bounded tokio channel: the ingest handler
//! `send().await`s each batch, so a slow pipeline makes pushes wait instead of buffering
//! (backpressure), and the engine's source thread takes them with `blocking_recv`.
//!
//! Hot swap: [`Runs::offer`] builds the replacement (compiled plugin, one transformer per
//! instance of the stage, created for the stage's input schema) and hands it to the engine
//! ([`quiver_pipeline::Progress::swap`]), which checks it against the stage's schemas and
//! switches at the next batch boundary. Every attempt, refused or applied, is recorded on
//! the run (`swaps`), in the metrics and in the logs.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use chrono::{DateTime, Utc};
use quiver_host::{Metering, PluginId, Sandbox};
use quiver_pipeline::engine::BoxError;
use quiver_pipeline::{
    CallEvent, ErrorEvent, ErrorPolicy, Progress, Replacement, RunObserver, SwapEvent, SwapOutcome,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::ToSchema;

use super::catalogue::{Catalogue, PluginRef, PluginVersion};
use super::error::{ApiError, ApiResult, Problem};
use super::metrics::{ErrorLabels, Metrics, PipelineLabels, RunLabels, StageLabels, SwapLabels};
use super::pipelines::{self, Pipeline, Source};
use super::store::Store;
use crate::run::RunReport;
use crate::stream::{DeadLetterSink, Io};

/// Errors kept per run for `GET /v1/runs/{id}/errors`.
const RECENT_ERRORS: usize = 100;

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Data flows.
    Running,
    /// Asked to stop: no new input is taken; what was taken goes through, then the outputs
    /// are committed.
    Draining,
    /// Finished and committed.
    Succeeded,
    /// Failed: nothing committed.
    Failed,
    /// Cancelled: nothing committed.
    Cancelled,
}

impl RunState {
    /// Whether the run is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunState::Succeeded | RunState::Failed | RunState::Cancelled
        )
    }

    fn label(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Draining => "draining",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }
}

/// One error of a run (a failed batch or the failure that stopped it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunErrorEntry {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Stage name (empty for failures outside stages: source, sink).
    pub stage: String,
    /// `name@version` of the plugin that failed, when a plugin did.
    pub plugin: Option<String>,
    /// Error kind (`data`, `panic`, `deadline`, `swap`, `source`, ...).
    pub kind: String,
    /// The full message.
    pub message: String,
    /// Rows affected and what happened to them (`skipped`, `dead-lettered`, `run stopped`).
    pub rows: u64,
    /// What happened to the rows.
    pub outcome: String,
}

/// One hot-swap attempt on a run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SwapEntry {
    /// When it was asked for.
    pub at: DateTime<Utc>,
    /// Stage name.
    pub stage: String,
    /// `name@version` running when it was asked for.
    pub from: String,
    /// `name@version` asked for.
    pub to: String,
    /// `pending`, `applied`, `refused`, `superseded`, `run-ended`, `failed`.
    pub outcome: String,
    /// For `applied`: the first row of the stage's input the new version processed.
    pub at_row: Option<u64>,
    /// Why it was refused or failed.
    pub reason: Option<String>,
}

/// Live numbers of one stage.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StageStatus {
    /// Stage name.
    pub name: String,
    /// The stage's plugin reference (`name` follows the latest version, `name@version` is
    /// pinned).
    pub follows: String,
    /// `name@version` running now.
    pub plugin: String,
    /// sha256 of the version running now.
    pub sha256: String,
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
    /// Failed calls.
    pub errors: u64,
    /// Rows skipped by the `skip` policy.
    pub rows_skipped: u64,
    /// Rows sent to the dead-letter sink.
    pub rows_dead_lettered: u64,
    /// Plugin calls.
    pub calls: u64,
    /// Time inside plugin calls (ms).
    pub busy_ms: f64,
    /// Fuel consumed (metered stages only).
    pub fuel_consumed: u64,
    /// Largest linear memory of any instance (bytes).
    pub peak_memory_bytes: u64,
    /// Instances created (restarts included).
    pub instances_created: u64,
}

/// A run's status.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunStatus {
    /// Run id.
    pub id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Where the run is.
    pub state: RunState,
    /// Whether its source is the API (push batches to `/v1/runs/{id}/batches`).
    pub api_source: bool,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Rows read from the source (accepted, for an API source).
    pub rows_read: u64,
    /// Rows handed to the sink.
    pub rows_written: u64,
    /// Per stage, in order.
    pub stages: Vec<StageStatus>,
    /// Hot-swap attempts, in order.
    pub swaps: Vec<SwapEntry>,
    /// Why it failed.
    pub error: Option<String>,
    /// Whether the final report is available (`GET /v1/runs/{id}/report`).
    pub report: bool,
}

/// What the data directory keeps of a finished run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// The final status.
    pub status: RunStatus,
    /// The report of a committed run (the same document as `quiver run --report`).
    pub report: Option<serde_json::Value>,
    /// The last errors.
    pub errors: Vec<RunErrorEntry>,
}

/// A stage as the run started it: what a swap must reproduce.
struct LiveStage {
    name: String,
    follows: PluginRef,
    config: String,
    sandbox: Sandbox,
    metering: Metering,
    parallelism: usize,
    /// The version the run started with (what runs until the engine reports otherwise).
    initial: Arc<PluginId>,
    /// The schema the stage's transformers take.
    input: SchemaRef,
}

/// A running (or recently finished) run.
pub struct Run {
    id: String,
    pipeline: String,
    started_at: DateTime<Utc>,
    progress: Arc<Progress>,
    stages: Vec<LiveStage>,
    state: Mutex<RunState>,
    /// The API source's channel, while it accepts batches.
    ingest: Mutex<Option<mpsc::Sender<RecordBatch>>>,
    api_schema: Option<SchemaRef>,
    errors: Mutex<VecDeque<RunErrorEntry>>,
    swaps: Mutex<Vec<SwapEntry>>,
    finished: OnceLock<(DateTime<Utc>, Option<String>, Option<serde_json::Value>)>,
    done: tokio::sync::watch::Sender<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn id_string(id: &PluginId) -> String {
    format!("{}@{}", id.name, id.version)
}

impl Run {
    /// The run's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its pipeline's name.
    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// Where it is.
    pub fn state(&self) -> RunState {
        *lock(&self.state)
    }

    /// The version stage `i` runs now.
    fn plugin_of(&self, i: usize) -> Arc<PluginId> {
        self.progress.stages[i]
            .1
            .plugin()
            .unwrap_or_else(|| Arc::clone(&self.stages[i].initial))
    }

    /// The versions its stages run now (sha256s), for "is this plugin in use".
    pub fn running_shas(&self) -> Vec<String> {
        (0..self.stages.len())
            .map(|i| self.plugin_of(i).sha256.clone())
            .collect()
    }

    fn push_error(&self, entry: RunErrorEntry) {
        let mut errors = lock(&self.errors);
        if errors.len() == RECENT_ERRORS {
            errors.pop_front();
        }
        errors.push_back(entry);
    }

    /// The last errors, oldest first.
    pub fn errors(&self) -> Vec<RunErrorEntry> {
        lock(&self.errors).iter().cloned().collect()
    }

    /// The final report, once committed.
    pub fn report(&self) -> Option<serde_json::Value> {
        self.finished.get().and_then(|(_, _, r)| r.clone())
    }

    /// The status, with live numbers.
    pub fn status(&self) -> RunStatus {
        let (finished_at, error, report) = match self.finished.get() {
            Some((at, e, r)) => (Some(*at), e.clone(), r.is_some()),
            None => (None, None, false),
        };
        let stages = self
            .progress
            .stages
            .iter()
            .zip(&self.stages)
            .enumerate()
            .map(|(i, ((name, c), s))| {
                let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
                let plugin = self.plugin_of(i);
                StageStatus {
                    name: name.clone(),
                    follows: s.follows.to_string(),
                    plugin: id_string(&plugin),
                    sha256: plugin.sha256.clone(),
                    rows_in: get(&c.rows_in),
                    rows_out: get(&c.rows_out),
                    batches_in: get(&c.batches_in),
                    batches_out: get(&c.batches_out),
                    bytes_in: get(&c.bytes_in),
                    bytes_out: get(&c.bytes_out),
                    errors: get(&c.errors),
                    rows_skipped: get(&c.rows_skipped),
                    rows_dead_lettered: get(&c.rows_dead_lettered),
                    calls: get(&c.calls),
                    busy_ms: get(&c.busy_ns) as f64 / 1e6,
                    fuel_consumed: get(&c.fuel_consumed),
                    peak_memory_bytes: get(&c.peak_memory_bytes),
                    instances_created: get(&c.instances_created),
                }
            })
            .collect();
        RunStatus {
            id: self.id.clone(),
            pipeline: self.pipeline.clone(),
            state: self.state(),
            api_source: self.api_schema.is_some(),
            started_at: self.started_at,
            finished_at,
            rows_read: self.progress.rows_read.load(Ordering::Relaxed),
            rows_written: self.progress.rows_written.load(Ordering::Relaxed),
            stages,
            swaps: lock(&self.swaps).clone(),
            error,
            report,
        }
    }

    /// Push decoded batches into the run (API source); waits while the pipeline is full.
    /// Returns the rows accepted; an error says how many were accepted before it.
    pub async fn push(&self, batches: Vec<RecordBatch>) -> ApiResult<u64> {
        let Some(tx) = lock(&self.ingest).clone() else {
            return Err(self.not_accepting(0));
        };
        let mut accepted = 0;
        for b in batches {
            let rows = b.num_rows() as u64;
            if rows == 0 {
                continue;
            }
            if tx.send(b).await.is_err() {
                return Err(self.not_accepting(accepted));
            }
            accepted += rows;
        }
        Ok(accepted)
    }

    fn not_accepting(&self, accepted: u64) -> ApiError {
        let why = if self.api_schema.is_none() {
            "its source is not the API (it reads its own input)".to_owned()
        } else {
            format!("it is {}", self.state().label())
        };
        ApiError::conflict(format!(
            "run {} takes no more batches: {why}; {accepted} rows of this request were \
             accepted before that",
            self.id
        ))
    }

    /// The declared schema of an API source.
    pub fn api_schema(&self) -> Option<&SchemaRef> {
        self.api_schema.as_ref()
    }

    /// Stop taking input; what was taken goes through and is committed.
    pub fn stop(&self) -> ApiResult<()> {
        {
            let mut state = lock(&self.state);
            if state.is_final() {
                return Err(ApiError::conflict(format!(
                    "run {} is already {}",
                    self.id,
                    state.label()
                )));
            }
            *state = RunState::Draining;
        }
        if self.api_schema.is_some() {
            // Closing the channel ends the API source's stream once every batch already
            // accepted has been taken: accepted rows are never dropped.
            lock(&self.ingest).take();
        } else {
            self.progress.stop_intake();
        }
        Ok(())
    }

    /// Stop now; nothing is committed.
    pub fn cancel(&self) -> ApiResult<()> {
        if self.state().is_final() {
            return Err(ApiError::conflict(format!(
                "run {} is already {}",
                self.id,
                self.state().label()
            )));
        }
        self.progress.cancel();
        lock(&self.ingest).take();
        Ok(())
    }

    /// Wait until the run is over.
    pub async fn wait(&self) {
        let mut rx = self.done.subscribe();
        let _ = rx.wait_for(|d| *d).await;
    }
}

/// Feeds the engine's events into the run and the metrics.
struct Observer {
    run: std::sync::Weak<Run>,
    metrics: Arc<Metrics>,
    pipeline: String,
    stages: Vec<String>,
}

impl Observer {
    fn labels(&self, stage: usize) -> StageLabels {
        StageLabels {
            pipeline: self.pipeline.clone(),
            stage: self.stages.get(stage).cloned().unwrap_or_default(),
        }
    }
}

impl RunObserver for Observer {
    fn call(&self, stage: usize, e: &CallEvent<'_>) {
        let l = self.labels(stage);
        self.metrics.calls.get_or_create(&l).inc();
        self.metrics.rows_in.get_or_create(&l).inc_by(e.rows_in);
        self.metrics.rows_out.get_or_create(&l).inc_by(e.rows_out);
        self.metrics
            .call_seconds
            .get_or_create(&l)
            .observe(e.duration.as_secs_f64());
        if let Some(kind) = e.error_kind {
            self.metrics
                .errors
                .get_or_create(&ErrorLabels {
                    pipeline: l.pipeline,
                    stage: l.stage,
                    plugin: e.plugin.name.clone(),
                    version: e.plugin.version.clone(),
                    kind: kind.to_owned(),
                })
                .inc();
        }
    }

    fn error(&self, stage: usize, e: &ErrorEvent<'_>) {
        let Some(run) = self.run.upgrade() else {
            return;
        };
        let outcome = if e.fatal {
            "run stopped"
        } else {
            match e.policy {
                ErrorPolicy::Skip => "skipped",
                ErrorPolicy::DeadLetter => "dead-lettered",
                ErrorPolicy::Fail => "run stopped",
            }
        };
        run.push_error(RunErrorEntry {
            at: Utc::now(),
            stage: self.stages.get(stage).cloned().unwrap_or_default(),
            plugin: Some(id_string(e.plugin)),
            kind: e.error.kind_name().to_owned(),
            message: e.error.to_string(),
            rows: e.rows,
            outcome: outcome.into(),
        });
    }

    fn swap(&self, stage: usize, e: &SwapEvent) {
        let (outcome, at_row, reason) = match &e.outcome {
            Ok(SwapOutcome::Applied { at_row, .. }) => ("applied", Some(*at_row), None),
            Ok(SwapOutcome::Superseded) => ("superseded", None, None),
            Ok(SwapOutcome::RunEnded) => ("run-ended", None, None),
            Ok(SwapOutcome::Failed(m)) => ("failed", None, Some(m.clone())),
            Err(err) => ("refused", None, Some(err.to_string())),
        };
        let l = self.labels(stage);
        self.metrics
            .swaps
            .get_or_create(&SwapLabels {
                pipeline: l.pipeline,
                stage: l.stage.clone(),
                outcome: outcome.into(),
            })
            .inc();
        tracing::info!(pipeline = %self.pipeline, stage = %l.stage, from = %id_string(&e.from), to = %id_string(&e.to), outcome, reason = ?reason, "hot swap");
        let Some(run) = self.run.upgrade() else {
            return;
        };
        let to = id_string(&e.to);
        let mut swaps = lock(&run.swaps);
        // The entry `offer` recorded as pending, or a new one.
        match swaps
            .iter_mut()
            .rev()
            .find(|s| s.stage == l.stage && s.to == to && s.outcome == "pending")
        {
            Some(entry) => {
                entry.outcome = outcome.into();
                entry.at_row = at_row;
                entry.reason = reason;
            }
            None => swaps.push(SwapEntry {
                at: Utc::now(),
                stage: l.stage,
                from: id_string(&e.from),
                to,
                outcome: outcome.into(),
                at_row,
                reason,
            }),
        }
    }
}

/// What a swap offer did for one run's stage (returned to the uploader).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SwapOffer {
    /// Run id.
    pub run: String,
    /// Stage name.
    pub stage: String,
    /// `pending` (accepted; switches at the next batch boundary) or `refused`.
    pub outcome: String,
    /// Why it was refused.
    pub reason: Option<String>,
}

/// Everything runs need from the server.
pub struct Runs {
    catalogue: Arc<Catalogue>,
    store: Store,
    metrics: Arc<Metrics>,
    handle: tokio::runtime::Handle,
    storage: quiver_io::Storage,
    /// Relative source and sink paths start here.
    workdir: PathBuf,
    runs: Mutex<BTreeMap<String, Arc<Run>>>,
}

/// Finished runs kept in memory (older ones are read back from the data directory).
const KEEP_FINISHED: usize = 100;

impl Runs {
    /// The run registry.
    pub fn new(
        catalogue: Arc<Catalogue>,
        store: Store,
        metrics: Arc<Metrics>,
        handle: tokio::runtime::Handle,
        storage: quiver_io::Storage,
        workdir: PathBuf,
    ) -> Self {
        Runs {
            catalogue,
            store,
            metrics,
            handle,
            storage,
            workdir,
            runs: Mutex::new(BTreeMap::new()),
        }
    }

    fn io(&self) -> Io {
        Io::with_handle(self.handle.clone(), self.storage.clone())
    }

    /// Check a pipeline document the way `quiver validate` does. Blocking.
    pub fn check(&self, pipeline: &Pipeline) -> Result<pipelines::Checked, Vec<Problem>> {
        pipelines::check(pipeline, &self.catalogue, &self.io(), &self.workdir)
    }

    /// The run `id`, in memory.
    pub fn get(&self, id: &str) -> Option<Arc<Run>> {
        lock(&self.runs).get(id).cloned()
    }

    /// Runs in memory, newest first.
    pub fn all(&self) -> Vec<Arc<Run>> {
        let mut v: Vec<_> = lock(&self.runs).values().cloned().collect();
        v.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        v
    }

    /// Runs not finished.
    pub fn active(&self) -> Vec<Arc<Run>> {
        self.all()
            .into_iter()
            .filter(|r| !r.state().is_final())
            .collect()
    }

    /// A finished run's record from the data directory.
    pub async fn stored(&self, id: &str) -> ApiResult<Option<RunRecord>> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Ok(None);
        }
        Ok(self.store.get_json(&format!("runs/{id}.json")).await?)
    }

    /// Ids of every run in the data directory.
    pub async fn stored_ids(&self) -> ApiResult<Vec<String>> {
        Ok(self
            .store
            .list("runs")
            .await?
            .iter()
            .filter_map(|k| {
                k.strip_prefix("runs/")?
                    .strip_suffix(".json")
                    .map(str::to_owned)
            })
            .collect())
    }

    /// Prepare and start a run of `pipeline` (named `name`). Blocking: call it from a
    /// blocking task. Errors before any data flows are the pipeline's problems (422).
    pub fn start(self: &Arc<Self>, name: &str, pipeline: Pipeline) -> ApiResult<Arc<Run>> {
        let io = self.io();
        let base = self.workdir.clone();
        let invalid = |problems: Vec<Problem>| {
            ApiError::invalid(
                format!("pipeline `{name}` cannot start; fix the fields below"),
                problems,
            )
        };
        let schema =
            pipelines::source_schema(&pipeline.source, &io, &base).map_err(|p| invalid(vec![p]))?;
        let versions =
            pipelines::resolve_all(&pipeline, &self.catalogue, &self.handle).map_err(invalid)?;
        let plans = pipelines::plans(&pipeline, &versions, &self.catalogue, &self.handle, &base)
            .map_err(invalid)?;
        // Each stage's input schema is filled in once schemas are negotiated below.
        let mut live: Vec<LiveStage> = plans
            .iter()
            .zip(&pipeline.refs)
            .map(|(p, r)| LiveStage {
                name: p.name.clone(),
                follows: r.clone(),
                config: p.config.clone(),
                sandbox: p.sandbox.clone(),
                metering: p.plugin.metering(),
                parallelism: p.parallelism,
                initial: Arc::clone(p.plugin.id()),
                input: Arc::clone(&schema),
            })
            .collect();
        let names: Vec<String> = live.iter().map(|s| s.name.clone()).collect();
        let prepared = quiver_pipeline::prepare(Arc::clone(&schema), plans)
            .map_err(|errors| invalid(pipelines::plan_problems(errors)))?;
        // Stage i + 1 takes what stage i produces.
        for (next, (_, output)) in live.iter_mut().skip(1).zip(prepared.stage_schemas()) {
            next.input = output;
        }
        let sink = io
            .create_sink(&pipeline.sink, &base, prepared.output_schema())
            .map_err(|e| invalid(vec![Problem::new("sink.path", format!("{e:#}"))]))?;
        let dead_letter =
            match &pipeline.dead_letter {
                Some(d) => Some(DeadLetterSink::create(&io, d, &base).map_err(|e| {
                    invalid(vec![Problem::new("dead_letter.path", format!("{e:#}"))])
                })?),
                None => None,
            };
        let id = uuid::Uuid::now_v7().to_string();
        let (source, ingest, api_schema, inputs): (quiver_pipeline::BatchSource, _, _, _) =
            match &pipeline.source {
                Source::Api(api) => {
                    let (tx, rx) = mpsc::channel(api.queue_batches);
                    let pushed = vec![format!("POST /v1/runs/{id}/batches")];
                    (Box::new(ApiBatches { rx }), Some(tx), Some(schema), pushed)
                }
                Source::Io(spec) => {
                    let source = io
                        .open_source(spec, &base)
                        .map_err(|e| invalid(vec![Problem::new("source.path", e.to_string())]))?;
                    let inputs = source.inputs.clone();
                    (io.batches(source), None, None, inputs)
                }
            };
        let run = Arc::new_cyclic(|weak| {
            let observer = Observer {
                run: weak.clone(),
                metrics: Arc::clone(&self.metrics),
                pipeline: name.to_owned(),
                stages: names.clone(),
            };
            Run {
                id: id.clone(),
                pipeline: name.to_owned(),
                started_at: Utc::now(),
                progress: Arc::new(Progress::new(names.clone()).with_observer(Arc::new(observer))),
                stages: live,
                state: Mutex::new(RunState::Running),
                ingest: Mutex::new(ingest),
                api_schema,
                errors: Mutex::new(VecDeque::new()),
                swaps: Mutex::new(Vec::new()),
                finished: OnceLock::new(),
                done: tokio::sync::watch::channel(false).0,
            }
        });
        lock(&self.runs).insert(id.clone(), Arc::clone(&run));
        self.metrics
            .runs_started
            .get_or_create(&PipelineLabels {
                pipeline: name.to_owned(),
            })
            .inc();
        self.metrics.runs_active.inc();
        let runs = Arc::clone(self);
        let thread_run = Arc::clone(&run);
        let spawned = std::thread::Builder::new()
            .name(format!("run-{}", &id[..8]))
            .spawn(move || {
                runs.execute(
                    &thread_run,
                    Execution {
                        prepared,
                        source,
                        inputs,
                        sink,
                        dead_letter,
                    },
                );
            });
        if let Err(e) = spawned {
            run.progress.cancel();
            return Err(ApiError::internal(format!(
                "starting the run's thread: {e}"
            )));
        }
        tracing::info!(run = %id, pipeline = %name, "run started");
        Ok(run)
    }

    /// The run's thread: the engine, then commit or abort, then the record.
    fn execute(&self, run: &Arc<Run>, execution: Execution) {
        let Execution {
            prepared,
            source,
            inputs,
            mut sink,
            mut dead_letter,
        } = execution;
        let started = Instant::now();
        let outcome = quiver_pipeline::run(
            prepared,
            source,
            &mut sink,
            dead_letter
                .as_mut()
                .map(|d| d as &mut dyn quiver_pipeline::DeadLetter),
            &run.progress,
        );
        lock(&run.ingest).take();
        let (state, error, report) = match outcome {
            Err(e) => {
                sink.abort();
                if let Some(d) = dead_letter {
                    d.abort();
                }
                let cancelled = matches!(e, quiver_pipeline::RunError::Cancelled);
                let message = format!("{:#}", anyhow::Error::new(e));
                if !cancelled {
                    run.push_error(RunErrorEntry {
                        at: Utc::now(),
                        stage: String::new(),
                        plugin: None,
                        kind: "run".into(),
                        message: message.clone(),
                        rows: 0,
                        outcome: "run stopped".into(),
                    });
                }
                let state = if cancelled {
                    RunState::Cancelled
                } else {
                    RunState::Failed
                };
                (state, Some(message), None)
            }
            Ok(outcome) => {
                let committed = sink
                    .commit()
                    .map_err(|e| format!("committing sink.path: {e}"));
                let dead = match dead_letter {
                    Some(d) => d
                        .finish()
                        .map_err(|e| format!("committing dead_letter.path: {e}")),
                    None => Ok(None),
                };
                match (committed, dead) {
                    (Ok(committed), Ok(dead)) => {
                        let stopped_early = outcome.stopped_early;
                        let report = RunReport::new(
                            run.pipeline.clone(),
                            inputs,
                            committed,
                            dead,
                            outcome,
                            started,
                        );
                        let mut doc = serde_json::to_value(&report).unwrap_or_default();
                        if let Some(map) = doc.as_object_mut() {
                            map.insert("run".into(), run.id.clone().into());
                            map.insert("stopped_early".into(), stopped_early.into());
                        }
                        (RunState::Succeeded, None, Some(doc))
                    }
                    (Err(e), _) | (_, Err(e)) => (RunState::Failed, Some(e), None),
                }
            }
        };
        let _ = run.finished.set((Utc::now(), error.clone(), report));
        *lock(&run.state) = state;
        self.metrics.runs_active.dec();
        self.metrics
            .runs_finished
            .get_or_create(&RunLabels {
                pipeline: run.pipeline.clone(),
                state: state.label().into(),
            })
            .inc();
        match &error {
            Some(e) => {
                tracing::warn!(run = %run.id, pipeline = %run.pipeline, state = state.label(), "run ended: {e}")
            }
            None => tracing::info!(run = %run.id, pipeline = %run.pipeline, "run succeeded"),
        }
        let record = RunRecord {
            status: run.status(),
            report: run.report(),
            errors: run.errors(),
        };
        let key = format!("runs/{}.json", run.id);
        if let Err(e) = self.handle.block_on(self.store.put_json(&key, &record)) {
            tracing::error!(run = %run.id, "saving the run's record: {e}");
        }
        run.done.send_replace(true);
        self.forget_old();
    }

    /// Drop the oldest finished runs from memory (their records are in the data directory).
    fn forget_old(&self) {
        let mut runs = lock(&self.runs);
        let mut finished: Vec<(DateTime<Utc>, String)> = runs
            .values()
            .filter(|r| r.state().is_final())
            .map(|r| (r.started_at, r.id.clone()))
            .collect();
        if finished.len() > KEEP_FINISHED {
            finished.sort();
            for (_, id) in &finished[..finished.len() - KEEP_FINISHED] {
                runs.remove(id);
            }
        }
    }

    /// Offer `version` to every running stage that follows its name (when newer than what
    /// the stage runs). Blocking.
    pub fn offer_new_version(&self, version: &PluginVersion) -> Vec<SwapOffer> {
        let Ok(new) = semver::Version::parse(&version.version) else {
            return Vec::new();
        };
        let mut offers = Vec::new();
        for run in self.active() {
            for (i, stage) in run.stages.iter().enumerate() {
                if stage.follows.name != version.name || !stage.follows.follows_latest() {
                    continue;
                }
                let current = run.plugin_of(i);
                let newer = semver::Version::parse(&current.version).map_or(true, |c| new > c);
                if !newer || current.sha256 == version.sha256 {
                    continue;
                }
                offers.push(self.offer(&run, i, version, &stage.config));
            }
        }
        offers
    }

    /// Offer the stages of `name`'s running runs what `pipeline` now says (a changed pin
    /// or config). Stages are matched by name. Blocking.
    pub fn offer_pipeline(&self, name: &str, pipeline: &Pipeline) -> Vec<SwapOffer> {
        let mut offers = Vec::new();
        for run in self.active().into_iter().filter(|r| r.pipeline == name) {
            for (j, spec) in pipeline.stages.iter().enumerate() {
                let stage_name = spec
                    .name
                    .clone()
                    .unwrap_or_else(|| pipeline.refs[j].name.clone());
                let Some(i) = run.stages.iter().position(|s| s.name == stage_name) else {
                    continue;
                };
                let config = match serde_json::to_string(&spec.config.clone().unwrap_or_default()) {
                    Ok(c) => c,
                    Err(_) => continue,
                };
                let version = match self
                    .handle
                    .block_on(self.catalogue.resolve(&pipeline.refs[j]))
                {
                    Ok(v) => v,
                    Err(reason) => {
                        offers.push(SwapOffer {
                            run: run.id.clone(),
                            stage: stage_name,
                            outcome: "refused".into(),
                            reason: Some(reason),
                        });
                        continue;
                    }
                };
                let current = run.plugin_of(i);
                if current.sha256 == version.sha256 && config == run.stages[i].config {
                    continue;
                }
                offers.push(self.offer(&run, i, &version, &config));
            }
        }
        offers
    }

    /// Build the replacement for stage `i` of `run` and hand it to the engine.
    fn offer(&self, run: &Arc<Run>, i: usize, version: &PluginVersion, config: &str) -> SwapOffer {
        let stage = &run.stages[i];
        let from = id_string(&run.plugin_of(i));
        let to = format!("{}@{}", version.name, version.version);
        // Recorded before the engine can apply it (the observer updates this entry).
        lock(&run.swaps).push(SwapEntry {
            at: Utc::now(),
            stage: stage.name.clone(),
            from: from.clone(),
            to: to.clone(),
            outcome: "pending".into(),
            at_row: None,
            reason: None,
        });
        let offer = |outcome: &str, reason: Option<String>| SwapOffer {
            run: run.id.clone(),
            stage: stage.name.clone(),
            outcome: outcome.into(),
            reason,
        };
        // Nothing changed: the entry, the run's errors, the log (and the metric, unless the
        // engine's observer counted the refusal already).
        let refuse = |reason: String, count: bool| {
            if let Some(entry) = lock(&run.swaps)
                .iter_mut()
                .rev()
                .find(|s| s.stage == stage.name && s.to == to && s.outcome == "pending")
            {
                entry.outcome = "refused".into();
                entry.reason = Some(reason.clone());
            }
            run.push_error(RunErrorEntry {
                at: Utc::now(),
                stage: stage.name.clone(),
                plugin: Some(to.clone()),
                kind: "swap".into(),
                message: format!("hot swap {from} → {to} refused, {from} keeps running: {reason}"),
                rows: 0,
                outcome: "nothing changed".into(),
            });
            if count {
                self.metrics
                    .swaps
                    .get_or_create(&SwapLabels {
                        pipeline: run.pipeline.clone(),
                        stage: stage.name.clone(),
                        outcome: "refused".into(),
                    })
                    .inc();
            }
            tracing::warn!(run = %run.id, stage = %stage.name, %from, %to, "hot swap refused: {reason}");
            offer("refused", Some(reason))
        };
        let replacement = (|| -> anyhow::Result<Replacement> {
            let plugin = self
                .catalogue
                .load_blocking(&self.handle, version, stage.metering)?;
            let transformers = (0..stage.parallelism.max(1))
                .map(|_| plugin.transformer(config, Arc::clone(&stage.input), &stage.sandbox))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Replacement {
                plugin,
                transformers,
            })
        })();
        match replacement.map(|r| run.progress.swap(i, r)) {
            Err(e) => refuse(format!("{e:#}"), true),
            Ok(Err(e)) => refuse(e.to_string(), false),
            Ok(Ok(_ticket)) => offer("pending", None),
        }
    }
}

/// What a run's thread takes over: everything prepared before data flows.
struct Execution {
    prepared: quiver_pipeline::Prepared,
    source: quiver_pipeline::BatchSource,
    /// The inputs, for the report.
    inputs: Vec<String>,
    sink: crate::stream::IoSink,
    dead_letter: Option<DeadLetterSink>,
}

/// The API source as the engine's blocking iterator.
struct ApiBatches {
    rx: mpsc::Receiver<RecordBatch>,
}

impl Iterator for ApiBatches {
    type Item = Result<RecordBatch, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rx.blocking_recv().map(Ok)
    }
}
