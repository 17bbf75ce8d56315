//! `quiver serve` tested: every route without a socket (`Router::oneshot`, `routes.rs`),
//! the whole flow over a real socket and the real binary (`e2e.rs`), hot swap under a
//! stream of 10,000 batches (`hotswap.rs`), state surviving a restart on a local folder and
//! on a real S3-compatible server (`restart.rs`), the OpenAPI document against the
//! routes and a validator (`openapi.rs`), scoped tokens, data roots and quotas
//! (`security.rs`), and TLS on a real socket (`tls.rs`). Plugins are real compiled
//! components.

mod e2e;
mod hotswap;
mod openapi;
mod restart;
mod routes;
mod security;
mod tls;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use quiver_server::{AppState, Config};
use serde_json::Value;
use tower::ServiceExt;

/// The compiled-plugin cache shared by the tests of this binary (compiling each component
/// once, not once per test).
fn cache_dir() -> PathBuf {
    std::env::temp_dir().join(format!("quiver-serve-tests-{}", std::process::id()))
}

/// A server on a fresh data directory, reached without a socket.
pub struct TestServer {
    pub state: Arc<AppState>,
    pub app: axum::Router,
    /// Holds `data/` and the pipelines' relative paths.
    pub dir: tempfile::TempDir,
    pub token: Option<String>,
}

impl TestServer {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A server whose config `change` adjusts (token, limits, storage, data dir).
    pub async fn with(change: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::on(dir, change).await
    }

    /// A server on `dir` (a restart reuses the folder of an earlier server).
    pub async fn on(dir: tempfile::TempDir, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::new(
            dir.path().join("data").display().to_string(),
            dir.path().to_owned(),
        );
        config.runtime.cache_dir = Some(cache_dir());
        change(&mut config);
        let token = config.token.clone();
        let state = AppState::open(config).await.unwrap();
        let app = quiver_server::app(Arc::clone(&state));
        TestServer {
            state,
            app,
            dir,
            token,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Send a request; the status and the body as JSON (`Value::String` when not JSON).
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        body: impl Into<Body>,
        content_type: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call(Method::GET, uri, Body::empty(), None).await
    }

    pub async fn post_json(&self, uri: &str, body: &Value) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            uri,
            body.to_string(),
            Some("application/json"),
        )
        .await
    }

    pub async fn put_json(&self, uri: &str, body: &Value) -> (StatusCode, Value) {
        self.call(Method::PUT, uri, body.to_string(), Some("application/json"))
            .await
    }

    /// Upload the component at `path`; asserts 201 and returns the response.
    pub async fn upload(&self, path: &str) -> Value {
        let (status, body) = self.upload_bytes(std::fs::read(path).unwrap()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn upload_bytes(&self, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.call(Method::POST, "/v1/plugins", bytes, Some("application/wasm"))
            .await
    }

    /// Create pipeline `name`; asserts 201.
    pub async fn create_pipeline(&self, name: &str, pipeline: Value) {
        let (status, body) = self
            .post_json(
                "/v1/pipelines",
                &serde_json::json!({"name": name, "pipeline": pipeline}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// Start a run of `pipeline`; asserts 201 and returns its id.
    pub async fn start(&self, pipeline: &str) -> String {
        let (status, body) = self
            .post_json("/v1/runs", &serde_json::json!({"pipeline": pipeline}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Poll the run until it is over; its final status.
    pub async fn wait(&self, id: &str) -> Value {
        for _ in 0..6000 {
            let (status, body) = self.get(&format!("/v1/runs/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if ["succeeded", "failed", "cancelled"].contains(&body["state"].as_str().unwrap()) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("run {id} did not finish in 2 minutes");
    }

    /// Push a CSV body to run `id`.
    pub async fn push_csv(&self, id: &str, csv: String) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/v1/runs/{id}/batches"),
            csv,
            Some("text/csv"),
        )
        .await
    }
}

/// A pipeline whose source is the API (columns `id: int64`, `name: utf8`), through `stages`,
/// to the CSV file `sink`.
pub fn api_pipeline(stages: Value, sink: &str) -> Value {
    serde_json::json!({
        "source": {"api": {"schema": [
            {"name": "id", "type": "int64", "nullable": false},
            {"name": "name", "type": "utf8"}
        ]}},
        "stage": stages,
        "sink": {"path": sink},
    })
}

/// `rows` CSV rows `id,name` from `first`, with a header.
pub fn csv_rows(first: i64, rows: i64) -> String {
    let mut s = String::from("id,name\n");
    for i in first..first + rows {
        s.push_str(&format!("{i},n{i}\n"));
    }
    s
}

/// The rows of a CSV file written by a sink, without the header.
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}
