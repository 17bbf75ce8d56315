//! The pipeline document's types and the one pass that reads them from a parsed tree.
//!
//! A pipeline is `source` → `stage`s → `sink` (+ `dead_letter`). The same types describe a
//! TOML pipeline file and a JSON API body: both are first parsed into a JSON value tree
//! (`load.rs`), then [`parse`] reads each section on its own, so every problem of every
//! section is reported — each with its field path — instead of only the first. The checks
//! that need no I/O (unique stage names, a dead-letter policy without a dead-letter sink,
//! what a server cannot do) happen here too; what needs plugins or storage is checked when
//! the pipeline is built (`quiver-job`).

use quiver_host::{Grants, Limits};
use quiver_io::{ColumnSpec, SinkSpec, SourceSpec};
use quiver_pipeline::ErrorPolicy;
use quiver_stream::{Checkpoint, KafkaSinkSpec, KafkaSourceSpec, NatsSinkSpec, NatsSourceSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::plugin_ref::PluginRef;
use crate::problem::Problem;

/// A pipeline: where batches come from, the stages they go through, where they go.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Where the batches come from.
    pub source: Source,
    /// The plugin stages, in order.
    pub stages: Vec<Stage>,
    /// Where the batches go.
    pub sink: Sink,
    /// Where rows failed by `on_error = "dead-letter"` stages go.
    pub dead_letter: Option<SinkSpec>,
}

impl Pipeline {
    /// Every stage's name, unique: a `name` as given (two stages given one name is a
    /// problem [`read`] reports); a stage without one is called after its plugin, with
    /// `-2`, `-3`, … when that name is taken (two `filter` stages: `filter`, `filter-2`).
    pub fn stage_names(&self) -> Vec<String> {
        unique_names(
            self.stages
                .iter()
                .map(|s| (s.name.clone(), s.plugin.default_stage_name())),
        )
    }
}

/// Unique names from (given name, default name) pairs: given names as they are, defaults
/// suffixed with `-2`, `-3`, … past any name already used or given.
fn unique_names(stages: impl Iterator<Item = (Option<String>, String)>) -> Vec<String> {
    let stages: Vec<_> = stages.collect();
    let given: std::collections::HashSet<String> =
        stages.iter().filter_map(|(n, _)| n.clone()).collect();
    let mut used = std::collections::HashSet::new();
    stages
        .into_iter()
        .map(|(name, default)| {
            let name = name.unwrap_or_else(|| {
                let mut candidate = default.clone();
                let mut n = 2;
                while given.contains(&candidate) || used.contains(&candidate) {
                    candidate = format!("{default}-{n}");
                    n += 1;
                }
                candidate
            });
            used.insert(name.clone());
            name
        })
        .collect()
}

/// Where a pipeline's batches come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Read by quiver-io: files, globs, object stores, stdin.
    Io(SourceSpec),
    /// Pushed by clients of `quiver serve` (`POST /v1/runs/{id}/batches`).
    Api(ApiSource),
    /// A JetStream stream read through a durable consumer: a *stream run*, which commits
    /// its outputs periodically and acknowledges messages after each commit.
    Nats(NatsSourceSpec),
    /// A Kafka topic read by a consumer group: a stream run whose offsets are committed
    /// after each commit of its outputs.
    Kafka(KafkaSourceSpec),
}

impl Source {
    /// Whether this source makes a stream run (periodic commits, acks after them): a
    /// JetStream source, or a durable API source (read back from the ingest stream).
    pub fn is_stream(&self) -> bool {
        match self {
            Source::Nats(_) | Source::Kafka(_) => true,
            Source::Api(a) => a.durable,
            Source::Io(_) => false,
        }
    }
}

/// Where a pipeline's batches go.
#[derive(Debug, Clone, PartialEq)]
pub enum Sink {
    /// Written by quiver-io: a file, a directory of parts, an object store, stdout.
    Io(SinkSpec),
    /// Published to a JetStream subject, with message ids.
    Nats(NatsSinkSpec),
    /// Sent to a Kafka topic, every record's delivery awaited at each checkpoint.
    Kafka(KafkaSinkSpec),
}

impl Sink {
    /// The quiver-io spec, for a file or object-store sink.
    pub fn io(&self) -> Option<&SinkSpec> {
        match self {
            Sink::Io(s) => Some(s),
            Sink::Nats(_) | Sink::Kafka(_) => None,
        }
    }
}

/// A source that is the server's API: runs accept batches on `POST /v1/runs/{id}/batches`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiSource {
    /// The columns pushed batches must have (CSV and NDJSON bodies are read with these
    /// types; Arrow bodies must match them).
    pub schema: Vec<ColumnSpec>,
    /// Batches accepted but not yet taken by the first stage, at most (backpressure: a push
    /// beyond it waits). Default 4.
    #[serde(default = "default_queue")]
    #[schemars(range(min = 1))]
    pub queue_batches: usize,
    /// Durable ingest: each push is stored in the server's JetStream ingest stream
    /// (`quiver serve --ingest-nats`) before it is answered, and the run reads it from
    /// there, acknowledging rows once they are committed. Accepted rows then survive the
    /// server dying; the run resumes, under the same id, when the server starts again. A
    /// durable run is a stream run: its sink is a directory with `mode = "append"`, and
    /// it commits at every `checkpoint`.
    #[serde(default)]
    pub durable: bool,
    /// When a durable run commits (default: every 100000 rows or 5s).
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
}

fn default_queue() -> usize {
    4
}

/// One plugin stage.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// Stage name, for reports, metrics and errors (default: the plugin's name). Unique
    /// within the pipeline.
    #[serde(default)]
    pub name: Option<String>,
    /// The plugin: a name (`dedupe`, the newest version available), `name@version`, or a
    /// path to a component file (relative to the pipeline file).
    pub plugin: PluginRef,
    /// The plugin's config (any table; passed to the plugin as JSON).
    #[serde(default)]
    pub config: Option<serde_json::Map<String, Value>>,
    /// Resource limits of the stage (defaults: see `quiver_host::Limits`).
    #[serde(default)]
    pub limits: Limits,
    /// Capabilities granted to the stage (default: none). Directory paths are relative to
    /// the pipeline file.
    #[serde(default)]
    pub grants: Grants,
    /// Plugin instances side by side (output order is kept); only for stateless plugins.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub parallelism: usize,
    /// What happens to a batch the stage fails on: `fail` (default), `skip` or `dead-letter`.
    #[serde(default)]
    pub on_error: ErrorPolicy,
    /// Re-cut incoming batches to this many rows.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub batch_rows: Option<usize>,
    /// Whether the stage keeps state across batches, so its output for a row depends on
    /// the rows before it (a distributed run refuses such a stage unless it runs as one
    /// task). Default: known for the first-party plugins (`dedupe`; `validate` with a
    /// `unique` rule; `impute` with forward fill), false for any other plugin.
    #[serde(default)]
    pub stateful: Option<bool>,
}

fn one() -> usize {
    1
}

impl Stage {
    /// The name the stage would have on its own: `name`, or its plugin's name (a path's
    /// file stem). [`Pipeline::stage_names`] makes them unique.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.plugin.default_stage_name())
    }

    /// The config document passed to the plugin (`{}` when there is none).
    pub fn config_json(&self) -> String {
        match &self.config {
            Some(c) => Value::Object(c.clone()).to_string(),
            None => "{}".into(),
        }
    }
}

/// Who reads the pipeline: what is allowed depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// The `quiver` command, run by the user: stdin/stdout and plugin files are allowed.
    Cli,
    /// `quiver serve`: no stdin/stdout; plugins come from the catalogue and the first-party
    /// set, never from files named by a request.
    Server,
}

/// The keys a pipeline document may have.
pub const KEYS: &[&str] = &["source", "stage", "sink", "dead_letter"];

/// `e`'s path inside `prefix`, dotted (`stage.1.limits.memory`).
fn field_of<E>(prefix: &str, e: &serde_path_to_error::Error<E>) -> String {
    use serde_path_to_error::Segment;
    let mut at = prefix.to_owned();
    for segment in e.path().iter() {
        let part = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.clone(),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => continue,
        };
        if at.is_empty() {
            at = part;
        } else {
            at = format!("{at}.{part}");
        }
    }
    at
}

/// Deserialize one section, recording a problem with its field path on failure.
fn section<T: serde::de::DeserializeOwned>(
    value: &Value,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| problems.push(Problem::new(field_of(field, &e), e.inner().to_string())))
        .ok()
}

/// A pipeline that could be read, and the problems found in it that did not stop it from
/// being read (a stage with `parallelism = 0`, two stages with one name). It must not run
/// while there are any: `quiver-job` reports them together with what it finds when it
/// builds the pipeline (plugins that do not resolve, schemas that do not fit), so a person
/// sees every problem at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The pipeline as written.
    pub pipeline: Pipeline,
    /// What is wrong with it, in document order; empty when nothing is.
    pub problems: Vec<Problem>,
}

/// Read a pipeline from its value tree; every problem found, each with its field.
///
/// # Errors
/// Every problem of every section, in document order.
pub fn parse(doc: &Value, context: Context) -> Result<Pipeline, Vec<Problem>> {
    let read = read(doc, context)?;
    if read.problems.is_empty() {
        Ok(read.pipeline)
    } else {
        Err(read.problems)
    }
}

/// Read a pipeline from its value tree as far as it can be read: every section on its own,
/// then the checks that need no I/O.
///
/// # Errors
/// Every problem found when some section cannot be read at all (the pipeline does not
/// exist then).
pub fn read(doc: &Value, context: Context) -> Result<Read, Vec<Problem>> {
    let Some(map) = doc.as_object() else {
        return Err(vec![Problem::new(
            "",
            "a pipeline is a table (object) with `source`, `stage`, `sink` and optionally \
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
    let source = read_source(map.get("source"), context, &mut problems);
    let stages = read_stages(map.get("stage"), &mut problems);
    let sink = match map.get("sink") {
        None => {
            problems.push(Problem::new("sink", "missing: where the batches go"));
            None
        }
        Some(s) => read_sink(s, &mut problems),
    };
    let dead_letter = match map.get("dead_letter") {
        None | Some(Value::Null) => None,
        Some(s) => section::<SinkSpec>(s, "dead_letter", &mut problems),
    };
    let unreadable = !problems.is_empty() || stages.iter().any(Option::is_none);
    check_stages(&stages, dead_letter.is_some(), context, &mut problems);
    let stream_run = source.as_ref().is_some_and(Source::is_stream);
    if let (true, Some(Sink::Io(spec))) = (stream_run, &sink)
        && spec.mode != quiver_io::WriteMode::Append
    {
        problems.push(Problem::new(
            "sink.mode",
            "a stream run commits part files as it goes, and again after a restart: write \
             to a directory (path ending in /) with mode = \"append\"",
        ));
    }
    // JetStream to JetStream is exactly-once through message ids derived from the source
    // message and the batches its rows leave the last stage as. Re-cut batches mix rows of
    // several messages, and after a redelivery the cuts fall elsewhere: a batch could take
    // an id the output stream already stored with other rows, and be dropped as a
    // duplicate — rows lost without a word. So re-cutting is refused here.
    if let (true, Some(Sink::Nats(_))) = (stream_run, &sink) {
        for (i, stage) in stages.iter().enumerate() {
            if let Some(stage) = stage
                && stage.batch_rows.is_some()
            {
                problems.push(Problem::new(
                    format!("stage.{i}.batch_rows"),
                    "re-cutting batches between a JetStream source and a JetStream sink \
                     would give redelivered rows other message ids, and the output stream \
                     would drop some of them as duplicates: remove `batch_rows` (each \
                     message's rows then keep their own batches)",
                ));
            }
        }
    }
    if let (true, Some(dl)) = (stream_run, &dead_letter)
        && dl.mode != quiver_io::WriteMode::Append
    {
        problems.push(Problem::new(
            "dead_letter.mode",
            "a stream run commits dead letters with every checkpoint: write them to a \
             directory (path ending in /) with mode = \"append\"",
        ));
    }
    if context == Context::Server {
        for (field, path) in [
            (
                "sink.path",
                sink.as_ref().and_then(Sink::io).map(|s| s.path.as_str()),
            ),
            (
                "dead_letter.path",
                dead_letter.as_ref().map(|s| s.path.as_str()),
            ),
        ] {
            if path == Some("-") {
                problems.push(Problem::new(
                    field,
                    "a server has no stdout to write to; give a path or URL",
                ));
            }
        }
    }
    match (source, sink, unreadable) {
        (Some(source), Some(sink), false) => Ok(Read {
            pipeline: Pipeline {
                source,
                stages: stages.into_iter().flatten().collect(),
                sink,
                dead_letter,
            },
            problems,
        }),
        _ => Err(problems),
    }
}

fn read_source(
    value: Option<&Value>,
    context: Context,
    problems: &mut Vec<Problem>,
) -> Option<Source> {
    let Some(s) = value else {
        problems.push(Problem::new(
            "source",
            "missing: where the batches come from",
        ));
        return None;
    };
    if let Some(kafka) = s.get("kafka") {
        if s.as_object().is_some_and(|o| o.len() > 1) {
            problems.push(Problem::new(
                "source",
                "a `kafka` source has no other keys (path, format, ...)",
            ));
        }
        let spec = section::<KafkaSourceSpec>(kafka, "source.kafka", problems)?;
        let found = spec.problems();
        if !found.is_empty() {
            for (field, message) in found {
                problems.push(Problem::new(format!("source.kafka.{field}"), message));
            }
            return None;
        }
        return Some(Source::Kafka(spec));
    }
    if let Some(nats) = s.get("nats") {
        if s.as_object().is_some_and(|o| o.len() > 1) {
            problems.push(Problem::new(
                "source",
                "a `nats` source has no other keys (path, format, ...)",
            ));
        }
        let spec = section::<NatsSourceSpec>(nats, "source.nats", problems)?;
        let found = spec.problems();
        if !found.is_empty() {
            for (field, message) in found {
                problems.push(Problem::new(format!("source.nats.{field}"), message));
            }
            return None;
        }
        return Some(Source::Nats(spec));
    }
    let Some(api) = s.get("api") else {
        let spec = section::<SourceSpec>(s, "source", problems)?;
        if context == Context::Server && spec.path == "-" {
            problems.push(Problem::new(
                "source.path",
                "a server has no stdin; use an `api` source to push data",
            ));
            return None;
        }
        return Some(Source::Io(spec));
    };
    if s.as_object().is_some_and(|o| o.len() > 1) {
        problems.push(Problem::new(
            "source",
            "an `api` source has no other keys (path, format, ...)",
        ));
    }
    let api = section::<ApiSource>(api, "source.api", problems)?;
    if api.queue_batches == 0 {
        problems.push(Problem::new(
            "source.api.queue_batches",
            "must be at least 1",
        ));
        return None;
    }
    if api.checkpoint.is_some() && !api.durable {
        problems.push(Problem::new(
            "source.api.checkpoint",
            "only a durable API source commits at checkpoints: add `durable = true`, or \
             remove `checkpoint` (a run of a plain API source commits once, when stopped)",
        ));
        return None;
    }
    if let Some(c) = api.checkpoint
        && c.rows == 0
    {
        problems.push(Problem::new(
            "source.api.checkpoint.rows",
            "must be at least 1",
        ));
        return None;
    }
    if api.schema.is_empty() {
        problems.push(Problem::new(
            "source.api.schema",
            "an api source needs at least one column",
        ));
        return None;
    }
    Some(Source::Api(api))
}

fn read_sink(s: &Value, problems: &mut Vec<Problem>) -> Option<Sink> {
    if let Some(kafka) = s.get("kafka") {
        if s.as_object().is_some_and(|o| o.len() > 1) {
            problems.push(Problem::new(
                "sink",
                "a `kafka` sink has no other keys (path, format, ...)",
            ));
        }
        let spec = section::<KafkaSinkSpec>(kafka, "sink.kafka", problems)?;
        let found = spec.problems();
        if !found.is_empty() {
            for (field, message) in found {
                problems.push(Problem::new(format!("sink.kafka.{field}"), message));
            }
            return None;
        }
        return Some(Sink::Kafka(spec));
    }
    let Some(nats) = s.get("nats") else {
        return section::<SinkSpec>(s, "sink", problems).map(Sink::Io);
    };
    if s.as_object().is_some_and(|o| o.len() > 1) {
        problems.push(Problem::new(
            "sink",
            "a `nats` sink has no other keys (path, format, ...)",
        ));
    }
    let spec = section::<NatsSinkSpec>(nats, "sink.nats", problems)?;
    let found = spec.problems();
    if !found.is_empty() {
        for (field, message) in found {
            problems.push(Problem::new(format!("sink.nats.{field}"), message));
        }
        return None;
    }
    Some(Sink::Nats(spec))
}

/// Each stage read on its own, so one bad stage does not hide the problems of the next.
fn read_stages(value: Option<&Value>, problems: &mut Vec<Problem>) -> Vec<Option<Stage>> {
    match value {
        // Absent is no stage; `null` is not a list (the JSON Schema says so too).
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| section::<Stage>(s, &format!("stage.{i}"), problems))
            .collect(),
        Some(_) => {
            problems.push(Problem::new(
                "stage",
                "expected a list of stages (`[[stage]]` tables in TOML, an array in JSON)",
            ));
            Vec::new()
        }
    }
}

fn check_stages(
    stages: &[Option<Stage>],
    has_dead_letter: bool,
    context: Context,
    problems: &mut Vec<Problem>,
) {
    let mut names = std::collections::HashMap::new();
    for (i, stage) in stages.iter().enumerate() {
        let Some(s) = stage else { continue };
        // Only names given twice are a problem: stages named after their plugin are told
        // apart by `Pipeline::stage_names`.
        if let Some(name) = &s.name
            && let Some(first) = names.insert(name.clone(), i)
        {
            problems.push(Problem::new(
                format!("stage.{i}.name"),
                format!("stage {first} is also named `{name}`; give each stage a unique `name`"),
            ));
        }
        if s.name.as_deref() == Some("") {
            problems.push(Problem::new(format!("stage.{i}.name"), "must not be empty"));
        }
        if s.parallelism == 0 {
            problems.push(Problem::new(
                format!("stage.{i}.parallelism"),
                "must be at least 1",
            ));
        }
        if s.batch_rows == Some(0) {
            problems.push(Problem::new(
                format!("stage.{i}.batch_rows"),
                "must be at least 1",
            ));
        }
        if s.on_error == ErrorPolicy::DeadLetter && !has_dead_letter {
            problems.push(Problem::new(
                format!("stage.{i}.on_error"),
                "\"dead-letter\" needs a `dead_letter` sink in the pipeline; add one or \
                 choose \"fail\" or \"skip\"",
            ));
        }
        if context == Context::Server && matches!(s.plugin, PluginRef::Path(_)) {
            problems.push(Problem::new(
                format!("stage.{i}.plugin"),
                "a server pipeline names its plugins (`name` or `name@version`) from the \
                 catalogue or the first-party set; upload the component instead of naming a file",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_section_reports_its_own_problems() {
        let doc = json!({
            "source": {"path": "in.csv", "colour": 1},
            "stage": [
                {"plugin": "map", "on_error": "explode"},
                {"plugin": "Map"},
                {"plugin": "filter", "parallelism": 0, "on_error": "dead-letter"}
            ],
            "sink": {"path": "out.csv"},
            "extra": true
        });
        let problems = parse(&doc, Context::Cli).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "extra",
                "source.colour",
                "stage.0.on_error",
                "stage.1.plugin",
                "stage.2.parallelism",
                "stage.2.on_error"
            ],
            "{problems:#?}"
        );
    }

    #[test]
    fn null_stages_are_not_a_list_as_the_schema_says() {
        let doc = json!({"source": {"path": "in.csv"}, "stage": null, "sink": {"path": "o.csv"}});
        let problems = parse(&doc, Context::Server).unwrap_err();
        assert_eq!(problems[0].field, "stage");
        let schema = crate::json_schema();
        assert_eq!(
            schema["$defs"]["Stage"]["properties"]["parallelism"]["minimum"],
            1
        );
    }

    #[test]
    fn re_cutting_between_a_jetstream_source_and_sink_is_refused() {
        let doc = |batch_rows: Option<usize>, sink: serde_json::Value| {
            let mut stage = json!({"plugin": "passthrough"});
            if let Some(n) = batch_rows {
                stage["batch_rows"] = json!(n);
            }
            json!({
                "source": {"nats": {
                    "url": "nats://127.0.0.1:4222", "stream": "IN", "consumer": "c",
                    "format": "ndjson", "schema": [{"name": "id", "type": "int64"}]
                }},
                "stage": [{"plugin": "filter"}, stage],
                "sink": sink
            })
        };
        let nats_sink =
            json!({"nats": {"url": "nats://127.0.0.1:4222", "subject": "out", "format": "ndjson"}});
        let problems = parse(&doc(Some(1000), nats_sink.clone()), Context::Cli).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0].field, "stage.1.batch_rows");
        assert!(problems[0].message.contains("duplicates"), "{problems:#?}");
        // Without re-cutting, or into files, the same pipeline is fine.
        assert!(parse(&doc(None, nats_sink), Context::Cli).is_ok());
        let files = json!({"path": "out/", "format": "ndjson", "mode": "append"});
        assert!(parse(&doc(Some(1000), files), Context::Cli).is_ok());
    }

    #[test]
    fn a_stream_run_writes_only_to_directories_in_append_mode() {
        let doc = |sink: serde_json::Value, dead_letter: serde_json::Value| {
            json!({
                "source": {"kafka": {
                    "brokers": "127.0.0.1:9092", "topic": "in", "group": "g",
                    "format": "ndjson", "schema": [{"name": "id", "type": "int64"}]
                }},
                "stage": [{"plugin": "passthrough"}],
                "sink": sink,
                "dead_letter": dead_letter
            })
        };
        let fields = |d: serde_json::Value| -> Vec<String> {
            match parse(&d, Context::Cli) {
                Ok(_) => Vec::new(),
                Err(p) => p.into_iter().map(|p| p.field).collect(),
            }
        };
        // The default mode (fail if the target exists) and overwrite would each lose or
        // refuse what a restarted run writes; so would one file.
        assert_eq!(
            fields(doc(
                json!({"path": "out/", "format": "csv"}),
                json!({"path": "dl/", "format": "ndjson", "mode": "overwrite"})
            )),
            ["sink.mode", "dead_letter.mode"]
        );
        assert_eq!(
            fields(doc(
                json!({"path": "out.csv", "mode": "overwrite"}),
                serde_json::Value::Null
            )),
            ["sink.mode"]
        );
        assert!(
            fields(doc(
                json!({"path": "out/", "format": "csv", "mode": "append"}),
                json!({"path": "dl/", "format": "ndjson", "mode": "append"})
            ))
            .is_empty()
        );
    }

    #[test]
    fn a_server_refuses_stdio_and_plugin_files() {
        let doc = json!({
            "source": {"path": "-", "format": "csv"},
            "stage": [{"plugin": "plugins/x.wasm"}],
            "sink": {"path": "-", "format": "csv"}
        });
        let fields: Vec<String> = parse(&doc, Context::Server)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["source.path", "stage.0.plugin", "sink.path"]);
        assert!(parse(&doc, Context::Cli).is_ok());
    }

    #[test]
    fn a_name_given_twice_is_a_problem_default_names_are_told_apart() {
        let doc = json!({
            "source": {"api": {"schema": [{"name": "a", "type": "int64"}]}},
            "stage": [{"plugin": "map", "name": "m"}, {"plugin": "map@0.1.0", "name": "m"}],
            "sink": {"path": "out.csv"}
        });
        let p = parse(&doc, Context::Server).unwrap_err();
        assert_eq!(p[0].field, "stage.1.name");
        let doc = json!({
            "source": {"api": {"schema": [{"name": "a", "type": "int64"}]}},
            "stage": [
                {"plugin": "filter"}, {"plugin": "filter"}, {"plugin": "map", "name": "filter-2"},
                {"plugin": "filter"}
            ],
            "sink": {"path": "out.csv"}
        });
        let p = parse(&doc, Context::Server).unwrap();
        assert_eq!(
            p.stage_names(),
            ["filter", "filter-3", "filter-2", "filter-4"]
        );
    }
}
