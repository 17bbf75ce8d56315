//! `quiver validate PIPELINE`: everything `run` checks before data flows, without running.
//!
//! Parses the pipeline file, reads the source's schema (the header or footer of its first
//! input, never its data), loads every plugin,
//! and negotiates schemas through every stage. Every problem found is reported — every
//! plugin that does not load, every stage setting that is wrong — not just the first;
//! schema negotiation stops at the first stage that fails, since the stages after it have
//! no input schema to check against. On success it prints the schema after every stage.

use std::path::PathBuf;

use anyhow::Result;
use quiver_host::Runtime;

use crate::ceiling::CeilingArgs;
use crate::run::{all_problems, build_plans, plan_problems};
use crate::spec::{SpecArgs, load_spec};
use crate::stream::Io;

/// Arguments of `quiver validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The pipeline file (TOML).
    #[arg(env = "QUIVER_PIPELINE")]
    pipeline: PathBuf,
    #[command(flatten)]
    overrides: SpecArgs,
    #[command(flatten)]
    ceiling: CeilingArgs,
}

/// Check the pipeline and print what flows through it.
pub fn run(args: &ValidateArgs) -> Result<()> {
    let (spec, base) = load_spec(&args.pipeline, &args.overrides)?;
    let runtime = Runtime::new(args.ceiling.runtime_config())?;
    let mut problems = Vec::new();
    let io = Io::new()?;
    let source = io.open_source(&spec.source, &base);
    let plans = build_plans(&spec, &base, &runtime);
    let (source, plans) = match (source, plans) {
        (Ok(source), Ok(plans)) => (source, plans),
        (source, plans) => {
            if let Err(e) = source {
                problems.push(anyhow::Error::new(e).context("source.path"));
            }
            if let Err(p) = plans {
                problems.extend(p);
            }
            return Err(all_problems(problems));
        }
    };
    let prepared = quiver_pipeline::prepare(source.schema.clone(), plans).map_err(plan_problems)?;
    println!("{}: valid", args.pipeline.display());
    println!(
        "source {} ({}):",
        spec.source.path,
        source.inputs.join(", ")
    );
    print_schema(&source.schema);
    for (name, schema) in prepared.stage_schemas() {
        println!("after stage {name}:");
        print_schema(&schema);
    }
    Ok(())
}

fn print_schema(schema: &arrow_schema::Schema) {
    for f in schema.fields() {
        let null = if f.is_nullable() { "" } else { " not null" };
        println!("  {}: {}{null}", f.name(), f.data_type());
    }
}
