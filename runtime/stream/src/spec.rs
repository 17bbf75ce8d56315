//! The stream tables of a pipeline document: `[source.nats]` ([`NatsSourceSpec`]) and
//! `[sink.nats]` ([`NatsSinkSpec`]). Plain serde with unknown fields refused; nothing
//! connects while deserializing.
//!
//! ```toml
//! [source.nats]
//! url = "nats://127.0.0.1:4222"
//! stream = "events"              # the JetStream stream to read
//! consumer = "clean-events"      # durable consumer: a restarted run resumes where it was
//! format = "ndjson"              # arrow (IPC stream) | ndjson | csv, one or more rows a message
//! schema = [{ name = "id", type = "int64" }, { name = "amount", type = "float64" }]
//! checkpoint = { rows = 100000, interval = "5s" }   # commit, then ack, this often
//!
//! [sink.nats]
//! url = "nats://127.0.0.1:4222"
//! subject = "events.clean"       # a stream must capture it; message ids make retries exactly-once
//! format = "arrow"
//! ```
//!
//! Credentials come from files (`auth.credentials_file`, `auth.token_file`,
//! `auth.password_file`) or from the environment through the document's `${env:NAME}`
//! values (shown as `***` in every message); they are never printed.

use std::path::PathBuf;
use std::time::Duration;

use quiver_io::ColumnSpec;
use schemars::JsonSchema;
use serde::Deserialize;

/// How rows travel in a message's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// An Arrow IPC stream (schema, then one or more batches).
    Arrow,
    /// Newline-delimited JSON objects, one row each.
    Ndjson,
    /// CSV with a header line.
    Csv,
}

/// A JetStream stream read through a durable pull consumer.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatsSourceSpec {
    /// The server: `nats://host:port` (several, comma-separated, for a cluster).
    pub url: String,
    /// The stream to read.
    pub stream: String,
    /// The durable consumer's name: created if missing; a restarted run (or several runs
    /// side by side) with the same name resume and share its position.
    pub consumer: String,
    /// Only messages on this subject (wildcards allowed); default: the whole stream.
    #[serde(default)]
    pub subject: Option<String>,
    /// The payload format.
    pub format: Payload,
    /// The columns of every message (Arrow messages are checked against them): the run's
    /// schema is known before any message arrives.
    pub schema: Vec<ColumnSpec>,
    /// How long the source waits for a message before it lets the run check for a stop
    /// and the sink for a time-based commit (default 500ms).
    #[serde(default = "default_max_wait", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub max_wait: Duration,
    /// End the run (drain, commit, ack) once no message came for this long; default:
    /// run until stopped (SIGTERM, `POST /v1/runs/{id}/stop`).
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub until_idle: Option<Duration>,
    /// The consumer's ack wait when the source creates it (default 60s): a message not
    /// acked this long after delivery is delivered again. Keep it well above
    /// `checkpoint.interval`.
    #[serde(default = "default_ack_wait", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub ack_wait: Duration,
    /// Messages delivered and not yet acked, at most, when the source creates the
    /// consumer (default 20000). A checkpoint is also taken when half of them are pending.
    #[serde(default = "default_max_ack_pending")]
    pub max_ack_pending: u64,
    /// When the sink commits and the source acks.
    #[serde(default)]
    pub checkpoint: Checkpoint,
    /// Credentials.
    #[serde(default)]
    pub auth: NatsAuth,
    /// A directory (`s3://bucket/refs/`, a local folder ending in `/`) that large payloads
    /// may be stored under: a message with an empty payload and the header
    /// `Quiver-Payload-Ref` naming an object there is read from the object (at most 1 GiB).
    /// A reference outside it, or any reference when this is unset, is a data error.
    #[serde(default)]
    pub payload_refs: Option<String>,
    /// Set by the server for its ingest runs, never by a document: once raised, the source
    /// ends when the consumer has nothing left to deliver (a drained API run) instead of
    /// waiting for the next message.
    #[serde(skip)]
    #[schemars(skip)]
    pub drain: Option<DrainSignal>,
    /// Set by the server when it resumes an ingest run after a restart: the consumer is
    /// deleted and created again on open, so the messages the dead process held unacked
    /// come at once instead of after `ack_wait`. Only for a consumer no other process
    /// reads (on a work-queue stream, acknowledged messages are already gone).
    #[serde(skip)]
    #[schemars(skip)]
    pub redeliver_on_open: bool,
}

/// "Read what is left, then end": raised when an API run is stopped, seen by its source.
#[derive(Debug, Clone, Default)]
pub struct DrainSignal(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl DrainSignal {
    /// Ask the source to end once nothing is left to deliver.
    pub fn raise(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether [`Self::raise`] was called.
    pub fn is_raised(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl PartialEq for DrainSignal {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A JetStream subject written to with a publish acknowledgement for every message.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatsSinkSpec {
    /// The server: `nats://host:port`.
    pub url: String,
    /// The subject; a stream must capture it (the sink does not create streams).
    pub subject: String,
    /// The payload format.
    pub format: Payload,
    /// Rows per message, at most (default 10000); a message must also stay below the
    /// server's max payload (1 MiB by default).
    #[serde(default = "default_message_rows")]
    pub message_rows: usize,
    /// Credentials.
    #[serde(default)]
    pub auth: NatsAuth,
    /// A directory (`s3://bucket/refs/`, a local folder ending in `/`) for payloads over
    /// the server's max payload: such a message's rows are stored as an object there and
    /// the message carries its address (header `Quiver-Payload-Ref`) instead; unset, the
    /// rows are cut into smaller messages. Objects are never deleted by Quiver.
    #[serde(default)]
    pub payload_refs: Option<String>,
}

/// How a stream run's outputs are committed (and then its inputs acknowledged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Checkpoint {
    /// Commit once this many rows were written since the last commit (default 100000).
    pub rows: u64,
    /// Commit at least this often while rows are pending (default 5s).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "String")]
    pub interval: Duration,
}

impl Default for Checkpoint {
    fn default() -> Self {
        Checkpoint {
            rows: 100_000,
            interval: Duration::from_secs(5),
        }
    }
}

/// Credentials for a NATS server. At most one way; none for a server without auth.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatsAuth {
    /// A `.creds` file (JWT and NKey seed), as `nsc` writes them.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// A file holding a token.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// A token (use `${env:NAME}`).
    #[serde(default)]
    pub token: Option<String>,
    /// A user name, with `password` or `password_file`.
    #[serde(default)]
    pub user: Option<String>,
    /// A password (use `${env:NAME}`).
    #[serde(default)]
    pub password: Option<String>,
    /// A file holding the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

fn default_max_wait() -> Duration {
    Duration::from_millis(500)
}

fn default_ack_wait() -> Duration {
    Duration::from_secs(60)
}

fn default_max_ack_pending() -> u64 {
    20_000
}

fn default_message_rows() -> usize {
    10_000
}

impl NatsSourceSpec {
    /// The problems no connection is needed to find, each with its field below
    /// `source.nats`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if self.schema.is_empty() {
            p.push((
                "schema".into(),
                "a stream's columns are declared: schema = [{ name = \"id\", type = \"int64\" \
                 }, ...] (Arrow messages are checked against it)"
                    .into(),
            ));
        }
        if !valid_name(&self.stream) {
            p.push(("stream".into(), name_rule()));
        }
        if !valid_name(&self.consumer) {
            p.push(("consumer".into(), name_rule()));
        }
        if self.checkpoint.rows == 0 {
            p.push(("checkpoint.rows".into(), "must be at least 1".into()));
        }
        if self.max_ack_pending < 2 {
            p.push(("max_ack_pending".into(), "must be at least 2".into()));
        }
        if self.ack_wait <= self.checkpoint.interval {
            p.push((
                "ack_wait".into(),
                format!(
                    "must be longer than checkpoint.interval ({:?}): messages would be \
                     delivered again before their rows are committed",
                    self.checkpoint.interval
                ),
            ));
        }
        p
    }
}

impl NatsSinkSpec {
    /// The problems no connection is needed to find, each with its field below
    /// `sink.nats`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if self.message_rows == 0 {
            p.push(("message_rows".into(), "must be at least 1".into()));
        }
        if self.subject.is_empty() || self.subject.contains(['*', '>', ' ']) {
            p.push((
                "subject".into(),
                "a subject to publish to: no wildcards or spaces".into(),
            ));
        }
        p
    }
}

/// JetStream names: no whitespace, `.`, `*`, `>`, path separators.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
}

fn name_rule() -> String {
    "a JetStream name: not empty, no spaces, '.', '*', '>', '/' or '\\\\'".into()
}
