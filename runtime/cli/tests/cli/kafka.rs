//! Kafka sources and sinks of the `quiver` binary against rdkafka's MockCluster (brokers in
//! this test process, listening on loopback): two `quiver run` processes in one consumer
//! group share a 4-partition topic, two partitions each, and together write every record
//! exactly once (then drain on SIGTERM and leave the group's offsets past every record); a
//! producer sink delivers every row to a topic, in records halved to fit `max_record_bytes`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::streams::{ids_in_parts, run_pipeline};

/// Records produced: one row each.
const RECORDS: i64 = 2_000;

/// A `quiver run` member of the group, and the partitions it last said it holds.
struct Member {
    child: Child,
    held: Arc<Mutex<Option<usize>>>,
}

fn member(pipeline: &Path, dir: &Path) -> Member {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["run", "--quiet", "--log", "info"])
        .arg(pipeline)
        .current_dir(dir)
        .env("QUIVER_CACHE_DIR", dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting quiver");
    let held = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&held);
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("kafka assignment") {
                let n = line
                    .split("partitions=")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|n| n.parse().ok());
                *seen.lock().unwrap() = n;
            }
            if line.contains("ERROR") || line.contains("error:") {
                eprintln!("quiver: {line}");
            }
        }
    });
    Member { child, held }
}

/// Panics naming the first member that has ended before `what`.
fn all_running(members: &mut [Member], what: &str) {
    for (i, m) in members.iter_mut().enumerate() {
        if let Some(status) = m.child.try_wait().unwrap() {
            panic!("member {i} ended ({status}) before {what}");
        }
    }
}

#[test]
fn a_consumer_group_of_two_over_four_partitions_writes_every_record_once() {
    let cluster = MockCluster::new(1).expect("a mock Kafka cluster");
    cluster.create_topic("events", 4, 1).unwrap();
    cluster.create_topic("clean", 2, 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pipeline = d.join("group.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"
[source.kafka]
brokers = "{brokers}"
topic = "events"
group = "cleaners"
format = "ndjson"
schema = [{{ name = "id", type = "int64" }}, {{ name = "v", type = "utf8" }}]
checkpoint = {{ rows = 300, interval = "1s" }}

[[stage]]
plugin = "passthrough"

[sink]
path = "out/"
format = "csv"
mode = "append"
"#
        ),
    )
    .unwrap();
    let mut members = [member(&pipeline, d), member(&pipeline, d)];

    // Produce only once the group has settled: two partitions each. (Records taken by the
    // first member before the second joined would be redelivered by the rebalance — the
    // at-least-once this source allows — and the count below is exact.) The members have no
    // `until_idle`: on a loaded machine the second one can take long enough to join that a
    // first member's idle window ran out before the group settled (seen twice in CI). They
    // run until the test has seen every record committed, then drain on SIGTERM.
    let started = Instant::now();
    while !members.iter().all(|m| *m.held.lock().unwrap() == Some(2)) {
        all_running(&mut members, "the group settled");
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the group did not settle on 2 + 2 partitions: {:?}",
            members
                .iter()
                .map(|m| *m.held.lock().unwrap())
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .create()
            .unwrap();
        let mut deliveries = Vec::new();
        for i in 0..RECORDS {
            let payload = format!("{{\"id\": {i}, \"v\": \"event {i}\"}}\n");
            let key = i.to_string();
            deliveries.push(
                producer
                    .send_result(FutureRecord::to("events").payload(&payload).key(&key))
                    .unwrap_or_else(|(e, _)| panic!("producing: {e}")),
            );
        }
        for d in deliveries {
            d.await.unwrap().unwrap();
        }
    });

    // Every record in a committed part (each member commits every 300 rows or second).
    let started = Instant::now();
    loop {
        let seen = ids_in_parts(&d.join("out"));
        if seen.len() as i64 >= RECORDS {
            break;
        }
        all_running(&mut members, "every record was committed");
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} of {RECORDS} records committed after 120 s",
            seen.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // SIGTERM: each member drains, commits what it holds, commits its offsets and exits 0.
    for m in &members {
        assert_eq!(
            unsafe { libc::kill(m.child.id() as i32, libc::SIGTERM) },
            0,
            "signalling a member"
        );
    }
    for (i, mut m) in members.into_iter().enumerate() {
        let started = Instant::now();
        let status = loop {
            if let Some(s) = m.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "member {i} did not end"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "member {i}: {status}");
    }
    let seen = ids_in_parts(&d.join("out"));
    let missing: Vec<_> = (0..RECORDS)
        .filter(|i| !seen.contains_key(i))
        .take(10)
        .collect();
    assert!(missing.is_empty(), "records missing: {missing:?}");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(10).collect();
    assert!(twice.is_empty(), "records written twice: {twice:?}");
    assert_eq!(seen.len() as i64, RECORDS);
    let parts = std::fs::read_dir(d.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect::<Vec<_>>();
    let runs: std::collections::BTreeSet<_> = parts
        .iter()
        .filter_map(|n| {
            let (run, _) = n.strip_prefix("part-")?.rsplit_once('-')?;
            Some(run.to_owned())
        })
        .collect();
    assert_eq!(runs.len(), 2, "both members wrote parts: {parts:?}");

    // The group's committed offsets cover all four partitions: a new member starts after them.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "cleaners")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..4 {
        tpl.add_partition("events", p);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    let total: i64 = committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            rdkafka::Offset::Offset(o) => o,
            other => panic!(
                "partition {} has no committed offset: {other:?}",
                e.partition()
            ),
        })
        .sum();
    assert_eq!(total, RECORDS, "offsets committed for every record");

    // A Kafka sink: the committed output, sent to a topic, every row delivered, in records
    // halved until each fits `max_record_bytes` (500 rows of Arrow do not).
    const MAX_RECORD: usize = 2048;
    let (code, err) = run_pipeline(
        d,
        "send.toml",
        &format!(
            r#"
[source]
path = "out/"
format = "csv"

# The committed parts are small: gathered into batches of 1,000 rows, which `message_rows`
# cuts to 500 and `max_record_bytes` halves further.
[[stage]]
plugin = "passthrough"
batch_rows = 1000

[sink.kafka]
brokers = "{brokers}"
topic = "clean"
format = "arrow"
message_rows = 500
max_record_bytes = {MAX_RECORD}
"#
        ),
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", "check")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    reader.subscribe(&["clean"]).unwrap();
    let mut rows = 0;
    let mut largest = 0;
    let mut records = 0;
    let started = Instant::now();
    while rows < RECORDS && started.elapsed() < Duration::from_secs(60) {
        if let Some(m) = reader.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let payload = m.payload().unwrap();
            largest = largest.max(payload.len());
            records += 1;
            let reader = arrow_ipc::reader::StreamReader::try_new(payload, None).unwrap();
            for b in reader {
                let n = b.unwrap().num_rows() as i64;
                assert!(n < 500, "a record of {n} rows: not halved");
                rows += n;
            }
        }
    }
    assert_eq!(rows, RECORDS, "every row delivered to the sink's topic");
    assert!(
        largest <= MAX_RECORD,
        "a record of {largest} bytes over max_record_bytes ({records} records)"
    );
}
