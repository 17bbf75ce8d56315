//! The HTTP API: every route, its handler and its OpenAPI description, in one place.
//!
//! Routes are registered through `utoipa_axum`'s `OpenApiRouter`, so a route exists exactly
//! when it is documented; `/openapi.json` serves the document built from them. `/v1/*`
//! requires the bearer token when one is configured (`auth`), bodies are bounded per route
//! (plugins, ingest, JSON documents), and every error is an [`ErrorBody`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::catalogue::{PluginRef, PluginVersion};
use super::error::{ApiError, ApiResult, ErrorBody, Problem};
use super::ingest::{BodyFormat, decode};
use super::pipelines::{self, Checked};
use super::runs::{RunErrorEntry, RunStatus, SwapOffer};
use super::store::valid_name;

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

fn blocking_error(e: tokio::task::JoinError) -> ApiError {
    ApiError::internal(format!("a background task failed: {e}"))
}

// ----- operations -----------------------------------------------------------------------

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/livez", tag = "operations", responses((status = 200, description = "alive")))]
async fn livez() -> &'static str {
    "ok\n"
}

/// Readiness: 200 once the data directory is loaded, 503 while starting or draining.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "starting or draining", body = ErrorBody)))]
async fn readyz(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
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
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
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
async fn openapi_json(State(state): State<Arc<AppState>>) -> Response {
    match state.openapi.get() {
        Some(doc) => Json(doc.clone()).into_response(),
        None => ApiError::unavailable("starting").into_response(),
    }
}

// ----- plugins --------------------------------------------------------------------------

/// What an upload did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    /// The stored version.
    pub plugin: PluginVersion,
    /// False when exactly these bytes were already stored under this name and version.
    pub created: bool,
    /// Running stages that follow this plugin's name, and whether each accepted the new
    /// version (it switches at its next batch boundary) or refused it.
    pub swaps: Vec<SwapOffer>,
}

/// Upload a plugin component (`.wasm`), as the raw body (`application/wasm` or
/// `application/octet-stream`) or as the first file of a `multipart/form-data` body. It is
/// checked (a component of this WIT version that instantiates and describes itself) and
/// stored under its name and version; running pipelines that follow the name switch to it.
#[utoipa::path(post, path = "/v1/plugins", tag = "plugins", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/wasm", description = "the component"),
    responses(
        (status = 201, description = "stored", body = Uploaded),
        (status = 200, description = "already stored with the same bytes", body = Uploaded),
        (status = 409, description = "this name and version hold other bytes", body = ErrorBody),
        (status = 413, description = "larger than the upload limit", body = ErrorBody),
        (status = 422, description = "not a usable plugin", body = ErrorBody)))]
async fn upload_plugin(State(state): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let bytes = if is_multipart {
        let mut form = Multipart::from_request(req, &state)
            .await
            .map_err(|e| ApiError::bad_request(format!("multipart body: {e}")))?;
        let mut found = None;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request(format!("multipart body: {e}")))?
        {
            if field.file_name().is_some() || field.name() == Some("plugin") {
                found = Some(field.bytes().await.map_err(|e| {
                    ApiError::bad_request(format!("multipart body, reading the file: {e}"))
                })?);
                break;
            }
        }
        found.ok_or_else(|| {
            ApiError::bad_request(
                "the multipart body has no file; send the .wasm as a file field (curl -F plugin=@x.wasm)",
            )
        })?
    } else {
        Bytes::from_request(req, &state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                "bad-request",
                format!("reading the body: {}", e.body_text()),
            )
        })?
    };
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the body is empty; send the .wasm (curl --data-binary @x.wasm)",
        ));
    }
    let (plugin, created) = state.catalogue.upload(bytes).await?;
    let swaps = if created {
        state.metrics.plugins_uploaded.inc();
        let runs = Arc::clone(&state.runs);
        let v = plugin.clone();
        tokio::task::spawn_blocking(move || runs.offer_new_version(&v))
            .await
            .map_err(blocking_error)?
    } else {
        Vec::new()
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(Uploaded {
            plugin,
            created,
            swaps,
        }),
    )
        .into_response())
}

/// A plugin name with its versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginSummary {
    /// Plugin name.
    pub name: String,
    /// The latest version (what stages that follow the name run).
    pub latest: String,
    /// Every stored version, oldest first.
    pub versions: Vec<String>,
}

/// List stored plugins.
#[utoipa::path(get, path = "/v1/plugins", tag = "plugins", security(("bearer" = [])),
    responses((status = 200, description = "ok", body = Vec<PluginSummary>)))]
async fn list_plugins(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<PluginSummary>>> {
    let mut out = Vec::new();
    for name in state.catalogue.names().await? {
        let versions: Vec<String> = state
            .catalogue
            .versions(&name)
            .await?
            .into_iter()
            .map(|v| v.version)
            .collect();
        if let Some(latest) = versions.last().cloned() {
            out.push(PluginSummary {
                name,
                latest,
                versions,
            });
        }
    }
    Ok(Json(out))
}

/// A plugin: every version and the pipelines that use it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginDetail {
    /// Plugin name.
    pub name: String,
    /// Every stored version, oldest first, with metadata and config schema.
    pub versions: Vec<PluginVersion>,
    /// Pipelines with a stage on this plugin (`pipeline: name` or `pipeline: name@version`).
    pub used_by: Vec<String>,
}

/// Stored pipelines with a stage on plugin `name`: `(pipeline, stage's reference)`.
async fn users_of(state: &AppState, name: &str) -> ApiResult<Vec<(String, PluginRef)>> {
    let mut out = Vec::new();
    for p in state.pipeline_names().await? {
        let Some(rec) = state.pipeline(&p).await? else {
            continue;
        };
        if let Ok(parsed) = pipelines::parse(&rec.pipeline) {
            for r in parsed.refs {
                if r.name == name {
                    out.push((p.clone(), r));
                }
            }
        }
    }
    Ok(out)
}

/// Show a plugin: versions (metadata, config schema) and which pipelines use it.
#[utoipa::path(get, path = "/v1/plugins/{name}", tag = "plugins", security(("bearer" = [])),
    params(("name" = String, Path, description = "plugin name")),
    responses((status = 200, description = "ok", body = PluginDetail), (status = 404, description = "not found", body = ErrorBody)))]
async fn get_plugin(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<PluginDetail>> {
    let versions = state.catalogue.versions(&name).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!(
            "there is no plugin named `{name}`; GET /v1/plugins lists them"
        )));
    }
    let used_by = users_of(&state, &name)
        .await?
        .into_iter()
        .map(|(p, r)| format!("{p}: {r}"))
        .collect();
    Ok(Json(PluginDetail {
        name,
        versions,
        used_by,
    }))
}

/// Show one version of a plugin.
#[utoipa::path(get, path = "/v1/plugins/{name}/{version}", tag = "plugins", security(("bearer" = [])),
    params(("name" = String, Path), ("version" = String, Path)),
    responses((status = 200, description = "ok", body = PluginVersion), (status = 404, description = "not found", body = ErrorBody)))]
async fn get_plugin_version(
    State(state): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Json<PluginVersion>> {
    state
        .catalogue
        .get(&name, &version)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("there is no plugin {name}@{version}")))
}

/// Delete one version of a plugin. Refused (409) while a stored pipeline pins it, a
/// pipeline follows the name and it is the only version, or a run is using it.
#[utoipa::path(delete, path = "/v1/plugins/{name}/{version}", tag = "plugins", security(("bearer" = [])),
    params(("name" = String, Path), ("version" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 404, description = "not found", body = ErrorBody), (status = 409, description = "conflict with the current state", body = ErrorBody)))]
async fn delete_plugin_version(
    State(state): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let Some(record) = state.catalogue.get(&name, &version).await? else {
        return Err(ApiError::not_found(format!(
            "there is no plugin {name}@{version}"
        )));
    };
    let only = state.catalogue.versions(&name).await?.len() == 1;
    for (pipeline, r) in users_of(&state, &name).await? {
        let pinned = r.version.as_ref().is_some_and(|v| v.to_string() == version);
        if pinned || (only && r.follows_latest()) {
            return Err(ApiError::conflict(format!(
                "{name}@{version} is in use by pipeline `{pipeline}` (stage plugin `{r}`); \
                 change or delete the pipeline first"
            )));
        }
    }
    for run in state.runs.active() {
        if run.running_shas().contains(&record.sha256) {
            return Err(ApiError::conflict(format!(
                "{name}@{version} is running in run {} of pipeline `{}`; stop the run first",
                run.id(),
                run.pipeline()
            )));
        }
    }
    state.catalogue.delete(&name, &version).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- pipelines ------------------------------------------------------------------------

/// A stored pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PipelineRecord {
    /// Pipeline name.
    pub name: String,
    /// The document: the pipeline file's structure as JSON (`source`, `stage`, `sink`,
    /// `dead_letter`); a stage's `plugin` is `name` (follows the latest version) or
    /// `name@version`; `source` may be `{"api": {"schema": [...]}}`.
    #[schema(value_type = Object)]
    pub pipeline: serde_json::Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last replaced.
    pub updated_at: DateTime<Utc>,
}

/// A pipeline after a create or replace (or a dry run).
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineSaved {
    /// Pipeline name.
    pub name: String,
    /// Whether it was stored (false for a dry run).
    pub saved: bool,
    /// What validation found: the versions the stages resolve to and the columns after
    /// each stage.
    pub checked: Checked,
    /// Running runs of this pipeline whose stages were offered the new pin or config.
    pub swaps: Vec<SwapOffer>,
}

/// A new pipeline.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPipeline {
    /// Name: 1-64 of a-z, 0-9, - and _.
    pub name: String,
    /// The document (see `PipelineRecord.pipeline`).
    #[schema(value_type = Object)]
    pub pipeline: serde_json::Value,
}

/// `?dry_run=true`: validate only.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DryRun {
    /// Validate without saving.
    #[serde(default)]
    pub dry_run: bool,
}

/// List stored pipelines.
#[utoipa::path(get, path = "/v1/pipelines", tag = "pipelines", security(("bearer" = [])),
    responses((status = 200, description = "ok", body = Vec<PipelineRecord>)))]
async fn list_pipelines(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<Vec<PipelineRecord>>> {
    let mut out = Vec::new();
    for name in state.pipeline_names().await? {
        if let Some(p) = state.pipeline(&name).await? {
            out.push(p);
        }
    }
    Ok(Json(out))
}

/// Parse and check `doc` the way `quiver validate` does.
async fn validate_doc(
    state: &Arc<AppState>,
    doc: serde_json::Value,
) -> ApiResult<(pipelines::Pipeline, Checked)> {
    let pipeline = pipelines::parse(&doc).map_err(|p| {
        ApiError::invalid("the pipeline does not validate; fix the fields below", p)
    })?;
    let runs = Arc::clone(&state.runs);
    tokio::task::spawn_blocking(move || {
        runs.check(&pipeline)
            .map(|checked| (pipeline, checked))
            .map_err(|p| {
                ApiError::invalid("the pipeline does not validate; fix the fields below", p)
            })
    })
    .await
    .map_err(blocking_error)?
}

fn check_name(name: &str) -> ApiResult<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            format!("`{name}` is not a valid pipeline name"),
            vec![Problem::new(
                "name",
                "1-64 of a-z, 0-9, - and _, starting with a letter or digit",
            )],
        ))
    }
}

/// Create a pipeline (validated the way `quiver validate` does; `?dry_run=true` only
/// validates).
#[utoipa::path(post, path = "/v1/pipelines", tag = "pipelines", security(("bearer" = [])),
    params(DryRun), request_body = NewPipeline,
    responses(
        (status = 201, description = "created", body = PipelineSaved),
        (status = 200, description = "dry run: valid", body = PipelineSaved),
        (status = 409, description = "a pipeline has this name", body = ErrorBody),
        (status = 422, description = "does not validate; every problem with its field", body = ErrorBody)))]
async fn create_pipeline(
    State(state): State<Arc<AppState>>,
    Query(q): Query<DryRun>,
    body: Bytes,
) -> ApiResult<Response> {
    let new: NewPipeline = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a pipeline request ({{\"name\", \"pipeline\"}}): {e}"
        ))
    })?;
    check_name(&new.name)?;
    let _writing = state.pipelines_lock.lock().await;
    if state.pipeline(&new.name).await?.is_some() {
        return Err(ApiError::conflict(format!(
            "pipeline `{}` exists; replace it with PUT /v1/pipelines/{}",
            new.name, new.name
        )));
    }
    let (_, checked) = validate_doc(&state, new.pipeline.clone()).await?;
    if !q.dry_run {
        let now = Utc::now();
        state
            .save_pipeline(&PipelineRecord {
                name: new.name.clone(),
                pipeline: new.pipeline,
                created_at: now,
                updated_at: now,
            })
            .await?;
    }
    let status = if q.dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(PipelineSaved {
            name: new.name,
            saved: !q.dry_run,
            checked,
            swaps: Vec::new(),
        }),
    )
        .into_response())
}

/// Show a pipeline.
#[utoipa::path(get, path = "/v1/pipelines/{name}", tag = "pipelines", security(("bearer" = [])),
    params(("name" = String, Path)),
    responses((status = 200, description = "ok", body = PipelineRecord), (status = 404, description = "not found", body = ErrorBody)))]
async fn get_pipeline(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<PipelineRecord>> {
    state
        .pipeline(&name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("there is no pipeline `{name}`")))
}

/// Create or replace a pipeline (`?dry_run=true` only validates). Running runs of it switch
/// stages whose plugin pin or config changed, at their next batch boundary; other changes
/// apply to the next run.
#[utoipa::path(put, path = "/v1/pipelines/{name}", tag = "pipelines", security(("bearer" = [])),
    params(("name" = String, Path), DryRun),
    request_body(content = Object, description = "the pipeline document"),
    responses(
        (status = 200, description = "replaced (or dry run: valid)", body = PipelineSaved),
        (status = 201, description = "created", body = PipelineSaved),
        (status = 422, description = "does not validate", body = ErrorBody)))]
async fn replace_pipeline(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<DryRun>,
    body: Bytes,
) -> ApiResult<Response> {
    check_name(&name)?;
    let doc: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let _writing = state.pipelines_lock.lock().await;
    let existing = state.pipeline(&name).await?;
    let (pipeline, checked) = validate_doc(&state, doc.clone()).await?;
    if q.dry_run {
        return Ok(Json(PipelineSaved {
            name,
            saved: false,
            checked,
            swaps: Vec::new(),
        })
        .into_response());
    }
    let now = Utc::now();
    let created = existing.is_none();
    state
        .save_pipeline(&PipelineRecord {
            name: name.clone(),
            pipeline: doc,
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: now,
        })
        .await?;
    let runs = Arc::clone(&state.runs);
    let n = name.clone();
    let swaps = tokio::task::spawn_blocking(move || runs.offer_pipeline(&n, &pipeline))
        .await
        .map_err(blocking_error)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(PipelineSaved {
            name,
            saved: true,
            checked,
            swaps,
        }),
    )
        .into_response())
}

/// Delete a pipeline (refused while a run of it is in progress).
#[utoipa::path(delete, path = "/v1/pipelines/{name}", tag = "pipelines", security(("bearer" = [])),
    params(("name" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 404, description = "not found", body = ErrorBody), (status = 409, description = "conflict with the current state", body = ErrorBody)))]
async fn delete_pipeline(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let _writing = state.pipelines_lock.lock().await;
    if state.pipeline(&name).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "there is no pipeline `{name}`"
        )));
    }
    if let Some(run) = state
        .runs
        .active()
        .into_iter()
        .find(|r| r.pipeline() == name)
    {
        return Err(ApiError::conflict(format!(
            "pipeline `{name}` has run {} in progress; stop or cancel it first",
            run.id()
        )));
    }
    state.delete_pipeline(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- runs -----------------------------------------------------------------------------

/// Start a run.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StartRun {
    /// The pipeline to run.
    pub pipeline: String,
}

/// `?pipeline=NAME`: only that pipeline's runs.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunFilter {
    /// Pipeline name.
    pub pipeline: Option<String>,
}

/// Start a run of a stored pipeline. Everything is checked and prepared before this returns
/// (plugins loaded, schemas negotiated, sink created); data then flows in the background.
#[utoipa::path(post, path = "/v1/runs", tag = "runs", security(("bearer" = [])),
    request_body = StartRun,
    responses(
        (status = 201, description = "running", body = RunStatus),
        (status = 404, description = "no such pipeline", body = ErrorBody),
        (status = 422, description = "the pipeline cannot start", body = ErrorBody),
        (status = 503, description = "draining", body = ErrorBody)))]
async fn start_run(State(state): State<Arc<AppState>>, body: Bytes) -> ApiResult<Response> {
    let req: StartRun = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("the body is not {{\"pipeline\": NAME}}: {e}"))
    })?;
    if state.draining.load(Ordering::SeqCst) {
        return Err(ApiError::unavailable("the server is draining; no new runs"));
    }
    let Some(record) = state.pipeline(&req.pipeline).await? else {
        return Err(ApiError::not_found(format!(
            "there is no pipeline `{}`; create it with POST /v1/pipelines",
            req.pipeline
        )));
    };
    let pipeline = pipelines::parse(&record.pipeline).map_err(|p| {
        ApiError::invalid(
            format!("stored pipeline `{}` does not parse", req.pipeline),
            p,
        )
    })?;
    let runs = Arc::clone(&state.runs);
    let name = req.pipeline.clone();
    let run = tokio::task::spawn_blocking(move || runs.start(&name, pipeline))
        .await
        .map_err(blocking_error)??;
    Ok((StatusCode::CREATED, Json(run.status())).into_response())
}

/// List runs, newest first: those of this server process, then finished ones from the data
/// directory.
#[utoipa::path(get, path = "/v1/runs", tag = "runs", security(("bearer" = [])),
    params(RunFilter), responses((status = 200, description = "ok", body = Vec<RunStatus>)))]
async fn list_runs(
    State(state): State<Arc<AppState>>,
    Query(filter): Query<RunFilter>,
) -> ApiResult<Json<Vec<RunStatus>>> {
    let mut out: Vec<RunStatus> = state.runs.all().iter().map(|r| r.status()).collect();
    let mut stored_ids = state.runs.stored_ids().await?;
    stored_ids.reverse();
    for id in stored_ids {
        if out.iter().any(|s| s.id == id) {
            continue;
        }
        if let Some(rec) = state.runs.stored(&id).await? {
            out.push(rec.status);
        }
    }
    if let Some(p) = &filter.pipeline {
        out.retain(|s| &s.pipeline == p);
    }
    Ok(Json(out))
}

async fn find_run(state: &AppState, id: &str) -> ApiResult<RunView> {
    if let Some(run) = state.runs.get(id) {
        return Ok(RunView::Live(run));
    }
    match state.runs.stored(id).await? {
        Some(rec) => Ok(RunView::Stored(Box::new(rec))),
        None => Err(ApiError::not_found(format!(
            "there is no run {id}; GET /v1/runs lists them"
        ))),
    }
}

enum RunView {
    Live(Arc<super::runs::Run>),
    Stored(Box<super::runs::RunRecord>),
}

/// A run's status with live per-stage numbers (rows, batches, bytes, errors, calls, busy
/// time, fuel, memory) and its hot swaps.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "ok", body = RunStatus), (status = 404, description = "not found", body = ErrorBody)))]
async fn get_run(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<RunStatus>> {
    Ok(Json(match find_run(&state, &id).await? {
        RunView::Live(r) => r.status(),
        RunView::Stored(rec) => rec.status,
    }))
}

fn live(view: RunView, id: &str) -> ApiResult<Arc<super::runs::Run>> {
    match view {
        RunView::Live(r) => Ok(r),
        RunView::Stored(rec) => Err(ApiError::conflict(format!(
            "run {id} is already {:?}",
            rec.status.state
        ))),
    }
}

/// Stop a run: no new input is taken, what was taken goes through every stage, then the
/// outputs are committed. For an API source this is how the stream ends.
#[utoipa::path(post, path = "/v1/runs/{id}/stop", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 202, description = "draining", body = RunStatus), (status = 404, description = "not found", body = ErrorBody), (status = 409, description = "conflict with the current state", body = ErrorBody)))]
async fn stop_run(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let run = live(find_run(&state, &id).await?, &id)?;
    run.stop()?;
    Ok((StatusCode::ACCEPTED, Json(run.status())).into_response())
}

/// Cancel a run now: nothing is committed.
#[utoipa::path(post, path = "/v1/runs/{id}/cancel", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 202, description = "cancelling", body = RunStatus), (status = 404, description = "not found", body = ErrorBody), (status = 409, description = "conflict with the current state", body = ErrorBody)))]
async fn cancel_run(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let run = live(find_run(&state, &id).await?, &id)?;
    run.cancel()?;
    Ok((StatusCode::ACCEPTED, Json(run.status())).into_response())
}

/// A run's recent errors (at most 100, oldest first): failed batches with what happened to
/// their rows, refused hot swaps, the failure that stopped it.
#[utoipa::path(get, path = "/v1/runs/{id}/errors", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "ok", body = Vec<RunErrorEntry>), (status = 404, description = "not found", body = ErrorBody)))]
async fn run_errors(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<RunErrorEntry>>> {
    Ok(Json(match find_run(&state, &id).await? {
        RunView::Live(r) => r.errors(),
        RunView::Stored(rec) => rec.errors,
    }))
}

/// A finished run's JSON report (the document `quiver run --report` writes: inputs,
/// outputs, rows, every stage's plugin versions, swaps and usage).
#[utoipa::path(get, path = "/v1/runs/{id}/report", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "the report", body = Object), (status = 404, description = "not found", body = ErrorBody),
        (status = 409, description = "not finished, or failed (no report)", body = ErrorBody)))]
async fn run_report(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let (report, status) = match find_run(&state, &id).await? {
        RunView::Live(r) => (r.report(), r.status()),
        RunView::Stored(rec) => (rec.report, rec.status),
    };
    report.map(Json).ok_or_else(|| {
        ApiError::conflict(format!(
            "run {id} has no report: it is {:?}{}",
            status.state,
            status.error.map(|e| format!(" ({e})")).unwrap_or_default()
        ))
    })
}

/// How many rows a push added.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Rows accepted into the pipeline.
    pub rows_accepted: u64,
    /// Batches they were decoded into.
    pub batches: usize,
}

/// Push a batch into a running pipeline whose source is the API: an Arrow IPC stream,
/// CSV with a header line or NDJSON, with the columns the pipeline declares. The body is
/// decoded completely first (a bad row rejects the whole request, nothing enters); the
/// request then waits while the pipeline is full (backpressure).
#[utoipa::path(post, path = "/v1/runs/{id}/batches", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = Vec<u8>, description = "the rows", content_type = "application/vnd.apache.arrow.stream"),
    responses(
        (status = 200, description = "accepted", body = Accepted),
        (status = 404, description = "not found", body = ErrorBody),
        (status = 409, description = "the run takes no more input", body = ErrorBody),
        (status = 413, description = "larger than the ingest limit", body = ErrorBody),
        (status = 415, description = "not a batch format", body = ErrorBody),
        (status = 422, description = "rows do not fit the declared columns", body = ErrorBody),
        (status = 503, description = "draining", body = ErrorBody)))]
async fn push_batches(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Accepted>> {
    if state.draining.load(Ordering::SeqCst) {
        return Err(ApiError::unavailable(
            "the server is draining; no more input",
        ));
    }
    let run = live(find_run(&state, &id).await?, &id)?;
    let Some(schema) = run.api_schema().cloned() else {
        return Err(ApiError::conflict(format!(
            "run {id} reads its own source; only runs of pipelines with an `api` source take pushes"
        )));
    };
    let format = BodyFormat::from_content_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )?;
    let batches = tokio::task::spawn_blocking(move || decode(&body, format, &schema))
        .await
        .map_err(blocking_error)??;
    let n = batches.len();
    let rows = run.push(batches).await?;
    state
        .metrics
        .ingest_rows
        .get_or_create(&super::metrics::PipelineLabels {
            pipeline: run.pipeline().to_owned(),
        })
        .inc_by(rows);
    Ok(Json(Accepted {
        rows_accepted: rows,
        batches: n,
    }))
}
