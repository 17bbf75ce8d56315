//! What a run is and what it says about itself: its state, live per-stage numbers, recent
//! errors, hot-swap attempts, and the record the data directory keeps when it ends.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use chrono::{DateTime, Utc};
use quiver_host::{Metering, PluginId, Sandbox};
use quiver_pipeline::Progress;
use quiver_spec::PluginRef;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::ToSchema;

use super::lock;
use crate::error::{ApiError, ApiResult};
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

    pub(super) fn label(self) -> &'static str {
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
    /// Time inside the plugin's `process` and `finish` calls (ms).
    pub busy_ms: f64,
    /// Time starting the plugin's instances: instantiate, `create`, `output-schema` (ms).
    pub startup_ms: f64,
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
    /// Whether pushes are kept in JetStream until committed (`durable = true`).
    #[serde(default)]
    pub durable: bool,
    /// How many times the run was started again after the server stopped or died (a
    /// stream run or a durable API run); the numbers below count since the last start.
    #[serde(default)]
    pub resumed: u32,
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
pub(super) struct LiveStage {
    pub(super) name: String,
    pub(super) follows: PluginRef,
    pub(super) config: String,
    pub(super) sandbox: Sandbox,
    pub(super) metering: Metering,
    pub(super) parallelism: usize,
    /// The version the run started with (what runs until the engine reports otherwise).
    pub(super) initial: Arc<PluginId>,
    /// The schema the stage's transformers take.
    pub(super) input: SchemaRef,
}

impl LiveStage {
    pub(super) fn new(s: &quiver_job::BuiltStage) -> Self {
        LiveStage {
            name: s.name.clone(),
            follows: s.plugin_ref.clone(),
            config: s.config.clone(),
            sandbox: s.sandbox.clone(),
            metering: s.metering,
            parallelism: s.parallelism,
            initial: Arc::clone(&s.plugin),
            input: Arc::clone(&s.input),
        }
    }
}

/// A durable API run's way into JetStream.
pub(super) struct Durable {
    /// Publishes pushes to the run's ingest subject; `None` once the run takes no more.
    /// Held across a whole push, so a stop waits for the push in flight.
    pub(super) publisher: tokio::sync::Mutex<Option<quiver_stream::NatsSink>>,
    /// Raised by a client's stop: the source reads what is left, then the run ends.
    pub(super) drain: quiver_stream::DrainSignal,
}

/// Why a run is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopFor {
    /// A client asked (`POST /v1/runs/{id}/stop`): the run ends for good, after every
    /// accepted row went through.
    Client,
    /// The server is shutting down: a stream or durable API run commits what it read and
    /// resumes when the server starts again; any other run ends as for a client.
    Shutdown,
}

/// How a run came to be (what [`Run::new`] needs beyond its stages).
pub(super) struct Origin {
    pub(super) id: String,
    pub(super) pipeline: String,
    pub(super) started_at: DateTime<Utc>,
    pub(super) resumed: u32,
    /// A stream run (JetStream source, or durable API source): a restart resumes it.
    pub(super) resumable: bool,
}

/// A running (or recently finished) run.
pub struct Run {
    id: String,
    pipeline: String,
    started_at: DateTime<Utc>,
    resumed: u32,
    resumable: bool,
    progress: Arc<Progress>,
    pub(super) stages: Vec<LiveStage>,
    state: Mutex<RunState>,
    /// The API source's channel, while it accepts batches.
    ingest: Mutex<Option<mpsc::Sender<RecordBatch>>>,
    api_schema: Option<SchemaRef>,
    pub(super) durable: Option<Durable>,
    errors: Mutex<VecDeque<RunErrorEntry>>,
    pub(super) swaps: Mutex<Vec<SwapEntry>>,
    finished: OnceLock<(DateTime<Utc>, Option<String>, Option<serde_json::Value>)>,
    done: tokio::sync::watch::Sender<bool>,
}

pub(super) fn id_string(id: &PluginId) -> String {
    format!("{}@{}", id.name, id.version)
}

impl Run {
    /// A run that has just started.
    pub(super) fn new(
        origin: Origin,
        progress: Arc<Progress>,
        stages: Vec<LiveStage>,
        ingest: Option<mpsc::Sender<RecordBatch>>,
        api_schema: Option<SchemaRef>,
        durable: Option<Durable>,
    ) -> Self {
        Run {
            id: origin.id,
            pipeline: origin.pipeline,
            started_at: origin.started_at,
            resumed: origin.resumed,
            resumable: origin.resumable,
            progress,
            stages,
            state: Mutex::new(RunState::Running),
            ingest: Mutex::new(ingest),
            api_schema,
            durable,
            errors: Mutex::new(VecDeque::new()),
            swaps: Mutex::new(Vec::new()),
            finished: OnceLock::new(),
            done: tokio::sync::watch::channel(false).0,
        }
    }

    /// The handle the run is steered with (cancel, drain, swap).
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }

    /// When it started.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    /// The API source takes no more batches.
    pub(super) fn close_ingest(&self) {
        lock(&self.ingest).take();
    }

    /// Record how the run ended.
    pub(super) fn set_finished(
        &self,
        state: RunState,
        error: Option<String>,
        report: Option<serde_json::Value>,
    ) {
        let _ = self.finished.set((Utc::now(), error, report));
        *lock(&self.state) = state;
    }

    /// Wake everyone waiting for the run to end.
    pub(super) fn mark_done(&self) {
        self.done.send_replace(true);
    }

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
    pub(super) fn plugin_of(&self, i: usize) -> Arc<PluginId> {
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

    pub(super) fn push_error(&self, entry: RunErrorEntry) {
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
                    startup_ms: get(&c.startup_ns) as f64 / 1e6,
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
            durable: self.durable.is_some(),
            resumed: self.resumed,
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
        if let Some(durable) = &self.durable {
            return self.publish(durable, batches).await;
        }
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

    /// A durable run's push: every batch published to the run's ingest subject, answered
    /// only when the stream has stored all of them.
    async fn publish(&self, durable: &Durable, batches: Vec<RecordBatch>) -> ApiResult<u64> {
        let mut publisher = durable.publisher.lock().await;
        let Some(sink) = publisher.as_mut() else {
            return Err(self.not_accepting(0));
        };
        let push = uuid::Uuid::now_v7();
        let mut accepted = 0;
        let failed = |e: quiver_stream::StreamError| {
            ApiError::unavailable(format!(
                "run {}: the ingest stream did not store this push ({e}); none of its rows \
                 count as accepted, retry it (rows it did store may then be processed twice)",
                self.id
            ))
        };
        for (i, b) in batches.iter().enumerate() {
            if b.num_rows() == 0 {
                continue;
            }
            sink.publish(b, &format!("{}:{push}:{i}", self.id))
                .await
                .map_err(failed)?;
            accepted += b.num_rows() as u64;
        }
        sink.flush().await.map_err(failed)?;
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

    /// Stop taking input; what was taken goes through and is committed. A push in flight
    /// to a durable run finishes first.
    pub async fn stop(&self, why: StopFor) -> ApiResult<()> {
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
        if let Some(durable) = &self.durable {
            durable.publisher.lock().await.take();
            match why {
                // Every stored push is read (the source ends when the consumer has nothing
                // left), committed and acknowledged.
                StopFor::Client => durable.drain.raise(),
                // What was read is committed and acknowledged; the rest waits in JetStream
                // for the run to resume.
                StopFor::Shutdown => self.progress.stop_intake(),
            }
        } else if self.api_schema.is_some() {
            // Closing the channel ends the API source's stream once every batch already
            // accepted has been taken: accepted rows are never dropped.
            lock(&self.ingest).take();
        } else {
            self.progress.stop_intake();
        }
        Ok(())
    }

    /// Whether the run is a stream run that a server restart resumes (a JetStream source,
    /// or a durable API source).
    pub fn resumable(&self) -> bool {
        self.resumable
    }

    /// Stop now; nothing is committed (a durable run's buffered rows are discarded).
    pub async fn cancel(&self) -> ApiResult<()> {
        if self.state().is_final() {
            return Err(ApiError::conflict(format!(
                "run {} is already {}",
                self.id,
                self.state().label()
            )));
        }
        if let Some(durable) = &self.durable {
            durable.publisher.lock().await.take();
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
