//! The HTTP API: the router, with every route registered together with its OpenAPI
//! description; handlers live one file per OpenAPI tag (`operations.rs`, `plugins.rs`,
//! `pipelines.rs`, `runs.rs`).
//!
//! Routes are registered through `utoipa_axum`'s `OpenApiRouter`, so a route exists exactly
//! when it is documented; `/openapi.json` serves the document built from them. `/v1/*`
//! requires the bearer token when one is configured (`auth`), bodies are bounded per route
//! (plugins, ingest, JSON documents), and every error is an [`ErrorBody`].

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

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody, Problem};

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

/// The router and the OpenAPI document describing it.
pub fn router(state: Arc<AppState>) -> (axum::Router, utoipa::openapi::OpenApi) {
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
    let doc = openapi.clone();
    let _ = state.openapi.set(doc);
    (router, openapi)
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

/// Require the bearer token on `/v1` routes when one is configured.
async fn auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(want) = &state.token_sha256 {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| Sha256::digest(t.trim().as_bytes()));
        // Compare digests: the time taken says nothing about the token's prefix.
        if given.as_deref() != Some(want.as_slice()) {
            let mut r = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this route needs `Authorization: Bearer <token>` with the server's token \
                 (QUIVER_TOKEN or --token-file where the server runs)",
            )
            .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return r;
        }
    }
    next.run(req).await
}

pub(crate) fn blocking_error(e: tokio::task::JoinError) -> ApiError {
    ApiError::internal(format!("a background task failed: {e}"))
}
