//! `quiver run PIPELINE`: a pipeline file (TOML) read once, run batch by batch, summarised.
//!
//! This is the first, sequential form of the pipeline engine: one source file, an ordered
//! list of plugin stages, one sink file. Schemas are negotiated through every stage (each
//! transformer is created from the previous stage's output schema) before the first batch is
//! read; at end of stream `finish` is called on every stage in order and what a stage
//! flushes flows through the stages after it. The sink is committed only when everything
//! succeeded.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use quiver_host::{Grants, Limits, Metering, Runtime, Sandbox, Transformer};
use serde::Deserialize;

use crate::ceiling::CeilingArgs;
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

/// What one stage did.
#[derive(Debug, Default, serde::Serialize)]
struct StageReport {
    name: String,
    plugin: String,
    version: String,
    sha256: String,
    rows_in: u64,
    rows_out: u64,
    batches_in: u64,
    batches_out: u64,
    busy_ms: f64,
    counters: std::collections::BTreeMap<String, u64>,
    usage: UsageReport,
}

/// What one stage's plugin used (see `quiver_host::Usage`).
#[derive(Debug, Default, serde::Serialize)]
struct UsageReport {
    calls: u64,
    fuel_consumed: Option<u64>,
    peak_memory_bytes: u64,
    instances_created: u64,
    errors: std::collections::BTreeMap<&'static str, u64>,
    stdout_bytes: u64,
    stderr_bytes: u64,
    logs_dropped: u64,
    capability_denials: u64,
    quarantined: bool,
}

impl From<&quiver_host::Usage> for UsageReport {
    fn from(u: &quiver_host::Usage) -> Self {
        Self {
            calls: u.calls,
            fuel_consumed: u.fuel_consumed,
            peak_memory_bytes: u.peak_memory_bytes,
            instances_created: u.instances_created,
            errors: u.errors.clone(),
            stdout_bytes: u.stdout_bytes,
            stderr_bytes: u.stderr_bytes,
            logs_dropped: u.logs_dropped,
            capability_denials: u.capability_denials,
            quarantined: u.quarantined,
        }
    }
}

/// The run report (`--report`): what ran, on what, with what result.
#[derive(Debug, serde::Serialize)]
struct RunReport {
    pipeline: String,
    input: String,
    output: String,
    rows_read: u64,
    rows_written: u64,
    elapsed_ms: f64,
    stages: Vec<StageReport>,
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
    let mut schema = source.schema.clone();
    let mut stages: Vec<(Transformer, StageReport, Duration)> =
        Vec::with_capacity(spec.stages.len());
    for (i, s) in spec.stages.iter().enumerate() {
        let metering = if s.limits.fuel.is_some() {
            Metering::Fuel
        } else {
            Metering::Epoch
        };
        let plugin = runtime
            .load_file_metered(&resolve(base, &s.plugin), metering)
            .with_context(|| format!("stage[{i}].plugin"))?;
        let config = serde_json::to_string(&s.config.clone().unwrap_or_default())?;
        let mut grants = s.grants.clone();
        for d in &mut grants.dirs {
            d.host = resolve(base, &d.host);
        }
        let sandbox = Sandbox {
            limits: s.limits.clone(),
            grants,
        };
        let t = plugin
            .transformer(&config, schema.clone(), &sandbox)
            .with_context(|| format!("stage[{i}] ({}): creating the transformer", plugin.name()))?;
        schema = t.output_schema();
        let report = StageReport {
            name: s.name.clone().unwrap_or_else(|| plugin.name().to_owned()),
            plugin: plugin.name().to_owned(),
            version: plugin.version().to_owned(),
            sha256: plugin.sha256().to_owned(),
            ..StageReport::default()
        };
        stages.push((t, report, Duration::ZERO));
    }
    let output = resolve(base, &spec.sink.path);
    let mut sink = Sink::create(&output, &schema, spec.sink.overwrite)?;

    let mut rows_read = 0u64;
    let mut rows_written = 0u64;
    for batch in source.batches {
        let batch = batch.map_err(|e| Coded::data(format!("{}: {e}", input.display())))?;
        rows_read += batch.num_rows() as u64;
        for out in push(&mut stages, 0, vec![batch])? {
            rows_written += out.num_rows() as u64;
            sink.write(&out)?;
        }
    }
    // End of stream: finish every stage in order; what it flushes goes through the rest.
    for i in 0..stages.len() {
        let (t, report, busy) = &mut stages[i];
        let t0 = Instant::now();
        let flushed = t
            .finish()
            .with_context(|| format!("stage {} finishing", report.name))?;
        *busy += t0.elapsed();
        report.batches_out += flushed.len() as u64;
        report.rows_out += flushed.iter().map(|b| b.num_rows() as u64).sum::<u64>();
        for out in push(&mut stages, i + 1, flushed)? {
            rows_written += out.num_rows() as u64;
            sink.write(&out)?;
        }
    }
    let committed = sink.commit()?;

    let stages: Vec<StageReport> = stages
        .into_iter()
        .map(|(t, mut r, busy)| {
            r.busy_ms = busy.as_secs_f64() * 1e3;
            r.counters = t.counters().clone();
            r.usage = UsageReport::from(t.usage());
            r
        })
        .collect();
    let report = RunReport {
        pipeline: args.pipeline.display().to_string(),
        input: input.display().to_string(),
        output: committed.display().to_string(),
        rows_read,
        rows_written,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        stages,
    };
    print_summary(&report);
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing the report {}", path.display()))?;
    }
    Ok(())
}

/// Send `batches` through stages `from..` and return what comes out of the last one.
fn push(
    stages: &mut [(Transformer, StageReport, Duration)],
    from: usize,
    mut batches: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>> {
    for (t, report, busy) in stages.iter_mut().skip(from) {
        let mut next = Vec::with_capacity(batches.len());
        for b in &batches {
            report.batches_in += 1;
            report.rows_in += b.num_rows() as u64;
            let t0 = Instant::now();
            let out = t
                .process(b)
                .with_context(|| format!("stage {}", report.name))?;
            *busy += t0.elapsed();
            report.batches_out += out.len() as u64;
            report.rows_out += out.iter().map(|b| b.num_rows() as u64).sum::<u64>();
            next.extend(out);
        }
        batches = next;
    }
    Ok(batches)
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
        for (k, v) in &s.counters {
            println!("{:<14}   {k}: {v}", "");
        }
    }
}
