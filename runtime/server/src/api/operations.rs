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
#[utoipa::path(get, path = "/livez", tag = "operations", responses((status = 200, description = "alive", body = String, content_type = "text/plain")))]
pub(super) async fn livez() -> &'static str {
    "ok\n"
}

/// Readiness: 200 once the data directory is loaded, 503 while starting or draining.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "ready", body = String, content_type = "text/plain"),
    (status = 503, description = "starting or draining", body = ErrorBody,
        headers(("Retry-After" = String, description = "seconds to wait")))))]
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
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "OpenMetrics text (Prometheus scrapes it)", body = String, content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
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
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses(
    (status = 200, description = "OpenAPI 3.1 document", body = Object, content_type = "application/json"),
    (status = 503, description = "starting", body = ErrorBody)))]
pub(super) async fn openapi_json(State(state): State<Arc<AppState>>) -> Response {
    match state.openapi.get() {
        Some(doc) => Json(doc).into_response(),
        None => ApiError::unavailable("starting").into_response(),
    }
}
