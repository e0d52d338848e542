//! The daemon's HTTP API: pipeline status and manual syncs, health, and
//! the search API over every running pipeline's index.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::daemon::{Daemon, PipelineStatusBody, SourceStatusBody};
use crate::schedule::RunKind;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncBody {
    /// incremental (default) | full | prune
    #[serde(default)]
    pub mode: Option<String>,
    /// One source id; all sources when absent.
    #[serde(default)]
    pub source: Option<String>,
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

/// Every pipeline: schedule, last run per source, next run, lag, rejected edits.
#[utoipa::path(get, path = "/v1/pipelines", responses((status = 200, body = Vec<PipelineStatusBody>), (status = 401)))]
async fn list(State(d): State<Arc<Daemon>>) -> Response {
    Json(d.status(None).await).into_response()
}

#[utoipa::path(get, path = "/v1/pipelines/{name}", params(("name" = String, Path, description = "Pipeline name")),
    responses((status = 200, body = PipelineStatusBody), (status = 401), (status = 404)))]
async fn one(State(d): State<Arc<Daemon>>, Path(name): Path<String>) -> Response {
    match d.status(Some(&name)).await.pop() {
        Some(s) => Json(s).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no pipeline `{name}`")),
    }
}

/// Starts a run now (admin keys only when keys are configured). An empty
/// body means an incremental run of every source.
#[utoipa::path(post, path = "/v1/pipelines/{name}/sync", params(("name" = String, Path, description = "Pipeline name")), request_body(content = Option<SyncBody>),
    responses((status = 202, description = "started"), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409, description = "already running")))]
async fn sync(
    State(d): State<Arc<Daemon>>,
    Path(name): Path<String>,
    caller: Option<axum::Extension<sluice_api::Caller>>,
    headers: axum::http::HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    if caller.is_none() {
        if let Err(e) = same_site_json(&headers) {
            return error(StatusCode::FORBIDDEN, e);
        }
    }
    // An empty body means an incremental sync of every source.
    let body: SyncBody = if raw.iter().all(u8::is_ascii_whitespace) {
        SyncBody::default()
    } else {
        match serde_json::from_slice(&raw) {
            Ok(b) => b,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "invalid body: {e}; expected {{\"mode\": \"incremental|full|prune|permissions\", \"source\": \"id\"}}"
                    ),
                );
            }
        }
    };
    let kind = match body.mode.as_deref().unwrap_or("incremental") {
        "incremental" => RunKind::Incremental,
        "full" => RunKind::Full,
        "prune" => RunKind::Prune,
        "permissions" => RunKind::Permissions,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("mode `{other}`: use incremental, full, prune or permissions"),
            );
        }
    };
    match d.sync_now(&name, kind, body.source.as_deref()).await {
        None => error(StatusCode::NOT_FOUND, format!("no pipeline `{name}`")),
        Some(Err(e)) => error(StatusCode::BAD_REQUEST, e),
        Some(Ok((started, running))) if started.is_empty() => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "already running", "running": running })),
        )
            .into_response(),
        Some(Ok((started, running))) => (
            StatusCode::ACCEPTED,
            Json(json!({ "started": started, "already_running": running, "mode": kind })),
        )
            .into_response(),
    }
}

/// Without keys, a request that starts work must be one a page on another
/// site cannot send: a browser form posts only form or text content types,
/// and a script's cross-origin JSON post carries an `Origin` (and needs a
/// CORS preflight this API does not grant). So: JSON, and any `Origin`
/// naming this very host.
fn same_site_json(headers: &axum::http::HeaderMap) -> Result<(), String> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err("send `Content-Type: application/json` (the body may be `{}`); without API keys this is what keeps other sites' pages from starting syncs".into());
    }
    if let Some(origin) = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .split_once("://")
            .map_or("", |(_, h)| h)
            .trim_end_matches('/');
        if host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return Err(format!(
                "a request from the page at {origin} may not start a sync"
            ));
        }
    }
    Ok(())
}

async fn readyz(State(d): State<Arc<Daemon>>) -> Response {
    health(&d, false)
}

async fn healthz(State(d): State<Arc<Daemon>>) -> Response {
    health(&d, true)
}

fn health(d: &Daemon, live: bool) -> Response {
    let (ok, body) = d.health(live);
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body)).into_response()
}

/// Pipeline routes only (no search), open to every caller.
pub fn router(d: Arc<Daemon>) -> Router {
    pipeline_routes(d, None)
}

/// Pipeline routes; with keys, reading status needs a key and starting a
/// sync an admin key.
pub fn pipeline_routes(d: Arc<Daemon>, keys: Option<&Arc<sluice_api::ApiKeys>>) -> Router {
    let read = Router::new()
        .route("/v1/pipelines", get(list))
        .route("/v1/pipelines/{name}", get(one));
    let admin = Router::new().route("/v1/pipelines/{name}/sync", post(sync));
    Router::new()
        .merge(sluice_api::guarded(read, keys, false))
        .merge(sluice_api::guarded(admin, keys, true))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(d)
}

/// Everything the daemon serves: pipelines, health, and search over the
/// running pipelines (`api` built with the daemon as its [`sluice_api::IndexSet`]).
pub fn full_router(d: Arc<Daemon>, api: Arc<sluice_api::ApiState>) -> Router {
    let keys = api.keys().cloned();
    let mut doc = <sluice_api::ApiDoc as utoipa::OpenApi>::openapi();
    doc.merge(<PipelineDoc as utoipa::OpenApi>::openapi());
    pipeline_routes(d, keys.as_ref()).merge(sluice_api::search_routes_with_doc(api, doc))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, one, sync),
    components(schemas(
        PipelineStatusBody,
        SourceStatusBody,
        SyncBody,
        crate::SlotStatus,
        crate::RunKind,
        sluice_state::RunRecord
    ))
)]
pub struct PipelineDoc;
