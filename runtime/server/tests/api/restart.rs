//! State survives a restart: plugins, pipelines and finished runs are in the data directory,
//! on a local folder and on a real S3-compatible server (moto).

use axum::http::StatusCode;
use quiver_tests::moto::Moto;
use quiver_tests::plugins;
use serde_json::json;

use crate::{TestServer, csv_rows};

/// Upload, define and run on one server; drop it; a new server on the same data directory
/// lists and serves the same things.
async fn survives(first: TestServer, reopen: impl FnOnce(tempfile::TempDir) -> TestServerFuture) {
    first.upload(plugins::PASSTHROUGH).await;
    first.upload(plugins::MAP).await;
    std::fs::write(first.path("in.csv"), csv_rows(0, 4)).unwrap();
    first
        .create_pipeline(
            "copy",
            json!({"source": {"path": "in.csv"}, "stage": [{"plugin": "passthrough"}], "sink": {"path": "copy.csv", "mode": "overwrite"}}),
        )
        .await;
    let id = first.start("copy").await;
    assert_eq!(first.wait(&id).await["state"], "succeeded");
    let (_, plugins_before) = first.get("/v1/plugins").await;
    let (_, pipelines_before) = first.get("/v1/pipelines").await;
    let TestServer { state, dir, .. } = first;
    drop(state);

    let second = reopen(dir).await;
    let (status, plugins_after) = second.get("/v1/plugins").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(plugins_after, plugins_before);
    assert_eq!(second.get("/v1/pipelines").await.1, pipelines_before);
    let (status, run) = second.get(&format!("/v1/runs/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["state"], "succeeded");
    let (status, report) = second.get(&format!("/v1/runs/{id}/report")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["rows_written"], 4);
    assert_eq!(second.get("/v1/runs").await.1[0]["id"], id.as_str());
    // The stored plugins still run.
    let id = second.start("copy").await;
    assert_eq!(second.wait(&id).await["state"], "succeeded");
}

type TestServerFuture = std::pin::Pin<Box<dyn std::future::Future<Output = TestServer>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_pipelines_and_runs_survive_a_restart() {
    let first = TestServer::new().await;
    survives(first, |dir| Box::pin(TestServer::on(dir, |_| {}))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_can_be_an_s3_bucket() {
    let moto = Moto::start();
    moto.create_bucket("quiver-state");
    let storage = || {
        use quiver_io::object_store::aws::AmazonS3ConfigKey as K;
        quiver_io::Storage::from_env()
            .with_s3(K::Endpoint, moto.endpoint())
            .with_s3(
                K::Client(quiver_io::object_store::ClientConfigKey::AllowHttp),
                "true",
            )
            .with_s3(K::AccessKeyId, "testing")
            .with_s3(K::SecretAccessKey, "testing")
            .with_s3(K::Region, "us-east-1")
    };
    let config = |c: &mut quiver_server::Config, storage: quiver_io::Storage| {
        c.data_dir = "s3://quiver-state/servers/a".into();
        c.storage = storage;
    };
    let s1 = storage();
    let first = TestServer::with(|c| config(c, s1)).await;
    let s2 = storage();
    survives(first, move |dir| {
        Box::pin(TestServer::on(dir, move |c| config(c, s2)))
    })
    .await;
}
