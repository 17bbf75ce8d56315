//! `quiver serve`: the command-line face of `quiver-server` — flags and environment
//! variables turned into its `Config`, the token read, the listener bound, Ctrl-C/SIGTERM
//! wired to a graceful shutdown (every run drained and committed).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytesize::ByteSize;
use quiver_fault::{Failure, Fault};
use quiver_io::Storage;
use quiver_server::{AppState, Config, Limits};

use crate::args::{CeilingArgs, PluginPathArgs};

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
    #[command(flatten)]
    pub plugin_path: PluginPathArgs,
}

/// The token from `--token-file` or QUIVER_TOKEN.
fn token(args: &ServeArgs) -> Result<Option<String>, Failure> {
    if let Some(path) = &args.token_file {
        let t = std::fs::read_to_string(path).map_err(|e| {
            Failure::config(format!(
                "--token-file {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        let t = t.trim().to_owned();
        if t.len() < 16 {
            return Err(Failure::config(format!(
                "--token-file {}: the token has {} characters; use at least 16 (e.g. `openssl rand -hex 32`)",
                path.display(),
                t.len()
            )));
        }
        return Ok(Some(t));
    }
    match std::env::var("QUIVER_TOKEN") {
        Ok(t) if t.trim().len() >= 16 => Ok(Some(t.trim().to_owned())),
        Ok(t) if !t.trim().is_empty() => Err(Failure::config(
            "QUIVER_TOKEN is shorter than 16 characters; use a long random token (e.g. `openssl rand -hex 32`)",
        )),
        _ => Ok(None),
    }
}

/// `quiver serve`.
pub fn run(args: &ServeArgs) -> Result<()> {
    let token = token(args)?;
    if token.is_none() && !args.listen.ip().is_loopback() {
        return Err(Failure::config(format!(
            "refusing to listen on {} without a token: anyone who can reach it could run code \
             on this machine. Set QUIVER_TOKEN or --token-file, or listen on 127.0.0.1",
            args.listen
        ))
        .into());
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
        plugin_path: args
            .plugin_path
            .dirs
            .iter()
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()))
            .collect(),
        request_timeout: args.request_timeout,
        body_timeout: args.body_timeout,
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
            .map_err(|e| {
                Failure::new(
                    Fault::Unavailable,
                    format!("cannot listen on {}: {e}", args.listen),
                )
            })?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "listening");
        eprintln!(
            "quiver serve: listening on http://{addr} (data directory {})",
            state.store.shown()
        );
        quiver_server::serve(listener, Arc::clone(&state), crate::run::interrupted()).await;
        anyhow::Ok(())
    })?;
    Ok(())
}
