//! The JSON Schema of the pipeline document (`quiver schema`, editors, and the OpenAPI
//! document of `quiver serve`), generated from the same types [`crate::parse`] reads.

use quiver_io::{SinkSpec, SourceSpec};
use quiver_stream::{KafkaSinkSpec, KafkaSourceSpec, NatsSinkSpec, NatsSourceSpec};
use schemars::JsonSchema;

use crate::document::{ApiSource, Stage};

/// The document's shape, for schema generation only: [`crate::Pipeline`] is read section by
/// section (every problem reported), which a derived schema cannot express by itself.
#[derive(JsonSchema)]
#[schemars(title = "Quiver pipeline", deny_unknown_fields)]
#[expect(dead_code, reason = "only its JSON Schema is used")]
struct PipelineShape {
    /// Where the batches come from: a path relative to the pipeline file, a URL
    /// (`file://`, `s3://`, `gs://`, `az://`, `memory://`), a glob over many objects, or `-`
    /// for stdin; or `api` on `quiver serve`, for batches pushed by clients.
    source: SourceShape,
    /// Plugin stages, in order.
    #[serde(default)]
    stage: Vec<Stage>,
    /// Where the batches go: one file, a directory of parts (path ending in `/`, or
    /// `max_rows_per_file`), or `-` for stdout; written atomically, committed only when the
    /// whole run succeeded.
    sink: SinkShape,
    /// Where the rows of batches that `on_error = "dead-letter"` stages failed on go, one
    /// output row per failed row with its error context.
    dead_letter: Option<SinkSpec>,
}

/// A source: read by quiver-io, or pushed through the server's API.
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "only its JSON Schema is used")]
enum SourceShape {
    /// Batches pushed to the run through `POST /v1/runs/{id}/batches`.
    Api {
        /// The pushed batches' columns and the queue length.
        api: ApiSource,
    },
    /// A JetStream stream, through a durable consumer (`docs/streams.md`).
    Nats {
        /// The stream, consumer, payload format, columns and checkpoint settings.
        nats: NatsSourceSpec,
    },
    /// A Kafka topic, through a consumer group (`docs/streams.md`).
    Kafka {
        /// The brokers, topic, group, payload format, columns and checkpoint settings.
        kafka: KafkaSourceSpec,
    },
    /// Files, globs, object stores or stdin.
    Io(SourceSpec),
}

/// A sink: written by quiver-io, or published to JetStream.
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "only its JSON Schema is used")]
enum SinkShape {
    /// A JetStream subject, every message with an id (exactly-once into the stream).
    Nats {
        /// The subject, payload format and message size.
        nats: NatsSinkSpec,
    },
    /// A Kafka topic, every record's delivery awaited at each checkpoint.
    Kafka {
        /// The brokers, topic, payload format and record size.
        kafka: KafkaSinkSpec,
    },
    /// Files, directories of parts, object stores or stdout.
    Io(SinkSpec),
}

/// The JSON Schema of pipeline documents (TOML files and JSON bodies alike).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PipelineShape)).unwrap_or_default()
}
