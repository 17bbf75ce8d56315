//! Runs of server pipelines: started, watched, stopped (drained, then committed) or
//! cancelled (nothing committed), fed through the ingest endpoint when their source is the
//! API, and hot-swapped when a stage's plugin gets a new version (`swap.rs`).
//!
//! Threading: each run is built on a blocking task by `quiver-job` (plugins resolved and
//! loaded, transformers created, schemas negotiated, sinks created: a pipeline that cannot
//! start is refused before anything runs) and then executed by the engine on a thread of
//! its own, which owns the sinks; quiver-io's reads and writes go through the server's
//! tokio runtime (`quiver_job::Io::with_handle`). An API source is a bounded tokio channel:
//! the ingest handler `send().await`s each batch, so a slow pipeline makes pushes wait
//! instead of buffering (backpressure), and the engine's source thread takes them with
//! `blocking_recv`.
//!
//! A durable API run (`durable = true`) is a stream run instead: each push is published to
//! the server's JetStream ingest stream and answered once stored; the run reads it back
//! through its own durable consumer and acknowledges it after the rows are committed
//! (`quiver_stream::IngestBuffer`). Stream runs (these, and runs on a JetStream source)
//! leave a marker, `active/<id>.json`, in the data directory while they are unfinished:
//! a server that dies or shuts down leaves it behind, and the next one resumes the run
//! under the same id ([`Runs::resume`]). A run that ends for good removes it.

mod observer;
mod status;
mod swap;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::RecordBatch;
use chrono::{DateTime, Utc};
use quiver_job::{ApiInput, Io, Job, Resolver};
use quiver_pipeline::Progress;
use quiver_pipeline::engine::BoxError;
use quiver_spec::{Problems, Read, Source};
use tokio::sync::mpsc;

pub use self::status::{
    RunErrorEntry, RunRecord, RunState, RunStatus, StageStatus, StopFor, SwapEntry,
};
pub use self::swap::SwapOffer;
pub use status::Run;

use self::observer::Observer;
use self::status::{Durable, LiveStage, Origin};
use super::catalogue::Catalogue;
use super::error::{ApiError, ApiResult};
use super::metrics::{Metrics, PipelineLabels, RunLabels};
use super::pipelines::Checked;
use super::store::Store;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Everything runs need from the server.
pub struct Runs {
    catalogue: Arc<Catalogue>,
    /// Plugin path, first-party plugins, then the catalogue.
    resolver: Resolver,
    store: Store,
    metrics: Arc<Metrics>,
    handle: tokio::runtime::Handle,
    storage: quiver_io::Storage,
    /// Relative source and sink paths start here.
    workdir: PathBuf,
    runs: Mutex<BTreeMap<String, Arc<Run>>>,
    /// The runs and live instances quotas.
    quotas: crate::Quotas,
    /// Runs in progress and their instances, reserved before a run is built.
    reserved: Arc<Mutex<Reserved>>,
    /// Where durable API runs keep pushed rows (`--ingest-nats`).
    ingest: Option<quiver_stream::IngestBuffer>,
    /// The server is shutting down: stream runs that end now are interrupted, not over.
    shutting_down: std::sync::atomic::AtomicBool,
    /// Held while a marker is rewritten or removed, so a stop recorded as a run ends
    /// cannot write back the marker the end just removed.
    markers: tokio::sync::Mutex<()>,
}

/// What the data directory keeps of an unfinished stream run (`active/<id>.json`), so
/// the next server process can resume it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Marker {
    /// The run's id (kept when it resumes).
    pub id: String,
    /// Its pipeline's name.
    pub pipeline: String,
    /// The pipeline document as the run first started it (a later edit of the pipeline
    /// does not change a resumed run).
    pub document: serde_json::Value,
    /// When it first started.
    pub started_at: DateTime<Utc>,
    /// How many times it was resumed before.
    pub resumed: u32,
    /// A client asked the run to stop. A shutdown that comes before the stop's drain is
    /// done interrupts the drain: the resumed run goes on draining and ends, rather than
    /// running on as if the stop had never been asked for.
    #[serde(default)]
    pub stopping: bool,
}

fn marker_key(id: &str) -> String {
    format!("active/{id}.json")
}

/// What the runs in progress hold against the quotas.
#[derive(Debug, Default)]
struct Reserved {
    runs: usize,
    instances: usize,
}

/// A run's share of the quotas, given back when dropped (when its engine has returned and
/// its instances are gone, or when it could not start).
struct Reservation {
    reserved: Arc<Mutex<Reserved>>,
    instances: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut r = lock(&self.reserved);
        r.runs = r.runs.saturating_sub(1);
        r.instances = r.instances.saturating_sub(self.instances);
    }
}

/// Finished runs kept in memory (older ones are read back from the data directory).
const KEEP_FINISHED: usize = 100;

/// What the run registry is made of (`AppState::open` gathers it).
pub struct RunsParts {
    /// The uploaded plugins.
    pub catalogue: Arc<Catalogue>,
    /// Plugin names to plugins: the plugin path, the first-party plugins, the catalogue.
    pub resolver: Resolver,
    /// The data directory.
    pub store: Store,
    /// The Prometheus metrics runs update.
    pub metrics: Arc<Metrics>,
    /// The server's tokio runtime, for the I/O of runs.
    pub handle: tokio::runtime::Handle,
    /// Storage settings every source and sink shares.
    pub storage: quiver_io::Storage,
    /// Where relative paths of pipelines start.
    pub workdir: PathBuf,
    /// Runs and instances at most.
    pub quotas: crate::Quotas,
    /// Where durable API runs keep pushed rows (`--ingest-nats`).
    pub ingest: Option<quiver_stream::IngestBuffer>,
}

impl Runs {
    /// The run registry.
    pub fn new(parts: RunsParts) -> Self {
        let RunsParts {
            catalogue,
            resolver,
            store,
            metrics,
            handle,
            storage,
            workdir,
            quotas,
            ingest,
        } = parts;
        Runs {
            catalogue,
            resolver,
            store,
            metrics,
            handle,
            storage,
            workdir,
            runs: Mutex::new(BTreeMap::new()),
            quotas,
            reserved: Arc::new(Mutex::new(Reserved::default())),
            ingest,
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            markers: tokio::sync::Mutex::new(()),
        }
    }

    /// The server is shutting down: stream runs ending from now on resume at the next
    /// start.
    pub fn shutting_down(&self) {
        self.shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// The stream runs the last server process left unfinished.
    ///
    /// # Errors
    /// The data directory cannot be read.
    pub async fn interrupted(&self) -> ApiResult<Vec<Marker>> {
        let mut out = Vec::new();
        for key in self.store.list("active").await? {
            match self.store.get_json::<Marker>(&key).await? {
                Some(m) => out.push(m),
                None => tracing::warn!(key, "a run marker vanished while being read"),
            }
        }
        out.sort_by_key(|m| m.started_at);
        Ok(out)
    }

    /// Record in stream run `id`'s marker that a client asked it to stop, so a shutdown in
    /// the middle of its drain does not bring it back running. Nothing when the run has
    /// no marker (not a stream run, or already over).
    ///
    /// # Errors
    /// The data directory cannot be read or written.
    pub async fn record_stop(&self, id: &str) -> ApiResult<()> {
        let _held = self.markers.lock().await;
        let key = marker_key(id);
        if let Some(mut marker) = self.store.get_json::<Marker>(&key).await?
            && !marker.stopping
        {
            marker.stopping = true;
            self.store.put_json(&key, &marker).await?;
        }
        Ok(())
    }

    /// Record that interrupted run `id` could not start again (`why`), and drop its
    /// marker. Its buffered rows, if any, stay in JetStream: the message says where.
    ///
    /// # Errors
    /// The data directory cannot be written.
    pub async fn abandon(&self, marker: &Marker, why: &str) -> ApiResult<()> {
        let kept = match &self.ingest {
            Some(i) => format!(
                "; rows pushed and not yet committed stay in JetStream ({} stream {}, subject \
                 {})",
                i.shown(),
                quiver_stream::INGEST,
                quiver_stream::ingest_subject(&marker.id)
            ),
            None => String::new(),
        };
        let record = RunRecord {
            status: RunStatus {
                id: marker.id.clone(),
                pipeline: marker.pipeline.clone(),
                state: RunState::Failed,
                api_source: false,
                durable: false,
                resumed: marker.resumed,
                started_at: marker.started_at,
                finished_at: Some(Utc::now()),
                rows_read: 0,
                rows_written: 0,
                stages: Vec::new(),
                swaps: Vec::new(),
                error: Some(format!(
                    "the server restarted and the run could not resume: {why}{kept}"
                )),
                report: false,
            },
            report: None,
            errors: Vec::new(),
        };
        self.store
            .put_json(&format!("runs/{}.json", marker.id), &record)
            .await?;
        self.store.delete(&marker_key(&marker.id)).await?;
        Ok(())
    }

    /// The I/O of checks and runs. Readers' words about bad data are withheld: they may
    /// quote the data, and errors go to API clients.
    fn io(&self) -> Io {
        Io::with_handle(self.handle.clone(), self.storage.clone()).withholding_data_details()
    }

    /// Where relative paths of pipelines start.
    pub fn workdir(&self) -> &std::path::Path {
        &self.workdir
    }

    /// Reserve a run of `instances` live instances against the quotas.
    fn reserve(&self, instances: usize) -> ApiResult<Reservation> {
        let mut r = lock(&self.reserved);
        if r.runs >= self.quotas.runs {
            return Err(ApiError::quota(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "the concurrent runs quota is reached: {} runs are in progress, at most {} \
                     may be; stop one, retry later, or have the operator raise --max-runs \
                     (QUIVER_MAX_RUNS)",
                    r.runs, self.quotas.runs
                ),
            ));
        }
        if r.instances.saturating_add(instances) > self.quotas.instances {
            return Err(ApiError::quota(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "the live instances quota is reached: runs in progress hold {} plugin \
                     instances and this one needs {instances}, at most {} may live at once; \
                     stop a run, retry later, or have the operator raise --max-instances \
                     (QUIVER_MAX_INSTANCES)",
                    r.instances, self.quotas.instances
                ),
            ));
        }
        r.runs += 1;
        r.instances += instances;
        Ok(Reservation {
            reserved: Arc::clone(&self.reserved),
            instances,
        })
    }

    /// Check a pipeline document the way `quiver validate` does. Blocking.
    ///
    /// # Errors
    /// Every problem, each with its field.
    pub fn check(&self, read: &Read) -> Result<Checked, Problems> {
        quiver_job::check(
            read,
            &self.resolver,
            &self.io(),
            &self.workdir,
            "the pipeline",
        )
        .map(|(checked, _)| Checked::new(&checked))
    }

    /// The run `id`, in memory.
    pub fn get(&self, id: &str) -> Option<Arc<Run>> {
        lock(&self.runs).get(id).cloned()
    }

    /// Runs in memory, newest first.
    pub fn all(&self) -> Vec<Arc<Run>> {
        let mut v: Vec<_> = lock(&self.runs).values().cloned().collect();
        v.sort_by(|a, b| b.started_at().cmp(&a.started_at()).then(b.id().cmp(a.id())));
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

    /// Prepare and start a run of `read` (pipeline `name`, stored as `document`).
    /// Blocking: call it from a blocking task. Errors before any data flows are the
    /// pipeline's problems (422, or 503 when storage is unavailable).
    ///
    /// # Errors
    /// The pipeline cannot start; the run's thread cannot be started.
    pub fn start(
        self: &Arc<Self>,
        name: &str,
        read: Read,
        document: serde_json::Value,
    ) -> ApiResult<Arc<Run>> {
        let marker = Marker {
            id: uuid::Uuid::now_v7().to_string(),
            pipeline: name.to_owned(),
            document,
            started_at: Utc::now(),
            resumed: 0,
            stopping: false,
        };
        self.launch(marker, read, false)
    }

    /// Start interrupted run `marker.id` again from its marker (`read` is its document,
    /// confined to today's roots). Blocking.
    ///
    /// # Errors
    /// As [`Self::start`].
    pub fn resume(self: &Arc<Self>, marker: &Marker, read: Read) -> ApiResult<Arc<Run>> {
        let mut marker = marker.clone();
        marker.resumed += 1;
        self.launch(marker, read, true)
    }

    fn launch(
        self: &Arc<Self>,
        marker: Marker,
        mut read: Read,
        resumed: bool,
    ) -> ApiResult<Arc<Run>> {
        let name = marker.pipeline.as_str();
        let id = marker.id.clone();
        let io = self.io();
        let resumable = read.pipeline.source.is_stream();
        let pipeline = &read.pipeline;
        // A pipeline over the per-run or per-stage ceiling is refused by the check (422,
        // naming the stage) before it can hold anything.
        let over = quiver_job::instance_problems(pipeline, self.resolver.instance_ceiling());
        if !over.is_empty() {
            return Err(ApiError::problems(
                format!("pipeline `{name}` cannot start; fix the fields below"),
                &Problems::new(format!("pipeline {name}"), over),
            ));
        }
        let reservation =
            self.reserve(pipeline.stages.iter().map(|s| s.parallelism).sum::<usize>())?;
        let mut durable = None;
        let (api, ingest, api_schema) = match pipeline.source.clone() {
            Source::Api(a) if a.durable => {
                let (spec, d) =
                    self.durable_source(&id, a.schema.clone(), a.checkpoint, resumed)?;
                durable = Some(d);
                read.pipeline.source = Source::Nats(spec);
                (None, None, Some(quiver_io::schema_of(&a.schema)))
            }
            Source::Api(a) => {
                let (tx, rx) = mpsc::channel(a.queue_batches);
                let input = ApiInput {
                    batches: Box::new(ApiBatches { rx }),
                    shown: format!("POST /v1/runs/{id}/batches"),
                };
                (Some(input), Some(tx), Some(quiver_io::schema_of(&a.schema)))
            }
            Source::Io(_) | Source::Nats(_) | Source::Kafka(_) => (None, None, None),
        };
        let job = Job::open(name, &read, &self.resolver, &io, &self.workdir, api).map_err(|p| {
            ApiError::problems(
                format!("pipeline `{name}` cannot start; fix the fields below"),
                &p,
            )
        })?;
        if resumable {
            // Written before any data flows: a run whose server dies from here on is
            // resumed by the next one.
            self.handle
                .block_on(self.store.put_json(&marker_key(&id), &marker))
                .map_err(|e| {
                    ApiError::unavailable(format!(
                        "run {id} cannot start: recording it in the data directory (so a \
                         restarted server resumes it) failed: {e}"
                    ))
                })?;
        }
        let live: Vec<LiveStage> = job.stages.iter().map(LiveStage::new).collect();
        let names = job.stage_names();
        let run = Arc::new_cyclic(|weak| {
            let observer = Observer {
                run: weak.clone(),
                metrics: Arc::clone(&self.metrics),
                pipeline: name.to_owned(),
                stages: names.clone(),
            };
            Run::new(
                Origin {
                    id: id.clone(),
                    pipeline: name.to_owned(),
                    started_at: marker.started_at,
                    resumed: marker.resumed,
                    resumable,
                },
                Arc::new(Progress::new(names.clone()).with_observer(Arc::new(observer))),
                live,
                ingest,
                api_schema,
                durable,
            )
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
            .spawn(move || runs.execute(&thread_run, job, reservation));
        if let Err(e) = spawned {
            // The job (and with it the sinks, uncommitted) went down with the closure.
            run.progress().cancel();
            self.finish(
                &run,
                RunState::Failed,
                Some(format!("starting the run's thread: {e}")),
                None,
            );
            return Err(ApiError::internal(format!(
                "starting the run's thread: {e}"
            )));
        }
        tracing::info!(run = %id, pipeline = %name, resumed, "run started");
        Ok(run)
    }

    /// A durable API run's source (its ingest subject, read back as a stream run) and its
    /// way in (the publisher pushes go through).
    fn durable_source(
        &self,
        id: &str,
        schema: Vec<quiver_io::ColumnSpec>,
        checkpoint: Option<quiver_stream::Checkpoint>,
        resumed: bool,
    ) -> ApiResult<(quiver_stream::NatsSourceSpec, Durable)> {
        let Some(buffer) = &self.ingest else {
            return Err(ApiError::invalid(
                "the pipeline cannot start; fix the fields below",
                vec![crate::error::Problem::new(
                    "source.api.durable",
                    "this server keeps no durable ingest: start it with --ingest-nats \
                     nats://HOST:PORT (QUIVER_INGEST_NATS), or remove `durable = true`",
                )],
            ));
        };
        let drain = quiver_stream::DrainSignal::default();
        let spec = buffer.source(
            id,
            schema,
            checkpoint.unwrap_or_default(),
            drain.clone(),
            resumed,
        );
        let publisher = self
            .handle
            .block_on(quiver_stream::NatsSink::open(&buffer.sink(id)))
            .map_err(|e| {
                ApiError::unavailable(format!(
                    "run {id} cannot start: the ingest stream on {}: {e}",
                    buffer.shown()
                ))
            })?;
        Ok((
            spec,
            Durable {
                publisher: tokio::sync::Mutex::new(Some(publisher)),
                drain,
            },
        ))
    }

    /// The run's thread: the engine, then commit or abort, then the record.
    fn execute(&self, run: &Arc<Run>, job: Job, reservation: Reservation) {
        // A panic anywhere below (a bug) must still end the run: a run left `draining`
        // forever would hold `drain` — and with it the server's shutdown — forever.
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(run.progress())));
        // The engine has returned: its instances are gone. Given back before the run is
        // seen to end, so a client that waits for the end can start the next one.
        drop(reservation);
        run.close_ingest();
        let outcome = match outcome {
            Ok(o) => o,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                run.progress().cancel();
                let message = format!(
                    "internal error: the run's thread panicked ({what}); nothing was committed; \
                     this is a bug, please report it"
                );
                run.push_error(RunErrorEntry {
                    at: Utc::now(),
                    stage: String::new(),
                    plugin: None,
                    kind: "internal".into(),
                    message: message.clone(),
                    rows: 0,
                    outcome: "run stopped".into(),
                });
                self.finish(run, RunState::Failed, Some(message), None);
                return;
            }
        };
        let (state, error, report) = match outcome {
            Err(e) => {
                let cancelled = matches!(
                    e,
                    quiver_job::JobError::Run(quiver_pipeline::RunError::Cancelled)
                );
                let message = chain(&e);
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
            Ok(report) => {
                let mut doc = serde_json::to_value(&report).unwrap_or_default();
                if let Some(map) = doc.as_object_mut() {
                    map.insert("run".into(), run.id().into());
                }
                (RunState::Succeeded, None, Some(doc))
            }
        };
        self.finish(run, state, error, report);
    }

    /// Record the end of `run`: its state, the metrics, the log, its record in the data
    /// directory; then wake its waiters.
    fn finish(
        &self,
        run: &Arc<Run>,
        state: RunState,
        error: Option<String>,
        report: Option<serde_json::Value>,
    ) {
        run.set_finished(state, error.clone(), report);
        self.metrics.runs_active.dec();
        self.metrics
            .runs_finished
            .get_or_create(&RunLabels {
                pipeline: run.pipeline().to_owned(),
                state: state.label().into(),
            })
            .inc();
        match &error {
            Some(e) => {
                tracing::warn!(run = %run.id(), pipeline = %run.pipeline(), state = state.label(), "run ended: {e}")
            }
            None => tracing::info!(run = %run.id(), pipeline = %run.pipeline(), "run succeeded"),
        }
        let record = RunRecord {
            status: run.status(),
            report: run.report(),
            errors: run.errors(),
        };
        let key = format!("runs/{}.json", run.id());
        if let Err(e) = self.handle.block_on(self.store.put_json(&key, &record)) {
            tracing::error!(run = %run.id(), "saving the run's record: {e}");
        }
        self.settle(run, state);
        run.mark_done();
        self.forget_old();
    }

    /// A stream run's marker and buffer after it ended: kept for the next server when
    /// the shutdown interrupted it (drained and committed), else removed (and a durable
    /// run's consumer and leftover messages with it: a cancelled or failed run commits
    /// nothing more).
    fn settle(&self, run: &Arc<Run>, state: RunState) {
        if !run.resumable() {
            return;
        }
        let interrupted = state == RunState::Succeeded
            && self.shutting_down.load(std::sync::atomic::Ordering::SeqCst);
        if interrupted {
            tracing::info!(run = %run.id(), "run interrupted by the shutdown; it resumes at the next start");
            return;
        }
        if run.durable.is_some()
            && let Some(buffer) = &self.ingest
        {
            match self.handle.block_on(buffer.discard(run.id())) {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(run = %run.id(), state = state.label(), "{n} buffered messages discarded with the run")
                }
                Err(e) => {
                    tracing::error!(run = %run.id(), "removing the run's ingest consumer and messages: {e}")
                }
            }
        }
        let _held = self.markers.blocking_lock();
        if let Err(e) = self
            .handle
            .block_on(self.store.delete(&marker_key(run.id())))
        {
            tracing::error!(run = %run.id(), "removing the run's marker: {e}");
        }
    }

    /// Drop the oldest finished runs from memory (their records are in the data directory).
    fn forget_old(&self) {
        let mut runs = lock(&self.runs);
        let mut finished: Vec<(DateTime<Utc>, String)> = runs
            .values()
            .filter(|r| r.state().is_final())
            .map(|r| (r.started_at(), r.id().to_owned()))
            .collect();
        if finished.len() > KEEP_FINISHED {
            finished.sort();
            for (_, id) in &finished[..finished.len() - KEEP_FINISHED] {
                runs.remove(id);
            }
        }
    }
}

/// An error and its causes, `: `-separated.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message = format!("{message}: {c}");
        cause = c.source();
    }
    message
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
