//! The HTTP API: the router, with every route registered together with its OpenAPI
//! description; handlers live one file per OpenAPI tag (`operations.rs`, `plugins.rs`,
//! `pipelines.rs`, `runs.rs`).
//!
//! Routes are registered through `utoipa_axum`'s `OpenApiRouter`, so a route exists exactly
//! when it is documented; `/openapi.json` serves the document built from them (finished in
//! `doc.rs`). `/v1/*` requires a bearer token when any is configured, with the scope its
//! operation declares under `security` (`auth`: 401 without a valid token, 403 outside its
//! scopes); every mutating request leaves an audit record (target `quiver::audit`: token,
//! method, route, status). Bodies are bounded per route (plugins, ingest, JSON documents),
//! and every error is an [`ErrorBody`].

mod doc;
mod operations;
mod pipelines;
mod plugins;
mod runs;

pub use self::pipelines::{DryRun, NewPipeline, PipelineRecord, PipelineSaved};
pub use self::plugins::{PluginDetail, PluginSummary, Uploaded};
pub use self::runs::{Accepted, RunFilter, StartRun};

use self::operations::*;
use self::pipelines::*;
use self::plugins::*;
use self::runs::*;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Scope;
use crate::error::{ApiError, ApiResult, ErrorBody, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Quiver control API",
        description = "Upload and hot-swap WebAssembly transform plugins, define pipelines, \
                       start, watch and stop runs, and push Arrow/CSV/NDJSON batches into \
                       running pipelines.",
        version = "1"
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, Problem))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The router and the OpenAPI document describing it (as served at `/openapi.json`).
pub fn router(state: Arc<AppState>) -> (axum::Router, serde_json::Value) {
    let limits = state.limits.clone();
    let v1 = OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload_plugin, list_plugins))
                .layer(DefaultBodyLimit::max(limits.plugin_bytes)),
        )
        .routes(routes!(get_plugin))
        .routes(routes!(get_plugin_version, delete_plugin_version))
        .routes(routes!(list_pipelines, create_pipeline))
        .routes(routes!(get_pipeline, replace_pipeline, delete_pipeline))
        .routes(routes!(list_runs, start_run))
        .routes(routes!(get_run))
        .routes(routes!(stop_run))
        .routes(routes!(cancel_run))
        .routes(routes!(run_errors))
        .routes(routes!(run_report))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(push_batches))
                .layer(DefaultBodyLimit::max(limits.ingest_bytes)),
        )
        .layer(DefaultBodyLimit::max(limits.json_bytes))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth,
        ));
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(v1)
        .routes(routes!(livez))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .fallback(no_route)
        .with_state(Arc::clone(&state))
        .split_for_parts();
    let doc = doc::finish(&openapi);
    let _ = state.scopes.set(doc::scopes(&doc));
    let _ = state.openapi.set(doc.clone());
    (router, doc)
}

/// 415 unless the request says its body is JSON.
pub(crate) fn require_json(headers: &HeaderMap) -> ApiResult<()> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!(
                "this route takes a JSON body: send `Content-Type: application/json`{}",
                if ct.is_empty() {
                    String::new()
                } else {
                    format!(" (not `{ct}`)")
                }
            ),
        ))
    }
}

async fn no_route(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no-route",
        format!(
            "there is no route {} {}; see /openapi.json for the API",
            req.method(),
            req.uri().path()
        ),
    )
}

/// The audit record of one mutating request, written when it is answered — or, when the
/// request is dropped first (timed out, or the client went away), then with `status =
/// "abandoned"`.
struct Audit {
    token: String,
    method: Method,
    route: String,
    path: String,
    written: bool,
}

impl Audit {
    fn write(mut self, status: StatusCode) {
        self.written = true;
        tracing::info!(
            target: "quiver::audit",
            token = %self.token,
            method = %self.method,
            route = %self.route,
            path = %self.path,
            status = status.as_u16(),
            "audit"
        );
    }
}

impl Drop for Audit {
    fn drop(&mut self) {
        if !self.written {
            tracing::info!(
                target: "quiver::audit",
                token = %self.token,
                method = %self.method,
                route = %self.route,
                path = %self.path,
                status = "abandoned",
                "audit"
            );
        }
    }
}

/// At most this much of a refused request's body is read (and dropped) before the answer.
const REFUSED_BODY_DRAIN: usize = 16 << 20;

/// The answer `r` to a request refused before its body was read. The body is read and
/// dropped first — up to [`REFUSED_BODY_DRAIN`] bytes, for at most five seconds — so that a
/// client still sending it reads the 401/403 instead of a broken pipe, and the connection
/// can carry the next request. A longer or slower body is not waited for: the answer then
/// says `Connection: close`, so no client reuses a connection the server is closing.
async fn refuse(req: Request, mut r: Response) -> Response {
    let drained = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        axum::body::to_bytes(req.into_body(), REFUSED_BODY_DRAIN),
    )
    .await
    .is_ok_and(|read| read.is_ok());
    if !drained {
        r.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    r
}

/// `/v1` routes: a token with the operation's scope when tokens are configured; an audit
/// record of every request that is not a `GET`.
async fn auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
    // An operation the document declares no scope for needs `admin`: closed by default.
    let need = state
        .scopes
        .get()
        .and_then(|m| m.get(&(method.as_str().to_owned(), route.clone())))
        .copied()
        .unwrap_or(Scope::Admin);
    let mutating = method != Method::GET && method != Method::HEAD;
    let path = req.uri().path().to_owned();
    let audit = |token: &str| {
        mutating.then(|| Audit {
            token: token.to_owned(),
            method: method.clone(),
            route: route.clone(),
            path: path.clone(),
            written: false,
        })
    };
    let token = if state.tokens.required() {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let Some(token) = presented.and_then(|t| state.tokens.find(t)) else {
            let mut r = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this route needs `Authorization: Bearer <token>` with a token the server \
                 accepts (QUIVER_TOKEN, --token-file or --tokens-file where the server runs)",
            )
            .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            if let Some(a) = audit("-") {
                a.write(r.status());
            }
            return refuse(req, r).await;
        };
        if !token.allows(need) {
            let mut r = ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "token `{}` may not {method} {route}: that needs scope `{need}` (the token \
                     has: {}); ask the operator for a token with `{need}`",
                    token.name,
                    token.scope_list()
                ),
            )
            .into_response();
            if let Ok(v) = header::HeaderValue::from_str(&format!(
                "Bearer error=\"insufficient_scope\", scope=\"{need}\""
            )) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            if let Some(a) = audit(&token.name) {
                a.write(r.status());
            }
            return refuse(req, r).await;
        }
        token.name.clone()
    } else {
        "-".to_owned()
    };
    let record = audit(&token);
    let mut req = req;
    req.extensions_mut().insert(crate::auth::Caller(token));
    let response = next.run(req).await;
    if let Some(a) = record {
        a.write(response.status());
    }
    response
}

pub(crate) fn blocking_error(e: tokio::task::JoinError) -> ApiError {
    ApiError::internal(format!("a background task failed: {e}"))
}
