//! The API's error responses: one JSON shape for every failure, with the HTTP status that
//! says whose fault it is, a stable machine-readable `code`, a message that says what
//! failed and what to do, and — for documents that do not validate — every problem with
//! the field it is about.
//!
//! [`status_of`] is the one table from a library error's fault class to an HTTP status;
//! handlers add the statuses that are about HTTP itself (404, 409, 400, 413, 415), access
//! (401, 403) and quotas (413, 409, 429: [`ApiError::quota`]). [`as_error_body`] gives the
//! responses that axum and tower make themselves (a 408 timeout, a 413 body limit, a 405)
//! the same JSON shape.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use quiver_fault::{Fault, HasFault};
use quiver_spec::Problems;
use serde::Serialize;
use utoipa::ToSchema;

use super::store::StoreError;

/// Seconds a client is told to wait before retrying a 503 or a 429.
const RETRY_AFTER_SECS: &str = "30";

/// One thing wrong with a request document.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Problem {
    /// The field it is about, as a dotted path (`stage.1.config.factor`, `source.path`);
    /// empty for the document as a whole.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl Problem {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<&quiver_spec::Problem> for Problem {
    fn from(p: &quiver_spec::Problem) -> Self {
        Problem::new(p.field.clone(), p.message.clone())
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable identifier of the kind of error (`not-found`, `conflict`, `invalid`,
    /// `unavailable`, …).
    pub code: String,
    /// What failed, where, and what to do.
    pub message: String,
    /// For documents that did not validate: every problem found, each with its field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: ErrorBody,
}

/// The HTTP status and error code of a fault class: the one table.
///
/// | fault | status |
/// |---|---|
/// | config, data, plugin | 422 — the request refers to something that cannot work |
/// | unavailable | 503 with `Retry-After` — try again later |
/// | cancelled | 409 — the run was cancelled |
/// | internal | 500 |
pub fn status_of(fault: Fault) -> (StatusCode, &'static str) {
    match fault {
        Fault::Config | Fault::Data | Fault::Plugin => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
        }
        Fault::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        Fault::Cancelled => (StatusCode::CONFLICT, "cancelled"),
        Fault::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code: code.into(),
                message: message.into(),
                problems: Vec::new(),
            },
        }
    }

    /// The response of a library error, by its fault class.
    pub fn from_fault(fault: Fault, message: impl Into<String>) -> Self {
        let (status, code) = status_of(fault);
        let message = message.into();
        if fault == Fault::Internal {
            tracing::error!("{message}");
        }
        Self::new(status, code, message)
    }

    /// 404: the named thing does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    /// 409: the request conflicts with the current state (in use, exists, finished).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    /// 422: a well-formed document that does not validate, with every problem found.
    pub fn invalid(message: impl Into<String>, problems: Vec<Problem>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
        e.body.problems = problems;
        e
    }

    /// The problems of a document or a pipeline that cannot start: 422, or the status of
    /// their fault (503 when storage is unavailable), every problem listed.
    pub fn problems(message: impl Into<String>, problems: &Problems) -> Self {
        let mut e = Self::from_fault(problems.fault(), message);
        e.body.problems = problems.problems.iter().map(Problem::from).collect();
        e
    }

    /// A quota is reached (`status`: 413 plugin store, 409 pipelines, 429 runs and
    /// instances): the message names the quota and how to raise it.
    pub fn quota(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, "quota", message)
    }

    /// 503: the server is starting or draining, or storage is unavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500: the server's own fault (logged).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::from_fault(Fault::Internal, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let fault = match e {
            StoreError::Store { .. } => Fault::Unavailable,
            StoreError::Corrupt { .. } => Fault::Internal,
            StoreError::Config { .. } => Fault::Config,
        };
        ApiError::from_fault(fault, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.status == StatusCode::SERVICE_UNAVAILABLE
            || self.status == StatusCode::TOO_MANY_REQUESTS;
        let mut response = (self.status, Json(self.body)).into_response();
        if retry {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// A response layer: an error response that is not JSON (made by axum or tower, not by a
/// handler: a 408 timeout, a 413 or 400 from an extractor, a 405) becomes an [`ErrorBody`]
/// with the status's own code, so every error the API answers has the documented shape.
pub async fn as_error_body(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (code, what) = match status {
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "the request took longer than the server's request timeout (--request-timeout), \
             or its body arrived too slowly (--body-timeout)",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too-large",
            "the body is larger than this route takes (--max-plugin-size, --max-ingest-size, \
             1 MiB for JSON)",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "this route does not take this method; see /openapi.json",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "wrong Content-Type"),
        s if s.is_server_error() => ("internal", "the server failed"),
        _ => ("bad-request", "the request is malformed"),
    };
    let message = if text.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {text}")
    };
    let mut out = ApiError::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
