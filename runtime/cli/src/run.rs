//! `quiver run PIPELINE`: a pipeline file read once, run by the engine, summarised.
//!
//! This file turns the pipeline file into the engine's terms (`quiver_pipeline::StagePlan`s,
//! a quiver-io source, sink and optional dead-letter sink), runs it, commits the outputs only
//! when everything succeeded (and aborts them otherwise: nothing partial is ever visible),
//! and prints the summary and the JSON report (the run's lineage: inputs, outputs, every
//! plugin's name, version and sha256).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use quiver_host::{Metering, Plugin, Runtime, Sandbox};
use quiver_pipeline::{Progress, StagePlan, StageStats};

use crate::ceiling::CeilingArgs;
use crate::exit::Coded;
use crate::progress::Display;
use crate::spec::{PipelineSpec, SpecArgs, StageSpec, load_spec};
use crate::stream::{DeadLetterSink, Io};

/// Arguments of `quiver run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The pipeline file (TOML).
    #[arg(env = "QUIVER_PIPELINE")]
    pipeline: PathBuf,
    /// Write a JSON run report to this file.
    #[arg(long, env = "QUIVER_REPORT")]
    report: Option<PathBuf>,
    /// No live progress display, even on a terminal.
    #[arg(long, short, env = "QUIVER_QUIET")]
    quiet: bool,
    #[command(flatten)]
    overrides: SpecArgs,
    #[command(flatten)]
    ceiling: CeilingArgs,
}

/// The run report (`--report`): what ran, on what, with what result.
#[derive(Debug, serde::Serialize)]
pub(crate) struct RunReport {
    pipeline: String,
    /// Every input read, in order (a glob expands to many; no credentials).
    inputs: Vec<String>,
    /// Every output committed (one file, or the parts of a directory).
    outputs: Vec<String>,
    /// Bytes committed to the outputs.
    bytes_written: u64,
    /// The dead-letter outputs, when any row was dead-lettered.
    dead_letter: Vec<String>,
    rows_read: u64,
    rows_written: u64,
    rows_skipped: u64,
    rows_dead_lettered: u64,
    elapsed_ms: f64,
    /// Peak resident memory of this process (Linux `VmHWM`), when known.
    peak_rss_bytes: Option<u64>,
    stages: Vec<StageStats>,
}

impl RunReport {
    /// The report of a committed run.
    pub(crate) fn new(
        pipeline: String,
        inputs: Vec<String>,
        committed: quiver_io::Committed,
        dead_lettered: Option<quiver_io::Committed>,
        outcome: quiver_pipeline::RunOutcome,
        started: Instant,
    ) -> Self {
        RunReport {
            pipeline,
            inputs,
            outputs: committed.outputs,
            bytes_written: committed.bytes,
            dead_letter: dead_lettered.map(|c| c.outputs).unwrap_or_default(),
            rows_read: outcome.rows_read,
            rows_written: outcome.rows_written,
            rows_skipped: outcome.stages.iter().map(|s| s.rows_skipped).sum(),
            rows_dead_lettered: outcome.rows_dead_lettered,
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
            peak_rss_bytes: peak_rss_bytes(),
            stages: outcome.stages,
        }
    }
}

/// The process's peak resident set size, from `/proc/self/status` (Linux only).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

pub(crate) fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

/// Load every stage's plugin and build its plan. All stages are tried: the error lists
/// every stage that failed, each naming its key in the pipeline file.
pub(crate) fn build_plans(
    spec: &PipelineSpec,
    base: &Path,
    runtime: &Runtime,
) -> Result<Vec<StagePlan>, Vec<anyhow::Error>> {
    build_plans_with(&spec.stages, base, |s, metering| {
        runtime
            .load_file_metered(&resolve(base, &s.plugin), metering)
            .map_err(anyhow::Error::new)
    })
}

/// [`build_plans`] with the plugins found by `load` (the server loads them from its store
/// by name and version instead of from files).
pub(crate) fn build_plans_with(
    stages: &[StageSpec],
    base: &Path,
    mut load: impl FnMut(&StageSpec, Metering) -> Result<Plugin>,
) -> Result<Vec<StagePlan>, Vec<anyhow::Error>> {
    let mut plans = Vec::with_capacity(stages.len());
    let mut problems = Vec::new();
    for (i, s) in stages.iter().enumerate() {
        let metering = if s.limits.fuel.is_some() {
            Metering::Fuel
        } else {
            Metering::Epoch
        };
        if s.parallelism == 0 {
            problems.push(Coded::config(format!(
                "stage[{i}].parallelism must be at least 1"
            )));
        }
        if s.batch_rows == Some(0) {
            problems.push(Coded::config(format!(
                "stage[{i}].batch_rows must be at least 1"
            )));
        }
        let plugin = match load(s, metering) {
            Ok(p) => p,
            Err(e) => {
                problems.push(e.context(format!("stage[{i}].plugin")));
                continue;
            }
        };
        let mut grants = s.grants.clone();
        for d in &mut grants.dirs {
            d.host = resolve(base, &d.host);
        }
        let config = match serde_json::to_string(&s.config.clone().unwrap_or_default()) {
            Ok(c) => c,
            Err(e) => {
                problems.push(Coded::config(format!(
                    "stage[{i}].config cannot be passed to the plugin as JSON: {e}"
                )));
                continue;
            }
        };
        plans.push(StagePlan {
            name: s.name.clone().unwrap_or_else(|| plugin.name().to_owned()),
            config,
            plugin,
            sandbox: Sandbox {
                limits: s.limits.clone(),
                grants,
            },
            parallelism: s.parallelism,
            on_error: s.on_error,
            batch_rows: s.batch_rows,
        });
    }
    if problems.is_empty() {
        Ok(plans)
    } else {
        Err(problems)
    }
}

/// A list of problems as one error, with the exit code of the first.
pub(crate) fn all_problems(mut problems: Vec<anyhow::Error>) -> anyhow::Error {
    if problems.len() == 1 {
        return problems.remove(0);
    }
    let code = problems.first().map_or(70, crate::exit::code_of);
    let text: Vec<String> = problems.iter().map(|p| format!("  - {p:#}")).collect();
    Coded {
        code,
        message: format!("{} problems:\n{}", text.len(), text.join("\n")),
    }
    .into()
}

/// The stages `prepare` could not create, as one error naming each stage.
pub(crate) fn plan_problems(errors: Vec<quiver_pipeline::PlanError>) -> anyhow::Error {
    all_problems(
        errors
            .into_iter()
            .map(|e| {
                let context = format!("stage[{}] ({}): creating the transformer", e.index, e.name);
                anyhow::Error::new(e.error).context(context)
            })
            .collect(),
    )
}

/// Resolves on the first Ctrl-C or SIGTERM.
pub(crate) async fn interrupted() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            },
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Cancel the run on Ctrl-C or SIGTERM: the engine stops, nothing is committed.
fn cancel_on_signal(io: &Io, progress: &Arc<Progress>) {
    let progress = progress.clone();
    io.handle().spawn(async move {
        interrupted().await;
        tracing::warn!("stopping: the run is cancelled and nothing will be committed");
        progress.cancel();
    });
}

/// Run the pipeline and print its summary.
pub fn run(args: &RunArgs) -> Result<()> {
    let (spec, base) = load_spec(&args.pipeline, &args.overrides)?;
    let base = base.as_path();
    let started = Instant::now();

    let io = Io::new()?;
    let runtime = Runtime::new(args.ceiling.runtime_config())?;
    let source = io.open_source(&spec.source, base).context("source.path")?;

    // Negotiate schemas through every stage before any data is read.
    let plans = build_plans(&spec, base, &runtime).map_err(all_problems)?;
    let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
    let prepared = quiver_pipeline::prepare(source.schema.clone(), plans).map_err(plan_problems)?;
    let mut sink = io
        .create_sink(&spec.sink, base, prepared.output_schema())
        .context("sink.path")?;
    let mut dead_letter = match &spec.dead_letter {
        Some(d) => Some(DeadLetterSink::create(&io, d, base).context("dead_letter.path")?),
        None => None,
    };

    let progress = Arc::new(Progress::new(names));
    cancel_on_signal(&io, &progress);
    let inputs = source.inputs.clone();
    let display = Display::start(progress.clone(), !args.quiet);
    let outcome = quiver_pipeline::run(
        prepared,
        io.batches(source),
        &mut sink,
        dead_letter
            .as_mut()
            .map(|d| d as &mut dyn quiver_pipeline::DeadLetter),
        &progress,
    );
    display.stop();
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            // Nothing of a failed run becomes visible: discard the outputs explicitly so
            // remote uploads are aborted now rather than left to expire.
            sink.abort();
            if let Some(d) = dead_letter {
                d.abort();
            }
            return Err(e.into());
        }
    };
    // Everything succeeded: only now do the outputs appear.
    let committed = sink.commit().context("committing sink.path")?;
    let dead_lettered = match dead_letter {
        Some(d) => d.finish().context("committing dead_letter.path")?,
        None => None,
    };

    let report = RunReport::new(
        args.pipeline.display().to_string(),
        inputs,
        committed,
        dead_lettered,
        outcome,
        started,
    );
    // The summary goes to stdout, unless the data does.
    if spec.sink.path == "-" {
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
        "{:<14} {:<22} {:>10} {:>10} {:>9} {:>10}",
        "stage", "plugin", "rows in", "rows out", "batches", "busy ms"
    )?;
    for s in &r.stages {
        writeln!(
            out,
            "{:<14} {:<22} {:>10} {:>10} {:>9} {:>10.1}",
            s.name,
            format!("{}@{}", s.plugin, s.version),
            s.rows_in,
            s.rows_out,
            s.batches_in,
            s.busy_ms
        )?;
        if s.rows_skipped + s.rows_dead_lettered > 0 {
            writeln!(
                out,
                "{:<14}   failed rows: {} skipped, {} dead-lettered ({:?})",
                "", s.rows_skipped, s.rows_dead_lettered, s.errors
            )?;
        }
        for (k, v) in &s.counters {
            writeln!(out, "{:<14}   {k}: {v}", "")?;
        }
    }
    Ok(())
}
