//! `quiver serve`: the command-line face of `quiver-server` — flags and environment
//! variables turned into its `Config` (tokens, TLS, data roots, quotas), the listener rules
//! enforced (a non-loopback address needs a token and TLS, or `--insecure-http`), the
//! listener bound, Ctrl-C/SIGTERM wired to a graceful shutdown (every run drained and
//! committed).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytesize::ByteSize;
use quiver_fault::{Failure, Fault};
use quiver_io::Storage;
use quiver_server::auth::Tokens;
use quiver_server::roots::RootSpec;
use quiver_server::tls::Tls;
use quiver_server::{AppState, Config, Limits, Quotas};

use crate::args::{CeilingArgs, NatsAuthArgs, PluginPathArgs};

/// Arguments of `quiver serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback needs a token, and TLS (or
    /// `--insecure-http`).
    #[arg(long, env = "QUIVER_LISTEN", default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,
    /// The TLS certificate chain (PEM, leaf first): serve HTTPS. Needs `--tls-key`.
    #[arg(long, env = "QUIVER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM: PKCS#8, PKCS#1 or SEC1) of `--tls-cert`.
    #[arg(long, env = "QUIVER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (tokens then cross the network in clear:
    /// only behind a TLS-terminating proxy on the same host or a trusted network).
    #[arg(long, env = "QUIVER_INSECURE_HTTP")]
    pub insecure_http: bool,
    /// A tokens file (TOML, or JSON when it ends in `.json`): `[[token]]` entries with a
    /// `name`, the `sha256` of the secret and `scopes` (`read`, `plugins:write`,
    /// `pipelines:write`, `runs:write`, `admin`).
    #[arg(long, env = "QUIVER_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// A data root pipelines may use: `NAME[:ACCESS]=LOCATION`, ACCESS `read`, `write`
    /// and/or `grant` joined by `+` (all three by default), LOCATION a folder or an object
    /// store URL. Repeatable (`;`-separated in the environment variable). When any is given,
    /// every pipeline path must lie inside one (`root:NAME/sub/file.csv`).
    #[arg(
        long = "root",
        value_name = "NAME[:ACCESS]=LOCATION",
        env = "QUIVER_ROOTS",
        value_delimiter = ';'
    )]
    pub roots: Vec<RootSpec>,
    /// Host environment variables pipelines may grant to plugins when data roots are
    /// declared (`,`-separated in the environment variable).
    #[arg(
        long,
        value_name = "NAME",
        env = "QUIVER_GRANTABLE_ENV",
        value_delimiter = ','
    )]
    pub grantable_env: Vec<String>,
    /// Bytes of distinct plugin components the server stores, at most.
    #[arg(long, env = "QUIVER_MAX_PLUGIN_STORE", default_value = "1GiB")]
    pub max_plugin_store: ByteSize,
    /// Pipelines stored, at most.
    #[arg(long, env = "QUIVER_MAX_PIPELINES", default_value_t = Quotas::default().pipelines)]
    pub max_pipelines: usize,
    /// Runs in progress at once, at most.
    #[arg(long, env = "QUIVER_MAX_RUNS", default_value_t = Quotas::default().runs)]
    pub max_runs: usize,
    /// Live plugin instances of all runs together, at most.
    #[arg(long, env = "QUIVER_MAX_INSTANCES", default_value_t = Quotas::default().instances)]
    pub max_instances: usize,
    /// Live plugin instances of one run (the sum of its stages' parallelism), at most.
    #[arg(long, env = "QUIVER_MAX_RUN_INSTANCES", default_value_t = Quotas::default().run_instances)]
    pub max_run_instances: usize,
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
    /// Keep the rows pushed to durable API runs (`durable = true`) in JetStream on this
    /// NATS server until they are committed: accepted rows then survive the server dying,
    /// and the runs resume at the next start. The stream `QUIVER_INGEST` is created if
    /// missing.
    #[arg(long, value_name = "URL", env = "QUIVER_INGEST_NATS")]
    pub ingest_nats: Option<String>,
    #[command(flatten)]
    pub ingest_auth: NatsAuthArgs,
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

/// A root's location with a relative folder made absolute (URLs as they are).
fn absolute_location(location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    std::path::absolute(location)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| location.to_owned())
}

/// `quiver serve`.
pub fn run(args: &ServeArgs) -> Result<()> {
    let token = token(args)?;
    let tokens = match &args.tokens_file {
        Some(file) => Tokens::from_file(file).map_err(|e| Failure::config(e.to_string()))?,
        None => Tokens::default(),
    };
    let public = !args.listen.ip().is_loopback();
    if token.is_none() && !tokens.required() && public {
        return Err(Failure::config(format!(
            "refusing to listen on {} without a token: anyone who can reach it could run code \
             on this machine. Set QUIVER_TOKEN, --token-file or --tokens-file, or listen on \
             127.0.0.1",
            args.listen
        ))
        .into());
    }
    if public && args.tls_cert.is_none() && !args.insecure_http {
        return Err(Failure::config(format!(
            "refusing to listen on {} without TLS: bearer tokens would cross the network in \
             clear. Give --tls-cert and --tls-key, or --insecure-http when a proxy on this \
             host terminates TLS, or listen on 127.0.0.1",
            args.listen
        ))
        .into());
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(Tls::from_pem_files(cert, key).map_err(|e| Failure::config(e.to_string()))?)
        }
        _ => None,
    };
    let work_dir = match &args.work_dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().context("the current folder")?,
    };
    let config = Config {
        data_dir: args.data_dir.clone(),
        work_dir,
        token,
        tokens,
        tls: tls.clone(),
        roots: args
            .roots
            .iter()
            .map(|r| RootSpec {
                location: absolute_location(&r.location),
                ..r.clone()
            })
            .collect(),
        grantable_env: args.grantable_env.clone(),
        quotas: Quotas {
            plugin_store_bytes: args.max_plugin_store.as_u64(),
            pipelines: args.max_pipelines,
            runs: args.max_runs,
            instances: args.max_instances,
            run_instances: args.max_run_instances,
            parallelism: args.ceiling.max_parallelism,
        },
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
        ingest: args
            .ingest_nats
            .as_ref()
            .map(|url| quiver_stream::IngestBuffer {
                url: url.clone(),
                auth: args.ingest_auth.auth(),
            }),
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
        // Signal handlers first: whoever reads the address below may stop us at once.
        let shutdown = crate::run::interrupted();
        tracing::info!(%addr, "listening");
        let scheme = if tls.is_some() { "https" } else { "http" };
        eprintln!(
            "quiver serve: listening on {scheme}://{addr} (data directory {})",
            state.store.shown()
        );
        quiver_server::serve(listener, Arc::clone(&state), shutdown).await;
        anyhow::Ok(())
    })?;
    Ok(())
}
