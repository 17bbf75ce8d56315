//! `quiver worker`: run tasks of distributed runs (`quiver run --workers nats://…`) from a
//! NATS JetStream work queue until SIGTERM — then finish the current task, acknowledge it
//! and exit. Every flag also reads an environment variable, for containers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use quiver_host::Runtime;
use quiver_job::Io;
use quiver_job::distributed::{WorkerOptions, work};

use crate::args::{CeilingArgs, NatsArgs, PluginPathArgs};

/// Arguments of `quiver worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// The NATS server with JetStream that distributed runs queue their tasks on.
    #[arg(long, value_name = "URL", env = "QUIVER_NATS_URL")]
    nats: String,
    /// This worker's name in task results, logs and metrics (default: host name and
    /// process id).
    #[arg(long, env = "QUIVER_WORKER_NAME")]
    name: Option<String>,
    /// Write Prometheus metrics (tasks done, failed, retried, redeliveries, rows, busy time,
    /// queue lag) to this file after every task, replaced atomically (node_exporter's
    /// textfile collector reads it).
    #[arg(long, value_name = "FILE", env = "QUIVER_WORKER_METRICS_FILE")]
    metrics_file: Option<std::path::PathBuf>,
    /// How often the metrics file and the lag are refreshed while idle.
    #[arg(long, value_name = "DURATION", env = "QUIVER_WORKER_METRICS_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    metrics_interval: Duration,
    /// Exit after this many tasks (default: run until SIGTERM).
    #[arg(long, value_name = "N", env = "QUIVER_WORKER_MAX_TASKS")]
    max_tasks: Option<u64>,
    #[command(flatten)]
    nats_args: NatsArgs,
    #[command(flatten)]
    ceiling: CeilingArgs,
    #[command(flatten)]
    plugin_path: PluginPathArgs,
}

fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// Run tasks until SIGTERM (drain: the current task finishes and is acknowledged).
pub fn run(args: &WorkerArgs) -> Result<()> {
    let io = Io::new()?;
    let runtime = Arc::new(Runtime::new(args.ceiling.runtime_config())?);
    let resolver = args.plugin_path.resolver(runtime);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        let signal = crate::run::interrupted_on(&io);
        io.handle().spawn(async move {
            signal.await;
            tracing::warn!("draining: finishing the current task, then exiting");
            stop.store(true, Ordering::Relaxed);
        });
    }
    let options = WorkerOptions {
        cluster: args.nats_args.cluster(&args.nats),
        name: args.name.clone().unwrap_or_else(default_name),
        metrics_file: args.metrics_file.clone(),
        metrics_interval: args.metrics_interval,
        max_tasks: args.max_tasks,
    };
    let metrics = work(&options, &resolver, &io, &stop)?;
    eprintln!(
        "worker {}: {} tasks done, {} failed, {} retried, {} redelivered to it; {} rows written",
        options.name,
        metrics.tasks_done,
        metrics.tasks_failed,
        metrics.tasks_retried,
        metrics.redeliveries,
        metrics.rows_written
    );
    Ok(())
}
