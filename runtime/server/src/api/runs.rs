//! Run routes: start, list, show, stop, cancel, errors, report, and pushing batches into
//! runs whose source is the API.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{blocking_error, require_json};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody, Problem};
use crate::ingest::{BodyFormat, decode};
use crate::pipelines as checks;
use crate::runs::{Run, RunErrorEntry, RunRecord, RunStatus};

/// Start a run.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"pipeline": "example"}))]
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
#[utoipa::path(post, path = "/v1/runs", tag = "runs", security(("bearer" = ["runs:write"])),
    request_body = StartRun,
    responses(
        (status = 201, description = "running", body = RunStatus, links(
            ("GetRun" = (operation_id = "get_run", parameters(("id" = "$response.body#/id")))),
            ("StopRun" = (operation_id = "stop_run", parameters(("id" = "$response.body#/id")))),
            ("CancelRun" = (operation_id = "cancel_run", parameters(("id" = "$response.body#/id")))),
            ("RunErrors" = (operation_id = "run_errors", parameters(("id" = "$response.body#/id")))),
            ("RunReport" = (operation_id = "run_report", parameters(("id" = "$response.body#/id")))),
            ("PushBatches" = (operation_id = "push_batches", parameters(("id" = "$response.body#/id")))))),
        (status = 404, description = "no such pipeline", body = ErrorBody),
        (status = 422, description = "the pipeline cannot start (every problem with its field; \
            also a pipeline over the instance ceilings or outside the data roots)", body = ErrorBody),
        (status = 429, description = "the concurrent runs quota (--max-runs) or the live \
            instances quota (--max-instances) is reached; retry later", body = ErrorBody,
            headers(("Retry-After" = String, description = "seconds to wait"))),
        (status = 503, description = "draining", body = ErrorBody)))]
pub(super) async fn start_run(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    require_json(&headers)?;
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
    let mut read = checks::parse(&record.pipeline).map_err(|p| {
        ApiError::invalid(
            format!("stored pipeline `{}` does not parse", req.pipeline),
            p.iter().map(Problem::from).collect(),
        )
    })?;
    let runs = Arc::clone(&state.runs);
    let name = req.pipeline.clone();
    let document = record.pipeline.clone();
    let st = Arc::clone(&state);
    let run = tokio::task::spawn_blocking(move || {
        // The roots may have changed since the pipeline was stored: checked again.
        st.roots.confine(&mut read, runs.workdir()).map_err(|p| {
            ApiError::invalid(
                format!(
                    "pipeline `{name}` cannot start: paths outside the data roots; fix the \
                     fields below"
                ),
                p.iter().map(Problem::from).collect(),
            )
        })?;
        runs.start(&name, read, document)
    })
    .await
    .map_err(blocking_error)??;
    Ok((StatusCode::CREATED, Json(run.status())).into_response())
}

/// List runs, newest first: those of this server process, then finished ones from the data
/// directory.
#[utoipa::path(get, path = "/v1/runs", tag = "runs", security(("bearer" = ["read"])),
    params(RunFilter), responses((status = 200, description = "ok", body = Vec<RunStatus>)))]
pub(super) async fn list_runs(
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
    Live(Arc<Run>),
    Stored(Box<RunRecord>),
}

/// A run's status with live per-stage numbers (rows, batches, bytes, errors, calls, busy
/// time, fuel, memory) and its hot swaps.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs", security(("bearer" = ["read"])),
    params(("id" = String, Path)),
    responses((status = 200, description = "ok", body = RunStatus), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn get_run(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<RunStatus>> {
    Ok(Json(match find_run(&state, &id).await? {
        RunView::Live(r) => r.status(),
        RunView::Stored(rec) => rec.status,
    }))
}

fn live(view: RunView, id: &str) -> ApiResult<Arc<Run>> {
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
#[utoipa::path(post, path = "/v1/runs/{id}/stop", tag = "runs", security(("bearer" = ["runs:write"])),
    params(("id" = String, Path)),
    responses((status = 202, description = "draining", body = RunStatus), (status = 404, description = "not found", body = ErrorBody), (status = 409, description = "conflict with the current state", body = ErrorBody)))]
pub(super) async fn stop_run(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let run = live(find_run(&state, &id).await?, &id)?;
    run.stop(crate::runs::StopFor::Client).await?;
    if run.resumable() {
        // The stop holds across a restart: a resumed run finishes the drain and ends.
        state.runs.record_stop(run.id()).await?;
    }
    Ok((StatusCode::ACCEPTED, Json(run.status())).into_response())
}

/// Cancel a run now: nothing is committed.
#[utoipa::path(post, path = "/v1/runs/{id}/cancel", tag = "runs", security(("bearer" = ["runs:write"])),
    params(("id" = String, Path)),
    responses((status = 202, description = "cancelling", body = RunStatus), (status = 404, description = "not found", body = ErrorBody), (status = 409, description = "conflict with the current state", body = ErrorBody)))]
pub(super) async fn cancel_run(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let run = live(find_run(&state, &id).await?, &id)?;
    run.cancel().await?;
    Ok((StatusCode::ACCEPTED, Json(run.status())).into_response())
}

/// A run's recent errors (at most 100, oldest first): failed batches with what happened to
/// their rows, refused hot swaps, the failure that stopped it.
#[utoipa::path(get, path = "/v1/runs/{id}/errors", tag = "runs", security(("bearer" = ["read"])),
    params(("id" = String, Path)),
    responses((status = 200, description = "ok", body = Vec<RunErrorEntry>), (status = 404, description = "not found", body = ErrorBody)))]
pub(super) async fn run_errors(
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
#[utoipa::path(get, path = "/v1/runs/{id}/report", tag = "runs", security(("bearer" = ["read"])),
    params(("id" = String, Path)),
    responses((status = 200, description = "the report", body = Object), (status = 404, description = "not found", body = ErrorBody),
        (status = 409, description = "not finished, or failed (no report)", body = ErrorBody)))]
pub(super) async fn run_report(
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
#[utoipa::path(post, path = "/v1/runs/{id}/batches", tag = "runs", security(("bearer" = ["runs:write"])),
    params(("id" = String, Path)),
    request_body(description = "the rows: an Arrow IPC stream, CSV with a header line, or NDJSON", content(
        (Vec<u8> = "application/vnd.apache.arrow.stream"),
        (String = "text/csv"),
        (String = "application/x-ndjson"))),
    responses(
        (status = 200, description = "accepted", body = Accepted),
        (status = 404, description = "not found", body = ErrorBody),
        (status = 409, description = "the run takes no more input", body = ErrorBody),
        (status = 413, description = "larger than the ingest limit", body = ErrorBody),
        (status = 415, description = "not a batch format", body = ErrorBody),
        (status = 422, description = "rows do not fit the declared columns", body = ErrorBody),
        (status = 503, description = "draining", body = ErrorBody)))]
pub(super) async fn push_batches(
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
        .get_or_create(&crate::metrics::PipelineLabels {
            pipeline: run.pipeline().to_owned(),
        })
        .inc_by(rows);
    Ok(Json(Accepted {
        rows_accepted: rows,
        batches: n,
    }))
}
