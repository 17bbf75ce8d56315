//! Stream runs of the `quiver` binary against a real NATS server with JetStream (Debian's
//! `nats-server`, one per test on a free port): a run killed with SIGKILL mid-stream and
//! started again commits every message's rows at least once into part files (local, and
//! whole objects in a real S3 server), and exactly once into a JetStream sink (the stream's
//! duplicate window drops the ids it has seen); payloads Polars and pyarrow wrote are read
//! with the declared schema, and what the sink publishes is read by pyarrow, Polars and
//! DuckDB.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quiver_stream::async_nats::jetstream::{self, consumer, stream};
use quiver_tests::nats::Nats;

/// Messages in the stream: one row each, the worst case for per-message overhead.
const MESSAGES: u64 = 100_000;

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Create stream `name` on `subjects`.
pub(crate) async fn create_stream(js: &jetstream::Context, name: &str, subjects: &[&str]) {
    js.create_stream(stream::Config {
        name: name.into(),
        subjects: subjects.iter().map(|s| (*s).to_string()).collect(),
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("creating stream {name}: {e}"));
}

/// Publish `n` NDJSON messages `{"id": i, "v": "…"}` on `subject`, each stored.
pub(crate) async fn publish_events(js: &jetstream::Context, subject: &str, n: u64) {
    let mut acks = Vec::with_capacity(5_000);
    for i in 0..n {
        let payload = format!("{{\"id\": {i}, \"v\": \"event {i}\"}}\n");
        acks.push(
            js.publish(subject.to_string(), payload.into())
                .await
                .unwrap(),
        );
        if acks.len() == 5_000 {
            for a in acks.drain(..) {
                a.await.unwrap();
            }
        }
    }
    for a in acks {
        a.await.unwrap();
    }
}

fn pipeline(dir: &Path, url: &str, sink: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[source.nats]
url = "{url}"
stream = "EVENTS"
consumer = "clean"
format = "ndjson"
schema = [{{ name = "id", type = "int64" }}, {{ name = "v", type = "utf8" }}]
ack_wait = "4s"
until_idle = "7s"
checkpoint = {{ rows = 5000, interval = "1s" }}

[[stage]]
plugin = "passthrough"

{sink}
"#
    );
    let p = dir.join("pipeline.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn spawn(pipeline: &Path, cache: &Path, report: &Path) -> Child {
    spawn_with(pipeline, cache, report, &[])
}

/// [`spawn`] with more environment variables (an object store's).
fn spawn_with(
    pipeline: &Path,
    cache: &Path,
    report: &Path,
    envs: &[(&'static str, String)],
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["run", "--quiet", "--report"])
        .arg(report)
        .arg(pipeline)
        .env("QUIVER_CACHE_DIR", cache)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting quiver")
}

/// `quiver run --quiet` on the pipeline `text`, written to `dir/name`, run in `dir` with its
/// own compile cache and the extra `envs`: the exit code and stderr.
pub(crate) fn run_pipeline(
    dir: &Path,
    name: &str,
    text: &str,
    envs: &[(&'static str, String)],
) -> (Option<i32>, String) {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["run", "--quiet"])
        .arg(&p)
        .current_dir(dir)
        .env("QUIVER_CACHE_DIR", dir.join("cache"))
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Wait until `ready()` holds, then SIGKILL `child`; panics if it exits first.
fn kill_when(mut child: Child, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "quiver exited ({status}) before it could be killed mid-stream: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Run to the end (the stream goes idle); the report.
fn finish(child: Child, report: &Path) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap()
}

/// Messages stored in the sink's stream.
fn stored(url: &str) -> u64 {
    runtime().block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(url).await.unwrap());
        let mut s = js.get_stream("CLEAN").await.unwrap();
        s.info().await.unwrap().state.messages
    })
}

/// Committed part files below `dir` (hidden `.partial` files of a killed run excluded).
pub(crate) fn parts(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    v.sort();
    v
}

/// How often each id appears in the committed CSV parts.
pub(crate) fn ids_in_parts(dir: &Path) -> BTreeMap<i64, u32> {
    let mut seen = BTreeMap::new();
    for part in parts(dir) {
        let text = std::fs::read_to_string(&part).unwrap();
        for line in text.lines().skip(1) {
            let id: i64 = line.split(',').next().unwrap().parse().unwrap();
            *seen.entry(id).or_insert(0) += 1;
        }
    }
    seen
}

#[test]
fn a_stream_run_killed_mid_stream_commits_every_message_at_least_once_after_restart() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let t = Instant::now();
    rt.block_on(async {
        let js = jetstream::new(
            quiver_stream::async_nats::connect(nats.url())
                .await
                .unwrap(),
        );
        create_stream(&js, "EVENTS", &["events.>"]).await;
        publish_events(&js, "events.in", MESSAGES).await;
    });
    eprintln!("published in {:?}", t.elapsed());
    let out = dir.path().join("out");
    let sink = format!(
        "[sink]\npath = \"{}/\"\nformat = \"csv\"\nmode = \"append\"\n",
        out.display()
    );
    let p = pipeline(dir.path(), &nats.url(), &sink);
    let report = dir.path().join("report.json");
    let first = spawn(&p, dir.path(), &report);
    // Killed once its first checkpoint is visible: some rows committed and acked, more
    // read and written but neither committed nor acked.
    kill_when(first, || !parts(&out).is_empty());
    eprintln!("killed at {:?}", t.elapsed());
    let before = ids_in_parts(&out);
    assert!(
        !before.is_empty() && (before.len() as u64) < MESSAGES,
        "killed mid-stream: {} ids committed",
        before.len()
    );
    let second = finish(spawn(&p, dir.path(), &report), &report);
    eprintln!(
        "second run done at {:?}: {}",
        t.elapsed(),
        second["elapsed_ms"]
    );
    let seen = ids_in_parts(&out);
    let missing: Vec<i64> = (0..MESSAGES as i64)
        .filter(|i| !seen.contains_key(i))
        .collect();
    assert!(
        missing.is_empty(),
        "{} ids never committed, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_eq!(seen.len() as u64, MESSAGES, "only ids that were sent");
    let duplicates: u32 = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "committed before the kill: {}; duplicates after restart: {duplicates}; second run: {}",
        before.len(),
        second["stream"]
    );
    assert!(second["stream"]["messages_acked"].as_u64().unwrap() > 0);
    // Everything was acknowledged: the consumer has nothing left.
    rt.block_on(async {
        let js = jetstream::new(
            quiver_stream::async_nats::connect(nats.url())
                .await
                .unwrap(),
        );
        let mut c: consumer::PullConsumer = js
            .get_stream("EVENTS")
            .await
            .unwrap()
            .get_consumer("clean")
            .await
            .unwrap();
        let info = c.info().await.unwrap();
        assert_eq!(info.num_pending, 0, "{info:?}");
        assert_eq!(info.num_ack_pending, 0, "{info:?}");
    });
}

#[test]
fn with_a_jetstream_sink_a_killed_and_restarted_stream_run_stores_every_row_exactly_once() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let js = jetstream::new(
            quiver_stream::async_nats::connect(nats.url())
                .await
                .unwrap(),
        );
        create_stream(&js, "EVENTS", &["events.>"]).await;
        create_stream(&js, "CLEAN", &["clean.>"]).await;
        publish_events(&js, "events.in", MESSAGES).await;
    });
    let sink = "[sink.nats]\nurl = \"URL\"\nsubject = \"clean.events\"\nformat = \"arrow\"\n"
        .replace("URL", &nats.url());
    let p = pipeline(dir.path(), &nats.url(), &sink);
    let report = dir.path().join("report.json");
    let t = Instant::now();
    let first = spawn(&p, dir.path(), &report);
    kill_when(first, || stored(&nats.url()) > 10_000);
    eprintln!("killed at {:?}", t.elapsed());
    let second = finish(spawn(&p, dir.path(), &report), &report);
    eprintln!("second run done at {:?}", t.elapsed());
    // Read back every stored message: each id exactly once.
    let ids = rt.block_on(async {
        let js = jetstream::new(
            quiver_stream::async_nats::connect(nats.url())
                .await
                .unwrap(),
        );
        let s = js.get_stream("CLEAN").await.unwrap();
        let c: consumer::PullConsumer = s
            .create_consumer(consumer::pull::Config {
                ack_policy: consumer::AckPolicy::None,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut ids = BTreeMap::new();
        let schema = std::sync::Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("id", arrow_schema::DataType::Int64, true),
            arrow_schema::Field::new("v", arrow_schema::DataType::Utf8, true),
        ]));
        let total = s.cached_info().state.messages;
        let mut got = 0;
        let mut messages = c.messages().await.unwrap();
        use futures::StreamExt;
        while got < total {
            let m = messages.next().await.unwrap().unwrap();
            got += 1;
            let batch =
                quiver_stream::decode(&m.payload, quiver_stream::Payload::Arrow, &schema, "out")
                    .unwrap();
            let col = batch
                .column(0)
                .as_any()
                .downcast_ref::<arrow_array::Int64Array>()
                .unwrap();
            for id in col.values() {
                *ids.entry(*id).or_insert(0_u32) += 1;
            }
        }
        ids
    });
    assert_eq!(ids.len() as u64, MESSAGES, "every id stored");
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(twice.is_empty(), "ids stored more than once: {twice:?}");
    eprintln!("second run: {}", second["stream"]);
}

/// Rows over JetStream's 1 MiB max payload travel as objects in a real S3 store (moto): a
/// file run publishes 100,000-row batches with `payload_refs`, each as an empty message
/// whose `Quiver-Payload-Ref` header names its object; a stream run reads them back through
/// the same prefix, every row once. A reference outside the prefix fails the run with a
/// data error naming the message.
#[test]
fn payloads_over_the_max_payload_travel_as_object_references() {
    let nats = Nats::start();
    let url = nats.url();
    let moto = quiver_tests::moto::Moto::start();
    moto.create_bucket("refs");
    let envs = moto.env();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows = 200_000;
    let mut csv = String::from("id,v\n");
    for i in 0..rows {
        csv.push_str(&format!("{i},event number {i}\n"));
    }
    std::fs::write(d.join("in.csv"), csv).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(&url).await.unwrap());
        create_stream(&js, "BIG", &["big"]).await;
    });
    let run = |name: &str, text: String| run_pipeline(d, name, &text, &envs);

    let (code, err) = run(
        "publish.toml",
        format!(
            r#"
[source]
path = "in.csv"
csv = {{ schema = [{{ name = "id", type = "int64" }}, {{ name = "v", type = "utf8" }}] }}

[[stage]]
plugin = "passthrough"
batch_rows = 100000

[sink.nats]
url = "{url}"
subject = "big"
format = "arrow"
message_rows = 100000
payload_refs = "s3://refs/big/"
"#
        ),
    );
    assert_eq!(code, Some(0), "{err}");
    let (messages, referenced) = rt.block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(&url).await.unwrap());
        let s = js.get_stream("BIG").await.unwrap();
        let mut referenced = Vec::new();
        let n = s.get_info().await.unwrap().state.messages;
        for seq in 1..=n {
            let m = s.get_raw_message(seq).await.unwrap();
            if let Some(r) = m.headers.get(quiver_stream::REF_HEADER) {
                assert!(
                    m.payload.is_empty(),
                    "a referencing message carries no rows"
                );
                referenced.push(r.to_string());
            }
        }
        (n, referenced)
    });
    assert_eq!(messages, 2, "two batches of 100,000 rows, one message each");
    assert_eq!(referenced.len(), 2, "{referenced:?}");
    assert!(
        referenced.iter().all(|r| r.starts_with("s3://refs/big/")),
        "{referenced:?}"
    );

    let read = |sink_dir: &str, consumer: &str| {
        format!(
            r#"
[source.nats]
url = "{url}"
stream = "BIG"
consumer = "{consumer}"
format = "arrow"
schema = [{{ name = "id", type = "int64" }}, {{ name = "v", type = "utf8" }}]
until_idle = "2s"
payload_refs = "s3://refs/big/"

[sink]
path = "{sink_dir}"
format = "csv"
mode = "append"
"#
        )
    };
    let (code, err) = run("read.toml", read("out/", "reader"));
    assert_eq!(code, Some(0), "{err}");
    let seen = ids_in_parts(&d.join("out"));
    assert_eq!(seen.len(), rows, "every row read back");
    assert!(seen.values().all(|n| *n == 1), "and once");

    // A reference outside the prefix: refused, naming the message and the prefix.
    rt.block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(&url).await.unwrap());
        let mut headers = quiver_stream::async_nats::HeaderMap::new();
        headers.insert(
            quiver_stream::REF_HEADER,
            "s3://refs/elsewhere/secret.arrows",
        );
        js.publish_with_headers("big", headers, Vec::<u8>::new().into())
            .await
            .unwrap()
            .await
            .unwrap();
    });
    let (code, err) = run("again.toml", read("out2/", "reader"));
    assert_eq!(code, Some(65), "{err}");
    assert!(
        err.contains("sequence 3") && err.contains("outside s3://refs/big/"),
        "{err}"
    );
}

/// Without `payload_refs`, the JetStream sink cuts a batch whose message would pass the
/// server's max payload (a real `nats-server` configured with `max_payload: 4096`): halved
/// until a message plus 256 bytes of headers fits, the halved size kept for the rest of the
/// batch, every row once and in order. A single row over the limit is a config error naming
/// `message_rows` and the limit.
#[test]
fn without_payload_refs_a_message_over_the_max_payload_is_halved_and_one_row_over_it_is_refused() {
    const MAX: usize = 4096;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = d.join("nats.conf");
    std::fs::write(&config, format!("max_payload: {MAX}\n")).unwrap();
    let nats = Nats::start_with(&["-c", config.to_str().unwrap()]);
    let url = nats.url();
    let rows = 3_000;
    let mut csv = String::from("id,v\n");
    for i in 0..rows {
        csv.push_str(&format!("{i},event number {i}\n"));
    }
    std::fs::write(d.join("in.csv"), csv).unwrap();
    std::fs::write(
        d.join("wide.csv"),
        format!("id,v\n1,short\n2,{}\n", "x".repeat(MAX)),
    )
    .unwrap();
    let rt = runtime();
    rt.block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(&url).await.unwrap());
        create_stream(&js, "CUT", &["cut"]).await;
    });
    let run = |input: &str| {
        run_pipeline(
            d,
            "publish.toml",
            &format!(
                r#"
[source]
path = "{input}"
csv = {{ schema = [{{ name = "id", type = "int64" }}, {{ name = "v", type = "utf8" }}] }}

[sink.nats]
url = "{url}"
subject = "cut"
format = "ndjson"
"#
            ),
            &[],
        )
    };
    let (code, err) = run("in.csv");
    assert_eq!(code, Some(0), "{err}");
    let messages = rt.block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(&url).await.unwrap());
        let s = js.get_stream("CUT").await.unwrap();
        let n = s.get_info().await.unwrap().state.messages;
        let mut messages = Vec::new();
        for seq in 1..=n {
            let m = s.get_raw_message(seq).await.unwrap();
            messages.push(String::from_utf8(m.payload.to_vec()).unwrap());
        }
        messages
    });
    assert!(
        messages.iter().all(|m| m.len() + 256 <= MAX),
        "every message fits with the header margin"
    );
    let sizes: Vec<usize> = messages.iter().map(|m| m.lines().count()).collect();
    // 3,000 rows (the one batch) halved, rounded up: 1,500, 750, 375, 188, 94, …
    let halvings: Vec<usize> =
        std::iter::successors(Some(rows as usize), |n| (*n > 1).then(|| n.div_ceil(2))).collect();
    let (last, full) = sizes.split_last().unwrap();
    assert!(
        sizes[0] > 1
            && sizes[0] < rows as usize
            && halvings.contains(&sizes[0])
            && full.iter().all(|n| *n == sizes[0])
            && *last <= sizes[0],
        "the batch halved until a message fits, that size kept for the rest: {sizes:?}"
    );
    let ids: Vec<u64> = messages
        .iter()
        .flat_map(|m| m.lines())
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        ids,
        (0..rows).collect::<Vec<u64>>(),
        "every row, once, in order"
    );

    let (code, err) = run("wide.csv");
    assert_eq!(code, Some(78), "{err}");
    assert!(
        err.contains("message_rows") && err.contains(&format!("({MAX} bytes)")),
        "{err}"
    );
}

/// A stream run into an object store (a real S3 server, moto) commits each checkpoint as
/// a whole object (a multipart upload completed). SIGKILLed mid-stream, it leaves only
/// whole Parquet objects — the part it was writing is at most an open upload, never an
/// object — and the restarted run commits every message at least once. Read back with
/// boto3 and pyarrow.
#[test]
fn a_stream_run_into_s3_commits_whole_objects_and_a_killed_one_leaves_no_partial_object() {
    const N: u64 = 30_000;
    let nats = Nats::start();
    let moto = quiver_tests::moto::Moto::start();
    moto.create_bucket("lake");
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let js = jetstream::new(
            quiver_stream::async_nats::connect(nats.url())
                .await
                .unwrap(),
        );
        create_stream(&js, "EVENTS", &["events.>"]).await;
        publish_events(&js, "events.in", N).await;
    });
    let sink = "[sink]\npath = \"s3://lake/events/\"\nformat = \"parquet\"\nmode = \"append\"\n";
    let p = pipeline(dir.path(), &nats.url(), sink);
    let report = dir.path().join("report.json");
    let envs = moto.env();
    let first = spawn_with(&p, dir.path(), &report, &envs);
    kill_when(first, || !moto.keys("lake", "events/").is_empty());
    let before = moto.keys("lake", "events/");
    let second = finish(spawn_with(&p, dir.path(), &report, &envs), &report);
    assert!(
        second["stream"]["checkpoints"].as_u64().unwrap() >= 1,
        "{second}"
    );
    let after = moto.keys("lake", "events/");
    assert!(
        after.len() > before.len(),
        "the restart committed more objects"
    );

    // Every object is a whole Parquet file; the uploads still open (the killed run's) are
    // not objects; every id is there.
    let script = format!(
        r#"
import collections, io, sys
import boto3, pyarrow.parquet as pq
s3 = boto3.client("s3", endpoint_url="{endpoint}", region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake", Prefix="events/")["Contents"]]
open_uploads = [u["Key"] for u in s3.list_multipart_uploads(Bucket="lake").get("Uploads", [])]
assert not set(open_uploads) & set(keys), (open_uploads, keys)
seen = collections.Counter()
for k in keys:
    assert k.endswith(".parquet") and not k.split("/")[-1].startswith("."), k
    t = pq.read_table(io.BytesIO(s3.get_object(Bucket="lake", Key=k)["Body"].read()))
    seen.update(t.column("id").to_pylist())
missing = [i for i in range({N}) if seen[i] == 0]
assert not missing, (len(missing), missing[:10])
assert set(seen) == set(range({N})), "only ids that were sent"
print(len(keys), "objects,", len(open_uploads), "open uploads,",
      sum(seen.values()) - {N}, "duplicates", file=sys.stderr)
"#,
        endpoint = moto.endpoint()
    );
    let out = Command::new(quiver_tests::test_venv_bin("python"))
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    eprintln!(
        "{} objects before the kill; {}",
        before.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Payloads as other tools write them, each read by a stream run with one declared schema
/// (`utf8` text, a UTC timestamp in µs) and written to Parquet that Polars reads back with
/// the values sent: Polars' Arrow IPC stream (string views, a categorical as
/// `dictionary<uint32, string_view>`), pyarrow's (int32, large strings, a
/// `dictionary<int8, string>`, a timestamp in ms), Polars' NDJSON and its CSV (a quoted
/// newline, empty cells for nulls, timestamps with a `+0000` offset). Then the same rows
/// published by a JetStream sink as Arrow, NDJSON and CSV, each read back by pyarrow, Polars
/// and DuckDB.
#[test]
fn payloads_round_trip_with_polars_pyarrow_and_duckdb() {
    let nats = Nats::start();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The rows every payload carries, as a Polars frame `df`.
    const FRAME: &str = r#"
import datetime as dt, pyarrow as pa, polars as pl
utc = dt.timezone.utc
df = pl.DataFrame({
    "id": [1, 2, 3],
    "name": ["a", "b\nc", None],
    "city": ["x", None, "x"],
    "at": [dt.datetime(2024, 1, 1, 12, tzinfo=utc), None, dt.datetime(2024, 3, 31, 1, 30, tzinfo=utc)],
    "amount": [1.5, None, 3.0],
})
"#;
    let python = |script: &str| super::real_files::python(d, &format!("{FRAME}{script}"));
    python(
        r#"
df = df.with_columns(pl.col("city").cast(pl.Categorical))
df.write_ipc_stream("polars.arrows")
df.write_ndjson("polars.ndjson")
df.write_csv("polars.csv")
t = pa.table({
    "amount": pa.array([1.5, None, 3.0]),
    "id": pa.array([1, 2, 3], pa.int32()),
    "name": pa.array(["a", "b\nc", None], pa.large_string()),
    "city": pa.array(["x", None, "x"]).dictionary_encode().cast(pa.dictionary(pa.int8(), pa.string())),
    "at": pa.array([1704110400000, None, 1711848600000], pa.timestamp("ms", tz="UTC")),
})
with pa.ipc.new_stream("pyarrow.arrows", t.schema) as w:
    w.write_table(t)
"#,
    );
    let rt = runtime();
    let sources = [
        ("ARROWS", "arrow", vec!["polars.arrows", "pyarrow.arrows"]),
        ("NDJSON", "ndjson", vec!["polars.ndjson"]),
        ("CSV", "csv", vec!["polars.csv"]),
    ];
    rt.block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(&url).await.unwrap());
        for (stream, format, files) in &sources {
            create_stream(&js, stream, &[format]).await;
            for f in files {
                let payload = std::fs::read(d.join(f)).unwrap();
                js.publish(format.to_string(), payload.into())
                    .await
                    .unwrap()
                    .await
                    .unwrap();
            }
        }
    });
    for (stream, format, _) in &sources {
        let (code, err) = run_pipeline(
            d,
            &format!("{format}.toml"),
            &format!(
                r#"
[source.nats]
url = "{url}"
stream = "{stream}"
consumer = "reader"
format = "{format}"
until_idle = "1s"
schema = [
  {{ name = "id", type = "int64" }}, {{ name = "name", type = "utf8" }},
  {{ name = "city", type = "utf8" }}, {{ name = "at", type = "timestamp[us, tz=UTC]" }},
  {{ name = "amount", type = "float64" }},
]

[sink]
path = "out-{format}/"
format = "parquet"
mode = "append"
"#
            ),
            &[],
        );
        assert_eq!(code, Some(0), "{format}: {err}");
    }
    python(
        r#"
want = df.with_columns(pl.col("at").dt.cast_time_unit("us"))
for fmt, copies in [("arrow", 2), ("ndjson", 1), ("csv", 1)]:
    got = pl.read_parquet(f"out-{fmt}/*.parquet").sort("id", maintain_order=True)
    assert got.schema == want.schema, (fmt, got.schema)
    expected = pl.concat([want] * copies).sort("id", maintain_order=True)
    assert got.equals(expected), (fmt, got, expected)
"#,
    );

    // The other way: those rows published by a JetStream sink in each format, and each
    // message read by pyarrow, Polars and DuckDB.
    rt.block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(&url).await.unwrap());
        create_stream(&js, "OUT", &["out.>"]).await;
    });
    for format in ["arrow", "ndjson", "csv"] {
        let (code, err) = run_pipeline(
            d,
            &format!("publish-{format}.toml"),
            &format!(
                "[source]\npath = \"out-csv/\"\n\n[sink.nats]\nurl = \"{url}\"\n\
                 subject = \"out.{format}\"\nformat = \"{format}\"\n"
            ),
            &[],
        );
        assert_eq!(code, Some(0), "publishing {format}: {err}");
    }
    rt.block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(&url).await.unwrap());
        let s = js.get_stream("OUT").await.unwrap();
        assert_eq!(
            s.get_info().await.unwrap().state.messages,
            3,
            "one message each"
        );
        for seq in 1..=3 {
            let m = s.get_raw_message(seq).await.unwrap();
            let format = m.subject.as_str().trim_start_matches("out.").to_owned();
            std::fs::write(d.join(format!("sent.{format}")), &m.payload).unwrap();
        }
    });
    python(
        r#"
import duckdb
want = df.with_columns(pl.col("at").dt.cast_time_unit("us"))
assert pl.from_arrow(pa.ipc.open_stream(open("sent.arrow", "rb").read()).read_all()).equals(want)
assert pl.read_ipc_stream("sent.arrow").equals(want)
assert pl.read_ndjson("sent.ndjson", schema=want.schema).equals(want)
assert pl.read_csv("sent.csv", schema=want.schema).equals(want)
columns = {"id": "BIGINT", "name": "VARCHAR", "city": "VARCHAR", "at": "TIMESTAMPTZ", "amount": "DOUBLE"}
duckdb.sql("SET TimeZone = 'UTC'")
for got in [
    duckdb.sql(f"SELECT * FROM read_json('sent.ndjson', columns = {columns})").pl(),
    duckdb.sql(f"SELECT * FROM read_csv('sent.csv', header = true, columns = {columns})").pl(),
]:
    got = got.with_columns(pl.col("at").dt.convert_time_zone("UTC").dt.cast_time_unit("us"))
    assert got.equals(want), (got, want)
"#,
    );
}
