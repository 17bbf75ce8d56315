//! `quiver run PIPELINE`: a pipeline file (TOML) read once, run by the engine, summarised.
//!
//! This file turns the pipeline file into the engine's terms (`quiver_pipeline::StagePlan`s,
//! a source, a sink, an optional dead-letter file), runs it, commits the outputs only when
//! everything succeeded, and prints the summary and the JSON report (the run's lineage:
//! inputs, outputs, every plugin's name, version and sha256).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use quiver_host::{Grants, Limits, Metering, Runtime, Sandbox};
use quiver_pipeline::engine::BoxError;
use quiver_pipeline::{BatchSink, ErrorPolicy, Progress, StagePlan, StageStats};
use serde::Deserialize;

use crate::ceiling::CeilingArgs;
use crate::dead_letter::DeadLetterFile;
use crate::exit::Coded;
use crate::io::{Sink, open_source};

/// Arguments of `quiver run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The pipeline file (TOML).
    #[arg(env = "QUIVER_PIPELINE")]
    pipeline: PathBuf,
    /// Write a JSON run report to this file.
    #[arg(long, env = "QUIVER_REPORT")]
    report: Option<PathBuf>,
    #[command(flatten)]
    ceiling: CeilingArgs,
}

/// A pipeline file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineSpec {
    /// Where the batches come from.
    source: SourceSpec,
    /// Plugin stages, in order.
    #[serde(default, rename = "stage")]
    stages: Vec<StageSpec>,
    /// Where the batches go.
    sink: SinkSpec,
    /// Where batches of `on_error = "dead-letter"` stages go (NDJSON).
    dead_letter: Option<SinkSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSpec {
    /// Input file, relative to the pipeline file.
    path: PathBuf,
    /// Rows per batch read from the source.
    #[serde(default = "default_batch_rows")]
    batch_rows: usize,
}

fn default_batch_rows() -> usize {
    8192
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StageSpec {
    /// Stage name, for reports (defaults to the plugin's name).
    name: Option<String>,
    /// Plugin component, relative to the pipeline file.
    plugin: PathBuf,
    /// The plugin's config (any TOML table; passed to the plugin as JSON).
    #[serde(default)]
    config: Option<toml::Table>,
    /// Resource limits of the stage (defaults: see `quiver_host::Limits`).
    #[serde(default)]
    limits: Limits,
    /// Capabilities granted to the stage (default: none). Directory paths are relative to
    /// the pipeline file.
    #[serde(default)]
    grants: Grants,
    /// Plugin instances side by side (order is kept); only for stateless plugins.
    #[serde(default = "one")]
    parallelism: usize,
    /// `fail` (default), `skip` or `dead-letter`.
    #[serde(default)]
    on_error: ErrorPolicy,
    /// Re-cut incoming batches to this many rows.
    batch_rows: Option<usize>,
}

fn one() -> usize {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkSpec {
    /// Output file, relative to the pipeline file.
    path: PathBuf,
    /// Replace an existing file (default: refuse).
    #[serde(default)]
    overwrite: bool,
}

/// The run report (`--report`): what ran, on what, with what result.
#[derive(Debug, serde::Serialize)]
struct RunReport {
    pipeline: String,
    input: String,
    output: String,
    dead_letter: Option<String>,
    rows_read: u64,
    rows_written: u64,
    rows_dead_lettered: u64,
    elapsed_ms: f64,
    /// Peak resident memory of this process (Linux `VmHWM`), when known.
    peak_rss_bytes: Option<u64>,
    stages: Vec<StageStats>,
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

/// The engine's sink: the output file.
struct FileSink(Sink);

impl BatchSink for FileSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), BoxError> {
        self.0.write(batch).map_err(BoxError::from)
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

/// Run the pipeline and print its summary.
pub fn run(args: &RunArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.pipeline).map_err(|e| {
        Coded::config(format!(
            "cannot read pipeline file {}: {e}",
            args.pipeline.display()
        ))
    })?;
    let spec: PipelineSpec = toml::from_str(&text)
        .map_err(|e| Coded::config(format!("pipeline file {}: {e}", args.pipeline.display())))?;
    let base = args.pipeline.parent().unwrap_or(Path::new("."));
    let started = Instant::now();

    let runtime = Runtime::new(args.ceiling.runtime_config())?;
    let input = resolve(base, &spec.source.path);
    let source = open_source(&input, spec.source.batch_rows.max(1))?;

    // Negotiate schemas through every stage before any data is read.
    let mut plans = Vec::with_capacity(spec.stages.len());
    for (i, s) in spec.stages.iter().enumerate() {
        let metering = if s.limits.fuel.is_some() {
            Metering::Fuel
        } else {
            Metering::Epoch
        };
        let plugin = runtime
            .load_file_metered(&resolve(base, &s.plugin), metering)
            .with_context(|| format!("stage[{i}].plugin"))?;
        let mut grants = s.grants.clone();
        for d in &mut grants.dirs {
            d.host = resolve(base, &d.host);
        }
        if s.parallelism == 0 {
            return Err(Coded::config(format!(
                "stage[{i}].parallelism must be at least 1"
            )));
        }
        plans.push(StagePlan {
            name: s.name.clone().unwrap_or_else(|| plugin.name().to_owned()),
            config: serde_json::to_string(&s.config.clone().unwrap_or_default())?,
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
    let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
    let prepared = quiver_pipeline::prepare(source.schema.clone(), plans).map_err(|errors| {
        let mut e = anyhow::Error::new(errors[0].error.clone());
        e = e.context(format!(
            "stage[{}] ({}): creating the transformer",
            errors[0].index, errors[0].name
        ));
        e
    })?;
    let output = resolve(base, &spec.sink.path);
    let mut sink = FileSink(Sink::create(
        &output,
        &prepared.output_schema(),
        spec.sink.overwrite,
    )?);
    let mut dead_letter = match &spec.dead_letter {
        Some(d) => Some(DeadLetterFile::create(
            &resolve(base, &d.path),
            d.overwrite,
        )?),
        None => None,
    };

    let progress = Progress::new(names);
    let shown = input.display().to_string();
    let batches =
        Box::new(source.batches.map(move |b| {
            b.map_err(|e| BoxError::from(Coded::data_error(format!("{shown}: {e}"))))
        }));
    let outcome = quiver_pipeline::run(
        prepared,
        batches,
        &mut sink,
        dead_letter
            .as_mut()
            .map(|d| d as &mut dyn quiver_pipeline::DeadLetter),
        &progress,
    )?;
    // Everything succeeded: only now do the outputs appear at their paths.
    let committed = sink.0.commit()?;
    let dead_lettered = match dead_letter {
        Some(d) => d.commit()?,
        None => None,
    };

    let report = RunReport {
        pipeline: args.pipeline.display().to_string(),
        input: input.display().to_string(),
        output: committed.display().to_string(),
        dead_letter: dead_lettered.map(|p| p.display().to_string()),
        rows_read: outcome.rows_read,
        rows_written: outcome.rows_written,
        rows_dead_lettered: outcome.rows_dead_lettered,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        peak_rss_bytes: peak_rss_bytes(),
        stages: outcome.stages,
    };
    print_summary(&report);
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing the report {}", path.display()))?;
    }
    Ok(())
}

fn print_summary(r: &RunReport) {
    let secs = r.elapsed_ms / 1e3;
    println!(
        "read {} rows from {}, wrote {} rows to {} in {:.2} s ({:.0} rows/s)",
        r.rows_read,
        r.input,
        r.rows_written,
        r.output,
        secs,
        r.rows_read as f64 / secs.max(1e-9)
    );
    println!(
        "{:<14} {:<22} {:>10} {:>10} {:>9} {:>10}",
        "stage", "plugin", "rows in", "rows out", "batches", "busy ms"
    );
    for s in &r.stages {
        println!(
            "{:<14} {:<22} {:>10} {:>10} {:>9} {:>10.1}",
            s.name,
            format!("{}@{}", s.plugin, s.version),
            s.rows_in,
            s.rows_out,
            s.batches_in,
            s.busy_ms
        );
        if s.rows_skipped + s.rows_dead_lettered > 0 {
            println!(
                "{:<14}   failed rows: {} skipped, {} dead-lettered ({:?})",
                "", s.rows_skipped, s.rows_dead_lettered, s.errors
            );
        }
        for (k, v) in &s.counters {
            println!("{:<14}   {k}: {v}", "");
        }
    }
}
