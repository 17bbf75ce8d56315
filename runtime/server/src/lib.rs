//! `quiver-server`: the HTTP control API of Quiver, as a library. Plugins are uploaded and
//! hot-swapped, pipelines defined, runs started, watched, stopped and fed over HTTP.
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use quiver_server::{AppState, Config, app, serve};
//! let state = AppState::open(Config::new("quiver-data", ".")).await?;   // reads the data directory
//! let router = app(std::sync::Arc::clone(&state));                      // pure: testable with `oneshot`
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7878").await?;
//! serve(listener, state, async { let _ = tokio::signal::ctrl_c().await; }).await;
//! # Ok(()) }
//! ```
//!
//! - `api/`: routes, handlers and their OpenAPI description, one file per tag (operations,
//!   plugins, pipelines, runs), the token and scope check with the audit log, body limits,
//!   and the document's shared parts (`doc.rs`: statuses every route can answer, the
//!   pipeline document's JSON Schema, links).
//! - `auth.rs`: scoped bearer tokens (the tokens file, constant-time digest comparison).
//! - `roots.rs`: data roots: where pipelines created over the API may read, write and grant.
//! - `tls.rs`: the certificate and key of [`serve`]'s TLS.
//! - `catalogue.rs`: plugin uploads checked, stored content-addressed, compiled once; the
//!   catalogue is the last source of `quiver-job`'s plugin resolver.
//! - `pipelines.rs`: what a pipeline check returns over the API.
//! - `runs/`: runs on their own threads (`mod.rs`), their status (`status.rs`), the engine's
//!   events turned into errors and metrics (`observer.rs`), hot-swap offers (`swap.rs`).
//! - `ingest.rs`: Arrow IPC / CSV / NDJSON bodies to batches.
//! - `store.rs`: the data directory on any object store (state survives restarts).
//! - `metrics.rs`: Prometheus series.
//! - `error.rs`: the one JSON error shape, and the table from fault classes to statuses.
//!
//! The pipeline document is `quiver-spec`'s (the same types as pipeline files); it is
//! checked and built by `quiver-job`, as `quiver validate` and `quiver run` do.
//!
//! Shutdown: when [`serve`]'s `shutdown` resolves, `/readyz` turns 503, new runs and pushes
//! are refused, every run is stopped (drained, then committed), and [`serve`] returns when
//! they are done and in-flight requests have finished.

#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod catalogue;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod pipelines;
pub mod roots;
pub mod runs;
pub mod store;
pub mod tls;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use quiver_fault::{Failure, Fault};
use quiver_host::{Runtime, RuntimeConfig};
use quiver_io::Storage;
use quiver_job::Resolver;
use quiver_spec::valid_name;

use self::api::PipelineRecord;
use self::auth::{Token, Tokens};
use self::catalogue::Catalogue;
use self::error::{ApiError, ApiResult};
use self::metrics::Metrics;
use self::roots::{RootSpec, Roots};
use self::runs::Runs;
use self::store::Store;
use self::tls::Tls;

/// Body size limits per kind of route.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Plugin uploads.
    pub plugin_bytes: usize,
    /// Ingest pushes.
    pub ingest_bytes: usize,
    /// JSON documents.
    pub json_bytes: usize,
}

/// How much a server takes on: every refusal names the quota and the flag that raises it.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    /// Bytes of distinct plugin components stored, at most (`--max-plugin-store`; an
    /// upload over it is 413).
    pub plugin_store_bytes: u64,
    /// Stored pipelines, at most (`--max-pipelines`; a create over it is 409).
    pub pipelines: usize,
    /// Runs in progress at once, at most (`--max-runs`; a start over it is 429).
    pub runs: usize,
    /// Live plugin instances of all runs together, at most (`--max-instances`; a start that
    /// would go over is 429, a pipeline that alone would is 422). The runtime's instance
    /// pool is made twice as large, so hot swaps, uploads and checks always have room.
    pub instances: usize,
    /// Live plugin instances of one run (the sum of its stages' `parallelism`), at most
    /// (`--max-run-instances`; 422 naming the stage).
    pub run_instances: usize,
    /// `parallelism` of one stage, at most (`--max-parallelism`; 422 naming the stage).
    pub parallelism: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            plugin_store_bytes: 1 << 30,
            pipelines: 1000,
            runs: 16,
            instances: 128,
            run_instances: 64,
            parallelism: quiver_job::InstanceCeiling::DEFAULT_PER_STAGE,
        }
    }
}

/// How a server is set up (what `quiver serve`'s flags turn into; tests build it directly).
#[derive(Clone)]
pub struct Config {
    /// The data directory.
    pub data_dir: String,
    /// Where relative paths of pipelines start.
    pub work_dir: PathBuf,
    /// The single bearer token (`QUIVER_TOKEN`), if any: the token `default`, scope `admin`.
    pub token: Option<String>,
    /// Scoped tokens (`--tokens-file`), beside the single one.
    pub tokens: Tokens,
    /// TLS for [`serve`] (`--tls-cert`, `--tls-key`); plain HTTP when `None`.
    pub tls: Option<Tls>,
    /// Data roots (`--root`): when any is declared, pipeline paths must lie inside them.
    pub roots: Vec<RootSpec>,
    /// Host environment variables pipelines may grant to plugins when roots are declared
    /// (`--grantable-env`).
    pub grantable_env: Vec<String>,
    /// Quotas.
    pub quotas: Quotas,
    /// Body limits.
    pub limits: Limits,
    /// The runtime's settings (operator ceiling, compiled-plugin cache).
    pub runtime: RuntimeConfig,
    /// Object store settings (credentials from the environment by default).
    pub storage: Storage,
    /// Folders of plugin components searched before the first-party plugins and the
    /// catalogue (`--plugin-path`).
    pub plugin_path: Vec<PathBuf>,
    /// A request that takes longer (including waiting on backpressure) is answered 408.
    pub request_timeout: Duration,
    /// A client that takes longer to send its request head, or sends nothing of its body
    /// for this long, is cut off (slow clients).
    pub body_timeout: Duration,
    /// Where durable API runs keep pushed rows until they are committed
    /// (`--ingest-nats`); `None`: pipelines with `durable = true` cannot start.
    pub ingest: Option<quiver_stream::IngestBuffer>,
}

impl Config {
    /// Defaults for a server on `data_dir`, relative paths from `work_dir`, no token.
    pub fn new(data_dir: impl Into<String>, work_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            work_dir: work_dir.into(),
            token: None,
            tokens: Tokens::default(),
            tls: None,
            roots: Vec::new(),
            grantable_env: Vec::new(),
            quotas: Quotas::default(),
            limits: Limits {
                plugin_bytes: 64 << 20,
                ingest_bytes: 64 << 20,
                json_bytes: 1 << 20,
            },
            runtime: RuntimeConfig::default(),
            storage: Storage::from_env(),
            plugin_path: Vec::new(),
            request_timeout: Duration::from_secs(300),
            body_timeout: Duration::from_secs(30),
            ingest: None,
        }
    }
}

/// Everything the handlers share.
pub struct AppState {
    /// Plugins.
    pub catalogue: Arc<Catalogue>,
    /// Runs.
    pub runs: Arc<Runs>,
    /// The data directory.
    pub store: Store,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Serving (the data directory was read).
    pub ready: AtomicBool,
    /// Shutting down: no new runs or input.
    pub draining: AtomicBool,
    /// The accepted tokens (none: no token is asked for).
    pub tokens: Tokens,
    /// The scope each `/v1` operation needs, by (method, route), read from the OpenAPI
    /// document when the router is built.
    pub scopes: OnceLock<std::collections::HashMap<(String, String), auth::Scope>>,
    /// TLS of [`serve`]'s connections.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Data roots.
    pub roots: Roots,
    /// Quotas.
    pub quotas: Quotas,
    /// Pipeline creates, replaces and deletes, one at a time.
    pub pipelines_lock: tokio::sync::Mutex<()>,
    /// Body limits.
    pub limits: Limits,
    /// The OpenAPI document as served (set when the router is built).
    pub openapi: OnceLock<serde_json::Value>,
    /// (request timeout, body and header timeout).
    pub timeouts: (Duration, Duration),
}

impl AppState {
    /// Open the data directory and set everything up. Call inside a tokio runtime (a
    /// multi-threaded one: runs block on it from their own threads).
    ///
    /// # Errors
    /// The data directory cannot be used (config) or read (unavailable); the plugin
    /// runtime cannot start (internal).
    pub async fn open(mut config: Config) -> Result<Arc<Self>, Failure> {
        let storage = config.storage.clone();
        let quotas = config.quotas;
        let store =
            Store::open(&config.data_dir, &storage).map_err(|e| Failure::config(e.to_string()))?;
        let mut protected = vec![(config.data_dir.clone(), "the data directory")];
        if let Some(cache) = &config.runtime.cache_dir {
            protected.push((cache.display().to_string(), "the compiled-plugin cache"));
        }
        let roots = Roots::open(
            std::mem::take(&mut config.roots),
            std::mem::take(&mut config.grantable_env),
            &storage,
            &protected,
        )
        .map_err(|e| Failure::config(e.to_string()))?;
        // Twice the live instances runs may hold: a hot swap builds a stage's replacement
        // instances beside the old ones, and uploads and checks instantiate too.
        let pool = u32::try_from(quotas.instances.saturating_mul(2)).unwrap_or(u32::MAX);
        config.runtime.max_instances = config.runtime.max_instances.max(pool);
        let runtime = Arc::new(
            Runtime::new(config.runtime.clone())
                .map_err(|e| Failure::new(Fault::Internal, format!("the plugin runtime: {e}")))?,
        );
        let catalogue = Arc::new(Catalogue::new(
            store.clone(),
            Arc::clone(&runtime),
            quotas.plugin_store_bytes,
        ));
        let resolver = Resolver::new(runtime)
            .with_instance_ceiling(quiver_job::InstanceCeiling {
                per_stage: quotas.parallelism,
                per_run: quotas.run_instances.min(quotas.instances),
            })
            .with_plugin_path(config.plugin_path.clone())
            .with_catalogue(Arc::new(catalogue::Resolvable {
                catalogue: Arc::clone(&catalogue),
                handle: tokio::runtime::Handle::current(),
            }));
        if let Some(ingest) = &config.ingest {
            ingest
                .prepare()
                .await
                .map_err(|e| Failure::new(Fault::Unavailable, format!("--ingest-nats: {e}")))?;
        }
        let metrics = Arc::new(Metrics::new());
        let runs = Arc::new(Runs::new(runs::RunsParts {
            catalogue: Arc::clone(&catalogue),
            resolver,
            store: store.clone(),
            metrics: Arc::clone(&metrics),
            handle: tokio::runtime::Handle::current(),
            storage,
            workdir: config.work_dir.clone(),
            quotas,
            ingest: config.ingest.clone(),
        }));
        let unavailable = |e: ApiError| Failure::new(Fault::Unavailable, e.body.message);
        // Reading the directory proves the store is reachable before we say we are ready.
        let plugins = catalogue.names().await.map_err(unavailable)?;
        let state = Arc::new(AppState {
            catalogue,
            runs,
            store,
            metrics,
            ready: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            tokens: {
                let mut tokens = config.tokens.clone();
                if let Some(t) = &config.token {
                    tokens.push(Token::admin(t));
                }
                tokens
            },
            scopes: OnceLock::new(),
            tls: config
                .tls
                .as_ref()
                .map(|t| tokio_rustls::TlsAcceptor::from(Arc::clone(&t.config))),
            roots,
            quotas,
            pipelines_lock: tokio::sync::Mutex::new(()),
            limits: config.limits,
            openapi: OnceLock::new(),
            timeouts: (config.request_timeout, config.body_timeout),
        });
        let pipelines = state.pipeline_names().await.map_err(unavailable)?;
        tracing::info!(
            data_dir = %state.store.shown(),
            plugins = plugins.len(),
            pipelines = pipelines.len(),
            "data directory loaded"
        );
        state.resume_runs().await.map_err(unavailable)?;
        state.ready.store(true, Ordering::SeqCst);
        Ok(state)
    }

    /// Stored pipeline names, sorted.
    pub async fn pipeline_names(&self) -> ApiResult<Vec<String>> {
        Ok(self
            .store
            .list("pipelines")
            .await?
            .iter()
            .filter_map(|k| {
                k.strip_prefix("pipelines/")?
                    .strip_suffix(".json")
                    .map(str::to_owned)
            })
            .collect())
    }

    /// A stored pipeline.
    pub async fn pipeline(&self, name: &str) -> ApiResult<Option<PipelineRecord>> {
        if !valid_name(name) {
            return Ok(None);
        }
        Ok(self
            .store
            .get_json(&format!("pipelines/{name}.json"))
            .await?)
    }

    async fn save_pipeline(&self, record: &PipelineRecord) -> ApiResult<()> {
        Ok(self
            .store
            .put_json(&format!("pipelines/{}.json", record.name), record)
            .await?)
    }

    async fn delete_pipeline(&self, name: &str) -> ApiResult<()> {
        Ok(self.store.delete(&format!("pipelines/{name}.json")).await?)
    }

    /// Start again the runs the last server process left unfinished — stream runs and
    /// durable API runs, which a crash or a shutdown only interrupts — under their ids.
    /// A run that cannot start again is recorded as failed, with why.
    async fn resume_runs(self: &Arc<Self>) -> ApiResult<()> {
        for marker in self.runs.interrupted().await? {
            let (id, name) = (marker.id.clone(), marker.pipeline.clone());
            let started = match pipelines::parse(&marker.document) {
                Err(p) => Err(ApiError::invalid(
                    format!("pipeline `{name}` as the run started it does not parse"),
                    p.iter().map(error::Problem::from).collect(),
                )),
                Ok(mut read) => {
                    let runs = Arc::clone(&self.runs);
                    let st = Arc::clone(self);
                    let marker = marker.clone();
                    tokio::task::spawn_blocking(move || {
                        st.roots.confine(&mut read, runs.workdir()).map_err(|p| {
                            ApiError::invalid(
                                "paths outside the data roots",
                                p.iter().map(error::Problem::from).collect(),
                            )
                        })?;
                        runs.resume(&marker, read)
                    })
                    .await
                    .map_err(api::blocking_error)
                    .and_then(|r| r)
                }
            };
            match started {
                Ok(run) if marker.stopping => {
                    tracing::warn!(run = %id, pipeline = %name, "run resumed to finish the stop a client asked for");
                    if let Err(e) = run.stop(runs::StopFor::Client).await {
                        tracing::error!(run = %id, "stopping the resumed run: {}", e.body.message);
                    }
                }
                Ok(_) => tracing::warn!(run = %id, pipeline = %name, "run resumed"),
                Err(e) => {
                    tracing::error!(run = %id, pipeline = %name, "the run cannot resume: {}", e.body.message);
                    self.runs.abandon(&marker, &e.body.message).await?;
                }
            }
        }
        Ok(())
    }

    /// Stop taking work: `/readyz` 503, new runs and pushes refused, every run drained and
    /// committed. Returns when every run is over. Stream runs and durable API runs stop
    /// where they are (what they read is committed and acknowledged; what they did not
    /// stays in JetStream) and resume when the server starts again.
    pub async fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.runs.shutting_down();
        let active = self.runs.active();
        tracing::info!(
            runs = active.len(),
            "draining: stopping every run, then committing"
        );
        for run in &active {
            let _ = run.stop(runs::StopFor::Shutdown).await;
        }
        for run in &active {
            run.wait().await;
        }
    }
}

/// The full application: the router with its layers (timeouts, tracing). Pure: tests
/// drive it with `tower::ServiceExt::oneshot`, no socket needed.
pub fn app(state: Arc<AppState>) -> axum::Router {
    let (request_timeout, body_timeout) = state.timeouts;
    let (router, _) = api::router(state);
    router
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            body_timeout,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::map_response(error::as_error_body))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Serve [`app`] on `listener` until `shutdown` resolves; then drain every run (stopped,
/// committed), stop accepting connections and let the open ones finish.
///
/// Unlike `axum::serve`, a client must send its request head within the body timeout
/// (slow-loris clients cannot hold connections open for free); with TLS, it must also
/// finish the handshake within that time, on the connection's own task (a stalled handshake
/// never holds up the accept loop).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let header_timeout = state.timeouts.1;
    let tls = state.tls.clone();
    let service = hyper_util::service::TowerToHyperService::new(app(Arc::clone(&state)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let drained = async {
        shutdown.await;
        tracing::warn!("shutting down: draining every run");
        state.drain().await;
    };
    tokio::pin!(drained);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, go on.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut drained => break,
        };
        let service = service.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, service, watcher, header_timeout).await,
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, service, watcher, header_timeout).await;
                        }
                        Ok(Err(e)) => tracing::debug!("TLS handshake: {e}"),
                        Err(_) => tracing::debug!(
                            timeout_ms = header_timeout.as_millis(),
                            "TLS handshake not finished in time: connection closed"
                        ),
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// One HTTP/1 connection (plain or TLS) with the header-read timeout, watched for graceful
/// shutdown.
async fn serve_connection<S>(
    stream: S,
    service: hyper_util::service::TowerToHyperService<axum::Router>,
    watcher: hyper_util::server::graceful::Watcher,
    header_timeout: Duration,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!("connection: {e}");
    }
}
