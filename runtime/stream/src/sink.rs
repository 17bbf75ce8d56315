//! [`NatsSink`]: batches published to a JetStream subject, each message with an id, every
//! publish acknowledged by the stream before the run's checkpoint counts it committed.
//!
//! Exactly-once into a stream: JetStream drops a message whose `Nats-Msg-Id` it has seen
//! within the stream's duplicate window (2 minutes by default). The caller gives every batch
//! an id derived from where its rows came from — for a stream source, the source message's
//! stream and sequence and the batch's place among that message's outputs — so after a
//! crash, the messages delivered again produce the same ids, and the stream keeps one copy.

use std::time::Duration;

use arrow_array::RecordBatch;
use async_nats::jetstream::context::{Context, PublishAckFuture};
use async_nats::jetstream::message::PublishMessage;

use crate::connect::{connect, shown};
use crate::error::StreamError;
use crate::payload::Chunks;
use crate::refs::{PayloadRefs, REF_HEADER};
use crate::spec::NatsSinkSpec;

/// An open JetStream sink.
pub struct NatsSink {
    js: Context,
    spec: NatsSinkSpec,
    server: String,
    /// The server's max payload.
    max_payload: usize,
    /// Publishes not yet acknowledged by the stream.
    pending: Vec<PublishAckFuture>,
    /// Messages acknowledged so far, and how many of them the stream had already seen.
    published: (u64, u64),
    /// Rows published.
    rows: u64,
    /// Where payloads over the max payload go.
    refs: Option<PayloadRefs>,
    /// Messages published as references.
    referenced: u64,
}

impl std::fmt::Debug for NatsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSink")
            .field("subject", &self.spec.subject)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl NatsSink {
    /// Connect and check that a stream captures the subject.
    ///
    /// # Errors
    /// [`StreamError::Config`] when no stream captures the subject;
    /// [`StreamError::Unavailable`] when the server cannot be reached.
    pub async fn open(spec: &NatsSinkSpec) -> Result<NatsSink, StreamError> {
        Self::open_with(spec, None).await
    }

    /// [`Self::open`], with the store `spec.payload_refs` names (required when it is set).
    ///
    /// # Errors
    /// As [`Self::open`]; `payload_refs` set without `refs`.
    pub async fn open_with(
        spec: &NatsSinkSpec,
        refs: Option<PayloadRefs>,
    ) -> Result<NatsSink, StreamError> {
        if let Some((field, message)) = spec.problems().into_iter().next() {
            return Err(StreamError::config(field, message));
        }
        if spec.payload_refs.is_some() && refs.is_none() {
            return Err(StreamError::Internal(
                "payload_refs is set but the sink was opened without a store".into(),
            ));
        }
        let server = shown(&spec.url);
        let client = connect(&spec.url, &spec.auth, "quiver sink").await?;
        let max_payload = client.server_info().max_payload;
        let js = async_nats::jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(10))
            .build(client);
        js.stream_by_subject(spec.subject.clone())
            .await
            .map_err(|e| {
                StreamError::config(
                    "subject",
                    format!(
                        "no stream on {server} captures subject {:?} ({e}); create one first",
                        spec.subject
                    ),
                )
            })?;
        Ok(NatsSink {
            js,
            spec: spec.clone(),
            server,
            max_payload,
            pending: Vec::new(),
            published: (0, 0),
            rows: 0,
            refs,
            referenced: 0,
        })
    }

    /// What the report calls the output.
    pub fn shown(&self) -> String {
        format!("{} subject {}", self.server, self.spec.subject)
    }

    /// Publish `batch` as messages of at most `message_rows` rows (fewer when a payload
    /// would exceed the server's max payload), the k-th with id `{id}.{k}`. Nothing waits
    /// for the stream's acknowledgements until [`NatsSink::flush`].
    ///
    /// # Errors
    /// The format cannot hold the batch; a single row exceeds the max payload; the
    /// connection is gone.
    pub async fn publish(&mut self, batch: &RecordBatch, id: &str) -> Result<(), StreamError> {
        // Headers and the subject travel in the same frame: keep a margin.
        let max = self.max_payload;
        let fits = |len: usize| len + 256 <= max;
        // With payload references nothing is cut: a payload that does not fit goes to the
        // object store instead.
        let spill = self.refs.is_some();
        let mut chunks = Chunks::new(batch, self.spec.message_rows, self.spec.format);
        let mut k = 0_usize;
        while let Some((take, payload)) = chunks.next(
            |len| spill || fits(len),
            |len| {
                StreamError::config(
                    "message_rows",
                    format!(
                        "one row takes {len} bytes, more than the server's max payload \
                         ({max} bytes)"
                    ),
                )
            },
        )? {
            let message_id = format!("{id}.{k}");
            k += 1;
            if let Some(refs) = self.refs.as_ref().filter(|_| !fits(payload.len())) {
                // The object is named after the message id: a retried publish rewrites the
                // same object, and the stream drops the repeated message.
                let name = format!(
                    "{}.{}",
                    message_id.replace([':', '/', '\\'], "_"),
                    match self.spec.format {
                        crate::Payload::Arrow => "arrows",
                        crate::Payload::Ndjson => "ndjson",
                        crate::Payload::Csv => "csv",
                    }
                );
                let reference = refs.write(&name, payload).await?;
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(REF_HEADER, reference.as_str());
                let message = PublishMessage::build()
                    .payload(bytes::Bytes::new())
                    .headers(headers)
                    .message_id(message_id);
                self.send(message).await?;
                self.referenced += 1;
            } else {
                let message = PublishMessage::build()
                    .payload(payload)
                    .message_id(message_id);
                self.send(message).await?;
            }
            self.rows += take as u64;
        }
        Ok(())
    }

    async fn send(&mut self, message: PublishMessage) -> Result<(), StreamError> {
        let ack = self
            .js
            .send_publish(self.spec.subject.clone(), message)
            .await
            .map_err(|e| {
                StreamError::unavailable(
                    format!("publishing to subject {}", self.spec.subject),
                    &self.server,
                    e,
                )
            })?;
        self.pending.push(ack);
        Ok(())
    }

    /// Messages published as payload references so far.
    pub fn referenced(&self) -> u64 {
        self.referenced
    }

    /// Wait until the stream has acknowledged every message published so far: only then
    /// are they committed. Returns (messages acknowledged, how many of them were duplicates
    /// the stream dropped), in all so far.
    ///
    /// # Errors
    /// A publish was refused or not acknowledged in time: the run fails and nothing
    /// published since the last flush may count as committed.
    pub async fn flush(&mut self) -> Result<(u64, u64), StreamError> {
        for ack in std::mem::take(&mut self.pending) {
            let ack = ack.await.map_err(|e| {
                StreamError::unavailable(
                    format!(
                        "waiting for the stream to store a message on {}",
                        self.spec.subject
                    ),
                    &self.server,
                    e,
                )
            })?;
            self.published.0 += 1;
            if ack.duplicate {
                self.published.1 += 1;
            }
        }
        Ok(self.published)
    }

    /// Rows published so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}
