//! Pipeline documents of the server: the pipeline file's structure, as JSON, with two
//! differences — a stage's `plugin` names a stored plugin (`name` follows the latest
//! version, `name@version` pins one) instead of a file, and the source may be the API
//! itself (`"source": {"api": {"schema": [...]}}`: clients push batches to the run).
//!
//! Parsing reports every problem with the field it is about (`stage.1.on_error`), and
//! [`check`] then does what `quiver validate` does: resolves and loads every plugin, reads
//! the source's schema, and negotiates schemas through every stage.

use std::path::Path;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use quiver_io::{ColumnSpec, SinkSpec, SourceSpec, schema_of};
use serde::Deserialize;

use super::catalogue::{Catalogue, PluginRef, PluginVersion};
use super::error::Problem;
use crate::run::build_plans_with;
use crate::spec::StageSpec;
use crate::stream::Io;

/// The keys a pipeline document may have.
const KEYS: &[&str] = &["source", "stage", "sink", "dead_letter"];

/// A source that is the API: runs accept batches on `POST /v1/runs/{id}/batches`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSource {
    /// The columns pushed batches must have (CSV and NDJSON bodies are read with these
    /// types; Arrow bodies must match them).
    pub schema: Vec<ColumnSpec>,
    /// Batches accepted but not yet taken by the first stage, at most (backpressure: a push
    /// beyond it waits). Default 4.
    #[serde(default = "default_queue")]
    pub queue_batches: usize,
}

fn default_queue() -> usize {
    4
}

/// Where a server pipeline's batches come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Pushed through the API.
    Api(ApiSource),
    /// Read by quiver-io, as in a pipeline file.
    Io(SourceSpec),
}

/// A parsed pipeline document.
#[derive(Debug)]
pub struct Pipeline {
    /// The source.
    pub source: Source,
    /// The stages, in order.
    pub(crate) stages: Vec<StageSpec>,
    /// Each stage's plugin reference (parsed from `stages[i].plugin`).
    pub refs: Vec<PluginRef>,
    /// The sink.
    pub sink: SinkSpec,
    /// The dead-letter sink.
    pub dead_letter: Option<SinkSpec>,
}

fn section<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| {
            let mut at = field.to_owned();
            for segment in e.path().iter() {
                use serde_path_to_error::Segment;
                let part = match segment {
                    Segment::Seq { index } => index.to_string(),
                    Segment::Map { key } => key.clone(),
                    Segment::Enum { variant } => variant.clone(),
                    Segment::Unknown => continue,
                };
                at = format!("{at}.{part}");
            }
            problems.push(Problem::new(at, e.inner().to_string()));
        })
        .ok()
}

/// Parse a pipeline document; every problem found, each with its field.
pub fn parse(doc: &serde_json::Value) -> Result<Pipeline, Vec<Problem>> {
    let Some(map) = doc.as_object() else {
        return Err(vec![Problem::new(
            "",
            "a pipeline is a JSON object with `source`, `stage`, `sink` and optionally \
             `dead_letter`",
        )]);
    };
    let mut problems = Vec::new();
    for key in map.keys() {
        if !KEYS.contains(&key.as_str()) {
            problems.push(Problem::new(
                key.clone(),
                format!("unknown key; a pipeline has {}", KEYS.join(", ")),
            ));
        }
    }
    let source = match map.get("source") {
        None => {
            problems.push(Problem::new(
                "source",
                "missing: where the batches come from",
            ));
            None
        }
        Some(s) => match s.get("api") {
            Some(api) => {
                if s.as_object().is_some_and(|o| o.len() > 1) {
                    problems.push(Problem::new(
                        "source",
                        "an `api` source has no other keys (path, format, ...)",
                    ));
                }
                section::<ApiSource>(api, "source.api", &mut problems).and_then(|a| {
                    if a.queue_batches == 0 {
                        problems.push(Problem::new(
                            "source.api.queue_batches",
                            "must be at least 1",
                        ));
                        None
                    } else {
                        Some(Source::Api(a))
                    }
                })
            }
            None => section::<SourceSpec>(s, "source", &mut problems).map(Source::Io),
        },
    };
    let stages: Vec<StageSpec> = match map.get("stage") {
        None => Vec::new(),
        Some(s) => section(s, "stage", &mut problems).unwrap_or_default(),
    };
    let mut refs = Vec::new();
    for (i, s) in stages.iter().enumerate() {
        match PluginRef::parse(&s.plugin.to_string_lossy()) {
            Ok(r) => refs.push(r),
            Err(m) => problems.push(Problem::new(format!("stage.{i}.plugin"), m)),
        }
    }
    let mut names = std::collections::HashSet::new();
    for (i, s) in stages.iter().enumerate() {
        let name = s
            .name
            .clone()
            .unwrap_or_else(|| refs.get(i).map(|r| r.name.clone()).unwrap_or_default());
        if !names.insert(name.clone()) {
            problems.push(Problem::new(
                format!("stage.{i}.name"),
                format!("two stages are named `{name}`; give each a unique `name`"),
            ));
        }
    }
    let sink = match map.get("sink") {
        None => {
            problems.push(Problem::new("sink", "missing: where the batches go"));
            None
        }
        Some(s) => section::<SinkSpec>(s, "sink", &mut problems),
    };
    let dead_letter = match map.get("dead_letter") {
        None | Some(serde_json::Value::Null) => None,
        Some(s) => section::<SinkSpec>(s, "dead_letter", &mut problems),
    };
    if let Some(sink) = &sink
        && sink.path == "-"
    {
        problems.push(Problem::new(
            "sink.path",
            "a server has no stdout to write to; give a path or URL",
        ));
    }
    if let Some(Source::Io(s)) = &source
        && s.path == "-"
    {
        problems.push(Problem::new(
            "source.path",
            "a server has no stdin; use an `api` source to push data",
        ));
    }
    match (source, sink, problems.is_empty()) {
        (Some(source), Some(sink), true) => Ok(Pipeline {
            source,
            stages,
            refs,
            sink,
            dead_letter,
        }),
        _ => Err(problems),
    }
}

/// What [`check`] found: the plugin versions the stages resolve to and the schema after
/// every stage.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Checked {
    /// Per stage, in order: its name, plugin version and output columns.
    pub stages: Vec<CheckedStage>,
    /// The source's columns.
    pub source_columns: Vec<String>,
}

/// One stage as [`check`] resolved it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CheckedStage {
    /// Stage name.
    pub name: String,
    /// Plugin name.
    pub plugin: String,
    /// The version the stage resolves to now.
    pub version: String,
    /// sha256 of that version.
    pub sha256: String,
    /// `name: type` of each output column.
    pub output: Vec<String>,
}

/// Resolve every stage's plugin (off the async runtime: reads the store with `handle`).
pub fn resolve_all(
    pipeline: &Pipeline,
    catalogue: &Catalogue,
    handle: &tokio::runtime::Handle,
) -> Result<Vec<PluginVersion>, Vec<Problem>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, r) in pipeline.refs.iter().enumerate() {
        match handle.block_on(catalogue.resolve(r)) {
            Ok(v) => out.push(v),
            Err(m) => problems.push(Problem::new(format!("stage.{i}.plugin"), m)),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The schema of the source: declared for an API source, read from the first input
/// otherwise.
pub fn source_schema(source: &Source, io: &Io, base: &Path) -> Result<SchemaRef, Problem> {
    match source {
        Source::Api(a) => Ok(schema_of(&a.schema)),
        Source::Io(spec) => io
            .open_source(spec, base)
            .map(|s| s.schema)
            .map_err(|e| Problem::new("source.path", e.to_string())),
    }
}

/// Build the stage plans from resolved versions.
pub fn plans(
    pipeline: &Pipeline,
    versions: &[PluginVersion],
    catalogue: &Catalogue,
    handle: &tokio::runtime::Handle,
    base: &Path,
) -> Result<Vec<quiver_pipeline::StagePlan>, Vec<Problem>> {
    let mut next = versions.iter();
    build_plans_with(&pipeline.stages, base, |_, metering| {
        let v = next
            .next()
            .ok_or_else(|| anyhow::anyhow!("internal: fewer resolved plugins than stages"))?;
        catalogue.load_blocking(handle, v, metering)
    })
    .map_err(|errors| errors.iter().map(Problem::from_error).collect())
}

/// Everything `quiver validate` checks, on a server pipeline. Blocking.
pub fn check(
    pipeline: &Pipeline,
    catalogue: &Catalogue,
    io: &Io,
    base: &Path,
) -> Result<Checked, Vec<Problem>> {
    let handle = io.handle().clone();
    let mut problems = Vec::new();
    let schema = source_schema(&pipeline.source, io, base).map_err(|p| problems.push(p));
    let versions = resolve_all(pipeline, catalogue, &handle).map_err(|p| problems.extend(p));
    let (Ok(schema), Ok(versions)) = (schema, versions) else {
        return Err(problems);
    };
    let plans = plans(pipeline, &versions, catalogue, &handle, base)?;
    let prepared = quiver_pipeline::prepare(Arc::clone(&schema), plans).map_err(plan_problems)?;
    let stages = prepared
        .stage_schemas()
        .into_iter()
        .zip(&versions)
        .map(|((name, schema), v)| CheckedStage {
            name,
            plugin: v.name.clone(),
            version: v.version.clone(),
            sha256: v.sha256.clone(),
            output: columns(&schema),
        })
        .collect();
    Ok(Checked {
        stages,
        source_columns: columns(&schema),
    })
}

/// The stages `prepare` could not create, each as a problem of its stage.
pub fn plan_problems(errors: Vec<quiver_pipeline::PlanError>) -> Vec<Problem> {
    errors
        .into_iter()
        .map(|e| {
            Problem::new(
                format!("stage.{}", e.index),
                format!("stage `{}` cannot be created: {}", e.name, e.error),
            )
        })
        .collect()
}

/// `name: type` for each column.
pub fn columns(schema: &arrow_schema::Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let null = if f.is_nullable() { "" } else { " not null" };
            format!("{}: {}{null}", f.name(), f.data_type())
        })
        .collect()
}
