//! [`Job`]: a pipeline document built into running objects — plugins resolved and loaded,
//! schemas negotiated through every stage, the source opened and the sinks created — and
//! then run to a committed output and a report, or to nothing at all.
//!
//! `quiver run`, `quiver validate`, `quiver test` and `quiver serve` all go through here, so
//! a pipeline is checked and started the same way everywhere (vector's "the config builds
//! the live object"). Every problem found before data flows is a [`Problem`] with the field
//! it is about; [`check`] reports all of them, not only the first.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use arrow_schema::SchemaRef;
use quiver_fault::{Fault, HasFault};
use quiver_host::{Metering, PluginId, Sandbox};
use quiver_io::{IoError, SinkSpec};
use quiver_pipeline::{BatchSource, Prepared, Progress, RunError, StagePlan};
use quiver_spec::{Pipeline, PluginRef, Problem, Problems, Read, Sink, Source};
use quiver_stream::{KafkaSink, KafkaSource, NatsSink, NatsSource, StreamError};

use crate::dead_letter::DeadLetterSink;
use crate::io::{Io, IoSink};
use crate::output::{Output, RunSink, SharedDeadLetter, Stream};
use crate::report::{RunReport, StreamReport};
use crate::resolve::{Origin, Resolver};

/// One stage as it was built: what the server shows, swaps and re-creates it from.
#[derive(Debug, Clone)]
pub struct BuiltStage {
    /// The stage's name (its `name`, or its plugin's).
    pub name: String,
    /// How the document names its plugin (a name a server follows to newer versions).
    pub plugin_ref: PluginRef,
    /// Where the plugin came from.
    pub origin: Origin,
    /// The plugin version it runs.
    pub plugin: Arc<PluginId>,
    /// The config document passed to the plugin.
    pub config: String,
    /// Limits and grants (grant paths resolved).
    pub sandbox: Sandbox,
    /// The engine the plugin runs on (fuel-metered or not).
    pub metering: Metering,
    /// Instances side by side.
    pub parallelism: usize,
    /// The schema the stage takes.
    pub input: SchemaRef,
    /// The schema the stage produces.
    pub output: SchemaRef,
}

/// What [`check`] found: the schema of the source and of every stage, and the stages.
pub struct Checked {
    /// The source's schema.
    pub source_schema: SchemaRef,
    /// The stages, built.
    pub stages: Vec<BuiltStage>,
    /// The engine's view: every transformer created, ready to run.
    pub prepared: Prepared,
}

/// A problem with `field` from an error, classed by its fault.
fn problem(field: impl Into<String>, e: &(dyn std::error::Error + 'static)) -> Problem {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        message = format!("{message}: {c}");
        cause = c.source();
    }
    Problem::new(field, message).with_fault(crate::fault_of(e))
}

/// The schema of `source`: declared for an API source, read from the first input (its
/// header or footer, never its data) otherwise.
///
/// # Errors
/// A problem with `source.path` (or `source`), classed by its cause.
pub fn source_schema(
    source: &Source,
    io: &Io,
    base: &Path,
) -> Result<(SchemaRef, Option<quiver_io::Source>), Problem> {
    match source {
        Source::Api(a) => Ok((quiver_io::schema_of(&a.schema), None)),
        Source::Nats(n) => Ok((quiver_io::schema_of(&n.schema), None)),
        Source::Kafka(k) => Ok((quiver_io::schema_of(&k.schema), None)),
        Source::Io(spec) => io
            .open_source(spec, base)
            .map(|s| (Arc::clone(&s.schema), Some(s)))
            .map_err(|e| problem("source.path", &e)),
    }
}

/// Resolve and load every stage's plugin and build its plan. Every stage is tried; the
/// problems name `stage.N.plugin`.
///
/// # Errors
/// Every stage whose plugin does not resolve or load.
pub fn build_plans(
    pipeline: &Pipeline,
    resolver: &Resolver,
    base: &Path,
) -> Result<Vec<(StagePlan, Origin)>, Vec<Problem>> {
    let mut plans = Vec::with_capacity(pipeline.stages.len());
    let mut problems = Vec::new();
    let names = pipeline.stage_names();
    for (i, (s, name)) in pipeline.stages.iter().zip(names).enumerate() {
        let metering = if s.limits.fuel.is_some() {
            Metering::Fuel
        } else {
            Metering::Epoch
        };
        let resolved = match resolver.resolve(&s.plugin, base, metering) {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(format!("stage.{i}.plugin"), &e));
                continue;
            }
        };
        let mut grants = s.grants.clone();
        for d in &mut grants.dirs {
            if d.host.is_relative() {
                d.host = base.join(&d.host);
            }
        }
        plans.push((
            StagePlan {
                name,
                config: s.config_json(),
                plugin: resolved.plugin,
                sandbox: Sandbox {
                    limits: s.limits.clone(),
                    grants,
                },
                parallelism: s.parallelism,
                on_error: s.on_error,
                batch_rows: s.batch_rows,
            },
            resolved.origin,
        ));
    }
    if problems.is_empty() {
        Ok(plans)
    } else {
        Err(problems)
    }
}

/// The stages that ask for more instances than `ceiling` allows: each stage over the
/// per-stage ceiling (`stage.N.parallelism`), and the whole pipeline when its stages together
/// ask for more than a run may have (the field is the `parallelism` of the stage that
/// crosses the ceiling).
pub fn instance_problems(pipeline: &Pipeline, ceiling: crate::InstanceCeiling) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut total = 0usize;
    let mut crossed = false;
    for (i, s) in pipeline.stages.iter().enumerate() {
        if s.parallelism > ceiling.per_stage {
            problems.push(Problem::new(
                format!("stage.{i}.parallelism"),
                format!(
                    "{} instances exceed the operator's ceiling of {} per stage \
                     (--max-parallelism); lower it",
                    s.parallelism, ceiling.per_stage
                ),
            ));
        }
        total = total.saturating_add(s.parallelism);
        if total > ceiling.per_run && !crossed {
            crossed = true;
            problems.push(Problem::new(
                format!("stage.{i}.parallelism"),
                format!(
                    "the stages up to this one ask for {total} instances together, over the \
                     ceiling of {} live instances per run; lower the parallelism of some stages",
                    ceiling.per_run
                ),
            ));
        }
    }
    problems
}

/// Everything `quiver validate` checks, without reading any data: the source's schema, every
/// plugin resolved and loaded, every transformer created, schemas negotiated through every
/// stage. `read` carries the problems found when the document was read; they are reported
/// with the rest.
///
/// # Errors
/// Every problem found. Schema negotiation stops at the first stage that fails, since the
/// stages after it have no input schema to check against.
pub fn check(
    read: &Read,
    resolver: &Resolver,
    io: &Io,
    base: &Path,
    subject: &str,
) -> Result<(Checked, Option<quiver_io::Source>), Problems> {
    let pipeline = &read.pipeline;
    let mut problems = read.problems.clone();
    // Before anything is instantiated: a pipeline over the ceiling would take the pool.
    let over = instance_problems(pipeline, resolver.instance_ceiling());
    if !over.is_empty() {
        problems.extend(over);
        return Err(Problems::new(subject, problems));
    }
    let source = source_schema(&pipeline.source, io, base).map_err(|p| problems.push(p));
    let plans = build_plans(pipeline, resolver, base).map_err(|p| problems.extend(p));
    let (Ok((schema, opened)), Ok(plans)) = (source, plans) else {
        return Err(Problems::new(subject, problems));
    };
    if !problems.is_empty() {
        return Err(Problems::new(subject, problems));
    }
    let (plans, origins): (Vec<StagePlan>, Vec<Origin>) = plans.into_iter().unzip();
    let built: Vec<_> = plans
        .iter()
        .zip(&pipeline.stages)
        .zip(origins)
        .map(|((p, s), origin)| {
            (
                p.name.clone(),
                s.plugin.clone(),
                origin,
                Arc::clone(p.plugin.id()),
                p.config.clone(),
                p.sandbox.clone(),
                p.plugin.metering(),
                p.parallelism,
            )
        })
        .collect();
    let prepared = quiver_pipeline::prepare(Arc::clone(&schema), plans).map_err(|errors| {
        Problems::new(
            subject,
            errors
                .into_iter()
                .map(|e| {
                    let fault = e.error.fault();
                    Problem::new(
                        format!("stage.{}", e.index),
                        format!("stage `{}` cannot be created: {}", e.name, e.error),
                    )
                    .with_fault(fault)
                })
                .collect(),
        )
    })?;
    let mut input = Arc::clone(&schema);
    let stages = built
        .into_iter()
        .zip(prepared.stage_schemas())
        .map(
            |(
                (name, plugin_ref, origin, plugin, config, sandbox, metering, parallelism),
                (_, output),
            )| {
                let stage = BuiltStage {
                    name,
                    plugin_ref,
                    origin,
                    plugin,
                    config,
                    sandbox,
                    metering,
                    parallelism,
                    input: Arc::clone(&input),
                    output: Arc::clone(&output),
                };
                input = output;
                stage
            },
        )
        .collect();
    Ok((
        Checked {
            source_schema: schema,
            stages,
            prepared,
        },
        opened,
    ))
}

/// A pipeline ready to run: checked, its source open, its sinks created. Dropped without
/// running, it leaves nothing behind.
pub struct Job {
    /// What the report calls the pipeline.
    pub name: String,
    /// Every input the source will read (or the API route batches are pushed to).
    pub inputs: Vec<String>,
    /// The stages as built.
    pub stages: Vec<BuiltStage>,
    /// The source's schema (declared, or read from the first input).
    pub source_schema: SchemaRef,
    prepared: Prepared,
    source: BatchSource,
    sink: Output,
    dead_letter: Option<DeadLetterSink>,
    /// A stream run's checkpoint state (a JetStream source).
    stream: Option<Stream>,
    /// Unique per run: part-file stems, message ids.
    run_id: String,
    /// The command's (or server's) tokio runtime: stream sinks publish and ack through it.
    handle: tokio::runtime::Handle,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("inputs", &self.inputs)
            .finish_non_exhaustive()
    }
}

/// Where a job's batches come from when its source is the API: the server's channel and
/// what the report calls it.
pub struct ApiInput {
    /// The pushed batches.
    pub batches: BatchSource,
    /// The input's name in the report (`POST /v1/runs/{id}/batches`).
    pub shown: String,
}

/// Why a run that started did not commit.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The engine stopped (a stage, the source or a sink failed, or it was cancelled).
    #[error(transparent)]
    Run(#[from] RunError),
    /// The run succeeded but its output could not be committed.
    #[error("committing `{field}`")]
    Commit {
        /// `sink.path` or `dead_letter.path`.
        field: &'static str,
        /// What the storage said.
        #[source]
        error: IoError,
    },
}

impl HasFault for JobError {
    fn fault(&self) -> Fault {
        crate::fault_of(self)
    }
}

fn create_sink(
    io: &Io,
    spec: &SinkSpec,
    base: &Path,
    schema: SchemaRef,
) -> Result<IoSink, Problem> {
    io.create_sink(spec, base, schema)
        .map_err(|e| problem("sink.path", &e))
}

/// A problem below `prefix` (`source.nats`) from a stream error: a config error names its
/// own field below it.
fn stream_problem(prefix: &str, e: &StreamError) -> Problem {
    match e {
        StreamError::Config { field, message } => {
            Problem::new(format!("{prefix}.{field}"), message.clone()).with_fault(Fault::Config)
        }
        other => problem(prefix, other),
    }
}

/// A time-ordered id unique to this run: part files of a stream run sort by the run that
/// wrote them, and never collide with a restarted run's.
fn run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{:013x}{:05x}",
        now.as_millis(),
        (now.subsec_nanos() ^ std::process::id()) & 0xfffff
    )
}

/// An opened stream source (JetStream or Kafka): its checkpoint state, how the report
/// shows it, and its batches.
struct StreamSource {
    stream: Stream,
    shown: String,
    batches: quiver_pipeline::engine::BatchSource,
}

/// The payload-reference directory a stream spec names, if any.
fn payload_refs(
    text: Option<&str>,
    io: &Io,
    base: &Path,
    field: &'static str,
) -> Result<Option<quiver_stream::PayloadRefs>, quiver_stream::StreamError> {
    text.map(|t| quiver_stream::PayloadRefs::new(t, io.storage(), base, field))
        .transpose()
}

impl Job {
    /// Build a pipeline into a job: [`check`], then the source opened and the sinks
    /// created. `api` feeds a pipeline whose source is the API (the server's channel).
    ///
    /// # Errors
    /// Every problem found, each with its field; an API source without `api`.
    pub fn open(
        name: impl Into<String>,
        read: &Read,
        resolver: &Resolver,
        io: &Io,
        base: &Path,
        api: Option<ApiInput>,
    ) -> Result<Job, Problems> {
        let name = name.into();
        let pipeline = &read.pipeline;
        let subject = format!("pipeline {name}");
        if let (Source::Api(_), None) = (&pipeline.source, &api) {
            return Err(Problems::one(
                subject,
                Problem::new(
                    "source.api",
                    "an `api` source receives batches pushed to `quiver serve`; run this \
                     pipeline on a server, or read from a file",
                ),
            ));
        }
        let (checked, opened) = check(read, resolver, io, base, &subject)?;
        let mut problems = Vec::new();
        let run_id = run_id();
        let stem = format!("part-{run_id}");
        let stream_run = pipeline.source.is_stream();
        // A stream source is opened before the sinks: its consumer must exist before
        // anything is written for it.
        let nats = match &pipeline.source {
            Source::Nats(spec) => {
                payload_refs(spec.payload_refs.as_deref(), io, base, "payload_refs")
                    .and_then(|refs| io.handle().block_on(NatsSource::open_with(spec, refs)))
                    .map(|n| {
                        Some(StreamSource {
                            stream: Stream::new(
                                Arc::clone(&n.ledger),
                                spec.checkpoint,
                                usize::try_from(spec.max_ack_pending / 2).unwrap_or(usize::MAX),
                                n.server.clone(),
                            ),
                            shown: n.shown.clone(),
                            batches: n.batches(io.handle().clone()),
                        })
                    })
                    .map_err(|e| problems.push(stream_problem("source.nats", &e)))
            }
            Source::Kafka(spec) => KafkaSource::open(spec)
                .map(|k| {
                    Some(StreamSource {
                        stream: Stream::new(
                            Arc::clone(&k.ledger),
                            spec.checkpoint,
                            spec.max_pending,
                            k.server.clone(),
                        ),
                        shown: k.shown.clone(),
                        batches: k.batches(),
                    })
                })
                .map_err(|e| problems.push(stream_problem("source.kafka", &e))),
            _ => Ok(None),
        };
        let sink = match &pipeline.sink {
            Sink::Io(spec) => create_sink(io, spec, base, checked.prepared.output_schema())
                .map(|mut s| {
                    if stream_run {
                        s.set_part_stem(&stem);
                    }
                    Output::Io(s)
                })
                .map_err(|p| problems.push(p)),
            Sink::Nats(spec) => {
                payload_refs(spec.payload_refs.as_deref(), io, base, "payload_refs")
                    .and_then(|refs| io.handle().block_on(NatsSink::open_with(spec, refs)))
                    .map(|s| Output::Nats(Box::new(s)))
                    .map_err(|e| problems.push(stream_problem("sink.nats", &e)))
            }
            Sink::Kafka(spec) => KafkaSink::open(spec)
                .map(|s| Output::Kafka(Box::new(s)))
                .map_err(|e| problems.push(stream_problem("sink.kafka", &e))),
        };
        let dead_letter = pipeline
            .dead_letter
            .as_ref()
            .map(|d| {
                DeadLetterSink::create(io, d, base).map(|mut s| {
                    if stream_run {
                        s.set_part_stem(&stem);
                    }
                    s
                })
            })
            .transpose()
            .map_err(|e| problems.push(problem("dead_letter.path", &e)));
        let (Ok(sink), Ok(dead_letter), Ok(nats)) = (sink, dead_letter, nats) else {
            return Err(Problems::new(subject, problems));
        };
        let mut stream = None;
        let (source, inputs) = match (opened, api, nats) {
            (_, _, Some(opened)) => {
                stream = Some(opened.stream);
                (opened.batches, vec![opened.shown])
            }
            (Some(source), ..) => {
                let inputs = source.inputs.clone();
                (io.batches(source), inputs)
            }
            (None, Some(api), None) => (api.batches, vec![api.shown]),
            (None, None, None) => unreachable!("an API source without `api` was refused above"),
        };
        Ok(Job {
            name,
            inputs,
            stages: checked.stages,
            source_schema: checked.source_schema,
            prepared: checked.prepared,
            source,
            sink,
            dead_letter,
            stream,
            run_id,
            handle: io.handle().clone(),
        })
    }

    /// Whether this is a stream run (a JetStream source: periodic commits, acks after
    /// them, runs until stopped or idle). A stream run is stopped by draining it
    /// ([`Progress::stop_intake`]): what was read is committed and acknowledged.
    pub fn is_stream(&self) -> bool {
        self.stream.is_some()
    }

    /// The stage names, for [`Progress::new`].
    pub fn stage_names(&self) -> Vec<String> {
        self.stages.iter().map(|s| s.name.clone()).collect()
    }

    /// Run to the end, then commit every output — or, on any failure or cancellation,
    /// abort them all: nothing partial is ever visible. `progress` steers the run from other
    /// threads (cancel, drain, hot swap).
    ///
    /// # Errors
    /// Why nothing was committed.
    pub fn run(self, progress: &Progress) -> Result<RunReport, JobError> {
        let Job {
            name,
            inputs,
            prepared,
            source,
            sink,
            dead_letter,
            stream,
            run_id,
            handle,
            ..
        } = self;
        let started = Instant::now();
        let dead_letter = dead_letter.map(|d| SharedDeadLetter(Rc::new(RefCell::new(d))));
        let mut sink = RunSink::new(sink, stream, dead_letter.clone(), handle, run_id);
        let mut letters = dead_letter.clone();
        let outcome = quiver_pipeline::run(
            prepared,
            source,
            &mut sink,
            letters
                .as_mut()
                .map(|d| d as &mut dyn quiver_pipeline::DeadLetter),
            progress,
        );
        drop(letters);
        let take = |d: Option<SharedDeadLetter>| {
            d.and_then(|d| Rc::try_unwrap(d.0).ok().map(RefCell::into_inner))
        };
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                // Discard the outputs explicitly so remote uploads are aborted now rather
                // than left to expire. A stream run acknowledges nothing more: what was
                // not committed is delivered again.
                drop(sink.dead_letter.take());
                sink.abort();
                if let Some(d) = take(dead_letter) {
                    d.abort();
                }
                return Err(e.into());
            }
        };
        // Everything succeeded: only now do the outputs appear (and, in a stream run, only
        // after them the last messages are acknowledged — dead letters committed first).
        drop(sink.dead_letter.take());
        let dead_letter = take(dead_letter);
        let dead_lettered = match dead_letter {
            Some(d) => match d.finish() {
                Ok(c) => c,
                Err(error) => {
                    sink.abort();
                    return Err(JobError::Commit {
                        field: "dead_letter.path",
                        error,
                    });
                }
            },
            None => None,
        };
        let (committed, stream) = sink.commit().map_err(|error| JobError::Commit {
            field: "sink",
            error,
        })?;
        let mut report = RunReport::new(name, inputs, committed, dead_lettered, outcome, started);
        report.stream = stream.map(|s| StreamReport {
            checkpoints: s.checkpoints,
            messages_acked: s.messages_acked,
            duplicates_dropped: s.duplicates,
        });
        Ok(report)
    }
}

/// The directory relative paths of a pipeline start from, for a document that did not come
/// from a file (the server's work directory).
pub fn base_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")))
}
