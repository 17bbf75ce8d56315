//! `quiver validate PIPELINE`: everything `run` checks before data flows, without running.
//!
//! Reads the pipeline document (TOML, or JSON with a `.json` extension), reads the source's
//! schema (the header or footer of its first input, never its data; the declared columns of
//! an `api` source), resolves and loads every plugin and negotiates schemas through every
//! stage — all through `quiver-job`, exactly as `run` and `quiver serve` do. Every problem
//! found is reported with its field path (and line, in TOML), not just the first; schema
//! negotiation stops at the first stage that fails, since the stages after it have no input
//! schema to check against. On success it prints the schema after every stage.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use quiver_host::Runtime;
use quiver_job::Io;

use crate::args::{CeilingArgs, PluginPathArgs, SpecArgs};

/// Arguments of `quiver validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The pipeline file (TOML, or JSON with a `.json` extension).
    #[arg(env = "QUIVER_PIPELINE")]
    pipeline: PathBuf,
    #[command(flatten)]
    overrides: SpecArgs,
    #[command(flatten)]
    ceiling: CeilingArgs,
    #[command(flatten)]
    plugin_path: PluginPathArgs,
    /// Print the result as JSON on stdout (`valid`, and `problems` — each with `field`,
    /// `message` and, in TOML files, `line` — or the schema after every stage); the exit
    /// code is the same.
    #[arg(long, env = "QUIVER_JSON")]
    json: bool,
}

/// Check the pipeline and print what flows through it.
pub fn run(args: &ValidateArgs) -> Result<()> {
    let checked = check(args);
    if !args.json {
        let (loaded, checked, source) = checked?;
        return print_text(args, &loaded, &checked, source);
    }
    let doc = match &checked {
        Ok((_, checked, _)) => serde_json::json!({
            "valid": true,
            "source": columns(&checked.source_schema),
            "stages": checked.stages.iter().map(|s| serde_json::json!({
                "name": s.name,
                "plugin": s.plugin.name,
                "version": s.plugin.version,
                "sha256": s.plugin.sha256,
                "origin": s.origin.to_string(),
                "output": columns(&s.output),
            })).collect::<Vec<_>>(),
        }),
        Err(e) => match e.downcast_ref::<quiver_spec::Problems>() {
            Some(p) => serde_json::json!({"valid": false, "problems": p.problems}),
            None => serde_json::json!({
                "valid": false,
                "problems": [{"field": "", "message": format!("{e:#}")}],
            }),
        },
    };
    println!("{}", serde_json::to_string_pretty(&doc)?);
    checked.map(|_| ())
}

/// The pipeline read and checked, with its source opened (schema only).
fn check(
    args: &ValidateArgs,
) -> Result<(
    quiver_spec::Loaded,
    quiver_job::Checked,
    Option<quiver_io::Source>,
)> {
    let loaded = quiver_spec::load_file(
        &args.pipeline,
        &args.overrides.sets,
        quiver_spec::Context::Cli,
    )?;
    let runtime = Arc::new(Runtime::new(args.ceiling.runtime_config())?);
    let resolver = args
        .plugin_path
        .resolver(runtime)
        .with_instance_ceiling(args.ceiling.instance_ceiling());
    let io = Io::new()?;
    let (checked, source) =
        quiver_job::check(&loaded.read, &resolver, &io, &loaded.base, &loaded.subject)?;
    Ok((loaded, checked, source))
}

/// A NATS URL without credentials.
fn quiver_stream_shown(url: &str) -> String {
    quiver_job::nats_url_shown(url)
}

fn print_text(
    args: &ValidateArgs,
    loaded: &quiver_spec::Loaded,
    checked: &quiver_job::Checked,
    source: Option<quiver_io::Source>,
) -> Result<()> {
    println!("{}: valid", args.pipeline.display());
    match (&loaded.read.pipeline.source, source) {
        (quiver_spec::Source::Io(spec), Some(source)) => {
            println!("source {} ({}):", spec.path, source.inputs.join(", "));
        }
        (quiver_spec::Source::Nats(n), _) => println!(
            "source {} stream {} (consumer {}):",
            quiver_stream_shown(&n.url),
            n.stream,
            n.consumer
        ),
        (quiver_spec::Source::Kafka(k), _) => println!(
            "source kafka://{} topic {} (group {}):",
            k.brokers, k.topic, k.group
        ),
        _ => println!("source api (pushed to quiver serve):"),
    }
    print_schema(&checked.source_schema);
    for stage in &checked.stages {
        println!(
            "after stage {} ({}@{}, {}):",
            stage.name, stage.plugin.name, stage.plugin.version, stage.origin
        );
        print_schema(&stage.output);
    }
    Ok(())
}

/// `name: type` for each column.
fn columns(schema: &arrow_schema::Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let null = if f.is_nullable() { "" } else { " not null" };
            format!("{}: {}{null}", f.name(), f.data_type())
        })
        .collect()
}

fn print_schema(schema: &arrow_schema::Schema) {
    for c in columns(schema) {
        println!("  {c}");
    }
}
