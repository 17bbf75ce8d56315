//! Plugin routes: upload (checked, stored, offered to running stages that follow the
//! name), list, show and delete versions.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::blocking_error;
use crate::AppState;
use crate::catalogue::PluginVersion;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::runs::SwapOffer;
use quiver_spec::PluginRef;

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
#[utoipa::path(post, path = "/v1/plugins", tag = "plugins", security(("bearer" = ["plugins:write"])),
    request_body(description = "the component (`.wasm`)", content(
        (Vec<u8> = "application/wasm"),
        (Vec<u8> = "application/octet-stream"))),
    responses(
        (status = 201, description = "stored", body = Uploaded, links(
            ("GetPlugin" = (operation_id = "get_plugin", parameters(("name" = "$response.body#/plugin/name")))),
            ("GetPluginVersion" = (operation_id = "get_plugin_version", parameters(
                ("name" = "$response.body#/plugin/name"), ("version" = "$response.body#/plugin/version")))),
            ("DeletePluginVersion" = (operation_id = "delete_plugin_version", parameters(
                ("name" = "$response.body#/plugin/name"), ("version" = "$response.body#/plugin/version")))))),
        (status = 200, description = "already stored with the same bytes", body = Uploaded),
        (status = 409, description = "this name and version hold other bytes", body = ErrorBody),
        (status = 413, description = "larger than the upload limit (--max-plugin-size), or over \
            the plugin store quota (--max-plugin-store)", body = ErrorBody),
        (status = 422, description = "not a usable plugin", body = ErrorBody)))]
pub(super) async fn upload_plugin(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> ApiResult<Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let is_multipart = essence == "multipart/form-data";
    if !is_multipart && essence != "application/wasm" && essence != "application/octet-stream" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!(
                "send the component as `Content-Type: application/wasm` (or \
                 application/octet-stream, or a multipart/form-data file), not `{essence}`"
            ),
        ));
    }
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
#[utoipa::path(get, path = "/v1/plugins", tag = "plugins", security(("bearer" = ["read"])),
    responses((status = 200, description = "ok", body = Vec<PluginSummary>)))]
pub(super) async fn list_plugins(
    State(state): State<Arc<AppState>>,
) -> ApiResult<Json<Vec<PluginSummary>>> {
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
pub(super) async fn users_of(state: &AppState, name: &str) -> ApiResult<Vec<(String, PluginRef)>> {
    let mut out = Vec::new();
    for p in state.pipeline_names().await? {
        let Some(rec) = state.pipeline(&p).await? else {
            continue;
        };
        if let Ok(parsed) = crate::pipelines::parse(&rec.pipeline) {
            for stage in parsed.pipeline.stages {
                if matches!(&stage.plugin, PluginRef::Name { name: n, .. } if n == name) {
                    out.push((p.clone(), stage.plugin));
                }
            }
        }
    }
    Ok(out)
}

/// Show a plugin: versions (metadata, config schema) and which pipelines use it.
#[utoipa::path(get, path = "/v1/plugins/{name}", tag = "plugins", security(("bearer" = ["read"])),
    params(("name" = String, Path, description = "plugin name")),
    responses((status = 200, description = "ok", body = PluginDetail), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn get_plugin(
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
#[utoipa::path(get, path = "/v1/plugins/{name}/{version}", tag = "plugins", security(("bearer" = ["read"])),
    params(("name" = String, Path), ("version" = String, Path)),
    responses((status = 200, description = "ok", body = PluginVersion), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn get_plugin_version(
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
#[utoipa::path(delete, path = "/v1/plugins/{name}/{version}", tag = "plugins", security(("bearer" = ["plugins:write"])),
    params(("name" = String, Path), ("version" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 404, description = "not found", body = ErrorBody), (status = 409, description = "conflict with the current state", body = ErrorBody)))]
pub(super) async fn delete_plugin_version(
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
        let pinned =
            matches!(&r, PluginRef::Name { version: Some(v), .. } if v.to_string() == version);
        if pinned || (only && r.follows_newest()) {
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
