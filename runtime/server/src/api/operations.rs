//! Operations routes: liveness, readiness, metrics and the OpenAPI document.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/livez", tag = "operations", responses((status = 200, description = "alive")))]
pub(super) async fn livez() -> &'static str {
    "ok\n"
}

/// Readiness: 200 once the data directory is loaded, 503 while starting or draining.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "starting or draining", body = ErrorBody)))]
pub(super) async fn readyz(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    if state.draining.load(Ordering::SeqCst) {
        return Err(ApiError::unavailable(
            "draining: the server is shutting down",
        ));
    }
    if !state.ready.load(Ordering::SeqCst) {
        return Err(ApiError::unavailable("starting"));
    }
    Ok("ready\n")
}

/// Prometheus metrics: per pipeline and stage rows, calls, call latency, errors by kind,
/// swaps; runs and ingest.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub(super) async fn openapi_json(State(state): State<Arc<AppState>>) -> Response {
    match state.openapi.get() {
        Some(doc) => Json(doc.clone()).into_response(),
        None => ApiError::unavailable("starting").into_response(),
    }
}
