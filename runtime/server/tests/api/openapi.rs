//! The OpenAPI document: valid (checked by openapi-spec-validator, from the tests'
//! virtualenv), and the same API as the router: every documented operation reaches a
//! handler and every status it answers is documented, every other method on a documented
//! path is 405, the pipeline document's JSON Schema is the body of the routes that take
//! one, links chain the operations, and `/metrics` is documented as it is served.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use quiver_tests::test_venv_bin;

use crate::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_validates() {
    let s = TestServer::new().await;
    let (status, doc) = s.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    let file = s.path("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = std::process::Command::new(test_venv_bin("openapi-spec-validator"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed_and_nothing_else_is() {
    let s = TestServer::new().await;
    let (_, doc) = s.get("/openapi.json").await;
    let paths = doc["paths"].as_object().unwrap();
    let all = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ];
    let mut operations = 0;
    for (path, item) in paths {
        // Path parameters with values no route treats specially.
        let uri = path
            .replace("{name}", "some-name")
            .replace("{version}", "1.0.0")
            .replace("{id}", "some-id");
        for method in &all {
            let documented = item.get(method.as_str().to_ascii_lowercase()).is_some();
            let (status, body) = s.call(method.clone(), &uri, Body::empty(), None).await;
            if documented {
                operations += 1;
                assert_ne!(body["code"], "no-route", "{method} {path}: {body}");
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                // Every status a handler can answer is documented for it.
                let responses = item[method.as_str().to_ascii_lowercase()]["responses"]
                    .as_object()
                    .unwrap();
                assert!(
                    responses.contains_key(status.as_str()),
                    "{method} {path} answered {status}, documented: {:?}",
                    responses.keys().collect::<Vec<_>>()
                );
                // Every error has the documented shape.
                if status.is_client_error() || status.is_server_error() {
                    assert!(body["code"].is_string(), "{method} {path}: {body}");
                }
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}: {body}"
                );
            }
        }
    }
    // The API as the issue lists it: plugins (upload, list, show, show a version, delete),
    // pipelines (create, list, get, replace, delete), runs (start, list, status, stop,
    // cancel, errors, report, push), operations (livez, readyz, metrics, openapi).
    assert_eq!(operations, 22, "{:?}", paths.keys().collect::<Vec<_>>());
    // A path that is not documented is not routed.
    let (status, body) = s.get("/v1/plugins/a/b/c").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no-route"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_schema_links_and_content_types_are_documented_as_served() {
    let s = TestServer::new().await;
    let (_, doc) = s.get("/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Pipeline"]["title"], "Quiver pipeline");
    assert!(schemas["pipeline.Stage"].is_object(), "{}", schemas);
    assert_eq!(
        schemas["NewPipeline"]["properties"]["pipeline"]["$ref"],
        "#/components/schemas/Pipeline"
    );
    assert_eq!(
        doc["paths"]["/v1/pipelines/{name}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/Pipeline"
    );
    // No reference points outside the document.
    let text = doc.to_string();
    assert!(!text.contains("#/$defs/"), "a $ref left unresolved");
    let links = |path: &str, method: &str, status: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"][status]["links"]
            .as_object()
            .map(|l| {
                l.values()
                    .map(|v| v["operationId"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut from_create = links("/v1/pipelines", "post", "201");
    from_create.sort();
    assert_eq!(
        from_create,
        ["delete_pipeline", "get_pipeline", "replace_pipeline"]
    );
    let mut from_start = links("/v1/runs", "post", "201");
    from_start.sort();
    assert_eq!(
        from_start,
        [
            "cancel_run",
            "get_run",
            "push_batches",
            "run_errors",
            "run_report",
            "stop_run"
        ]
    );
    assert!(links("/v1/plugins", "post", "201").contains(&"get_plugin".to_owned()));
    // /metrics is documented with the content type it is served with.
    let served = tower::ServiceExt::oneshot(
        s.app.clone(),
        axum::http::Request::get("/metrics")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let served = served.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let documented: Vec<&String> = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(documented, [&served]);
}
