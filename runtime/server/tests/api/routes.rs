//! Every route without a socket, with its success and each of its error statuses.

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use quiver_tests::plugins;
use serde_json::json;

use crate::{TestServer, api_pipeline, csv_rows, read_csv};

/// A valid component with other bytes than `path` but the same name and version: a custom
/// section appended (allowed anywhere in a component).
fn same_version_other_bytes(path: &str) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let name = b"quiver-test";
    let payload = b"other bytes";
    bytes.push(0); // custom section id
    bytes.push((1 + name.len() + payload.len()) as u8);
    bytes.push(name.len() as u8);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(payload);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_routes_answer_without_a_token() {
    let s = TestServer::with(|c| c.token = Some("0123456789abcdef-secret".into())).await;
    // No token sent by these raw calls.
    for (uri, status) in [
        ("/livez", StatusCode::OK),
        ("/readyz", StatusCode::OK),
        ("/metrics", StatusCode::OK),
        ("/openapi.json", StatusCode::OK),
    ] {
        let resp = tower::ServiceExt::oneshot(
            s.app.clone(),
            axum::http::Request::get(uri).body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), status, "{uri}");
    }
    let (status, metrics) = s.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.as_str().unwrap().contains("quiver_runs_active"),
        "{metrics}"
    );
    // Draining: not ready, no new runs, no pushes.
    s.state.draining.store(true, Ordering::SeqCst);
    let (status, body) = s.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, body) = s.post_json("/v1/runs", &json!({"pipeline": "x"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, _) = s.push_csv("some-run", csv_rows(0, 1)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_routes_need_the_bearer_token() {
    let mut s = TestServer::with(|c| c.token = Some("0123456789abcdef-secret".into())).await;
    let (status, _) = s.get("/v1/plugins").await;
    assert_eq!(status, StatusCode::OK);
    s.token = Some("wrong-token-wrong-token".into());
    let (status, body) = s.get("/v1/plugins").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "unauthorized");
    s.token = None;
    let resp = tower::ServiceExt::oneshot(
        s.app.clone(),
        axum::http::Request::get("/v1/pipelines")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_upload_list_show_and_delete() {
    let s = TestServer::with(|c| c.limits.plugin_bytes = 8 << 20).await;
    // Raw body.
    let up = s.upload(plugins::PASSTHROUGH).await;
    assert_eq!(up["plugin"]["name"], "passthrough");
    assert_eq!(up["plugin"]["version"], "0.1.0");
    assert_eq!(up["created"], true);
    assert_eq!(up["plugin"]["sha256"].as_str().unwrap().len(), 64);
    // The same bytes again: 200, nothing new.
    let (status, again) = s
        .upload_bytes(std::fs::read(plugins::PASSTHROUGH).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["created"], false);
    // Other bytes under the same name and version: 409.
    let (status, body) = s
        .upload_bytes(same_version_other_bytes(plugins::PASSTHROUGH))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("bump the version")
    );
    // Multipart.
    let wasm = std::fs::read(plugins::MAP).unwrap();
    let boundary = "quiverboundary";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"plugin\"; filename=\"map.wasm\"\r\nContent-Type: application/wasm\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(&wasm);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, body) = s
        .call(
            Method::POST,
            "/v1/plugins",
            form,
            Some(&format!("multipart/form-data; boundary={boundary}")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["plugin"]["name"], "map");
    // Not a plugin, empty, too large.
    let (status, body) = s.upload_bytes(b"\0asm not really".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid");
    let (status, _) = s.upload_bytes(Vec::new()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.upload_bytes(vec![0u8; 9 << 20]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let (status, list) = s.get("/v1/plugins").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["map", "passthrough"]);
    let (status, one) = s.get("/v1/plugins/map").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["versions"][0]["version"], "0.1.0");
    assert!(one["versions"][0]["config_schema"].is_object());
    assert_eq!(s.get("/v1/plugins/nope").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        s.get("/v1/plugins/..%2F..%2Fetc").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, v) = s.get("/v1/plugins/map/0.1.0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["name"], "map");
    assert_eq!(
        s.get("/v1/plugins/map/9.9.9").await.0,
        StatusCode::NOT_FOUND
    );

    // In use by a pipeline that pins it: 409; once the pipeline is gone: 204.
    std::fs::write(s.path("in.csv"), csv_rows(0, 3)).unwrap();
    s.create_pipeline(
        "pinned",
        json!({"source": {"path": "in.csv"}, "stage": [{"plugin": "map@0.1.0", "config": {"columns": [{"column": "id"}]}}], "sink": {"path": "out.csv"}}),
    )
    .await;
    let (_, one) = s.get("/v1/plugins/map").await;
    assert_eq!(one["used_by"], json!(["pinned: map@0.1.0"]));
    let (status, body) = s
        .call(Method::DELETE, "/v1/plugins/map/0.1.0", Body::empty(), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("pinned"));
    let (status, _) = s
        .call(Method::DELETE, "/v1/pipelines/pinned", Body::empty(), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(Method::DELETE, "/v1/plugins/map/0.1.0", Body::empty(), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(Method::DELETE, "/v1/plugins/map/0.1.0", Body::empty(), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/v1/plugins/map").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_are_validated_like_quiver_validate_with_fields() {
    let s = TestServer::new().await;
    s.upload(plugins::MAP).await;
    std::fs::write(s.path("in.csv"), "id,price\n1,2.5\n2,4.0\n").unwrap();
    let good = json!({
        "source": {"path": "in.csv"},
        "stage": [{"plugin": "map", "config": {"columns": [{"column": "price", "scale": 2}]}}],
        "sink": {"path": "out.csv"}
    });
    // Dry run: checked, not saved.
    let (status, body) = s
        .post_json(
            "/v1/pipelines?dry_run=true",
            &json!({"name": "prices", "pipeline": good}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["saved"], false);
    assert_eq!(body["checked"]["stages"][0]["version"], "0.1.0");
    assert_eq!(
        body["checked"]["stages"][0]["output"],
        json!(["id: Int64", "price: Float64"])
    );
    assert_eq!(s.get("/v1/pipelines/prices").await.0, StatusCode::NOT_FOUND);
    s.create_pipeline("prices", good.clone()).await;
    let (status, body) = s
        .post_json(
            "/v1/pipelines",
            &json!({"name": "prices", "pipeline": good}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, got) = s.get("/v1/pipelines/prices").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["pipeline"], good);
    let (_, list) = s.get("/v1/pipelines").await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Every problem, each with its field.
    let bad = json!({
        "source": {"path": "in.csv", "colour": "red"},
        "stage": [
            {"plugin": "map", "on_error": "explode"},
            {"plugin": "Not A Name"},
            {"plugin": "ghost"}
        ],
        "sink": {"path": "out.csv"},
        "extra": 1
    });
    let (status, body) = s
        .post_json("/v1/pipelines", &json!({"name": "bad", "pipeline": bad}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"extra"), "{body}");
    assert!(fields.contains(&"source.colour"), "{body}");
    assert!(fields.contains(&"stage.0.on_error"), "{body}");
    // Plugins are resolved and configs checked by the plugin itself.
    let wrong_config = json!({
        "source": {"path": "in.csv"},
        "stage": [{"plugin": "map", "config": {"columns": [{"column": "nope"}]}}, {"plugin": "ghost"}],
        "sink": {"path": "out.csv"}
    });
    let (status, body) = s.put_json("/v1/pipelines/prices", &wrong_config).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["problems"][0]["field"], "stage.1.plugin", "{body}");
    assert!(
        body["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("upload it first")
    );
    let only_config = json!({
        "source": {"path": "in.csv"},
        "stage": [{"plugin": "map", "config": {"columns": [{"column": "nope"}]}}],
        "sink": {"path": "out.csv"}
    });
    let (status, body) = s.put_json("/v1/pipelines/prices", &only_config).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["problems"][0]["field"], "stage.0", "{body}");
    assert!(
        body["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{body}"
    );
    // The stored one is unchanged by failed replaces.
    assert_eq!(s.get("/v1/pipelines/prices").await.1["pipeline"], good);

    // Replace (200), create through PUT (201), bad names, bad bodies.
    let mut tripled = good.clone();
    tripled["stage"][0]["config"]["columns"][0]["scale"] = json!(3);
    let (status, body) = s.put_json("/v1/pipelines/prices", &tripled).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = s.put_json("/v1/pipelines/prices2", &good).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = s.put_json("/v1/pipelines/Bad.Name", &good).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = s
        .call(
            Method::PUT,
            "/v1/pipelines/x",
            "{not json",
            Some("application/json"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .post_json("/v1/pipelines", &json!({"pipeline": good}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .call(Method::DELETE, "/v1/pipelines/prices2", Body::empty(), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call(Method::DELETE, "/v1/pipelines/prices2", Body::empty(), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Runs of a file pipeline: report, output, errors; finished runs refuse stop and cancel.
    let (status, body) = s.post_json("/v1/runs", &json!({"pipeline": "ghost"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = s
        .call(Method::POST, "/v1/runs", "[]", Some("application/json"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let id = s.start("prices").await;
    let done = s.wait(&id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["stages"][0]["rows_in"], 2);
    assert_eq!(done["stages"][0]["plugin"], "map@0.1.0");
    assert!(done["stages"][0]["calls"].as_u64().unwrap() >= 1);
    assert_eq!(read_csv(&s.path("out.csv")), [["1", "7.5"], ["2", "12.0"]]);
    let (status, report) = s.get(&format!("/v1/runs/{id}/report")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["rows_written"], 2);
    assert_eq!(report["stages"][0]["sha256"].as_str().unwrap().len(), 64);
    let (status, errors) = s.get(&format!("/v1/runs/{id}/errors")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(errors, json!([]));
    let (_, runs) = s.get("/v1/runs?pipeline=prices").await;
    assert_eq!(runs[0]["id"], id.as_str());
    let (_, none) = s.get("/v1/runs?pipeline=other").await;
    assert_eq!(none, json!([]));
    for action in ["stop", "cancel"] {
        let (status, body) = s
            .call(
                Method::POST,
                &format!("/v1/runs/{id}/{action}"),
                Body::empty(),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{action}: {body}");
    }
    let (status, body) = s.push_csv(&id, csv_rows(0, 1)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    for uri in [
        "/v1/runs/nope",
        "/v1/runs/nope/errors",
        "/v1/runs/nope/report",
    ] {
        assert_eq!(s.get(uri).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
    let (status, _) = s
        .call(Method::POST, "/v1/runs/nope/stop", Body::empty(), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A run that fails: no output, a report refused with the reason, the error listed.
    std::fs::write(s.path("in.csv"), "id,price\n1,2.5\n").unwrap();
    s.upload(plugins::EVIL).await;
    s.create_pipeline(
        "failing",
        json!({"source": {"path": "in.csv"}, "stage": [{"plugin": "evil", "config": {"mode": "panic"}}], "sink": {"path": "failed.csv"}}),
    )
    .await;
    let id = s.start("failing").await;
    let done = s.wait(&id).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert!(done["error"].as_str().unwrap().contains("evil"), "{done}");
    assert!(!s.path("failed.csv").exists());
    let (status, body) = s.get(&format!("/v1/runs/{id}/report")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, errors) = s.get(&format!("/v1/runs/{id}/errors")).await;
    assert!(
        errors
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "panic" && e["plugin"] == "evil@0.1.0"),
        "{errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_source_runs_take_pushes_stop_commits_cancel_does_not() {
    let s = TestServer::with(|c| c.limits.ingest_bytes = 1 << 20).await;
    s.upload(plugins::PASSTHROUGH).await;
    s.create_pipeline(
        "stream",
        api_pipeline(json!([{"plugin": "passthrough"}]), "stream.csv"),
    )
    .await;
    let id = s.start("stream").await;
    let (status, body) = s.push_csv(&id, csv_rows(0, 3)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows_accepted"], 3);
    // NDJSON and Arrow bodies.
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/runs/{id}/batches"),
            "{\"id\": 3, \"name\": \"n3\"}\n{\"id\": 4, \"name\": null}\n",
            Some("application/x-ndjson"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows_accepted"], 2);
    // An Arrow body as Polars sends it (int32 and string views where int64 and utf8 are
    // declared) converts; a float id would lose values and is refused.
    let ipc = |id: arrow_array::ArrayRef| {
        let batch = arrow_array::RecordBatch::try_from_iter([
            ("id", id),
            (
                "name",
                std::sync::Arc::new(arrow_array::StringViewArray::from(vec!["n5", "n6"])) as _,
            ),
        ])
        .unwrap();
        let mut ipc = Vec::new();
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut ipc, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        drop(w);
        ipc
    };
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/runs/{id}/batches"),
            ipc(std::sync::Arc::new(arrow_array::Int32Array::from(vec![
                5, 6,
            ]))),
            Some("application/vnd.apache.arrow.stream"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows_accepted"], 2);
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/runs/{id}/batches"),
            ipc(std::sync::Arc::new(arrow_array::Float64Array::from(vec![
                5.5, 6.0,
            ]))),
            Some("application/vnd.apache.arrow.stream"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("`id: Float64`"),
        "{body}"
    );
    // Refused pushes: nothing of them enters.
    let (status, body) = s.push_csv(&id, "id,name\n7,a\nseven,b\n".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = s.push_csv(&id, "name,id\nx,8\n".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("header"),
        "{body}"
    );
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/runs/{id}/batches"),
            "x",
            Some("text/plain"),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, _) = s.push_csv(&id, csv_rows(0, 100_000)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // A running run's pipeline cannot be deleted, nor the plugin version it runs.
    let (status, _) = s
        .call(Method::DELETE, "/v1/pipelines/stream", Body::empty(), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = s
        .call(
            Method::DELETE,
            "/v1/plugins/passthrough/0.1.0",
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Unknown runs.
    assert_eq!(
        s.push_csv("nope", csv_rows(0, 1)).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = s
        .call(Method::POST, "/v1/runs/nope/cancel", Body::empty(), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/v1/runs/{id}/stop"),
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let done = s.wait(&id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["rows_read"], 7);
    let ids: Vec<String> = read_csv(&s.path("stream.csv"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(ids, ["0", "1", "2", "3", "4", "5", "6"]);
    let (status, _) = s.push_csv(&id, csv_rows(9, 1)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // A pipeline that cannot start: its sink exists (and mode is not overwrite).
    let (status, body) = s
        .post_json("/v1/runs", &json!({"pipeline": "stream"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["problems"][0]["field"], "sink.path", "{body}");

    // Cancel: nothing committed.
    s.create_pipeline(
        "cancelled",
        api_pipeline(json!([{"plugin": "passthrough"}]), "cancelled.csv"),
    )
    .await;
    let id = s.start("cancelled").await;
    assert_eq!(s.push_csv(&id, csv_rows(0, 5)).await.0, StatusCode::OK);
    let (status, _) = s
        .call(
            Method::POST,
            &format!("/v1/runs/{id}/cancel"),
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = s.wait(&id).await;
    assert_eq!(done["state"], "cancelled", "{done}");
    assert!(!s.path("cancelled.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_are_told_apart() {
    let s = TestServer::new().await;
    let (status, body) = s.get("/v2/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "no-route");
    let (status, _) = s
        .call(Method::PATCH, "/v1/plugins", Body::empty(), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}
