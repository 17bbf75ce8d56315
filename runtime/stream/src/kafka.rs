//! Kafka: a consumer-group source whose offsets are committed only after the sink has
//! committed the rows they produced (at-least-once, like the JetStream source), and a
//! producer sink whose deliveries are awaited at every checkpoint. Same payload formats as
//! NATS (`arrow`, `ndjson`, `csv`), one batch per record.
//!
//! Built on `rdkafka` (librdkafka, bundled). The source is a `BaseConsumer` polled from the
//! engine's source thread, with `enable.auto.commit` and `enable.auto.offset.store` off:
//! each record waits in the run's [`Ledger`] as a [`KafkaOffset`], and a checkpoint commits,
//! per partition, the offset after the last acknowledged record (one synchronous commit).
//! A commit that fails (a rebalance took the partition away, the broker is gone) loses
//! nothing: the records come again to whoever owns the partition next, so the failure is
//! logged and the run goes on. Rebalances are logged with the partitions each member holds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use quiver_io::ColumnSpec;
use quiver_pipeline::engine::{BatchSource, BoxError};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::StreamError;
use crate::ledger::{Ack, Ledger, Origin};
use crate::payload::{Chunks, decode};
use crate::spec::{Checkpoint, Payload};

/// A Kafka topic read by a consumer group.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceSpec {
    /// The brokers: `host:port`, comma-separated.
    pub brokers: String,
    /// The topic to read.
    pub topic: String,
    /// The consumer group: members of a group share the topic's partitions, and a
    /// restarted member resumes from the group's committed offsets.
    pub group: String,
    /// The payload format.
    pub format: Payload,
    /// The columns of every record (Arrow records are checked against them).
    pub schema: Vec<ColumnSpec>,
    /// How long the source waits for a record before the run checks for a stop and the
    /// sink for a time-based commit (default 500ms).
    #[serde(default = "default_max_wait", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub max_wait: Duration,
    /// End the run (drain, commit) once no record came for this long (counted from the last
    /// record or the last partition assignment, whichever is later); default: run until
    /// stopped.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub until_idle: Option<Duration>,
    /// When the sink commits and the offsets are committed after it.
    #[serde(default)]
    pub checkpoint: Checkpoint,
    /// A checkpoint is also taken when this many records wait for their commit (default
    /// 10000).
    #[serde(default = "default_max_pending")]
    pub max_pending: usize,
    /// Where a new group starts: `earliest` (default) or `latest`.
    #[serde(default = "default_start")]
    pub start: String,
    /// More librdkafka properties (`security.protocol`, `sasl.username`, …); write secrets
    /// as `${env:NAME}`. Values are never shown. The properties Quiver sets itself (group,
    /// brokers, commits, offset store) cannot be changed here.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// A Kafka topic written by a producer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkSpec {
    /// The brokers: `host:port`, comma-separated.
    pub brokers: String,
    /// The topic (it must exist, or the brokers must create topics).
    pub topic: String,
    /// The payload format.
    pub format: Payload,
    /// Rows per record at most (default 10000); a record also stays under
    /// `max_record_bytes`, halving its rows until it does.
    #[serde(default = "default_message_rows")]
    pub message_rows: usize,
    /// The largest record payload (default 900000, under Kafka's default 1 MB).
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// More librdkafka producer properties (`compression.type`, `acks`, security); write
    /// secrets as `${env:NAME}`. Values are never shown.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn default_max_wait() -> Duration {
    Duration::from_millis(500)
}
fn default_max_pending() -> usize {
    10_000
}
fn default_start() -> String {
    "earliest".into()
}
fn default_message_rows() -> usize {
    10_000
}
fn default_max_record_bytes() -> usize {
    900_000
}

/// Properties Quiver sets itself: its delivery guarantee depends on them.
const RESERVED: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
];

impl KafkaSourceSpec {
    /// The problems no connection is needed to find, each with its field below
    /// `source.kafka`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if self.schema.is_empty() {
            p.push((
                "schema".into(),
                "a topic's columns are declared: schema = [...]".into(),
            ));
        }
        for (field, value) in [
            ("brokers", &self.brokers),
            ("topic", &self.topic),
            ("group", &self.group),
        ] {
            if value.trim().is_empty() {
                p.push((field.into(), "must not be empty".into()));
            }
        }
        if !matches!(self.start.as_str(), "earliest" | "latest") {
            p.push(("start".into(), "`earliest` or `latest`".into()));
        }
        if self.checkpoint.rows == 0 {
            p.push(("checkpoint.rows".into(), "must be at least 1".into()));
        }
        if self.max_pending == 0 {
            p.push(("max_pending".into(), "must be at least 1".into()));
        }
        reserved(&self.properties, &mut p);
        p
    }
}

impl KafkaSinkSpec {
    /// The problems no connection is needed to find, each with its field below
    /// `sink.kafka`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        for (field, value) in [("brokers", &self.brokers), ("topic", &self.topic)] {
            if value.trim().is_empty() {
                p.push((field.into(), "must not be empty".into()));
            }
        }
        if self.message_rows == 0 {
            p.push(("message_rows".into(), "must be at least 1".into()));
        }
        if self.max_record_bytes < 1024 {
            p.push(("max_record_bytes".into(), "must be at least 1024".into()));
        }
        reserved(&self.properties, &mut p);
        p
    }
}

fn reserved(properties: &BTreeMap<String, String>, p: &mut Vec<(String, String)>) {
    for key in properties.keys() {
        if RESERVED.contains(&key.as_str()) {
            p.push((
                format!("properties.{key}"),
                "Quiver sets this one itself (its delivery guarantee depends on it); use the \
                 table's own keys"
                    .into(),
            ));
        }
    }
}

/// The consumer's context: logs every rebalance with the partitions this member holds, and
/// flags a new assignment so that `until_idle` counts from it (partitions handed over late
/// get the whole idle window, not what is left of it).
struct Context {
    shown: String,
    assigned: AtomicBool,
}

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(_) | Rebalance::Revoke(_) => {
                if matches!(rebalance, Rebalance::Assign(_)) {
                    self.assigned.store(true, Ordering::Relaxed);
                }
                let held = consumer
                    .assignment()
                    .map(|tpl| {
                        tpl.elements()
                            .iter()
                            .map(|e| format!("{}[{}]", e.topic(), e.partition()))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                tracing::info!(
                    source = %self.shown,
                    partitions = held.len(),
                    "kafka assignment: {}",
                    held.join(", ")
                );
            }
            Rebalance::Error(e) => {
                tracing::warn!(source = %self.shown, "kafka rebalance failed: {e}");
            }
        }
    }
}

/// A record's place, to commit once its rows are.
pub struct KafkaOffset {
    consumer: Arc<BaseConsumer<Context>>,
    topic: String,
    partition: i32,
    offset: i64,
}

/// Commit, per partition, the offset after the last of `offsets` (they come in delivery
/// order). A failed commit is logged, not returned: nothing is lost, the records are
/// delivered again to the partition's next owner.
pub(crate) fn commit(offsets: &[&KafkaOffset], server: &str) -> Result<(), StreamError> {
    let Some(first) = offsets.first() else {
        return Ok(());
    };
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for o in offsets {
        let e = next.entry((o.topic.as_str(), o.partition)).or_insert(0);
        *e = (*e).max(o.offset + 1);
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in &next {
        tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .map_err(|e| StreamError::Internal(format!("an offset list: {e}")))?;
    }
    if let Err(e) = first.consumer.commit(&tpl, CommitMode::Sync) {
        tracing::warn!(
            server,
            partitions = next.len(),
            "committing kafka offsets failed ({e}); those records will be delivered again"
        );
    }
    Ok(())
}

/// An open Kafka source: a member of its consumer group, subscribed.
pub struct KafkaSource {
    /// The schema of every batch.
    pub schema: SchemaRef,
    /// The run's records until their offsets are committed.
    pub ledger: Arc<Ledger>,
    /// What the report calls the input: `kafka://brokers topic T (group G)`.
    pub shown: String,
    /// The brokers, for errors.
    pub server: String,
    consumer: Arc<BaseConsumer<Context>>,
    spec: KafkaSourceSpec,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource")
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}

fn config(brokers: &str, properties: &BTreeMap<String, String>) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in properties {
        c.set(k, v);
    }
    c.set("bootstrap.servers", brokers);
    c
}

impl KafkaSource {
    /// Join the group and subscribe to the topic (the partitions come with the first
    /// polls).
    ///
    /// # Errors
    /// [`StreamError::Config`] for an invalid spec or property.
    pub fn open(spec: &KafkaSourceSpec) -> Result<KafkaSource, StreamError> {
        if let Some((field, message)) = spec.problems().into_iter().next() {
            return Err(StreamError::config(field, message));
        }
        let server = format!("kafka://{}", spec.brokers);
        let shown = format!("{server} topic {} (group {})", spec.topic, spec.group);
        let consumer: BaseConsumer<Context> = config(&spec.brokers, &spec.properties)
            .set("group.id", &spec.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", &spec.start)
            .create_with_context(Context {
                shown: shown.clone(),
                assigned: AtomicBool::new(false),
            })
            .map_err(|e| StreamError::config("properties", format!("the Kafka client: {e}")))?;
        consumer.subscribe(&[&spec.topic]).map_err(|e| {
            StreamError::unavailable(format!("subscribing to {}", spec.topic), &server, e)
        })?;
        Ok(KafkaSource {
            schema: quiver_io::schema_of(&spec.schema),
            ledger: Arc::new(Ledger::default()),
            shown,
            server,
            consumer: Arc::new(consumer),
            spec: spec.clone(),
        })
    }

    /// The source as the engine's blocking iterator.
    pub fn batches(self) -> BatchSource {
        Box::new(Poll {
            source: self,
            last_record: Instant::now(),
            errors: 0,
        })
    }
}

struct Poll {
    source: KafkaSource,
    last_record: Instant,
    /// Consecutive failed polls.
    errors: u32,
}

/// Consecutive failed polls (brokers down, a transport error) before the source gives up
/// and the run fails; uncommitted records are read again by the next run or member.
const MAX_POLL_ERRORS: u32 = 20;

impl Iterator for Poll {
    type Item = Result<RecordBatch, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = &self.source;
        let polled = s.consumer.poll(s.spec.max_wait);
        if s.consumer.context().assigned.swap(false, Ordering::Relaxed) {
            self.last_record = Instant::now();
        }
        match polled {
            Some(Ok(record)) => {
                self.last_record = Instant::now();
                self.errors = 0;
                let (topic, partition, offset) = (
                    record.topic().to_owned(),
                    record.partition(),
                    record.offset(),
                );
                let at = format!("topic {topic}, partition {partition}, offset {offset}");
                let batch = match decode(
                    record.payload().unwrap_or_default(),
                    s.spec.format,
                    &s.schema,
                    &at,
                ) {
                    Ok(b) => b,
                    Err(e) => return Some(Err(Box::new(e))),
                };
                s.ledger.record(Some(Origin {
                    stream: format!("{topic}/{partition}"),
                    sequence: u64::try_from(offset).unwrap_or_default(),
                    acker: Ack::Kafka(KafkaOffset {
                        consumer: Arc::clone(&s.consumer),
                        topic,
                        partition,
                        offset,
                    }),
                }));
                Some(Ok(batch))
            }
            Some(Err(e)) => {
                self.errors += 1;
                tracing::warn!(source = %s.shown, errors = self.errors, "polling: {e}");
                if self.errors >= MAX_POLL_ERRORS {
                    return Some(Err(Box::new(StreamError::unavailable(
                        format!(
                            "reading {} ({} polls failed in a row)",
                            s.shown, self.errors
                        ),
                        &s.server,
                        e,
                    ))));
                }
                // A heartbeat: the run notices a stop and the sink's clock ticks.
                s.ledger.record(None);
                Some(Ok(RecordBatch::new_empty(s.schema.clone())))
            }
            None => {
                if s.spec
                    .until_idle
                    .is_some_and(|idle| self.last_record.elapsed() >= idle)
                {
                    tracing::info!(source = %s.shown, "no record for until_idle: the stream run ends");
                    return None;
                }
                s.ledger.record(None);
                Some(Ok(RecordBatch::new_empty(s.schema.clone())))
            }
        }
    }
}

/// An open Kafka producer.
pub struct KafkaSink {
    producer: FutureProducer,
    spec: KafkaSinkSpec,
    server: String,
    pending: Vec<DeliveryFuture>,
    delivered: u64,
    rows: u64,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("topic", &self.spec.topic)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl KafkaSink {
    /// Create the producer (it connects as it sends).
    ///
    /// # Errors
    /// [`StreamError::Config`] for an invalid spec or property.
    pub fn open(spec: &KafkaSinkSpec) -> Result<KafkaSink, StreamError> {
        if let Some((field, message)) = spec.problems().into_iter().next() {
            return Err(StreamError::config(field, message));
        }
        let producer: FutureProducer = config(&spec.brokers, &spec.properties)
            .create()
            .map_err(|e| StreamError::config("properties", format!("the Kafka producer: {e}")))?;
        Ok(KafkaSink {
            producer,
            spec: spec.clone(),
            server: format!("kafka://{}", spec.brokers),
            pending: Vec::new(),
            delivered: 0,
            rows: 0,
        })
    }

    /// What the report calls the output.
    pub fn shown(&self) -> String {
        format!("{} topic {}", self.server, self.spec.topic)
    }

    /// Send `batch` as records of at most `message_rows` rows and `max_record_bytes`
    /// bytes, keyed `key.k`. Nothing waits for the brokers until [`KafkaSink::flush`].
    ///
    /// # Errors
    /// The format cannot hold the batch; one row is over `max_record_bytes`; the producer
    /// refuses the record.
    pub async fn publish(&mut self, batch: &RecordBatch, key: &str) -> Result<(), StreamError> {
        let limit = self.spec.max_record_bytes;
        let mut chunks = Chunks::new(batch, self.spec.message_rows, self.spec.format);
        let mut k = 0_usize;
        while let Some((take, payload)) = chunks.next(
            |len| len <= limit,
            |len| {
                StreamError::config(
                    "max_record_bytes",
                    format!("one row takes {len} bytes, more than max_record_bytes ({limit})"),
                )
            },
        )? {
            let record_key = format!("{key}.{k}");
            loop {
                let record = FutureRecord::to(&self.spec.topic)
                    .payload(payload.as_ref())
                    .key(record_key.as_str());
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        self.pending.push(delivery);
                        break;
                    }
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull,
                        ),
                        _,
                    )) => {
                        // The local queue is full: wait for what is in flight, then retry.
                        self.flush().await?;
                    }
                    Err((e, _)) => {
                        return Err(StreamError::unavailable(
                            format!("sending to topic {}", self.spec.topic),
                            &self.server,
                            e,
                        ));
                    }
                }
            }
            self.rows += take as u64;
            k += 1;
        }
        Ok(())
    }

    /// Wait until the brokers have acknowledged every record sent so far; records
    /// delivered in all.
    ///
    /// # Errors
    /// A record was not delivered: the run fails, and nothing sent since the last flush
    /// counts as committed.
    pub async fn flush(&mut self) -> Result<u64, StreamError> {
        for delivery in std::mem::take(&mut self.pending) {
            match delivery.await {
                Ok(Ok(_)) => self.delivered += 1,
                Ok(Err((e, _))) => {
                    return Err(StreamError::unavailable(
                        format!("delivering to topic {}", self.spec.topic),
                        &self.server,
                        e,
                    ));
                }
                Err(_) => {
                    return Err(StreamError::unavailable(
                        format!("delivering to topic {}", self.spec.topic),
                        &self.server,
                        "the producer went away before the delivery report",
                    ));
                }
            }
        }
        Ok(self.delivered)
    }

    /// Rows sent so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}
