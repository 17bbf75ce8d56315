//! `quiver serve`: the HTTP control API (axum). Plugins are uploaded and hot-swapped,
//! pipelines defined, runs started, watched, stopped and fed over HTTP.
//!
//! - `api.rs`: routes, handlers, OpenAPI, the bearer-token check.
//! - `catalogue.rs`: plugin uploads checked, stored content-addressed, resolved, compiled once.
//! - `pipelines.rs`: pipeline documents (JSON), parsed with field paths and checked like
//!   `quiver validate`.
//! - `runs.rs`: runs on their own threads, the API source (bounded channel: backpressure),
//!   stop/cancel, hot swap offers, run records.
//! - `ingest.rs`: Arrow IPC / CSV / NDJSON bodies to batches.
//! - `store.rs`: the data directory on any object store (state survives restarts).
//! - `metrics.rs`: Prometheus series.
//!
//! Shutdown (SIGTERM or Ctrl-C): `/readyz` turns 503, new runs and pushes are refused, every
//! run is stopped (drained, then committed), and the server exits when they are done and
//! in-flight requests have finished.

pub mod api;
pub mod catalogue;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod pipelines;
pub mod runs;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};
use bytesize::ByteSize;
use quiver_host::{Runtime, RuntimeConfig};
use quiver_io::Storage;

use self::api::PipelineRecord;
use self::catalogue::Catalogue;
use self::error::ApiResult;
use self::metrics::Metrics;
use self::runs::Runs;
use self::store::{Store, valid_name};
use crate::ceiling::CeilingArgs;
use crate::exit::Coded;

/// Arguments of `quiver serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback needs a token.
    #[arg(long, env = "QUIVER_LISTEN", default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,
    /// Where plugins, pipelines and run records are kept: a folder (created if missing) or
    /// an object store URL (`s3://bucket/quiver`, `gs://…`, `az://…`).
    #[arg(long, env = "QUIVER_DATA_DIR", default_value = "quiver-data")]
    pub data_dir: String,
    /// Relative source and sink paths of pipelines start here (default: the current folder).
    #[arg(long, env = "QUIVER_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// A file holding the bearer token every `/v1` request must carry (instead of the
    /// QUIVER_TOKEN environment variable).
    #[arg(long, env = "QUIVER_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Largest plugin upload.
    #[arg(long, env = "QUIVER_MAX_PLUGIN_SIZE", default_value = "64MiB")]
    pub max_plugin_size: ByteSize,
    /// Largest body pushed to a run.
    #[arg(long, env = "QUIVER_MAX_INGEST_SIZE", default_value = "64MiB")]
    pub max_ingest_size: ByteSize,
    /// A request that takes longer (including waiting on backpressure) is answered 408.
    #[arg(long, env = "QUIVER_REQUEST_TIMEOUT", default_value = "5m", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// A client that takes longer to send its request head, or sends nothing of its body for
    /// this long, is cut off (slow clients).
    #[arg(long, env = "QUIVER_BODY_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub body_timeout: Duration,
    #[command(flatten)]
    pub ceiling: CeilingArgs,
}

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

/// How a server is set up (what `ServeArgs` turn into; tests build it directly).
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
}

impl AppState {
    /// Open the data directory and set everything up. Call inside a tokio runtime (a
    /// multi-threaded one: runs block on it from their own threads).
    pub async fn open(config: Config) -> Result<Arc<Self>> {
        let storage = config.storage.clone();
        let store = Store::open(&config.data_dir, &storage)?;
        let runtime = Arc::new(Runtime::new(config.runtime.clone())?);
        let catalogue = Arc::new(Catalogue::new(store.clone(), runtime));
        let metrics = Arc::new(Metrics::new());
        let runs = Arc::new(Runs::new(
            Arc::clone(&catalogue),
            store.clone(),
            Arc::clone(&metrics),
            tokio::runtime::Handle::current(),
            storage,
            config.work_dir.clone(),
        ));
        // Reading the directory proves the store is reachable before we say we are ready.
        let plugins = catalogue
            .names()
            .await
            .map_err(|e| anyhow::anyhow!(e.body.message))?;
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
        });
        let pipelines = state
            .pipeline_names()
            .await
            .map_err(|e| anyhow::anyhow!(e.body.message))?;
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

/// The full application: the router with its layers (timeouts, tracing).
pub fn app(
    state: Arc<AppState>,
    request_timeout: Duration,
    body_timeout: Duration,
) -> axum::Router {
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

/// The token from `--token-file` or QUIVER_TOKEN.
fn token(args: &ServeArgs) -> Result<Option<String>> {
    if let Some(path) = &args.token_file {
        let t = std::fs::read_to_string(path).map_err(|e| {
            Coded::config(format!(
                "--token-file {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        let t = t.trim().to_owned();
        if t.len() < 16 {
            return Err(Coded::config(format!(
                "--token-file {}: the token has {} characters; use at least 16 (e.g. `openssl rand -hex 32`)",
                path.display(),
                t.len()
            )));
        }
        return Ok(Some(t));
    }
    match std::env::var("QUIVER_TOKEN") {
        Ok(t) if t.trim().len() >= 16 => Ok(Some(t.trim().to_owned())),
        Ok(t) if !t.trim().is_empty() => Err(Coded::config(
            "QUIVER_TOKEN is shorter than 16 characters; use a long random token (e.g. `openssl rand -hex 32`)",
        )),
        _ => Ok(None),
    }
}

async fn shutdown_signal(state: Arc<AppState>) {
    crate::run::interrupted().await;
    tracing::warn!("shutting down: draining every run");
    state.drain().await;
}

/// Accept HTTP/1 connections on `listener` for `app` until `shutdown` resolves, then let
/// the open connections finish. Unlike `axum::serve`, a client must send its request head
/// within `header_timeout` (slow-loris clients cannot hold connections open for free).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let service = hyper_util::service::TowerToHyperService::new(app);
    tokio::pin!(shutdown);
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
            () = &mut shutdown => break,
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

/// `quiver serve`.
pub fn run(args: &ServeArgs) -> Result<()> {
    let token = token(args)?;
    if token.is_none() && !args.listen.ip().is_loopback() {
        return Err(Coded::config(format!(
            "refusing to listen on {} without a token: anyone who can reach it could run code \
             on this machine. Set QUIVER_TOKEN or --token-file, or listen on 127.0.0.1",
            args.listen
        )));
    }
    let work_dir = match &args.work_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().context("the current folder")?,
    };
    let config = Config {
        data_dir: args.data_dir.clone(),
        work_dir,
        token,
        limits: Limits {
            plugin_bytes: usize::try_from(args.max_plugin_size.as_u64()).unwrap_or(usize::MAX),
            ingest_bytes: usize::try_from(args.max_ingest_size.as_u64()).unwrap_or(usize::MAX),
            json_bytes: 1 << 20,
        },
        runtime: args.ceiling.runtime_config(),
        storage: Storage::from_env(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("quiver-serve")
        .enable_all()
        .build()?;
    rt.block_on(async {
        let state = AppState::open(config).await?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Coded {
                code: 69,
                message: format!("cannot listen on {}: {e}", args.listen),
            })?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "listening");
        eprintln!(
            "quiver serve: listening on http://{addr} (data directory {})",
            state.store.shown()
        );
        let app = app(Arc::clone(&state), args.request_timeout, args.body_timeout);
        serve(
            listener,
            app,
            args.body_timeout,
            shutdown_signal(Arc::clone(&state)),
        )
        .await;
        anyhow::Ok(())
    })?;
    Ok(())
}
