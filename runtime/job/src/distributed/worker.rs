//! A worker of distributed runs (`quiver worker`): pull one task at a time from the shared
//! consumer, run it as an ordinary job (its output committed as its own parts), store its
//! result, then acknowledge it. While a task runs, the worker reports progress to JetStream
//! every third of the ack wait, so only a worker that died (or hangs) has its task
//! delivered again.
//!
//! Failures: an unavailable dependency (storage, NATS) puts the task back for a retry
//! (`nak` with a delay); a config, data or plugin error is a result the coordinator fails
//! the run with, and the task is acknowledged (running it again would fail again).
//! `stop` (SIGTERM) drains: no further task is taken, the current one finishes, is
//! acknowledged, and the worker returns.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use futures::StreamExt;
use quiver_fault::Fault;
use quiver_pipeline::Progress;
use quiver_spec::Syntax;
use quiver_stream::StreamError;
use quiver_stream::work::{self, Task, TaskResult};
use serde::Serialize;

use super::DistributedError;
use super::coordinator::Cluster;
use crate::io::Io;
use crate::job::Job;
use crate::resolve::Resolver;

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The NATS server and the tasks' ack wait.
    pub cluster: Cluster,
    /// How the worker is named in results and metrics.
    pub name: String,
    /// Where to write the metrics (Prometheus text format, replaced atomically after every
    /// task and every `metrics_interval`), for node_exporter's textfile collector.
    pub metrics_file: Option<PathBuf>,
    /// How often the metrics (and the lag) are refreshed while idle.
    pub metrics_interval: Duration,
    /// Return after this many tasks (tests, batch jobs); `None`: until stopped.
    pub max_tasks: Option<u64>,
}

/// A worker's numbers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerMetrics {
    /// Tasks run to success.
    pub tasks_done: u64,
    /// Tasks that failed (reported to their coordinator).
    pub tasks_failed: u64,
    /// Tasks put back for a retry (an unavailable dependency).
    pub tasks_retried: u64,
    /// Tasks this worker got that had been delivered before (another worker died or was
    /// too slow).
    pub redeliveries: u64,
    /// Rows read and written over every task.
    pub rows_read: u64,
    /// Rows written.
    pub rows_written: u64,
    /// Time spent running tasks.
    pub busy_seconds: f64,
    /// Tasks waiting in the queue (not yet delivered to any worker), when last asked.
    pub lag: u64,
}

impl WorkerMetrics {
    /// The Prometheus text exposition of these numbers, labelled with the worker's name.
    pub fn prometheus(&self, worker: &str) -> String {
        let w = worker.replace(['\\', '"', '\n'], "_");
        let mut out = String::new();
        for (name, help, kind, value) in [
            (
                "quiver_worker_tasks_done_total",
                "Tasks run to success.",
                "counter",
                self.tasks_done as f64,
            ),
            (
                "quiver_worker_tasks_failed_total",
                "Tasks that failed.",
                "counter",
                self.tasks_failed as f64,
            ),
            (
                "quiver_worker_tasks_retried_total",
                "Tasks put back for a retry.",
                "counter",
                self.tasks_retried as f64,
            ),
            (
                "quiver_worker_redeliveries_total",
                "Tasks received that had been delivered before.",
                "counter",
                self.redeliveries as f64,
            ),
            (
                "quiver_worker_rows_read_total",
                "Rows read by tasks.",
                "counter",
                self.rows_read as f64,
            ),
            (
                "quiver_worker_rows_written_total",
                "Rows written by tasks.",
                "counter",
                self.rows_written as f64,
            ),
            (
                "quiver_worker_busy_seconds_total",
                "Time spent running tasks.",
                "counter",
                self.busy_seconds,
            ),
            (
                "quiver_worker_lag_tasks",
                "Tasks queued and not yet delivered.",
                "gauge",
                self.lag as f64,
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{worker=\"{w}\"}} {value}\n"
            ));
        }
        out
    }
}

fn write_metrics(options: &WorkerOptions, metrics: &WorkerMetrics) {
    let Some(path) = &options.metrics_file else {
        return;
    };
    let tmp = path.with_extension("prom.tmp");
    let written = std::fs::write(&tmp, metrics.prometheus(&options.name))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), "writing the metrics file: {e}");
    }
}

/// Take and run tasks until `stop` is set (then finish the current task first) or
/// `max_tasks` are done; the worker's numbers.
///
/// # Errors
/// The server cannot be reached when the worker starts (later outages are retried).
pub fn work(
    options: &WorkerOptions,
    resolver: &Resolver,
    io: &Io,
    stop: &Arc<AtomicBool>,
) -> Result<WorkerMetrics, DistributedError> {
    let cluster = &options.cluster;
    let server = quiver_stream::shown(&cluster.url);
    let handle = io.handle().clone();
    let (js, mut consumer) = handle.block_on(async {
        let client = quiver_stream::connect(
            &cluster.url,
            &cluster.auth,
            &format!("quiver worker {}", options.name),
        )
        .await?;
        let js = async_nats::jetstream::new(client);
        let consumer = work::setup(&js, &server, cluster.ack_wait).await?;
        Ok::<_, StreamError>((js, consumer))
    })?;
    tracing::info!(worker = %options.name, server = %server, "worker ready");
    let mut metrics = WorkerMetrics::default();
    let mut last_metrics = Instant::now();
    let ack_wait = consumer.cached_info().config.ack_wait;
    write_metrics(options, &metrics);
    while !stop.load(Ordering::Relaxed)
        && options
            .max_tasks
            .is_none_or(|m| metrics.tasks_done + metrics.tasks_failed < m)
    {
        if last_metrics.elapsed() >= options.metrics_interval {
            if let Ok(info) = handle.block_on(consumer.info()) {
                metrics.lag = info.num_pending;
            }
            write_metrics(options, &metrics);
            last_metrics = Instant::now();
        }
        // One task at a time: a worker never holds a task it is not running.
        let fetched = handle.block_on(async {
            let mut batch = consumer
                .batch()
                .max_messages(1)
                .expires(Duration::from_millis(500))
                .messages()
                .await?;
            batch.next().await.transpose()
        });
        let message = match fetched {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(worker = %options.name, "pulling a task: {e}");
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
        if delivered > 1 {
            metrics.redeliveries += 1;
        }
        let task: Task = match serde_json::from_slice(&message.payload) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("an unreadable task, dropped: {e}");
                let _ = handle.block_on(message.ack_with(AckKind::Term));
                continue;
            }
        };
        let started = Instant::now();
        let outcome = run_task(&task, resolver, io, &message, ack_wait);
        metrics.busy_seconds += started.elapsed().as_secs_f64();
        let mut result = TaskResult {
            run: task.run.clone(),
            index: task.index,
            worker: options.name.clone(),
            delivered,
            rows_read: 0,
            rows_written: 0,
            outputs: Vec::new(),
            error: None,
        };
        match outcome {
            Ok(report) => {
                metrics.tasks_done += 1;
                metrics.rows_read += report.rows_read;
                metrics.rows_written += report.rows_written;
                result.rows_read = report.rows_read;
                result.rows_written = report.rows_written;
                result.outputs = report.outputs;
            }
            Err((Fault::Unavailable, message_text)) => {
                metrics.tasks_retried += 1;
                tracing::warn!(task = task.index, run = %task.run, "task put back for a retry: {message_text}");
                let _ =
                    handle.block_on(message.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))));
                continue;
            }
            Err((fault, message_text)) => {
                metrics.tasks_failed += 1;
                result.error = Some(format!("{fault}: {message_text}"));
            }
        }
        tracing::info!(worker = %options.name, run = %task.run, task = task.index, of = task.of, delivered, rows = result.rows_written, error = result.error.as_deref().unwrap_or(""), "task finished");
        // The result is stored before the ack: a worker dying in between only makes the
        // task run again (the coordinator takes the first result of each task).
        let stored = handle.block_on(async {
            work::report(&js, &server, &result).await?;
            message
                .double_ack()
                .await
                .map_err(|e| StreamError::unavailable("acknowledging a task", &server, e))
        });
        if let Err(e) = stored {
            tracing::warn!(task = task.index, "the task will run again: {e}");
        }
        write_metrics(options, &metrics);
        last_metrics = Instant::now();
    }
    if let Ok(info) = handle.block_on(consumer.info()) {
        metrics.lag = info.num_pending;
    }
    write_metrics(options, &metrics);
    Ok(metrics)
}

/// Run one task to its committed output, reporting progress to JetStream meanwhile.
fn run_task(
    task: &Task,
    resolver: &Resolver,
    io: &Io,
    message: &async_nats::jetstream::Message,
    ack_wait: Duration,
) -> Result<crate::RunReport, (Fault, String)> {
    let failed = |e: &(dyn std::error::Error + 'static)| {
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            text = format!("{text}: {c}");
            cause = c.source();
        }
        (crate::fault_of(e), text)
    };
    let read = quiver_spec::load_text(&task.pipeline, Syntax::Json, &[], quiver_spec::Context::Cli)
        .map_err(|p| {
            let p =
                quiver_spec::Problems::new(format!("task {} of run {}", task.index, task.run), p);
            failed(&p)
        })?;
    let name = format!("{} task {} ({})", task.run, task.index, task.input);
    let job = Job::open(name, &read, resolver, io, Path::new(&task.base), None)
        .map_err(|p| failed(&p))?;
    if let Some(pinned) = &task.schema {
        let expected = pinned.schema().map_err(|e| {
            (
                Fault::Internal,
                format!("task {} of run {}: {e}", task.index, task.run),
            )
        })?;
        if let Some((column, text)) = quiver_io::first_difference(&expected, &job.source_schema) {
            // The words one process uses for the same input (`IoError::BadData`).
            return Err((
                Fault::Data,
                format!(
                    "bad data in {} in column {column:?}: the schema differs from {}'s: {text}; \
                     fix or remove the offending input",
                    task.input, pinned.from
                ),
            ));
        }
    }
    let progress = Progress::new(job.stage_names());
    let every = (ack_wait / 3).max(Duration::from_millis(200));
    std::thread::scope(|scope| {
        // The job's thread says when it is done, so the task is reported the moment it
        // ends (polling every 50 ms cost ~25 ms a task: 0.6 s of a 24-task benchmark run).
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let running = scope.spawn(move || {
            let r = job.run(&progress);
            let _ = done_tx.send(());
            r
        });
        loop {
            match done_rx.recv_timeout(every) {
                // Done, or its thread ended (a panic drops the sender).
                Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    // "Still working": the ack wait starts over.
                    if let Err(e) = io.handle().block_on(message.ack_with(AckKind::Progress)) {
                        tracing::warn!("reporting progress on a task: {e}");
                    }
                }
            }
        }
        match running.join() {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(e)) => Err(failed(&e)),
            Err(_) => Err((Fault::Internal, "the task's thread panicked".into())),
        }
    })
}
