//! Pipeline routes: create, list, show, replace and delete pipeline documents, each checked
//! the way `quiver validate` checks a pipeline file (`?dry_run=true` only checks).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{blocking_error, require_json};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody, Problem};
use crate::pipelines::{self as checks, Checked};
use crate::runs::SwapOffer;
use crate::store::valid_name;

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
#[schema(example = json!({
    "name": "example",
    "pipeline": {
        "source": {"api": {"schema": [{"name": "id", "type": "int64"}, {"name": "name", "type": "utf8"}]}},
        "stage": [{"plugin": "passthrough"}],
        "sink": {"path": "out/example.csv", "mode": "overwrite"}
    }
}))]
pub struct NewPipeline {
    /// Name: 1-64 of a-z, 0-9, - and _.
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
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
#[utoipa::path(get, path = "/v1/pipelines", tag = "pipelines", security(("bearer" = ["read"])),
    responses((status = 200, description = "ok", body = Vec<PipelineRecord>)))]
pub(super) async fn list_pipelines(
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
) -> ApiResult<(quiver_spec::Read, Checked)> {
    const FIX: &str = "the pipeline does not validate; fix the fields below";
    let mut read = checks::parse(&doc)
        .map_err(|p| ApiError::problems(FIX, &quiver_spec::Problems::new("the pipeline", p)))?;
    let runs = Arc::clone(&state.runs);
    let st = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        // Paths confined to the data roots before anything is opened (the walk below a
        // listed folder reads the disk: a blocking task).
        st.roots.confine(&mut read, runs.workdir()).map_err(|p| {
            let mut all = read.problems.clone();
            all.extend(p);
            ApiError::problems(FIX, &quiver_spec::Problems::new("the pipeline", all))
        })?;
        runs.check(&read)
            .map(|checked| (read, checked))
            .map_err(|p| ApiError::problems(FIX, &p))
    })
    .await
    .map_err(blocking_error)?
}

/// 409 when one more pipeline would go over the pipelines quota.
async fn check_pipelines_quota(state: &AppState) -> ApiResult<()> {
    let stored = state.pipeline_names().await?.len();
    if stored >= state.quotas.pipelines {
        return Err(ApiError::quota(
            StatusCode::CONFLICT,
            format!(
                "the pipelines quota is reached: {stored} pipelines are stored, at most {} may \
                 be; delete one (DELETE /v1/pipelines/{{name}}) or have the operator raise \
                 --max-pipelines (QUIVER_MAX_PIPELINES)",
                state.quotas.pipelines
            ),
        ));
    }
    Ok(())
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
#[utoipa::path(post, path = "/v1/pipelines", tag = "pipelines", security(("bearer" = ["pipelines:write"])),
    params(DryRun), request_body = NewPipeline,
    responses(
        (status = 201, description = "created", body = PipelineSaved, links(
            ("GetPipeline" = (operation_id = "get_pipeline", parameters(("name" = "$response.body#/name")))),
            ("ReplacePipeline" = (operation_id = "replace_pipeline", parameters(("name" = "$response.body#/name")))),
            ("DeletePipeline" = (operation_id = "delete_pipeline", parameters(("name" = "$response.body#/name")))))),
        (status = 200, description = "dry run: valid", body = PipelineSaved),
        (status = 409, description = "a pipeline has this name, or the pipelines quota is \
            reached (--max-pipelines)", body = ErrorBody),
        (status = 422, description = "does not validate; every problem with its field", body = ErrorBody)))]
pub(super) async fn create_pipeline(
    State(state): State<Arc<AppState>>,
    Query(q): Query<DryRun>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    require_json(&headers)?;
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
        check_pipelines_quota(&state).await?;
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
#[utoipa::path(get, path = "/v1/pipelines/{name}", tag = "pipelines", security(("bearer" = ["read"])),
    params(("name" = String, Path)),
    responses((status = 200, description = "ok", body = PipelineRecord), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn get_pipeline(
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
#[utoipa::path(put, path = "/v1/pipelines/{name}", tag = "pipelines", security(("bearer" = ["pipelines:write"])),
    params(("name" = String, Path), DryRun),
    request_body(content = Object, description = "the pipeline document", content_type = "application/json"),
    responses(
        (status = 200, description = "replaced (or dry run: valid)", body = PipelineSaved),
        (status = 201, description = "created", body = PipelineSaved),
        (status = 409, description = "the pipelines quota is reached (--max-pipelines)", body = ErrorBody),
        (status = 422, description = "does not validate", body = ErrorBody)))]
pub(super) async fn replace_pipeline(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<DryRun>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    require_json(&headers)?;
    check_name(&name)?;
    let doc: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let _writing = state.pipelines_lock.lock().await;
    let existing = state.pipeline(&name).await?;
    let (read, checked) = validate_doc(&state, doc.clone()).await?;
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
    if created {
        check_pipelines_quota(&state).await?;
    }
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
    let swaps = tokio::task::spawn_blocking(move || runs.offer_pipeline(&n, &read.pipeline))
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
#[utoipa::path(delete, path = "/v1/pipelines/{name}", tag = "pipelines", security(("bearer" = ["pipelines:write"])),
    params(("name" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 404, description = "not found", body = ErrorBody), (status = 409, description = "conflict with the current state", body = ErrorBody)))]
pub(super) async fn delete_pipeline(
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
