//! `quiver run PIPELINE`: a pipeline document read once, built and run by `quiver-job`,
//! summarised.
//!
//! `quiver-job` resolves the plugins, negotiates schemas, opens the source and creates the
//! sinks, runs the engine and commits the outputs only when everything succeeded (aborting
//! them otherwise: nothing partial is ever visible). This file adds what only a command has:
//! Ctrl-C/SIGTERM, the live display, the summary on stdout and the JSON report file (the
//! run's lineage: inputs, outputs, every plugin's name, version and sha256).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use quiver_host::Runtime;
use quiver_job::{Io, Job, RunReport};
use quiver_pipeline::Progress;
use quiver_spec::Context as Reader;

use crate::args::{CeilingArgs, NatsArgs, PluginPathArgs, SpecArgs};
use crate::progress::Display;

/// Arguments of `quiver run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The pipeline file (TOML, or JSON with a `.json` extension).
    #[arg(env = "QUIVER_PIPELINE")]
    pipeline: PathBuf,
    /// Write a JSON run report to this file.
    #[arg(long, env = "QUIVER_REPORT")]
    report: Option<PathBuf>,
    /// No live progress display, even on a terminal.
    #[arg(long, short, env = "QUIVER_QUIET")]
    quiet: bool,
    /// Run distributed: split the pipeline into one task per input file (per run of row
    /// groups for a large Parquet file) on this NATS JetStream server, where `quiver worker`
    /// processes run them; commit when every task is in.
    #[arg(long, value_name = "URL", env = "QUIVER_WORKERS")]
    workers: Option<String>,
    /// With --workers: a Parquet input of more compressed bytes than this is split into
    /// tasks of consecutive row groups of at most about this size (a row group is never
    /// split).
    #[arg(long, value_name = "SIZE", env = "QUIVER_TASK_SIZE", default_value = "128MiB", value_parser = crate::args::parse_bytes)]
    task_size: bytesize::ByteSize,
    #[command(flatten)]
    nats: NatsArgs,
    #[command(flatten)]
    overrides: SpecArgs,
    #[command(flatten)]
    ceiling: CeilingArgs,
    #[command(flatten)]
    plugin_path: PluginPathArgs,
}

/// Resolves on the first Ctrl-C or SIGTERM.
pub(crate) fn interrupted() -> impl std::future::Future<Output = ()> + Send + 'static {
    // The handlers are installed here, when this is called, not when the future is first
    // polled: a signal arriving in between would otherwise meet the default action and end
    // the process (a server told to stop right after it printed its address was killed
    // instead of draining). Must be called inside the tokio runtime.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        async move {
            match streams {
                (Ok(mut int), Ok(mut term)) => tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                },
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// [`interrupted`], its handlers installed now on `io`'s runtime.
pub(crate) fn interrupted_on(io: &Io) -> impl std::future::Future<Output = ()> + Send + 'static {
    let _runtime = io.handle().enter();
    interrupted()
}

/// Cancel the run on Ctrl-C or SIGTERM: the engine stops, nothing is committed. A stream
/// run is drained instead — it never ends by itself: what was read is committed and
/// acknowledged — and cancelled on a second signal.
fn cancel_on_signal(io: &Io, progress: &Arc<Progress>, stream: bool) {
    let progress = progress.clone();
    let first = interrupted_on(io);
    io.handle().spawn(async move {
        first.await;
        if stream {
            tracing::warn!("stopping: the stream run drains, commits and acknowledges what it read (again to cancel)");
            progress.stop_intake();
            interrupted().await;
        }
        tracing::warn!("stopping: the run is cancelled and nothing will be committed");
        progress.cancel();
    });
}

/// Run the pipeline and print its summary.
pub fn run(args: &RunArgs) -> Result<()> {
    if let Some(url) = &args.workers {
        return distributed(args, url);
    }
    let loaded = quiver_spec::load_file(&args.pipeline, &args.overrides.sets, Reader::Cli)?;
    let io = Io::new()?;
    let runtime = Arc::new(Runtime::new(args.ceiling.runtime_config())?);
    let resolver = args
        .plugin_path
        .resolver(runtime)
        .with_instance_ceiling(args.ceiling.instance_ceiling());
    let shown = args.pipeline.display().to_string();
    let job = Job::open(shown, &loaded.read, &resolver, &io, &loaded.base, None)?;
    let progress = Arc::new(Progress::new(job.stage_names()));
    cancel_on_signal(&io, &progress, job.is_stream());
    let display = Display::start(progress.clone(), !args.quiet);
    let report = job.run(&progress);
    display.stop();
    let report = report?;
    // The summary goes to stdout, unless the data does.
    if loaded
        .read
        .pipeline
        .sink
        .io()
        .is_some_and(|s| s.path == "-")
    {
        print_summary(&mut std::io::stderr(), &report)?;
    } else {
        print_summary(&mut std::io::stdout(), &report)?;
    }
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing the report {}", path.display()))?;
    }
    Ok(())
}

/// A list of names as `a, b, c`, or `a, b, … (N in all)` when long.
fn names(list: &[String]) -> String {
    match list.len() {
        0 => "nothing".into(),
        1..=3 => list.join(", "),
        n => format!("{}, … ({n} in all)", list[..2].join(", ")),
    }
}

fn print_summary(out: &mut dyn std::io::Write, r: &RunReport) -> std::io::Result<()> {
    let secs = r.elapsed_ms / 1e3;
    writeln!(
        out,
        "read {} rows from {}, wrote {} rows ({}) to {} in {:.2} s ({:.0} rows/s)",
        r.rows_read,
        names(&r.inputs),
        r.rows_written,
        bytesize::ByteSize(r.bytes_written).display().si(),
        names(&r.outputs),
        secs,
        r.rows_read as f64 / secs.max(1e-9)
    )?;
    if r.rows_skipped + r.rows_dead_lettered > 0 {
        writeln!(
            out,
            "failed rows: {} skipped, {} dead-lettered to {}",
            r.rows_skipped,
            r.rows_dead_lettered,
            names(&r.dead_letter)
        )?;
    }
    writeln!(
        out,
        "{:<14} {:<22} {:>10} {:>10} {:>9} {:>10} {:>10}",
        "stage", "plugin", "rows in", "rows out", "batches", "busy ms", "start ms"
    )?;
    for s in &r.stages {
        writeln!(
            out,
            "{:<14} {:<22} {:>10} {:>10} {:>9} {:>10.1} {:>10.1}",
            s.name,
            format!("{}@{}", s.plugin, s.version),
            s.rows_in,
            s.rows_out,
            s.batches_in,
            s.busy_ms,
            s.startup_ms
        )?;
        if s.rows_skipped + s.rows_dead_lettered > 0 {
            writeln!(
                out,
                "{:<14}   failed rows: {} skipped, {} dead-lettered ({:?})",
                "", s.rows_skipped, s.rows_dead_lettered, s.errors
            )?;
        }
        for (k, v) in &s.counters {
            // Counter names are the plugin's text: never raw on a terminal.
            writeln!(
                out,
                "{:<14}   {}: {v}",
                "",
                quiver_host::printable(k, false)
            )?;
        }
        if s.logs_dropped + s.counters_dropped > 0 {
            writeln!(
                out,
                "{:<14}   over the plugin's limits: {} log records and {} counter bumps dropped",
                "", s.logs_dropped, s.counters_dropped
            )?;
        }
    }
    Ok(())
}

/// `quiver run --workers URL`: coordinate a distributed run and print its summary.
fn distributed(args: &RunArgs, url: &str) -> Result<()> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let io = Io::new()?;
    let runtime = Arc::new(Runtime::new(args.ceiling.runtime_config())?);
    let resolver = args.plugin_path.resolver(runtime);
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = Arc::clone(&cancel);
        let signal = interrupted_on(&io);
        io.handle().spawn(async move {
            signal.await;
            tracing::warn!("stopping: the run's tasks are withdrawn and nothing will be committed");
            cancel.store(true, Ordering::Relaxed);
        });
    }
    let report = quiver_job::distributed::coordinate(
        &args.pipeline,
        &args.overrides.sets,
        &resolver,
        &io,
        &quiver_job::distributed::Cluster {
            task_bytes: args.task_size.as_u64(),
            ..args.nats.cluster(url)
        },
        &cancel,
    )?;
    println!(
        "read {} rows in {} tasks, wrote {} rows in {} parts to {} in {:.2} s ({:.0} rows/s)",
        report.rows_read,
        report.tasks,
        report.rows_written,
        report.parts,
        report.output,
        report.elapsed_ms / 1e3,
        report.rows_read as f64 / (report.elapsed_ms / 1e3).max(1e-9)
    );
    for (worker, tasks) in &report.workers {
        println!("worker {worker}: {tasks} tasks");
    }
    if report.tasks_redelivered > 0 {
        println!(
            "{} tasks ran again (a worker died or was too slow)",
            report.tasks_redelivered
        );
    }
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing the report {}", path.display()))?;
    }
    Ok(())
}
