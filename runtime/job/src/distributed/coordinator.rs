//! The coordinator of a distributed run (`quiver run --workers nats://…`): check the
//! pipeline, split it into one task per input file — a Parquet file larger than the task
//! size into one task per run of consecutive row groups —, queue the tasks, wait for every
//! result, then commit the run by moving the tasks' parts into place in one rename.
//!
//! Output layout: every task writes its own directory of parts inside a hidden staging
//! directory beside the target (`.<name>.quiver-<run>/task-00017/part-00000.parquet`), each
//! part atomically (temporary file + rename). Only when every task has reported success are
//! the parts moved up (`part-00017-00000.parquet`), leftovers of killed attempts (hidden
//! `.partial` files) deleted, and the staging directory renamed onto the target: the output
//! appears whole or not at all, with every task's rows exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use quiver_fault::{Fault, HasFault};
use quiver_io::{Location, WriteMode};
use quiver_spec::{Problem, Problems, Sink, Source, Syntax};
use quiver_stream::work::{self, RunSchema, Task, TaskResult};
use quiver_stream::{NatsAuth, StreamError};
use serde::Serialize;

use super::DistributedError;
use super::stateful::stateful_reason;
use crate::io::Io;
use crate::resolve::Resolver;

/// How to reach the workers.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The NATS server (`nats://host:port`).
    pub url: String,
    /// Credentials.
    pub auth: NatsAuth,
    /// A task without an ack or a progress report for this long is delivered again (when
    /// the workers' consumer is created).
    pub ack_wait: Duration,
    /// A Parquet input of more compressed bytes than this is split into tasks of
    /// consecutive row groups of at most about this many bytes each.
    pub task_bytes: u64,
}

/// [`Cluster::task_bytes`] unless told otherwise: 128 MiB of compressed Parquet, about a
/// second of work for a worker core on the benchmark job.
pub const DEFAULT_TASK_BYTES: u64 = 128 << 20;

/// One task's share of the source: an input, and which of its row groups (all when `None`).
struct Share {
    input: String,
    row_groups: Option<Vec<usize>>,
}

/// The tasks' shares of `inputs`: one per input, except that a Parquet input of more than
/// `task_bytes` is cut into runs of consecutive row groups, each closed before it would
/// pass `task_bytes` (a row group larger than that is a task of its own).
fn shares(inputs: Vec<quiver_io::InputLayout>, task_bytes: u64) -> Vec<Share> {
    let mut out = Vec::new();
    for input in inputs {
        let groups = match input.row_groups {
            Some(g) if g.len() > 1 && g.iter().sum::<u64>() > task_bytes => g,
            _ => {
                out.push(Share {
                    input: input.name,
                    row_groups: None,
                });
                continue;
            }
        };
        let mut run: Vec<usize> = Vec::new();
        let mut bytes = 0u64;
        for (i, size) in groups.into_iter().enumerate() {
            if !run.is_empty() && bytes.saturating_add(size) > task_bytes {
                out.push(Share {
                    input: input.name.clone(),
                    row_groups: Some(std::mem::take(&mut run)),
                });
                bytes = 0;
            }
            run.push(i);
            bytes = bytes.saturating_add(size);
        }
        out.push(Share {
            input: input.name,
            row_groups: Some(run),
        });
    }
    out
}

/// What a distributed run did.
#[derive(Debug, Clone, Serialize)]
pub struct DistributedReport {
    /// The pipeline file.
    pub pipeline: String,
    /// The run's id (its tasks' subject).
    pub run: String,
    /// Tasks, one per input.
    pub tasks: usize,
    /// Rows read and written over every task.
    pub rows_read: u64,
    /// Rows written.
    pub rows_written: u64,
    /// The committed directory.
    pub output: String,
    /// Part files committed.
    pub parts: usize,
    /// Tasks per worker.
    pub workers: BTreeMap<String, usize>,
    /// Tasks that ran more than once (a worker killed, or too slow to report).
    pub tasks_redelivered: usize,
    /// Wall-clock time.
    pub elapsed_ms: f64,
}

/// Run the pipeline file `path` on the cluster's workers; blocks until committed.
/// `cancel`, set from another thread, withdraws the tasks and discards the output.
///
/// # Errors
/// Problems with the pipeline (a config error that says why it cannot be distributed),
/// the server unreachable, a task failing (its fault and message), the commit failing.
pub fn coordinate(
    path: &Path,
    sets: &[String],
    resolver: &Resolver,
    io: &Io,
    cluster: &Cluster,
    cancel: &Arc<AtomicBool>,
) -> Result<DistributedReport, DistributedError> {
    let started = Instant::now();
    let loaded = quiver_spec::load_file(path, sets, quiver_spec::Context::Cli)?;
    let subject = loaded.subject.clone();
    let base = std::path::absolute(&loaded.base).unwrap_or_else(|_| loaded.base.clone());
    let target = refuse_what_cannot_be_distributed(&loaded.read.pipeline, &base, io)
        .map_err(|p| Problems::new(&subject, p))?;
    let (checked, _) = crate::check(&loaded.read, resolver, io, &base, &subject)?;
    let Source::Io(source) = &loaded.read.pipeline.source else {
        return Err(DistributedError::Problems(Problems::one(
            &subject,
            Problem::new(
                "source",
                "internal: a distributed source that is not a file",
            ),
        )));
    };
    let layouts = io
        .handle()
        .block_on(quiver_io::input_layouts(source, &base, io.storage()))
        .map_err(|e| {
            let fault = e.fault();
            Problems::one(
                &subject,
                Problem::new("source.path", e.to_string()).with_fault(fault),
            )
        })?;
    let shares = shares(layouts, cluster.task_bytes);
    // Every task checks its input against the schema checked here, as one process checks
    // every input against its first: a differing file fails the run instead of landing a
    // part of another schema among the others.
    let schema = shares
        .first()
        .map(|first| RunSchema::new(first.input.clone(), &checked.source_schema))
        .transpose()
        .map_err(|e| {
            Problems::one(
                &subject,
                Problem::new(
                    "source.path",
                    format!("encoding its schema for the tasks: {e}"),
                ),
            )
        })?;
    let run = format!("r{}", uuid_like());
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let parent = target.parent().map(Path::to_path_buf).unwrap_or_default();
    let staging = parent.join(format!(".{name}.quiver-{run}"));
    let text = std::fs::read_to_string(path)
        .map_err(|e| Problems::one(&subject, Problem::new("", format!("cannot read it: {e}"))))?;
    let raw = quiver_spec::raw_value(&text, Syntax::of_path(path), sets)
        .map_err(|p| Problems::new(&subject, p))?;
    let tasks: Vec<Task> = shares
        .iter()
        .enumerate()
        .map(|(index, share)| {
            let mut doc = raw.clone();
            doc["source"]["path"] = share.input.clone().into();
            let mut input = share.input.clone();
            if let Some(groups) = &share.row_groups {
                doc["source"]["row_groups"] = groups.clone().into();
                input = match (groups.first(), groups.last()) {
                    (Some(a), Some(b)) if a != b => format!("{input}, row groups {a}-{b}"),
                    (Some(a), _) => format!("{input}, row group {a}"),
                    _ => input,
                };
            }
            let dir = staging.join(format!("task-{index:05}"));
            doc["sink"]["path"] = format!("{}/", dir.display()).into();
            doc["sink"]["mode"] = "overwrite".into();
            Task {
                run: run.clone(),
                index,
                of: shares.len(),
                pipeline: doc.to_string(),
                base: base.display().to_string(),
                input,
                schema: schema.clone(),
            }
        })
        .collect();
    // A task must read what the whole source reads: a file read on its own loses columns
    // that come from its directory (hive partitions).
    if let Some(first) = tasks.first() {
        let read = quiver_spec::load_text(
            &first.pipeline,
            Syntax::Json,
            &[],
            quiver_spec::Context::Cli,
        )
        .map_err(|p| Problems::new(&subject, p))?;
        let (one, _) = crate::check(&read, resolver, io, &base, &subject)?;
        if one.source_schema.fields() != checked.source_schema.fields() {
            return Err(Problems::one(
                &subject,
                Problem::new(
                    "source.path",
                    "a distributed run reads each file on its own, and one file alone does not \
                     have the columns of the whole source (hive partition columns come from \
                     the directories): set hive_partitioning = false, or run it in one process",
                )
                .with_fault(Fault::Config),
            )
            .into());
        }
    }
    std::fs::create_dir_all(&staging).map_err(|error| DistributedError::Commit {
        path: staging.display().to_string(),
        error,
    })?;
    let outcome = io.handle().block_on(drive(cluster, &run, &tasks, cancel));
    let results = match outcome {
        Ok(r) => r,
        Err(e) => {
            let _ = io.handle().block_on(withdraw(cluster, &run));
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let parts = commit(
        &staging,
        &target,
        tasks.len(),
        loaded_mode(&loaded.read.pipeline),
    )?;
    let mut workers = BTreeMap::new();
    for r in results.values() {
        *workers.entry(r.worker.clone()).or_insert(0) += 1;
    }
    Ok(DistributedReport {
        pipeline: path.display().to_string(),
        run,
        tasks: tasks.len(),
        rows_read: results.values().map(|r| r.rows_read).sum(),
        rows_written: results.values().map(|r| r.rows_written).sum(),
        output: target.display().to_string(),
        parts,
        workers,
        tasks_redelivered: results.values().filter(|r| r.delivered > 1).count(),
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

fn loaded_mode(p: &quiver_spec::Pipeline) -> WriteMode {
    p.sink.io().map_or(WriteMode::ErrorIfExists, |s| s.mode)
}

/// A time-ordered id for the run.
fn uuid_like() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{:x}{:05x}",
        now.as_millis(),
        (now.subsec_nanos() ^ std::process::id()) & 0xfffff
    )
}

/// Everything a distributed run cannot do, each a config problem that says why; the
/// target directory when there is none.
fn refuse_what_cannot_be_distributed(
    p: &quiver_spec::Pipeline,
    base: &Path,
    io: &Io,
) -> Result<PathBuf, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut add = |field: &str, message: String| {
        problems.push(Problem::new(field, message).with_fault(Fault::Config));
    };
    match &p.source {
        Source::Io(spec) if spec.path != "-" => {}
        _ => add(
            "source",
            "a distributed run splits files into tasks: its source is a file, a glob or a \
             directory (not stdin, the API or a stream)"
                .into(),
        ),
    }
    for (i, stage) in p.stages.iter().enumerate() {
        if let Some(why) = stateful_reason(stage) {
            add(
                &format!("stage.{i}"),
                format!(
                    "{why}, so splitting the input into tasks would change the result; run \
                     this pipeline in one process (without --workers), or declare \
                     `stateful = false` if the state does not matter across files"
                ),
            );
        }
    }
    if p.dead_letter.is_some() {
        add(
            "dead_letter",
            "a distributed run has no dead-letter sink yet; run it in one process, or use \
             on_error = \"skip\""
                .into(),
        );
    }
    let target = match &p.sink {
        Sink::Io(spec) if spec.path.ends_with('/') && spec.partition_by.is_empty() => {
            match Location::parse_with(&spec.path, base, io.storage()) {
                Ok(Location::Local(path)) => Some(path),
                Ok(_) => {
                    add(
                        "sink.path",
                        "a distributed run commits into a local (or shared, mounted) directory; \
                         object-store targets are not supported yet"
                            .into(),
                    );
                    None
                }
                Err(e) => {
                    add("sink.path", e.to_string());
                    None
                }
            }
        }
        _ => {
            add(
                "sink",
                "a distributed run writes a directory of parts: a path ending in / (without \
                 partition_by)"
                    .into(),
            );
            None
        }
    };
    if let (Some(t), Some(spec)) = (&target, p.sink.io())
        && spec.mode == WriteMode::ErrorIfExists
        && std::fs::read_dir(t).is_ok_and(|mut d| {
            d.any(|e| e.is_ok_and(|e| !e.file_name().to_string_lossy().starts_with('.')))
        })
    {
        add(
            "sink.path",
            format!(
                "{} exists and is not empty; set mode = \"overwrite\"",
                t.display()
            ),
        );
    }
    match target {
        Some(t) if problems.is_empty() => {
            Ok(PathBuf::from(t.to_string_lossy().trim_end_matches('/')))
        }
        _ => Err(problems),
    }
}

async fn connect(
    cluster: &Cluster,
) -> Result<(async_nats::jetstream::Context, String), StreamError> {
    let server = quiver_stream::shown(&cluster.url);
    let client = quiver_stream::connect(&cluster.url, &cluster.auth, "quiver coordinator").await?;
    Ok((async_nats::jetstream::new(client), server))
}

async fn withdraw(cluster: &Cluster, run: &str) -> Result<(), StreamError> {
    let (js, server) = connect(cluster).await?;
    work::withdraw(&js, &server, run).await
}

/// Queue the tasks and collect one result per task (the first of each); fail on the first
/// failed task, or when cancelled.
async fn drive(
    cluster: &Cluster,
    run: &str,
    tasks: &[Task],
    cancel: &Arc<AtomicBool>,
) -> Result<BTreeMap<usize, TaskResult>, DistributedError> {
    let (js, server) = connect(cluster).await?;
    work::setup(&js, &server, cluster.ack_wait).await?;
    let mut results = work::results(&js, &server, run).await?;
    work::submit(&js, &server, tasks).await?;
    tracing::info!(run, tasks = tasks.len(), "tasks queued");
    let mut done: BTreeMap<usize, TaskResult> = BTreeMap::new();
    while done.len() < tasks.len() {
        if cancel.load(Ordering::Relaxed) {
            return Err(DistributedError::Cancelled);
        }
        let next = tokio::time::timeout(Duration::from_millis(250), results.next()).await;
        let message = match next {
            Err(_) => continue,
            Ok(None) => {
                return Err(StreamError::unavailable(
                    "reading task results",
                    &server,
                    "the stream ended",
                )
                .into());
            }
            Ok(Some(Err(e))) => {
                tracing::warn!("reading task results: {e}");
                continue;
            }
            Ok(Some(Ok(m))) => m,
        };
        let result: TaskResult = match serde_json::from_slice(&message.payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("an unreadable task result: {e}");
                continue;
            }
        };
        if result.index >= tasks.len() || done.contains_key(&result.index) {
            continue;
        }
        if let Some(error) = &result.error {
            return Err(DistributedError::Task {
                index: result.index,
                input: tasks[result.index].input.clone(),
                worker: result.worker.clone(),
                message: error.clone(),
            });
        }
        tracing::info!(
            run,
            task = result.index,
            worker = %result.worker,
            rows = result.rows_written,
            done = done.len() + 1,
            of = tasks.len(),
            "task done"
        );
        done.insert(result.index, result);
    }
    Ok(done)
}

/// Move every task's parts up into the staging directory, drop what killed attempts left,
/// and rename the staging directory onto `target` (replacing it under `overwrite`).
fn commit(
    staging: &Path,
    target: &Path,
    tasks: usize,
    mode: WriteMode,
) -> Result<usize, DistributedError> {
    let failed = |path: &Path, error: std::io::Error| DistributedError::Commit {
        path: path.display().to_string(),
        error,
    };
    let mut parts = 0;
    for index in 0..tasks {
        let dir = staging.join(format!("task-{index:05}"));
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| failed(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        for name in names {
            let from = dir.join(&name);
            if name.starts_with('.') {
                // What an attempt killed mid-write left: never visible, now gone.
                std::fs::remove_file(&from).map_err(|e| failed(&from, e))?;
                continue;
            }
            let rest = name.strip_prefix("part-").unwrap_or(&name);
            let to = staging.join(format!("part-{index:05}-{rest}"));
            std::fs::rename(&from, &to).map_err(|e| failed(&from, e))?;
            parts += 1;
        }
        std::fs::remove_dir(&dir).map_err(|e| failed(&dir, e))?;
    }
    let parent = target.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut aside = None;
    if mode == WriteMode::Overwrite && target.exists() {
        let old = parent.join(format!(
            ".{}.old-{}",
            target
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            uuid_like()
        ));
        std::fs::rename(target, &old).map_err(|e| failed(target, e))?;
        aside = Some(old);
    }
    // `rename` replaces only an empty directory: an existing output is never lost.
    std::fs::rename(staging, target).map_err(|e| failed(target, e))?;
    if let Ok(dir) = std::fs::File::open(&parent) {
        let _ = dir.sync_all();
    }
    if let Some(old) = aside {
        std::fs::remove_dir_all(&old).map_err(|e| failed(&old, e))?;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(name: &str, groups: Option<Vec<u64>>) -> quiver_io::InputLayout {
        quiver_io::InputLayout {
            name: name.into(),
            row_groups: groups,
        }
    }

    fn cut(
        inputs: Vec<quiver_io::InputLayout>,
        task_bytes: u64,
    ) -> Vec<(String, Option<Vec<usize>>)> {
        shares(inputs, task_bytes)
            .into_iter()
            .map(|s| (s.input, s.row_groups))
            .collect()
    }

    #[test]
    fn large_parquet_files_are_cut_into_runs_of_row_groups_and_nothing_else_is() {
        let got = cut(
            vec![
                layout("a.csv", None),
                layout("small.parquet", Some(vec![10, 10])),
                layout("one.parquet", Some(vec![500])),
                layout("big.parquet", Some(vec![10, 10, 10, 40, 10])),
            ],
            25,
        );
        assert_eq!(
            got,
            vec![
                ("a.csv".into(), None),
                ("small.parquet".into(), None),
                // One row group, however large, is never split.
                ("one.parquet".into(), None),
                ("big.parquet".into(), Some(vec![0, 1])),
                ("big.parquet".into(), Some(vec![2])),
                // Larger than a task alone: a task of its own.
                ("big.parquet".into(), Some(vec![3])),
                ("big.parquet".into(), Some(vec![4])),
            ]
        );
    }
}
