//! What a token holder can reach: scoped tokens (401 without a valid token, 403 outside its
//! scopes, the scope each operation declares), data roots (paths outside them, `..`,
//! symbolic links out of them, grants of `/`, environment grants), errors that never quote
//! a file, and the quotas.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use quiver_server::auth::Tokens;
use quiver_tests::plugins;
use serde_json::{Value, json};

use crate::{TestServer, api_pipeline, csv_rows};

/// sha256 hex of `secret`.
fn sha(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

const READER: &str = "reader-secret-0123456789";
const PLUGGER: &str = "plugger-secret-0123456789";
const RUNNER: &str = "runner-secret-0123456789";

fn tokens() -> Tokens {
    Tokens::parse(
        &format!(
            "[[token]]\nname = \"viewer\"\nsha256 = \"{}\"\nscopes = [\"read\"]\n\n\
             [[token]]\nname = \"ci\"\nsha256 = \"{}\"\nscopes = [\"plugins:write\"]\n\n\
             [[token]]\nname = \"ops\"\nsha256 = \"{}\"\nscopes = [\"pipelines:write\", \"runs:write\", \"read\"]\n",
            sha(READER),
            sha(PLUGGER),
            sha(RUNNER)
        ),
        false,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_gets_403_on_upload_naming_the_scope_it_lacks() {
    let mut s = TestServer::with(|c| c.tokens = tokens()).await;
    s.token = Some(READER.into());
    let (status, body) = s
        .upload_bytes(std::fs::read(plugins::PASSTHROUGH).unwrap())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "forbidden");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("`plugins:write`"), "{message}");
    assert!(message.contains("token `viewer`"), "{message}");
    // Reading is what it may do.
    let (status, _) = s.get("/v1/plugins").await;
    assert_eq!(status, StatusCode::OK);
    // The upload token uploads, and may not read.
    s.token = Some(PLUGGER.into());
    s.upload(plugins::PASSTHROUGH).await;
    let (status, body) = s.get("/v1/plugins").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("`read`"));
    // No token, or one the server does not know: 401.
    s.token = Some("not-a-token-of-this-server".into());
    let (status, _) = s.get("/v1/plugins").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let resp = tower::ServiceExt::oneshot(
        s.app.clone(),
        axum::http::Request::post("/v1/runs")
            .header("content-type", "application/json")
            .body(Body::from("{\"pipeline\": \"x\"}"))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // A 403 says which scope in WWW-Authenticate too (RFC 6750).
    s.token = Some(READER.into());
    let resp = tower::ServiceExt::oneshot(
        s.app.clone(),
        axum::http::Request::post("/v1/runs")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {READER}"))
            .body(Body::from("{\"pipeline\": \"x\"}"))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"runs:write\""
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_single_token_is_admin_beside_a_tokens_file() {
    let mut s = TestServer::with(|c| {
        c.tokens = tokens();
        c.token = Some("0123456789abcdef-admin".into());
    })
    .await;
    s.upload(plugins::PASSTHROUGH).await;
    s.create_pipeline(
        "p",
        api_pipeline(json!([{"plugin": "passthrough"}]), "out/p.csv"),
    )
    .await;
    s.token = Some(RUNNER.into());
    let id = s.start("p").await;
    let (status, _) = s.push_csv(&id, csv_rows(0, 3)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/v1/runs/{id}/stop"),
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(s.wait(&id).await["state"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_v1_operation_declares_one_scope_and_reads_need_read() {
    let s = TestServer::new().await;
    let (_, doc) = s.get("/openapi.json").await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let scopes: Vec<&str> = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["bearer"].as_array())
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if !path.starts_with("/v1/") {
                assert!(scopes.is_empty(), "{method} {path}");
                continue;
            }
            assert_eq!(scopes.len(), 1, "{method} {path}: {scopes:?}");
            let want = match (method.as_str(), path.split('/').nth(2)) {
                ("get", _) => "read",
                (_, Some("plugins")) => "plugins:write",
                (_, Some("pipelines")) => "pipelines:write",
                (_, Some("runs")) => "runs:write",
                other => panic!("{other:?}"),
            };
            assert_eq!(scopes[0], want, "{method} {path}");
            for status in ["401", "403", "408", "503"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }
}

/// A server with roots `data` (read and grant: the folder `input`) and `out` (write) under
/// its folder, `in.csv` in `input`; `elsewhere/secret.csv` outside every root.
async fn rooted() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    for d in ["input", "out", "elsewhere"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
    }
    std::fs::write(dir.path().join("input/in.csv"), "id,name\n1,a\n2,b\n").unwrap();
    std::fs::write(
        dir.path().join("elsewhere/secret.csv"),
        "id,name\n1,SECRET\n",
    )
    .unwrap();
    let data = dir.path().join("input").display().to_string();
    let out = dir.path().join("out").display().to_string();
    TestServer::on(dir, |c| {
        c.roots = vec![
            format!("data:read+grant={data}").parse().unwrap(),
            format!("out:write={out}").parse().unwrap(),
        ];
        c.grantable_env = vec!["QUIVER_TEST_GRANTABLE".into()];
    })
    .await
}

fn file_pipeline(source: &str, sink: &str) -> Value {
    json!({
        "source": {"path": source},
        "stage": [{"plugin": "passthrough"}],
        "sink": {"path": sink},
    })
}

/// POST the pipeline as a dry run; the fields of its problems.
async fn refused_fields(s: &TestServer, pipeline: Value) -> Vec<String> {
    let (status, body) = s
        .post_json(
            "/v1/pipelines?dry_run=true",
            &json!({"name": "p", "pipeline": pipeline}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_roots_reading_etc_passwd_or_granting_root_is_refused_naming_the_field() {
    let s = rooted().await;
    let fields = refused_fields(&s, file_pipeline("/etc/passwd", "root:out/x.csv")).await;
    assert_eq!(fields, ["source.path"]);
    let mut granting = file_pipeline("root:data/in.csv", "root:out/x.csv");
    granting["stage"] = json!([
        {"plugin": "passthrough"},
        {"plugin": "passthrough", "name": "second", "grants": {"dirs": [
            {"host": "root:data", "guest": "/data"},
            {"host": "/", "guest": "/all"}
        ]}}
    ]);
    assert_eq!(
        refused_fields(&s, granting).await,
        ["stage.1.grants.dirs.1.host"]
    );
    // Writing outside a write root, even inside a read root; reading from a write root.
    let fields = refused_fields(&s, file_pipeline("root:out/x.csv", "root:data/y.csv")).await;
    assert_eq!(fields, ["source.path", "sink.path"]);
    // `..`, whatever it resolves to; an unknown root; a dead-letter sink outside.
    let mut p = file_pipeline("root:data/../data/in.csv", "root:nowhere/x.csv");
    p["dead_letter"] = json!({"path": "/tmp/dl.csv"});
    let fields = refused_fields(&s, p).await;
    assert_eq!(fields, ["source.path", "sink.path", "dead_letter.path"]);
    // A relative path is judged where it leads (the work folder is no root).
    let fields = refused_fields(&s, file_pipeline("elsewhere/secret.csv", "root:out/x.csv")).await;
    assert_eq!(fields, ["source.path"]);
    // Environment variables: only those the operator lists.
    let mut p = file_pipeline("root:data/in.csv", "root:out/x.csv");
    p["stage"][0]["grants"] = json!({"env": ["QUIVER_TEST_GRANTABLE", "AWS_SECRET_ACCESS_KEY"]});
    assert_eq!(refused_fields(&s, p).await, ["stage.0.grants.env.1"]);
    // A JetStream or Kafka endpoint is a network address no root describes (without roots
    // they are allowed: `ingest::a_server_run_on_a_jetstream_source_resumes_after_a_killed_server`).
    let streams = json!({
        "source": {"nats": {"url": "nats://127.0.0.1:1", "stream": "S", "consumer": "c",
                            "format": "ndjson", "schema": [{"name": "id", "type": "int64"}]}},
        "stage": [{"plugin": "passthrough"}],
        "sink": {"kafka": {"brokers": "127.0.0.1:1", "topic": "t", "format": "ndjson"}},
    });
    assert_eq!(
        refused_fields(&s, streams).await,
        ["source.nats", "sink.kafka"]
    );
    // Inside the roots, the pipeline is stored and runs.
    s.create_pipeline("ok", file_pipeline("root:data/in.csv", "root:out/ok.csv"))
        .await;
    let id = s.start("ok").await;
    assert_eq!(s.wait(&id).await["state"], "succeeded");
    assert!(s.path("out/ok.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbolic_links_out_of_a_root_are_refused_for_files_folders_and_globs() {
    let s = rooted().await;
    let elsewhere = s.path("elsewhere");
    std::os::unix::fs::symlink(elsewhere.join("secret.csv"), s.path("input/link.csv")).unwrap();
    let fields = refused_fields(&s, file_pipeline("root:data/link.csv", "root:out/x.csv")).await;
    assert_eq!(fields, ["source.path"]);
    std::fs::remove_file(s.path("input/link.csv")).unwrap();
    std::fs::create_dir(s.path("input/sub")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, s.path("input/sub/escape")).unwrap();
    for source in ["root:data/*/*/*.csv", "root:data/sub", "root:data/"] {
        let (status, body) = s
            .post_json(
                "/v1/pipelines?dry_run=true",
                &json!({"name": "p", "pipeline": file_pipeline(source, "root:out/x.csv")}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{source}: {body}");
        assert_eq!(body["problems"][0]["field"], "source.path", "{body}");
        assert!(
            body["problems"][0]["message"]
                .as_str()
                .unwrap()
                .contains("symbolic link"),
            "{body}"
        );
        assert!(!body.to_string().contains("SECRET"), "{body}");
    }
    // A grant through a link is judged where it leads.
    let mut p = file_pipeline("root:data/in.csv", "root:out/x.csv");
    p["stage"][0]["grants"] = json!({"dirs": [{"host": "root:data/sub/escape", "guest": "/x"}]});
    assert_eq!(refused_fields(&s, p).await, ["stage.0.grants.dirs.0.host"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_error_names_line_and_column_but_never_quotes_the_file() {
    let s = rooted().await;
    std::fs::write(
        s.path("input/typed.csv"),
        "id,amount\n1,10\n2,SECRET-VALUE-42\n",
    )
    .unwrap();
    let mut p = file_pipeline("root:data/typed.csv", "root:out/typed.csv");
    p["source"]["csv"] = json!({"schema": [
        {"name": "id", "type": "int64"}, {"name": "amount", "type": "int64"}
    ]});
    s.create_pipeline("typed", p).await;
    let id = s.start("typed").await;
    let status = s.wait(&id).await;
    assert_eq!(status["state"], "failed", "{status}");
    let (_, errors) = s.get(&format!("/v1/runs/{id}/errors")).await;
    for text in [status.to_string(), errors.to_string()] {
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("typed.csv"), "{text}");
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("amount"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_refuse_naming_the_quota_and_the_flag_that_raises_it() {
    let s = TestServer::with(|c| {
        c.quotas.pipelines = 1;
        c.quotas.runs = 1;
        c.quotas.plugin_store_bytes = 1024;
        c.quotas.parallelism = 4;
        c.quotas.run_instances = 6;
    })
    .await;
    // Plugin store: 413.
    let (status, body) = s
        .upload_bytes(std::fs::read(plugins::PASSTHROUGH).unwrap())
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "quota");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--max-plugin-store")
    );
    // Instance ceilings: 422 naming the stage.
    let wide = api_pipeline(
        json!([{"plugin": "passthrough", "parallelism": 5}, {"plugin": "passthrough", "parallelism": 3}]),
        "out/w.csv",
    );
    let (status, body) = s
        .post_json("/v1/pipelines", &json!({"name": "wide", "pipeline": wide}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["stage.0.parallelism", "stage.1.parallelism"],
        "{body}"
    );
    // Pipelines: 409 past the quota.
    let mut a = api_pipeline(json!([{"plugin": "passthrough"}]), "out/a.csv");
    a["sink"]["mode"] = json!("overwrite");
    s.create_pipeline("a", a).await;
    let (status, body) = s
        .post_json(
            "/v1/pipelines",
            &json!({"name": "b", "pipeline": api_pipeline(json!([]), "out/b.csv")}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "quota");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--max-pipelines")
    );
    // Concurrent runs: 429 with Retry-After, then room again once the run is over.
    let id = s.start("a").await;
    let resp = tower::ServiceExt::oneshot(
        s.app.clone(),
        axum::http::Request::post("/v1/runs")
            .header("content-type", "application/json")
            .body(Body::from("{\"pipeline\": \"a\"}"))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).contains("--max-runs"));
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/v1/runs/{id}/stop"),
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    s.wait(&id).await;
    let again = s.start("a").await;
    s.call(
        Method::POST,
        &format!("/v1/runs/{again}/cancel"),
        Body::empty(),
        None,
    )
    .await;
    s.wait(&again).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_share_the_live_instances_quota() {
    let s = TestServer::with(|c| {
        c.quotas.instances = 3;
    })
    .await;
    let two = api_pipeline(
        json!([{"plugin": "passthrough", "parallelism": 2}]),
        "out/t.csv",
    );
    s.create_pipeline("two", two.clone()).await;
    let mut other = two;
    other["sink"]["path"] = json!("out/u.csv");
    s.create_pipeline("other", other).await;
    let id = s.start("two").await;
    let (status, body) = s.post_json("/v1/runs", &json!({"pipeline": "other"})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--max-instances"),
        "{body}"
    );
    s.call(
        Method::POST,
        &format!("/v1/runs/{id}/cancel"),
        Body::empty(),
        None,
    )
    .await;
    s.wait(&id).await;
    let id = s.start("other").await;
    s.call(
        Method::POST,
        &format!("/v1/runs/{id}/cancel"),
        Body::empty(),
        None,
    )
    .await;
    s.wait(&id).await;
}
