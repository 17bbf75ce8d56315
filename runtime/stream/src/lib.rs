//! Quiver on NATS JetStream: stream sources and sinks whose acknowledgements follow the
//! sink's commits, and the task protocol of distributed runs. Quiver writes neither a broker
//! nor a scheduler: JetStream stores the messages, tracks what each durable consumer has
//! acknowledged, redelivers what was not, and drops duplicate message ids.
//!
//! # Core concepts
//!
//! - [`NatsSourceSpec`] / [`NatsSinkSpec`]: the `[source.nats]` and `[sink.nats]` tables of
//!   a pipeline document (plain serde; nothing connects while reading them).
//! - [`NatsSource`]: a durable pull consumer, one batch per message; every message waits in
//!   the run's [`Ledger`] until the rows it produced are committed, then it is acknowledged
//!   ([`Ledger::ack_through`]). A crash before that means JetStream delivers it again
//!   (at-least-once).
//! - [`NatsSink`]: publishes with a message id derived from the rows' origin and waits for
//!   the stream's acknowledgements at each checkpoint ([`NatsSink::flush`]); the stream's
//!   duplicate window turns redelivered messages into exactly-once output.
//! - [`IngestBuffer`]: the stream a server keeps pushed rows in until they are committed
//!   (durable ingest).
//! - [`KafkaSource`] / [`KafkaSink`]: the same for Kafka — a consumer group whose offsets
//!   are committed after the sink commits, and a producer awaited at every checkpoint.
//! - [`work`]: the distributed run — a work-queue stream of tasks, workers that pull them,
//!   results the coordinator collects before it commits.
//! - [`StreamError`]: what failed, where, and whose fault it is.
//!
//! How marks travel through the engine, and what that guarantees for every source/sink
//! pair: `docs/streams.md`.

#![deny(missing_docs)]

mod connect;
mod error;
mod ingest;
mod kafka;
mod ledger;
mod payload;
mod refs;
mod sink;
mod source;
mod spec;
pub mod work;

pub use connect::{connect, shown};
pub use error::StreamError;
pub use ingest::{INGEST, IngestBuffer, ingest_subject};
pub use kafka::{KafkaOffset, KafkaSink, KafkaSinkSpec, KafkaSource, KafkaSourceSpec};
pub use ledger::{Ack, Ledger, Origin};
pub use payload::{conform, decode, encode, lossless};
pub use refs::{MAX_REF_BYTES, PayloadRefs, REF_HEADER};
pub use sink::NatsSink;
pub use source::NatsSource;
pub use spec::{Checkpoint, DrainSignal, NatsAuth, NatsSinkSpec, NatsSourceSpec, Payload};

/// `async-nats`, for callers that set up streams (tests, tools).
pub use async_nats;
