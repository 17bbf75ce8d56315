//! [`NatsSource`]: a JetStream stream read through a durable pull consumer, one batch per
//! message, every message recorded in the run's [`Ledger`] until its rows are committed.
//!
//! One message is one batch, never several: a batch's number then names one message for
//! good, so the message ids a JetStream sink derives from it (`docs/streams.md`) are the
//! same when a message is delivered again after a crash — which is what makes the sink's
//! duplicate window exactly-once. Producers that want large batches put many rows in a
//! message (an Arrow IPC stream of thousands of rows is the natural unit).
//!
//! While no message comes, the source hands the engine an empty batch every `max_wait`
//! (a heartbeat): the run can then notice a stop, and the sink's clock ticks.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_nats::Client;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use futures::StreamExt;
use quiver_pipeline::engine::{BatchSource, BoxError};
use tokio::runtime::Handle;

use crate::connect::{connect, shown};
use crate::error::StreamError;
use crate::ledger::{Ledger, Origin};
use crate::payload::decode;
use crate::refs::{PayloadRefs, REF_HEADER};
use crate::spec::NatsSourceSpec;

/// Consecutive failed pulls (the connection down, heartbeats missed) before the source
/// gives up and the run fails (nothing acked is lost: unacknowledged messages come again).
const MAX_PULL_ERRORS: u32 = 20;

/// An open JetStream source: connected, its consumer created or found.
pub struct NatsSource {
    /// The schema of every batch.
    pub schema: SchemaRef,
    /// The run's messages until they are acknowledged (shared with the sink side).
    pub ledger: Arc<Ledger>,
    /// The connection (acks go through it).
    pub client: Client,
    /// The server's URL without credentials.
    pub server: String,
    /// What the report calls the input: `nats://host:port stream S (consumer C)`.
    pub shown: String,
    spec: NatsSourceSpec,
    /// Where payload references may point.
    refs: Option<PayloadRefs>,
    consumer: PullConsumer,
    messages: pull::Stream,
}

impl std::fmt::Debug for NatsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSource")
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}

impl NatsSource {
    /// Connect, find the stream, create (or reuse) the durable consumer, start pulling.
    ///
    /// # Errors
    /// [`StreamError::Config`] when the stream does not exist or the spec is invalid;
    /// [`StreamError::Unavailable`] when the server cannot be reached.
    pub async fn open(spec: &NatsSourceSpec) -> Result<NatsSource, StreamError> {
        Self::open_with(spec, None).await
    }

    /// [`Self::open`], with the store `spec.payload_refs` names (required when it is set).
    ///
    /// # Errors
    /// As [`Self::open`]; `payload_refs` set without `refs`.
    pub async fn open_with(
        spec: &NatsSourceSpec,
        refs: Option<PayloadRefs>,
    ) -> Result<NatsSource, StreamError> {
        if let Some((field, message)) = spec.problems().into_iter().next() {
            return Err(StreamError::config(field, message));
        }
        if spec.payload_refs.is_some() && refs.is_none() {
            return Err(StreamError::Internal(
                "payload_refs is set but the source was opened without a store".into(),
            ));
        }
        let server = shown(&spec.url);
        let client = connect(&spec.url, &spec.auth, &format!("quiver {}", spec.consumer)).await?;
        let js = async_nats::jetstream::new(client.clone());
        let stream = js.get_stream(&spec.stream).await.map_err(|e| {
            StreamError::config(
                "stream",
                format!("stream {:?} on {server}: {e}; create it first", spec.stream),
            )
        })?;
        let config = pull::Config {
            durable_name: Some(spec.consumer.clone()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: spec.ack_wait,
            max_ack_pending: i64::try_from(spec.max_ack_pending).unwrap_or(i64::MAX),
            deliver_policy: DeliverPolicy::All,
            filter_subject: spec.subject.clone().unwrap_or_default(),
            ..Default::default()
        };
        if spec.redeliver_on_open {
            // Deleting a consumer that does not exist is not an error here: a run may
            // have died before its consumer was made.
            let _gone = stream.delete_consumer(&spec.consumer).await;
        }
        let consumer: PullConsumer = stream
            .get_or_create_consumer(&spec.consumer, config)
            .await
            .map_err(|e| {
                StreamError::unavailable(
                    format!(
                        "creating consumer {:?} on stream {:?}",
                        spec.consumer, spec.stream
                    ),
                    &server,
                    e,
                )
            })?;
        let batch = usize::try_from(spec.max_ack_pending / 2)
            .unwrap_or(1000)
            .clamp(1, 1000);
        let messages = consumer
            .stream()
            .max_messages_per_batch(batch)
            .messages()
            .await
            .map_err(|e| {
                StreamError::unavailable(
                    format!("pulling from consumer {:?}", spec.consumer),
                    &server,
                    e,
                )
            })?;
        Ok(NatsSource {
            schema: quiver_io::schema_of(&spec.schema),
            ledger: Arc::new(Ledger::default()),
            shown: format!(
                "{server} stream {} (consumer {})",
                spec.stream, spec.consumer
            ),
            client,
            server,
            spec: spec.clone(),
            refs,
            consumer,
            messages,
        })
    }

    /// The source as the engine's blocking iterator, pulled through `handle` from the
    /// engine's source thread.
    pub fn batches(self, handle: Handle) -> BatchSource {
        Box::new(Pull {
            source: self,
            handle,
            last_message: Instant::now(),
            errors: 0,
        })
    }
}

struct Pull {
    source: NatsSource,
    handle: Handle,
    last_message: Instant,
    errors: u32,
}

impl Pull {
    fn heartbeat(&mut self) -> RecordBatch {
        self.source.ledger.record(None);
        RecordBatch::new_empty(self.source.schema.clone())
    }

    /// Whether the drain signal is raised and the consumer has nothing left to deliver
    /// (asked of the server: a message may be stored and not yet delivered). A failed
    /// question means "not yet".
    fn drained(&mut self) -> bool {
        if !self
            .source
            .spec
            .drain
            .as_ref()
            .is_some_and(crate::DrainSignal::is_raised)
        {
            return false;
        }
        match self.handle.block_on(self.source.consumer.get_info()) {
            Ok(info) => info.num_pending == 0,
            Err(e) => {
                tracing::warn!(source = %self.source.shown, "asking what is left to deliver: {e}");
                false
            }
        }
    }

    fn message(
        &mut self,
        message: async_nats::jetstream::Message,
    ) -> Result<RecordBatch, BoxError> {
        let (stream, sequence, delivered) = match message.info() {
            Ok(info) => (info.stream.to_owned(), info.stream_sequence, info.delivered),
            Err(e) => {
                return Err(Box::new(StreamError::Internal(format!(
                    "a JetStream message without its metadata: {e}"
                ))));
            }
        };
        if delivered > 1 {
            tracing::debug!(stream, sequence, delivered, "message delivered again");
        }
        let at = format!("stream {stream}, sequence {sequence}");
        let reference = message
            .headers
            .as_ref()
            .and_then(|h| h.get(REF_HEADER))
            .map(|v| v.as_str().to_owned());
        let batch = match reference {
            None => decode(
                &message.payload,
                self.source.spec.format,
                &self.source.schema,
                &at,
            )?,
            Some(reference) => {
                let Some(refs) = &self.source.refs else {
                    return Err(Box::new(StreamError::Data {
                        at,
                        message: format!(
                            "it carries a payload reference ({REF_HEADER}: {reference}) and \
                             the source has no payload_refs directory to read it from"
                        ),
                    }));
                };
                let payload = self.handle.block_on(refs.read(&reference, &at))?;
                decode(&payload, self.source.spec.format, &self.source.schema, &at)?
            }
        };
        let (_, acker) = message.split();
        self.source.ledger.record(Some(Origin {
            stream,
            sequence,
            acker: crate::ledger::Ack::Nats(acker),
        }));
        Ok(batch)
    }
}

impl Iterator for Pull {
    type Item = Result<RecordBatch, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        let wait = self.source.spec.max_wait;
        loop {
            let next = self
                .handle
                .block_on(async { tokio::time::timeout(wait, self.source.messages.next()).await });
            match next {
                Ok(Some(Ok(message))) => {
                    self.errors = 0;
                    self.last_message = Instant::now();
                    return Some(self.message(message));
                }
                Ok(Some(Err(e))) => {
                    self.errors += 1;
                    tracing::warn!(source = %self.source.shown, "pulling messages: {e}");
                    if self.errors >= MAX_PULL_ERRORS {
                        return Some(Err(Box::new(StreamError::unavailable(
                            format!("pulling from {}", self.source.shown),
                            &self.source.server,
                            e,
                        ))));
                    }
                }
                Ok(None) => return None,
                Err(_elapsed) => {
                    if self.drained() {
                        tracing::info!(source = %self.source.shown, "drained: every message was delivered; the run ends");
                        return None;
                    }
                    if self
                        .source
                        .spec
                        .until_idle
                        .is_some_and(|idle| self.last_message.elapsed() >= idle)
                    {
                        tracing::info!(source = %self.source.shown, "no message for until_idle: the stream run ends");
                        return None;
                    }
                    return Some(Ok(self.heartbeat()));
                }
            }
        }
    }
}
