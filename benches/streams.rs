//! Questions: how does a file job scale with `quiver worker` processes, and what does the
//! JetStream source cost per message?
//!
//! Both groups run the release `quiver` binary (`QUIVER`, default `target/release/quiver`:
//! build it first with `cargo build --release -p quiver-cli`) against a real `nats-server -js`
//! on a free loopback port (`quiver_tests::nats`), as users run them.
//!
//! - `distributed/csv_24x200k`: 24 CSV files of 200,000 rows (4.8M rows) through `map` and
//!   `filter` into a Parquet directory: one process (`single`), then `quiver run --workers`
//!   with 1, 2 and 3 `quiver worker` processes started before the group and kept for it.
//!   Every run's report must say the same rows were written.
//! - `jetstream_source/ndjson`: a stream of M NDJSON messages of R rows each, read by a stream
//!   run (`[source.nats]` → `passthrough` → Parquet directory) on a new durable consumer per
//!   iteration (so nothing is re-published), ending `until_idle` after the last message.
//!   `empty` is the same run over an empty stream: the process start and the idle wait, to
//!   subtract. Per-message overhead = (time(M × 1 row) − time(empty)) / M; BENCHMARKS.md §6
//!   does the arithmetic.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use quiver_stream::async_nats::{self, jetstream};
use quiver_tests::nats::Nats;

const FILES: usize = 24;
const ROWS_PER_FILE: usize = 200_000;
/// How long a stream run waits after the last message before it drains and ends.
const UNTIL_IDLE: &str = "300ms";

fn quiver_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("QUIVER") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let bin = target.join("release/quiver");
    assert!(
        bin.is_file(),
        "{} not found: run `cargo build --release -p quiver-cli` first, or set QUIVER",
        bin.display()
    );
    bin
}

fn quiver(cache: &Path) -> Command {
    let mut c = Command::new(quiver_bin());
    c.env("QUIVER_CACHE_DIR", cache)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Run `quiver run ARGS --report R`, panic with its stderr on failure, return the report.
fn run(cache: &Path, args: &[&str], report: &Path) -> serde_json::Value {
    let out = quiver(cache)
        .args(["run", "--quiet", "--report"])
        .arg(report)
        .args(args)
        .output()
        .expect("starting quiver");
    assert!(
        out.status.success(),
        "quiver run {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(report).expect("the report")).expect("report JSON")
}

fn csv_inputs(dir: &Path) {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for f in 0..FILES {
        let mut text = String::with_capacity(ROWS_PER_FILE * 24);
        text.push_str("id,amount,name\n");
        for r in 0..ROWS_PER_FILE {
            let id = f * ROWS_PER_FILE + r;
            text.push_str(&format!("{id},{}.5,n{}\n", id % 977, id % 13));
        }
        std::fs::write(input.join(format!("f{f:03}.csv")), text).unwrap();
    }
}

fn file_pipeline(dir: &Path) -> PathBuf {
    let p = dir.join("pipeline.toml");
    let text = format!(
        "[source]\npath = \"{}/\"\n\n\
         [[stage]]\nplugin = \"map\"\nconfig = {{ columns = [{{ column = \"amount\", scale = 2.0 }}] }}\n\n\
         [[stage]]\nplugin = \"filter\"\nconfig = {{ column = \"amount\", op = \"ge\", value = 100 }}\n\n\
         [sink]\npath = \"{}/\"\nformat = \"parquet\"\nmode = \"overwrite\"\n",
        dir.join("in").display(),
        dir.join("out").display()
    );
    std::fs::write(&p, text).unwrap();
    p
}

fn worker(cache: &Path, url: &str, name: &str) -> Child {
    quiver(cache)
        .args(["worker", "--nats", url, "--name", name])
        .spawn()
        .expect("starting a worker")
}

fn distributed(c: &mut Criterion) {
    let nats = Nats::start();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    csv_inputs(dir.path());
    let pipeline = file_pipeline(dir.path());
    let pipeline = pipeline.to_str().unwrap();
    let report = dir.path().join("report.json");
    let cache = dir.path().join("cache");
    // Compiles the plugins into the shared cache and gives the rows every run must write.
    let expected = run(&cache, &[pipeline], &report)["rows_written"].clone();

    let mut group = c.benchmark_group("distributed/csv_24x200k");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements((FILES * ROWS_PER_FILE) as u64));
    group.bench_function("single", |b| {
        b.iter(|| {
            let r = run(&cache, &[pipeline], &report);
            assert_eq!(r["rows_written"], expected);
        });
    });
    for n in 1..=3 {
        let mut workers: Vec<Child> = (0..n)
            .map(|i| worker(&cache, &url, &format!("w{i}")))
            .collect();
        group.bench_function(BenchmarkId::new("workers", n), |b| {
            b.iter(|| {
                let r = run(&cache, &["--workers", &url, pipeline], &report);
                assert_eq!(r["rows_written"], expected);
            });
        });
        for w in &mut workers {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
    group.finish();
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Create stream `name` on subject `name.in` and publish `messages` NDJSON messages of
/// `rows` rows each, every one stored before returning.
fn fill_stream(url: &str, name: &str, messages: u64, rows: u64) {
    tokio_rt().block_on(async {
        let client = async_nats::connect(url).await.expect("connecting to NATS");
        let js = jetstream::new(client);
        js.create_stream(jetstream::stream::Config {
            name: name.into(),
            subjects: vec![format!("{name}.in")],
            ..Default::default()
        })
        .await
        .expect("creating the stream");
        let mut acks = Vec::new();
        for m in 0..messages {
            let mut payload = String::new();
            for r in 0..rows {
                let id = m * rows + r;
                payload.push_str(&format!(
                    "{{\"id\": {id}, \"amount\": {}.5, \"name\": \"n{}\"}}\n",
                    id % 977,
                    id % 13
                ));
            }
            acks.push(
                js.publish(format!("{name}.in"), payload.into())
                    .await
                    .expect("publishing"),
            );
            if acks.len() == 5_000 {
                for a in acks.drain(..) {
                    a.await.expect("a stored message");
                }
            }
        }
        for a in acks {
            a.await.expect("a stored message");
        }
    });
}

/// A stream run's document: a new durable consumer `consumer` on `stream`, into `out/`.
fn stream_pipeline(dir: &Path, url: &str, stream: &str, consumer: &str) -> PathBuf {
    let p = dir.join(format!("{consumer}.toml"));
    let text = format!(
        r#"[source.nats]
url = "{url}"
stream = "{stream}"
consumer = "{consumer}"
format = "ndjson"
schema = [{{ name = "id", type = "int64" }}, {{ name = "amount", type = "float64" }}, {{ name = "name", type = "utf8" }}]
max_wait = "100ms"
until_idle = "{UNTIL_IDLE}"

[[stage]]
plugin = "passthrough"

[sink]
path = "{}/"
format = "parquet"
mode = "append"
"#,
        dir.join(consumer).display()
    );
    std::fs::write(&p, text).unwrap();
    p
}

fn jetstream_source(c: &mut Criterion) {
    let nats = Nats::start();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let report = dir.path().join("report.json");
    let consumers = AtomicU64::new(0);

    let mut group = c.benchmark_group("jetstream_source/ndjson");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    // (name, messages, rows per message); `empty` is the baseline to subtract.
    for (name, messages, rows) in [
        ("empty", 0u64, 0u64),
        ("20000x1row", 20_000, 1),
        ("20000x100rows", 20_000, 100),
        ("2000x1000rows", 2_000, 1_000),
    ] {
        let stream = name
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            .to_uppercase();
        let stream = format!("S{stream}");
        fill_stream(&url, &stream, messages, rows);
        group.throughput(Throughput::Elements(messages.max(1)));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let consumer = format!("c{}", consumers.fetch_add(1, Ordering::Relaxed));
                    let p = stream_pipeline(dir.path(), &url, &stream, &consumer);
                    let started = Instant::now();
                    let r = run(&cache, &[p.to_str().unwrap()], &report);
                    total += started.elapsed();
                    assert_eq!(r["rows_written"], messages * rows, "{name}: {r}");
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(benches, distributed, jetstream_source);
criterion_main!(benches);
