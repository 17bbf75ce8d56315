//! Durable ingest of `quiver serve --ingest-nats` against a real NATS server: rows a server
//! accepted survive it being SIGKILLed and shut down, and the run resumes under its id and
//! commits every accepted row exactly once (nothing was committed before the kill, and a
//! shutdown commits before it acknowledges); a client's stop survives a kill during its
//! drain (the next server finishes the stop instead of resuming the run). A server's run on
//! a `[source.nats]` pipeline resumes after a kill too. Also the refusals: `durable = true`
//! on a server without `--ingest-nats`, and a durable run into a single file.

use std::time::{Duration, Instant};

use quiver_tests::nats::Nats;
use serde_json::{Value, json};

use super::serve::{Server, TOKEN, client, problems};
use super::streams::{ids_in_parts, parts};

/// Rows per push.
const ROWS: usize = 500;

fn pipeline(sink: &str) -> Value {
    json!({
        "source": {"api": {
            "schema": [{"name": "id", "type": "int64"}, {"name": "amount", "type": "float64"}],
            "durable": true,
            // No checkpoint before the kill: every accepted row is only in JetStream then.
            "checkpoint": {"rows": 1_000_000, "interval": "50s"}
        }},
        "stage": [{"plugin": "map", "config": {"columns": [{"column": "amount", "scale": 2.0, "output": "doubled"}]}}],
        "sink": {"path": sink, "format": "csv", "mode": "append"}
    })
}

async fn call(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = client().request(method, url).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Push ids `from..from + ROWS` as NDJSON; the answer must say every row was accepted.
async fn push(addr: &str, run: &str, from: usize) {
    let body: String = (from..from + ROWS)
        .map(|i| format!("{{\"id\": {i}, \"amount\": {}.5}}\n", i % 100))
        .collect();
    let resp = client()
        .post(format!("http://{addr}/v1/runs/{run}/batches"))
        .bearer_auth(TOKEN)
        .header("Content-Type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let answer: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(status, 200, "push of {from}..: {answer}");
    assert_eq!(answer["rows_accepted"], ROWS, "{answer}");
}

async fn status(addr: &str, run: &str) -> Value {
    let (code, s) = call(
        reqwest::Method::GET,
        format!("http://{addr}/v1/runs/{run}"),
        None,
    )
    .await;
    assert_eq!(code, 200, "{s}");
    s
}

/// Wait until the run's state is `want`.
async fn wait_for(addr: &str, run: &str, want: &str) -> Value {
    let started = Instant::now();
    loop {
        let s = status(addr, run).await;
        if s["state"] == want {
            return s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "run {run} is not {want} after 90 s: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn rows_pushed_to_a_durable_run_survive_a_killed_server_and_a_shutdown_exactly_once() {
    let nats = Nats::start();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--ingest-nats", url.as_str()];
    let out = dir.path().join("out/events");
    let rt = tokio::runtime::Runtime::new().unwrap();

    // 1. Create, start, push 20 × 500 rows, then SIGKILL: nothing is committed yet.
    let mut server = Server::start_with(dir.path(), &flags);
    let addr = server.addr.clone();
    let run = rt.block_on(async {
        let (code, body) = call(
            reqwest::Method::POST,
            format!("http://{addr}/v1/pipelines"),
            Some(json!({"name": "events", "pipeline": pipeline("out/events/")})),
        )
        .await;
        assert_eq!(code, 201, "{body}");
        let (code, run) = call(
            reqwest::Method::POST,
            format!("http://{addr}/v1/runs"),
            Some(json!({"pipeline": "events"})),
        )
        .await;
        assert_eq!(code, 201, "{run}");
        assert_eq!(run["durable"], true, "{run}");
        let id = run["id"].as_str().unwrap().to_owned();
        for k in 0..20 {
            push(&addr, &id, k * ROWS).await;
        }
        id
    });
    server.kill();
    assert!(
        parts(&out).is_empty(),
        "nothing may be committed before the first checkpoint: {:?}",
        parts(&out)
    );

    // 2. A new server resumes the run under its id; it takes more pushes; SIGTERM drains
    //    it (what it read is committed and acknowledged) and it is left to resume again.
    let mut server = Server::start_with(dir.path(), &flags);
    let addr = server.addr.clone();
    rt.block_on(async {
        let s = wait_for(&addr, &run, "running").await;
        assert_eq!(s["resumed"], 1, "{s}");
        for k in 20..25 {
            push(&addr, &run, k * ROWS).await;
        }
    });
    assert_eq!(server.terminate(), Some(0), "the server drains and exits 0");

    // 3. Resumed again: more pushes, then a client's stop, and the server SIGKILLed right
    //    after it answered, mostly before the stop's drain is done. The stop is kept with
    //    the run (its marker says so)…
    let mut server = Server::start_with(dir.path(), &flags);
    let addr = server.addr.clone();
    rt.block_on(async {
        let s = wait_for(&addr, &run, "running").await;
        assert_eq!(s["resumed"], 2, "{s}");
        for k in 25..40 {
            push(&addr, &run, k * ROWS).await;
        }
        let (code, s) = call(
            reqwest::Method::POST,
            format!("http://{addr}/v1/runs/{run}/stop"),
            None,
        )
        .await;
        assert_eq!(code, 202, "{s}");
    });
    server.kill();
    let marker = dir.path().join(format!("data/active/{run}.json"));
    match std::fs::read_to_string(&marker) {
        Ok(text) => {
            let m: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(m["stopping"], true, "the stop is kept with the run: {m}");
        }
        // The drain beat the kill: the run ended, and its record says so.
        Err(_) => assert!(
            dir.path().join(format!("data/runs/{run}.json")).is_file(),
            "run {run} has neither a marker nor a record"
        ),
    }
    // …so the next server finishes it: it reads what is left, commits it and ends the run
    // for good, rather than bringing it back running.
    let server = Server::start_with(dir.path(), &flags);
    let addr = server.addr.clone();
    let done = rt.block_on(wait_for(&addr, &run, "succeeded"));
    assert_eq!(done["error"], Value::Null, "{done}");

    let seen = ids_in_parts(&out);
    let accepted = 40 * ROWS;
    let missing: Vec<_> = (0..accepted as i64)
        .filter(|i| !seen.contains_key(i))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "accepted rows missing from the output: {missing:?}…"
    );
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(10).collect();
    assert!(twice.is_empty(), "rows committed twice: {twice:?}");
    assert_eq!(seen.len(), accepted, "no row that was not pushed");

    // The run took its consumer and its messages with it.
    rt.block_on(async {
        let js = quiver_stream::async_nats::jetstream::new(
            quiver_stream::async_nats::connect(&url).await.unwrap(),
        );
        let mut stream = js.get_stream(quiver_stream::INGEST).await.unwrap();
        let info = stream.info().await.unwrap();
        assert_eq!(info.state.messages, 0, "messages left behind: {info:?}");
        assert_eq!(
            info.state.consumer_count, 0,
            "consumers left behind: {info:?}"
        );
    });
    // A stopped run does not come back.
    drop(server);
    let server = Server::start_with(dir.path(), &flags);
    rt.block_on(async {
        let s = status(&server.addr, &run).await;
        assert_eq!(s["state"], "succeeded", "{s}");
    });
}

#[test]
fn durable_ingest_needs_a_nats_server_and_a_directory_sink() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[]);
    let addr = server.addr.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Into one file: refused when the pipeline is created, naming the field.
        let (code, body) = call(
            reqwest::Method::POST,
            format!("http://{addr}/v1/pipelines"),
            Some(json!({"name": "one-file", "pipeline": {
                "source": pipeline("x/")["source"],
                "stage": [],
                "sink": {"path": "out/events.csv"}
            }})),
        )
        .await;
        assert_eq!(code, 422, "{body}");
        let found = problems(&body["problems"]);
        assert!(
            found
                .iter()
                .any(|(f, m)| f == "sink.mode" && m.contains("append")),
            "{found:?}"
        );

        // On a server without --ingest-nats: the run cannot start, and says how to fix it.
        let (code, body) = call(
            reqwest::Method::POST,
            format!("http://{addr}/v1/pipelines"),
            Some(json!({"name": "events", "pipeline": pipeline("out/events/")})),
        )
        .await;
        assert_eq!(code, 201, "{body}");
        let (code, body) = call(
            reqwest::Method::POST,
            format!("http://{addr}/v1/runs"),
            Some(json!({"pipeline": "events"})),
        )
        .await;
        assert_eq!(code, 422, "{body}");
        let found = problems(&body["problems"]);
        assert!(
            found
                .iter()
                .any(|(f, m)| f == "source.api.durable" && m.contains("--ingest-nats")),
            "{found:?}"
        );
    });
}

/// A server's run on a `[source.nats]` pipeline is a stream run too: SIGKILLed after its
/// first checkpoint, the next server resumes it under its id on the same durable consumer
/// (what the dead one held unacknowledged comes back after `ack_wait`), every message is
/// committed at least once, and a client's stop then ends it with nothing left pending.
#[test]
fn a_server_run_on_a_jetstream_source_resumes_after_a_killed_server() {
    use quiver_stream::async_nats::jetstream;
    const N: u64 = 100_000;
    let nats = Nats::start();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out/events");
    let rt = super::streams::runtime();
    rt.block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(&url).await.unwrap());
        super::streams::create_stream(&js, "EVENTS", &["events.>"]).await;
        super::streams::publish_events(&js, "events.in", N).await;
    });
    let pipeline = json!({
        "source": {"nats": {
            "url": url, "stream": "EVENTS", "consumer": "server-run", "format": "ndjson",
            "schema": [{"name": "id", "type": "int64"}, {"name": "v", "type": "utf8"}],
            "ack_wait": "3s", "checkpoint": {"rows": 2000, "interval": "1s"}
        }},
        "stage": [{"plugin": "passthrough"}],
        "sink": {"path": "out/events/", "format": "csv", "mode": "append"}
    });

    let mut server = Server::start_with(dir.path(), &[]);
    let addr = server.addr.clone();
    let run = rt.block_on(async {
        let (code, body) = call(
            reqwest::Method::POST,
            format!("http://{addr}/v1/pipelines"),
            Some(json!({"name": "events", "pipeline": pipeline})),
        )
        .await;
        assert_eq!(code, 201, "{body}");
        let (code, run) = call(
            reqwest::Method::POST,
            format!("http://{addr}/v1/runs"),
            Some(json!({"pipeline": "events"})),
        )
        .await;
        assert_eq!(code, 201, "{run}");
        run["id"].as_str().unwrap().to_owned()
    });
    let started = Instant::now();
    while parts(&out).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no checkpoint in 90 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    let before = ids_in_parts(&out).len();
    assert!(
        before < N as usize,
        "killed mid-stream: {before} ids committed"
    );

    let server = Server::start_with(dir.path(), &[]);
    let addr = server.addr.clone();
    rt.block_on(async {
        let s = wait_for(&addr, &run, "running").await;
        assert_eq!(s["resumed"], 1, "{s}");
        let started = Instant::now();
        while ids_in_parts(&out).len() < N as usize {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "{} of {N} ids committed after 120 s",
                ids_in_parts(&out).len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (code, s) = call(
            reqwest::Method::POST,
            format!("http://{addr}/v1/runs/{run}/stop"),
            None,
        )
        .await;
        assert_eq!(code, 202, "{s}");
        let done = wait_for(&addr, &run, "succeeded").await;
        assert_eq!(done["error"], Value::Null, "{done}");
    });
    let seen = ids_in_parts(&out);
    assert_eq!(seen.len(), N as usize, "every message, and only those sent");
    let duplicates: u32 = seen.values().map(|n| n - 1).sum();
    eprintln!("{before} ids committed before the kill; {duplicates} rows committed twice");
    rt.block_on(async {
        let js = jetstream::new(quiver_stream::async_nats::connect(&url).await.unwrap());
        let mut c: jetstream::consumer::PullConsumer = js
            .get_stream("EVENTS")
            .await
            .unwrap()
            .get_consumer("server-run")
            .await
            .unwrap();
        let info = c.info().await.unwrap();
        assert_eq!(info.num_pending, 0, "{info:?}");
        assert_eq!(info.num_ack_pending, 0, "{info:?}");
    });
}
