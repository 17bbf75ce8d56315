//! The OpenAPI document: valid (checked by openapi-spec-validator, from the tests'
//! virtualenv), and the same API as the router: every documented operation reaches a
//! handler, every other method on a documented path is 405, and the served document is the
//! one the router was built from.

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
                if status != StatusCode::BAD_REQUEST && status != StatusCode::UNSUPPORTED_MEDIA_TYPE
                {
                    assert!(
                        responses.contains_key(status.as_str()),
                        "{method} {path} answered {status}, documented: {:?}",
                        responses.keys().collect::<Vec<_>>()
                    );
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
