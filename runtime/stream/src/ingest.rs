//! [`IngestBuffer`]: the JetStream stream a server keeps pushed rows in (durable ingest),
//! so rows it has accepted survive the server dying and are processed after a restart.
//!
//! One stream, `QUIVER_INGEST`, with work-queue retention on subjects `quiver.ingest.>`
//! holds every durable run's pushed batches: run `R` publishes to `quiver.ingest.R` (a push
//! is answered only once the stream has stored all of it) and reads them back through its
//! own durable consumer `run-R` as a stream run, acknowledging each message after the rows
//! it produced are committed. Acknowledged messages leave the stream; what is left after a
//! crash is exactly what was accepted and not yet committed. A run that ends for good
//! (stopped after draining, failed, cancelled) takes its consumer and any remaining
//! messages with it ([`IngestBuffer::discard`]).

use std::time::Duration;

use async_nats::jetstream::stream::{Config, RetentionPolicy, StorageType};

use crate::connect::{connect, shown};
use crate::error::StreamError;
use crate::spec::{Checkpoint, DrainSignal, NatsAuth, NatsSinkSpec, NatsSourceSpec, Payload};

/// The stream of durable runs' pushed batches.
pub const INGEST: &str = "QUIVER_INGEST";

/// Rows per message a push is cut into (fewer when a message would pass the server's max
/// payload; `NatsSink` halves until it fits).
const MESSAGE_ROWS: usize = 10_000;

/// Where a server buffers pushed rows: a NATS server with JetStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestBuffer {
    /// `nats://host:port` (several, comma-separated).
    pub url: String,
    /// Credentials.
    pub auth: NatsAuth,
}

/// The subject run `run`'s pushes go to.
pub fn ingest_subject(run: &str) -> String {
    format!("quiver.ingest.{run}")
}

fn consumer(run: &str) -> String {
    format!("run-{run}")
}

impl IngestBuffer {
    /// The server's URL without credentials.
    pub fn shown(&self) -> String {
        shown(&self.url)
    }

    async fn context(&self) -> Result<async_nats::jetstream::Context, StreamError> {
        let client = connect(&self.url, &self.auth, "quiver ingest").await?;
        Ok(async_nats::jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(10))
            .build(client))
    }

    /// Create the ingest stream if it is missing (file storage, work-queue retention).
    ///
    /// # Errors
    /// The server cannot be reached or refuses.
    pub async fn prepare(&self) -> Result<(), StreamError> {
        let js = self.context().await?;
        js.get_or_create_stream(Config {
            name: INGEST.into(),
            subjects: vec!["quiver.ingest.>".into()],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| StreamError::unavailable("creating the ingest stream", &self.shown(), e))?;
        Ok(())
    }

    /// The source run `run` reads its pushed rows through: a stream source on its own
    /// subject and durable consumer. `resumed`: the run is picked up again after the
    /// server died, so the consumer is made afresh and the dead process's unacknowledged
    /// messages come at once.
    pub fn source(
        &self,
        run: &str,
        schema: Vec<quiver_io::ColumnSpec>,
        checkpoint: Checkpoint,
        drain: DrainSignal,
        resumed: bool,
    ) -> NatsSourceSpec {
        NatsSourceSpec {
            url: self.url.clone(),
            stream: INGEST.into(),
            consumer: consumer(run),
            subject: Some(ingest_subject(run)),
            format: Payload::Arrow,
            schema,
            max_wait: Duration::from_millis(200),
            until_idle: None,
            // The consumer is this run's alone: the ack wait only matters when the server
            // hangs without dying; keep it above any checkpoint interval.
            ack_wait: checkpoint.interval.max(Duration::from_secs(30)) * 2,
            max_ack_pending: 20_000,
            checkpoint,
            auth: self.auth.clone(),
            payload_refs: None,
            drain: Some(drain),
            redeliver_on_open: resumed,
        }
    }

    /// The sink a run's pushes are published through (Arrow IPC messages, each stored
    /// before the push is answered).
    pub fn sink(&self, run: &str) -> NatsSinkSpec {
        NatsSinkSpec {
            url: self.url.clone(),
            subject: ingest_subject(run),
            format: Payload::Arrow,
            message_rows: MESSAGE_ROWS,
            auth: self.auth.clone(),
            payload_refs: None,
        }
    }

    /// Forget run `run` for good: its consumer and every message still on its subject.
    ///
    /// # Errors
    /// The server cannot be reached or refuses.
    pub async fn discard(&self, run: &str) -> Result<u64, StreamError> {
        let js = self.context().await?;
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            StreamError::unavailable(format!("{what} of run {run}"), &self.shown(), e)
        };
        let stream = js
            .get_stream(INGEST)
            .await
            .map_err(|e| failed("finding the ingest stream", &e))?;
        let _gone = stream.delete_consumer(&consumer(run)).await;
        let purged = stream
            .purge()
            .filter(ingest_subject(run))
            .await
            .map_err(|e| failed("removing the buffered messages", &e))?;
        Ok(purged.purged)
    }
}
