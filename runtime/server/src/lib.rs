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
//!   plugins, pipelines, runs), the bearer-token check and body limits.
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
pub mod catalogue;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod pipelines;
pub mod runs;
pub mod store;

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
use self::catalogue::Catalogue;
use self::error::{ApiError, ApiResult};
use self::metrics::Metrics;
use self::runs::Runs;
use self::store::Store;

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

/// How a server is set up (what `quiver serve`'s flags turn into; tests build it directly).
#[derive(Clone)]
pub struct Config {
    /// The data directory.
    pub data_dir: String,
    /// Where relative paths of pipelines start.
    pub work_dir: PathBuf,
    /// The bearer token, if any.
    pub token: Option<String>,
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
}

impl Config {
    /// Defaults for a server on `data_dir`, relative paths from `work_dir`, no token.
    pub fn new(data_dir: impl Into<String>, work_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            work_dir: work_dir.into(),
            token: None,
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
    /// sha256 of the token, when one is required.
    pub token_sha256: Option<Vec<u8>>,
    /// Pipeline creates, replaces and deletes, one at a time.
    pub pipelines_lock: tokio::sync::Mutex<()>,
    /// Body limits.
    pub limits: Limits,
    /// The OpenAPI document (set when the router is built).
    pub openapi: OnceLock<utoipa::openapi::OpenApi>,
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
    pub async fn open(config: Config) -> Result<Arc<Self>, Failure> {
        let storage = config.storage.clone();
        let store =
            Store::open(&config.data_dir, &storage).map_err(|e| Failure::config(e.to_string()))?;
        let runtime = Arc::new(
            Runtime::new(config.runtime.clone())
                .map_err(|e| Failure::new(Fault::Internal, format!("the plugin runtime: {e}")))?,
        );
        let catalogue = Arc::new(Catalogue::new(store.clone(), Arc::clone(&runtime)));
        let resolver = Resolver::new(runtime)
            .with_plugin_path(config.plugin_path.clone())
            .with_catalogue(Arc::new(catalogue::Resolvable {
                catalogue: Arc::clone(&catalogue),
                handle: tokio::runtime::Handle::current(),
            }));
        let metrics = Arc::new(Metrics::new());
        let runs = Arc::new(Runs::new(
            Arc::clone(&catalogue),
            resolver,
            store.clone(),
            Arc::clone(&metrics),
            tokio::runtime::Handle::current(),
            storage,
            config.work_dir.clone(),
        ));
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
            token_sha256: config.token.as_ref().map(|t| {
                use sha2::Digest;
                sha2::Sha256::digest(t.trim().as_bytes()).to_vec()
            }),
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

    /// Stop taking work: `/readyz` 503, new runs and pushes refused, every run drained and
    /// committed. Returns when every run is over.
    pub async fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        let active = self.runs.active();
        tracing::info!(
            runs = active.len(),
            "draining: stopping every run, then committing"
        );
        for run in &active {
            let _ = run.stop();
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
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Serve [`app`] on `listener` until `shutdown` resolves; then drain every run (stopped,
/// committed), stop accepting connections and let the open ones finish.
///
/// Unlike `axum::serve`, a client must send its request head within the body timeout
/// (slow-loris clients cannot hold connections open for free).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let header_timeout = state.timeouts.1;
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
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service.clone());
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
