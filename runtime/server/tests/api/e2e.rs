//! Over a real socket: the library's server with a token (upload → create pipeline → start
//! → push data → stop → read the sink), and the `quiver serve` binary itself (refuses a
//! public address without a token, serves, drains and exits on SIGTERM).

use std::sync::Arc;
use std::time::Duration;

use quiver_tests::plugins;
use serde_json::{Value, json};

use crate::TestServer;

const TOKEN: &str = "e2e-token-0123456789abcdef";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

async fn json_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_create_start_push_and_read_the_sink_over_http() {
    let s = TestServer::with(|c| c.token = Some(TOKEN.into())).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(quiver_server::serve(
        listener,
        Arc::clone(&s.state),
        std::future::pending(),
    ));
    let http = client();
    let auth = format!("Bearer {TOKEN}");

    // Without the token: 401.
    let (status, _) = json_of(http.get(format!("{base}/v1/plugins")).send().await.unwrap()).await;
    assert_eq!(status, 401);

    let (status, up) = json_of(
        http.post(format!("{base}/v1/plugins"))
            .header("authorization", &auth)
            .header("content-type", "application/wasm")
            .body(std::fs::read(plugins::MAP).unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{up}");
    let pipeline = json!({
        "name": "doubler",
        "pipeline": {
            "source": {"api": {"schema": [{"name": "id", "type": "int64"}, {"name": "x", "type": "float64"}]}},
            "stage": [{"plugin": "map", "config": {"columns": [{"column": "x", "scale": 2}]}}],
            "sink": {"path": "doubled.parquet"}
        }
    });
    let (status, body) = json_of(
        http.post(format!("{base}/v1/pipelines"))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(pipeline.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, run) = json_of(
        http.post(format!("{base}/v1/runs"))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(json!({"pipeline": "doubler"}).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    let id = run["id"].as_str().unwrap();
    let mut total = 0;
    for chunk in 0..20 {
        let mut csv = String::from("id,x\n");
        for i in chunk * 50..(chunk + 1) * 50 {
            csv.push_str(&format!("{i},{i}.5\n"));
        }
        let (status, body) = json_of(
            http.post(format!("{base}/v1/runs/{id}/batches"))
                .header("authorization", &auth)
                .header("content-type", "text/csv")
                .body(csv)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        total += body["rows_accepted"].as_u64().unwrap();
    }
    assert_eq!(total, 1000);
    let (status, _) = json_of(
        http.post(format!("{base}/v1/runs/{id}/stop"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    let done = s.wait(id).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    // The sink is real Parquet with every row, doubled.
    let file = std::fs::File::open(s.path("doubled.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut n = 0;
    for batch in reader {
        let batch = batch.unwrap();
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::Int64Array>()
            .unwrap();
        let xs = batch
            .column(1)
            .as_any()
            .downcast_ref::<arrow_array::Float64Array>()
            .unwrap();
        for r in 0..batch.num_rows() {
            assert_eq!(ids.value(r), n);
            assert_eq!(xs.value(r), (n as f64 + 0.5) * 2.0);
            n += 1;
        }
    }
    assert_eq!(n, 1000);
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("quiver_stage_rows_in_total{pipeline=\"doubler\",stage=\"map\"} 1000"),
        "{metrics}"
    );
    assert!(metrics.contains("quiver_ingest_rows_total{pipeline=\"doubler\"} 1000"));
    assert!(metrics.contains("quiver_stage_call_seconds_bucket"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_request_head_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::with(|c| c.body_timeout = Duration::from_millis(500)).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(quiver_server::serve(
        listener,
        Arc::clone(&s.state),
        std::future::pending(),
    ));
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The head never ends: the server answers 408 or closes; either way the read ends
    // (the bound only keeps a broken server from hanging the test).
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was still open after 60 s");
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    // A prompt client on another connection is served meanwhile.
    let mut ok = tokio::net::TcpStream::connect(addr).await.unwrap();
    ok.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    ok.read_to_end(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
}
