//! The API's error responses: one JSON shape for every failure, with the HTTP status that
//! says whose fault it is, a stable machine-readable `code`, a message that says what
//! failed and what to do, and — for documents that do not validate — every problem with
//! the field it is about.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::store::StoreError;

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

    /// A problem from an error whose outermost context is a key (`stage[1].plugin: …`).
    pub fn from_error(e: &anyhow::Error) -> Self {
        let text = format!("{e:#}");
        if let Some((head, rest)) = text.split_once(": ")
            && !head.contains(' ')
        {
            // `stage[1].plugin` → `stage.1.plugin`, the same spelling as serde's paths.
            let field = head.replace('[', ".").replace(']', "");
            return Problem::new(field, rest);
        }
        Problem::new("", text)
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable identifier of the kind of error (`not-found`, `conflict`, `invalid`, …).
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

    /// 503: the server is starting or draining.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500: the server's own fault (logged).
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!("{message}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
