//! The distributed run's protocol on JetStream: a work-queue stream of [`Task`]s that any
//! number of workers pull from one shared durable consumer, and a stream of
//! [`TaskResult`]s the coordinator reads.
//!
//! - `QUIVER_TASKS` (subjects `quiver.tasks.<run>`) has work-queue retention: a task is
//!   removed when a worker acknowledges it, and delivered again — to any worker — when its
//!   worker neither acknowledges it nor reports progress within the consumer's ack wait
//!   (a worker killed mid-task). Each task is published with the message id
//!   `<run>:<index>`, so a retried submission never queues a task twice.
//! - `QUIVER_RESULTS` (subjects `quiver.results.<run>`) keeps every result until the run's
//!   coordinator has read it. A task may report twice (a worker that was merely slow, and
//!   the one that got it again); the coordinator takes the first, and both wrote the same
//!   part files (tasks are deterministic and write with `overwrite`).
//!
//! A worker acknowledges a task only after its output is committed and its result stored:
//! a task whose worker dies at any point before that runs again.

use std::time::Duration;

use arrow_schema::{ArrowError, Schema, SchemaRef};
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::stream::{Config, RetentionPolicy};
use async_nats::jetstream::{self, Context};
use base64::prelude::{BASE64_STANDARD, Engine as _};
use serde::{Deserialize, Serialize};

use crate::error::StreamError;

/// The work-queue stream of tasks.
pub const TASKS: &str = "QUIVER_TASKS";
/// The stream of task results.
pub const RESULTS: &str = "QUIVER_RESULTS";
/// The durable consumer every worker pulls tasks from.
pub const WORKERS: &str = "quiver-workers";

/// One piece of a distributed run: the pipeline over one input, into its own directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    /// The run it belongs to.
    pub run: String,
    /// Its place among the run's tasks (0-based), and how many there are.
    pub index: usize,
    /// How many tasks the run has.
    pub of: usize,
    /// The pipeline document (JSON) for this task: its source is the one input, its sink
    /// the task's own directory. `${env:NAME}` values are left for the worker to fill from
    /// its own environment: no secret travels in a task.
    pub pipeline: String,
    /// The directory the document's relative paths start from.
    pub base: String,
    /// The input, as the report shows it.
    pub input: String,
    /// The schema the whole run reads (the coordinator's check of the first input): a
    /// worker refuses an input whose schema differs, as one process reading them all would.
    /// Absent in tasks from coordinators that did not pin it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<RunSchema>,
}

/// The schema of a distributed run's source, carried in each [`Task`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSchema {
    /// The input it was read from (for messages).
    pub from: String,
    /// An Arrow IPC stream holding only the schema, base64.
    ipc: String,
}

impl RunSchema {
    /// `schema`, read from input `from`.
    ///
    /// # Errors
    /// Arrow cannot encode the schema (it encodes every type quiver reads).
    pub fn new(from: impl Into<String>, schema: &Schema) -> Result<Self, ArrowError> {
        let mut writer = arrow_ipc::writer::StreamWriter::try_new(Vec::new(), schema)?;
        writer.finish()?;
        Ok(RunSchema {
            from: from.into(),
            ipc: BASE64_STANDARD.encode(writer.into_inner()?),
        })
    }

    /// The schema.
    ///
    /// # Errors
    /// The task carries something that is not an encoded schema.
    pub fn schema(&self) -> Result<SchemaRef, ArrowError> {
        let bytes = BASE64_STANDARD
            .decode(&self.ipc)
            .map_err(|e| ArrowError::IpcError(format!("a task's schema is not base64: {e}")))?;
        let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)?;
        Ok(reader.schema())
    }
}

/// What a task did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskResult {
    /// The run.
    pub run: String,
    /// The task.
    pub index: usize,
    /// The worker that ran it.
    pub worker: String,
    /// How many times the task had been delivered (more than 1: it ran again).
    pub delivered: i64,
    /// Rows read and written, when it succeeded.
    pub rows_read: u64,
    /// Rows written.
    pub rows_written: u64,
    /// The part files it committed.
    pub outputs: Vec<String>,
    /// Why it failed (`fault: message`), when it did.
    pub error: Option<String>,
}

/// The subject of run `run`'s tasks.
pub fn task_subject(run: &str) -> String {
    format!("quiver.tasks.{run}")
}

/// The subject of run `run`'s results.
pub fn result_subject(run: &str) -> String {
    format!("quiver.results.{run}")
}

/// Create (or find) the two streams and the workers' consumer. `ack_wait` is how long a
/// task may go without an ack or a progress report before it is delivered again (used
/// when the consumer is created).
///
/// # Errors
/// The server refuses or cannot be reached.
pub async fn setup(
    js: &Context,
    server: &str,
    ack_wait: Duration,
) -> Result<PullConsumer, StreamError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| StreamError::unavailable(what, server, e);
    let tasks = js
        .get_or_create_stream(Config {
            name: TASKS.into(),
            subjects: vec!["quiver.tasks.>".into()],
            retention: RetentionPolicy::WorkQueue,
            ..Default::default()
        })
        .await
        .map_err(|e| failed("creating the task stream", &e))?;
    js.get_or_create_stream(Config {
        name: RESULTS.into(),
        subjects: vec!["quiver.results.>".into()],
        max_age: Duration::from_secs(7 * 24 * 3600),
        ..Default::default()
    })
    .await
    .map_err(|e| failed("creating the result stream", &e))?;
    tasks
        .get_or_create_consumer(
            WORKERS,
            pull::Config {
                durable_name: Some(WORKERS.into()),
                ack_policy: AckPolicy::Explicit,
                ack_wait,
                max_ack_pending: -1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| failed("creating the workers' consumer", &e))
}

/// Queue `tasks`, each stored before this returns.
///
/// # Errors
/// The server refuses or cannot be reached.
pub async fn submit(js: &Context, server: &str, tasks: &[Task]) -> Result<(), StreamError> {
    let mut acks = Vec::with_capacity(tasks.len());
    for t in tasks {
        let body = serde_json::to_vec(t).map_err(|e| StreamError::Internal(e.to_string()))?;
        let message = jetstream::message::PublishMessage::build()
            .payload(body.into())
            .message_id(format!("{}:{}", t.run, t.index));
        acks.push(
            js.send_publish(task_subject(&t.run), message)
                .await
                .map_err(|e| StreamError::unavailable("queueing a task", server, e))?,
        );
    }
    for a in acks {
        a.await
            .map_err(|e| StreamError::unavailable("queueing a task", server, e))?;
    }
    Ok(())
}

/// Remove run `run`'s tasks still queued (a failed or cancelled run).
///
/// # Errors
/// The server refuses or cannot be reached.
pub async fn withdraw(js: &Context, server: &str, run: &str) -> Result<(), StreamError> {
    let stream = js
        .get_stream(TASKS)
        .await
        .map_err(|e| StreamError::unavailable("finding the task stream", server, e))?;
    stream
        .purge()
        .filter(task_subject(run))
        .await
        .map_err(|e| StreamError::unavailable("withdrawing the run's tasks", server, e))?;
    Ok(())
}

/// Store `result` (a worker, before it acknowledges the task).
///
/// # Errors
/// The server refuses or cannot be reached.
pub async fn report(js: &Context, server: &str, result: &TaskResult) -> Result<(), StreamError> {
    let body = serde_json::to_vec(result).map_err(|e| StreamError::Internal(e.to_string()))?;
    js.publish(result_subject(&result.run), body.into())
        .await
        .map_err(|e| StreamError::unavailable("storing a task result", server, e))?
        .await
        .map_err(|e| StreamError::unavailable("storing a task result", server, e))?;
    Ok(())
}

/// A consumer of run `run`'s results, from the first (the coordinator's).
///
/// # Errors
/// The server refuses or cannot be reached.
pub async fn results(js: &Context, server: &str, run: &str) -> Result<pull::Stream, StreamError> {
    let stream = js
        .get_stream(RESULTS)
        .await
        .map_err(|e| StreamError::unavailable("finding the result stream", server, e))?;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            filter_subject: result_subject(run),
            ack_policy: AckPolicy::None,
            ..Default::default()
        })
        .await
        .map_err(|e| StreamError::unavailable("reading task results", server, e))?;
    consumer
        .messages()
        .await
        .map_err(|e| StreamError::unavailable("reading task results", server, e))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_schema::{DataType, Field, Schema, TimeUnit};

    use super::RunSchema;

    #[test]
    fn a_tasks_schema_round_trips_zoned_dictionary_and_nested_types() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new_dictionary("city", DataType::Int32, DataType::LargeUtf8, true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]);
        let pinned = RunSchema::new("in/a.parquet", &schema).unwrap();
        let json = serde_json::to_string(&pinned).unwrap();
        let back: RunSchema = serde_json::from_str(&json).unwrap();
        assert_eq!(back.from, "in/a.parquet");
        assert_eq!(back.schema().unwrap().fields(), schema.fields());
        let broken: RunSchema =
            serde_json::from_str(r#"{"from": "x", "ipc": "not base64!"}"#).unwrap();
        assert!(broken.schema().is_err());
    }
}
