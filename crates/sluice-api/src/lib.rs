//! HTTP query API (axum): `POST /v1/search`, `POST /v1/search/stream`
//! (the same search in stages, as Server-Sent Events), `GET /v1/documents/{id}`,
//! `GET /healthz`, `/readyz`, `/metrics` (Prometheus), `/openapi.json`
//! (generated from the types) and the search page at `/`.
//!
//! The same routes serve `sluice serve` (one index) and the daemon (every
//! running pipeline's index, see [`IndexSet`]).

pub mod auth;
pub mod identity;
mod page;
mod query_cache;
mod stream;

pub use auth::{ApiKeys, Caller, hash_key, require_admin, require_key};
pub use stream::{DoneEvent, RelatedEvent, SseEvent, StreamEvent, StreamEventName};

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use serde::{Deserialize, Serialize};
use sluice_core::TextEmbedder;
use sluice_core::search::{
    Access, SearchBackend, SearchFilters, SearchMode, SearchRequest, SearchResponse,
};
use utoipa::{OpenApi, ToSchema};

/// Largest `top_k` a caller may ask for.
pub const MAX_TOP_K: usize = 100;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// Free text (plain words; field syntax is treated as text).
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S")]
    pub query: String,
    /// Documents to return (1–100, default 10).
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 100)]
    pub top_k: Option<usize>,
    /// `hybrid` (default), `keyword` or `vector`.
    #[serde(default)]
    #[schema(value_type = Option<ModeName>, example = "hybrid")]
    pub mode: Option<String>,
    #[serde(default)]
    pub filters: Option<FilterBody>,
    /// Attach to each hit up to 5 documents it is linked to (an issue its
    /// text mentions, the MR that closes it, the page that links it), each
    /// one the caller may read. Default `false`: plain search stays as fast.
    #[serde(default)]
    pub related: bool,
}

/// A JSON integer, however written: JSON Schema counts `15.0` as the
/// integer 15 (a schemathesis run sent it), serde's `usize` does not.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let v: Option<serde_json::Number> = Option::deserialize(d)?;
    let Some(n) = v else { return Ok(None) };
    if let Some(u) = n.as_u64() {
        return usize::try_from(u)
            .map(Some)
            .map_err(serde::de::Error::custom);
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&f) => Ok(Some(f as usize)),
        _ => Err(serde::de::Error::custom(format!(
            "expected a whole number, got {n}"
        ))),
    }
}

/// Search modes (the OpenAPI enum of `mode`).
#[derive(Debug, ToSchema)]
#[allow(non_camel_case_types, dead_code)]
pub enum ModeName {
    hybrid,
    keyword,
    vector,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterBody {
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    /// RFC 3339 lower bound (inclusive) on the document's update time.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub updated_after: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    #[serde(default)]
    #[schema(format = DateTime)]
    pub updated_before: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HitBody {
    pub id: String,
    pub chunk_id: String,
    pub external_id: String,
    pub title: String,
    pub url: Option<String>,
    pub source: String,
    pub kind: String,
    pub labels: Vec<String>,
    /// HTML-escaped text with matches in `<mark>`.
    pub snippet: String,
    pub score: f32,
    pub updated_at: Option<String>,
    pub keyword_rank: Option<usize>,
    pub vector_rank: Option<usize>,
    /// With `"related": true`: linked documents the caller may read, the
    /// strongest links first. Documents the caller may not read are left
    /// out without a trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<Vec<RelatedBody>>,
}

/// A document linked to a hit or to the document a traversal started from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RelatedBody {
    pub id: String,
    pub external_id: String,
    pub title: String,
    pub url: Option<String>,
    pub source: String,
    pub kind: String,
    /// `mentions` (an issue key or GitLab reference in the text), `closes`
    /// (a closing reference), `links_to` (a URL or page link), `embeds` (a
    /// Jira macro), `child_of` (the parent page or thread).
    #[schema(example = "mentions")]
    pub edge: String,
    /// `out`: the hit (or start) refers to this document; `in`: this
    /// document refers to the hit.
    #[schema(example = "out")]
    pub direction: String,
}

impl From<sluice_core::search::Related> for RelatedBody {
    fn from(r: sluice_core::search::Related) -> RelatedBody {
        RelatedBody {
            id: r.doc_id.to_string(),
            external_id: r.external_id,
            title: r.title,
            url: r.url,
            source: r.source,
            kind: r.kind,
            edge: r.edge,
            direction: r.direction,
        }
    }
}

/// A document reached by `GET /v1/documents/{id}/related`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReachedBody {
    #[serde(flatten)]
    pub doc: RelatedBody,
    /// 1: linked to the start; 2: linked to a document at depth 1.
    pub depth: usize,
    /// The id of the document it was reached from.
    pub via: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelatedResult {
    pub id: String,
    pub related: Vec<ReachedBody>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RelatedQuery {
    /// 1 (default) or 2.
    #[param(minimum = 1, maximum = 2)]
    pub depth: Option<usize>,
    /// Documents per step (1–20, default 10).
    #[param(minimum = 1, maximum = 20)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchResult {
    pub hits: Vec<HitBody>,
    pub mode: String,
    pub took_ms: f64,
    /// True when one leg (keyword or vector store) failed or timed out and
    /// the hits come from the other alone; `warnings` says which and why.
    #[serde(default)]
    pub partial: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub chunks: usize,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Sluice search API", description = "Hybrid (BM25 + vector) search over indexed company knowledge. With a key file, every route but /healthz, /readyz, the page and this document needs `Authorization: Bearer <key or JWT>` or `X-API-Key`; a server started with --no-auth needs none."),
    paths(search, stream::search_stream, document, related, healthz, metrics),
    components(schemas(SearchBody, FilterBody, ModeName, HitBody, RelatedBody, ReachedBody, RelatedResult, SearchResult, ErrorBody, Health, DocumentBody, SseEvent, StreamEventName, StreamEvent, RelatedEvent, DoneEvent)),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("api_key" = []), ())
)]
pub struct ApiDoc;

/// `bearer` (API key or JWT) and `api_key` (`X-API-Key`).
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme,
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    chunks: IntGauge,
}

impl Metrics {
    fn new(registry: Registry) -> Metrics {
        let requests = IntCounterVec::new(
            Opts::new(
                "sluice_search_requests_total",
                "Search requests by mode and outcome",
            ),
            &["mode", "outcome"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("sluice_search_latency_seconds", "Search latency").buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["mode"],
        )
        .expect("valid metric");
        let chunks = IntGauge::new("sluice_index_chunks", "Chunks in the searched stores")
            .expect("valid metric");
        for m in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(chunks.clone()),
        ] {
            registry.register(m).expect("unique metric");
        }
        Metrics {
            registry,
            requests,
            latency,
            chunks,
        }
    }
}

/// The indexes a search covers: one (`sluice serve`) or every running
/// pipeline's (the daemon). Asked at each request, so reloads show up.
pub trait IndexSet: Send + Sync {
    fn indexes(&self) -> Vec<Arc<dyn SearchBackend>>;
}

struct OneIndex(Arc<dyn SearchBackend>);

impl IndexSet for OneIndex {
    fn indexes(&self) -> Vec<Arc<dyn SearchBackend>> {
        vec![self.0.clone()]
    }
}

pub struct ApiState {
    indexes: Arc<dyn IndexSet>,
    embedder: Arc<dyn TextEmbedder>,
    /// What a request without a key may read (no key file configured).
    access: Access,
    keys: Option<Arc<ApiKeys>>,
    metrics: Metrics,
    /// `/metrics` without a key even when keys are configured (a scraper
    /// on a trusted network); otherwise it follows the API's auth.
    public_metrics: std::sync::atomic::AtomicBool,
}

impl ApiState {
    /// Without API keys every request gets `access` (public documents only
    /// unless the operator chose otherwise).
    pub fn new(
        backend: Arc<dyn SearchBackend>,
        embedder: Arc<dyn TextEmbedder>,
        access: Access,
    ) -> Arc<ApiState> {
        ApiState::over(Arc::new(OneIndex(backend)), embedder, access, None)
    }

    /// Over any store (the embedded index, or Qdrant + Elasticsearch).
    pub fn over_backend(
        backend: Arc<dyn SearchBackend>,
        embedder: Arc<dyn TextEmbedder>,
        access: Access,
        keys: Option<ApiKeys>,
    ) -> Arc<ApiState> {
        ApiState::over(Arc::new(OneIndex(backend)), embedder, access, keys)
    }

    /// With API keys, `/v1/search` needs a key, and each key's principals
    /// decide which documents it may see.
    pub fn with_keys(
        backend: Arc<dyn SearchBackend>,
        embedder: Arc<dyn TextEmbedder>,
        keys: ApiKeys,
    ) -> Arc<ApiState> {
        ApiState::over(
            Arc::new(OneIndex(backend)),
            embedder,
            Access::public_only(),
            Some(keys),
        )
    }

    /// Searches over `indexes`; with `keys`, requests need a key and
    /// `access` is unused.
    pub fn over(
        indexes: Arc<dyn IndexSet>,
        embedder: Arc<dyn TextEmbedder>,
        access: Access,
        keys: Option<ApiKeys>,
    ) -> Arc<ApiState> {
        let access = if keys.is_some() {
            Access::public_only()
        } else {
            access
        };
        ApiState::over_in(indexes, embedder, access, keys, Registry::new())
    }

    /// Like [`ApiState::over`], registering the API's metrics on `registry`
    /// (the process's one registry, which `/metrics` then reports whole).
    pub fn over_in(
        indexes: Arc<dyn IndexSet>,
        embedder: Arc<dyn TextEmbedder>,
        access: Access,
        keys: Option<ApiKeys>,
        registry: Registry,
    ) -> Arc<ApiState> {
        let access = if keys.is_some() {
            Access::public_only()
        } else {
            access
        };
        let embedder: Arc<dyn TextEmbedder> =
            Arc::new(query_cache::QueryCache::new(embedder, query_cache::ENTRIES));
        Arc::new(ApiState {
            indexes,
            embedder,
            access,
            keys: keys.map(Arc::new),
            metrics: Metrics::new(registry),
            public_metrics: false.into(),
        })
    }

    /// Serve `/metrics` without a key (set before building the router).
    pub fn set_public_metrics(&self, public: bool) {
        self.public_metrics
            .store(public, std::sync::atomic::Ordering::Relaxed);
    }

    /// The key store, when requests need a key (other routers guard with it).
    pub fn keys(&self) -> Option<&Arc<ApiKeys>> {
        self.keys.as_ref()
    }

    /// The Prometheus registry `/metrics` reports; others add their metrics here.
    pub fn registry(&self) -> &Registry {
        &self.metrics.registry
    }

    async fn chunk_count(&self) -> usize {
        let mut n = 0;
        for i in self.indexes.indexes() {
            n += i.chunk_count().await.unwrap_or(0) as usize;
        }
        n
    }
}

/// Wraps `routes` so they need a key (when keys are configured); with
/// `admin`, the key must also be an admin key.
pub fn guarded<S: Clone + Send + Sync + 'static>(
    routes: Router<S>,
    keys: Option<&Arc<ApiKeys>>,
    admin: bool,
) -> Router<S> {
    let Some(keys) = keys else { return routes };
    let routes = if admin {
        routes.layer(axum::middleware::from_fn(auth::require_admin))
    } else {
        routes
    };
    routes.layer(axum::middleware::from_fn_with_state(
        keys.clone(),
        auth::require_key,
    ))
}

/// Search, documents, metrics, OpenAPI and the page at `/`, without the
/// health routes (the daemon has its own).
pub fn search_routes(state: Arc<ApiState>) -> Router {
    search_routes_with_doc(state, ApiDoc::openapi())
}

/// [`search_routes`] serving `doc` at `/openapi.json` (the daemon adds its
/// pipeline endpoints to it).
pub fn search_routes_with_doc(state: Arc<ApiState>, doc: utoipa::openapi::OpenApi) -> Router {
    let doc = Arc::new(doc);
    let mut data = Router::new()
        .route("/v1/search", post(search))
        .route("/v1/search/stream", post(stream::search_stream))
        .route("/v1/documents/{id}", get(document))
        .route("/v1/documents/{id}/related", get(related));
    let public_metrics = state
        .public_metrics
        .load(std::sync::atomic::Ordering::Relaxed);
    if !public_metrics {
        // Request counts, index sizes and pipeline names are not for anyone.
        data = data.route("/metrics", get(metrics));
    }
    let data = guarded(data, state.keys.as_ref(), false);
    let open = if public_metrics {
        Router::new().route("/metrics", get(metrics))
    } else {
        Router::new()
    };
    Router::new()
        .merge(data)
        .merge(open)
        .route("/", get(page::index))
        .route("/page.js", get(page::script))
        .route("/page.css", get(page::style))
        .route(
            "/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            std::time::Duration::from_secs(10),
        ))
        .with_state(state)
}

/// The whole API of `sluice serve`.
pub fn router(state: Arc<ApiState>) -> Router {
    let health = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(healthz))
        .with_state(state.clone());
    search_routes(state).merge(health)
}

/// One indexed document, its chunks reassembled.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentBody {
    pub id: String,
    pub source: String,
    pub external_id: String,
    pub kind: String,
    pub title: String,
    pub url: Option<String>,
    pub labels: Vec<String>,
    pub updated_at: Option<String>,
    /// The indexed text of each chunk, in order.
    pub chunks: Vec<String>,
}

/// `GET /v1/documents/{id}`: a document the caller may read. One it may
/// not read is a 404 like a missing one, so ids reveal nothing.
#[utoipa::path(get, path = "/v1/documents/{id}", params(("id" = uuid::Uuid, Path, description = "Document id (the `id` of a search hit)")),
    responses((status = 200, body = DocumentBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn document(
    State(st): State<Arc<ApiState>>,
    caller: Option<axum::Extension<auth::Caller>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            Json(ErrorBody {
                error: format!("no document `{id}`"),
            }),
        )
            .into_response()
    };
    let Ok(doc_id) = uuid::Uuid::parse_str(&id) else {
        return bad_request(format!(
            "`{id}` is not a document id (a UUID, the `id` of a search hit)"
        ));
    };
    let access = caller
        .map(|c| c.0.access)
        .unwrap_or_else(|| st.access.clone());
    let mut chunks = Vec::new();
    for index in st.indexes.indexes() {
        match index.document_chunks(&doc_id).await {
            Ok(c) if !c.is_empty() => {
                chunks = c;
                break;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, store = %index.describe(), "document lookup failed");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(ErrorBody {
                        error: "document lookup failed; see server logs".into(),
                    }),
                )
                    .into_response();
            }
        }
    }
    let Some(first) = chunks.first() else {
        return not_found();
    };
    // The same rule every store applies before its top-k, on every chunk:
    // after a partial update a document's chunks may disagree.
    let readable = chunks.iter().all(|c| access.allows(&c.acl));
    if !readable {
        return not_found();
    }
    Json(DocumentBody {
        id: first.doc_id.to_string(),
        source: first.source.clone(),
        external_id: first.external_id.clone(),
        kind: first.kind.clone(),
        title: first.title.clone(),
        url: first.url.clone(),
        labels: first.labels.clone(),
        updated_at: first
            .updated_at
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| t.to_rfc3339()),
        chunks: chunks.iter().map(|c| c.text.clone()).collect(),
    })
    .into_response()
}

/// `GET /v1/documents/{id}/related`: the documents linked to one the
/// caller may read (depth 1), and those linked to them (depth 2), each
/// readable by the caller; only readable documents are walked through.
/// A start the caller may not read is a 404 like a missing one.
#[utoipa::path(get, path = "/v1/documents/{id}/related",
    params(("id" = uuid::Uuid, Path, description = "Document id (the `id` of a search hit)"), RelatedQuery),
    responses((status = 200, body = RelatedResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn related(
    State(st): State<Arc<ApiState>>,
    caller: Option<axum::Extension<auth::Caller>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    query: Result<axum::extract::Query<RelatedQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(doc_id) = uuid::Uuid::parse_str(&id) else {
        return bad_request(format!(
            "`{id}` is not a document id (a UUID, the `id` of a search hit)"
        ));
    };
    let q = match query {
        Ok(axum::extract::Query(q)) => q,
        Err(e) => return bad_request(format!("invalid query string: {}", e.body_text())),
    };
    let depth = q.depth.unwrap_or(1);
    if !(1..=sluice_search::MAX_DEPTH).contains(&depth) {
        return bad_request(format!("depth must be 1 or {}", sluice_search::MAX_DEPTH));
    }
    let limit = q.limit.unwrap_or(10);
    if !(1..=20).contains(&limit) {
        return bad_request("limit must be between 1 and 20");
    }
    let access = caller
        .map(|c| c.0.access)
        .unwrap_or_else(|| st.access.clone());
    let indexes = st.indexes.indexes();
    match sluice_search::traverse(&indexes, doc_id, &access, depth, limit).await {
        Ok(Some(reached)) => Json(RelatedResult {
            id: doc_id.to_string(),
            related: reached
                .into_iter()
                .map(|r| ReachedBody {
                    doc: r.doc.into(),
                    depth: r.depth,
                    via: r.via.to_string(),
                })
                .collect(),
        })
        .into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(ErrorBody {
                error: format!("no document `{id}`"),
            }),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "related lookup failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(ErrorBody {
                    error: "related lookup failed; see server logs".into(),
                }),
            )
                .into_response()
        }
    }
}

/// Only requests whose `Host` names one of `hosts` (any port) are served;
/// others get 421. This stops DNS rebinding: a page on `evil.example`
/// resolving to 127.0.0.1 reaches a loopback API with `Host: evil.example`.
/// An empty list serves every host.
pub fn host_guard(router: Router, hosts: Vec<String>) -> Router {
    if hosts.is_empty() {
        return router;
    }
    let hosts: Arc<Vec<String>> =
        Arc::new(hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect());
    router.layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        let hosts = hosts.clone();
        async move {
            let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(host_name).unwrap_or_default();
            if hosts.iter().any(|h| *h == host) {
                next.run(req).await
            } else {
                (StatusCode::MISDIRECTED_REQUEST, Json(ErrorBody { error: "this server does not answer for that host name (see --allowed-host)".into() })).into_response()
            }
        }
    }))
}

/// `Host` without its port, lower-cased (`[::1]:7700` → `[::1]`).
fn host_name(h: &str) -> String {
    let h = h.trim().to_ascii_lowercase();
    if h.starts_with('[') {
        return h.split_once(']').map(|(a, _)| format!("{a}]")).unwrap_or(h);
    }
    h.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map(|(name, _)| name.to_string())
        .unwrap_or(h)
}

/// The router with CORS for these browser origins (`https://intranet.example`).
/// Without origins no CORS headers are sent, so browsers on other sites
/// cannot call the API.
pub fn router_with_cors(state: Arc<ApiState>, origins: &[String]) -> Result<Router, String> {
    with_cors(router(state), origins)
}

/// Adds CORS for these browser origins to any router (none: unchanged).
pub fn with_cors(router: Router, origins: &[String]) -> Result<Router, String> {
    if origins.is_empty() {
        return Ok(router);
    }
    let mut allowed = Vec::new();
    for o in origins {
        let ok = o.starts_with("http://") || o.starts_with("https://");
        let v = axum::http::HeaderValue::from_str(o.trim_end_matches('/'))
            .ok()
            .filter(|_| ok)
            .ok_or_else(|| {
                format!("--cors-origin `{o}`: use a scheme and host, e.g. https://intranet.example")
            })?;
        allowed.push(v);
    }
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            axum::http::HeaderName::from_static("x-api-key"),
        ])
        .max_age(std::time::Duration::from_secs(600));
    Ok(router.layer(cors))
}

/// A body the API cannot take: 413 past the size limit, 415 without a JSON
/// content type, 400 for the rest.
pub fn body_rejected(e: &axum::extract::rejection::JsonRejection) -> Response {
    let status = match e.status() {
        s @ (StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE) => s,
        _ => StatusCode::BAD_REQUEST,
    };
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("request body larger than {} bytes", MAX_BODY_BYTES)
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "send the body as JSON with `Content-Type: application/json`".to_string()
        }
        _ => format!("invalid request body: {}", e.body_text()),
    };
    (status, Json(ErrorBody { error })).into_response()
}

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn bad_request(msg: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(ErrorBody { error: msg.into() }),
    )
        .into_response()
}

fn parse_time(field: &str, v: &Option<String>) -> Result<Option<i64>, Response> {
    match v {
        None => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.timestamp_micros()))
            .map_err(|e| {
                bad_request(format!(
                    "filters.{field}: `{s}` is not RFC 3339 ({e}); e.g. 2025-01-31T00:00:00Z"
                ))
            }),
    }
}

/// Parses and bounds a search body into an engine request.
pub fn to_request(body: SearchBody, access: Access) -> Result<SearchRequest, Response> {
    if body.query.trim().is_empty() {
        return Err(bad_request("query must not be empty"));
    }
    // Characters, as the OpenAPI `maxLength` counts them.
    if body.query.chars().count() > 4096 {
        return Err(bad_request("query is longer than 4096 characters"));
    }
    let top_k = body.top_k.unwrap_or(10);
    if top_k == 0 || top_k > MAX_TOP_K {
        return Err(bad_request(format!(
            "top_k must be between 1 and {MAX_TOP_K}"
        )));
    }
    let mode = match body.mode.as_deref() {
        None => SearchMode::Hybrid,
        Some(m) => m.parse::<SearchMode>().map_err(bad_request)?,
    };
    let f = body.filters.unwrap_or_default();
    let filters = SearchFilters {
        updated_after: parse_time("updated_after", &f.updated_after)?,
        updated_before: parse_time("updated_before", &f.updated_before)?,
        sources: f.sources,
        kinds: f.kinds,
        labels: f.labels,
    };
    Ok(SearchRequest {
        query: body.query,
        top_k,
        mode,
        filters,
        access,
    })
}

fn mode_name(m: SearchMode) -> &'static str {
    match m {
        SearchMode::Hybrid => "hybrid",
        SearchMode::Keyword => "keyword",
        SearchMode::Vector => "vector",
    }
}

/// Embeds the query once, searches each backend and merges the hits
/// (the one search path: `sluice_search::search_many`).
pub async fn run_search(
    indexes: &[Arc<dyn SearchBackend>],
    embedder: Arc<dyn TextEmbedder>,
    req: &SearchRequest,
) -> Result<SearchResponse, String> {
    sluice_search::search_many(indexes, embedder, req).await
}

/// The search a request body asks for, under the caller's access (the
/// key's or JWT's; the server's own without auth), and whether it wants
/// `related`; or the response that refuses it. Shared by `/v1/search` and
/// `/v1/search/stream`.
pub(crate) fn search_request(
    st: &ApiState,
    caller: Option<axum::Extension<auth::Caller>>,
    body: Result<Json<SearchBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(SearchRequest, bool), Response> {
    let Json(body) = body.map_err(|e| body_rejected(&e))?;
    let access = caller
        .map(|c| c.0.access)
        .unwrap_or_else(|| st.access.clone());
    let with_related = body.related;
    let req = to_request(body, access).inspect_err(|_| {
        st.metrics
            .requests
            .with_label_values(&["unknown", "bad_request"])
            .inc();
    })?;
    Ok((req, with_related))
}

#[utoipa::path(post, path = "/v1/search", request_body = SearchBody,
    responses((status = 200, body = SearchResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 429, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn search(
    State(st): State<Arc<ApiState>>,
    caller: Option<axum::Extension<auth::Caller>>,
    body: Result<Json<SearchBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let started = Instant::now();
    let (req, with_related) = match search_request(&st, caller, body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let mode = mode_name(req.mode);
    let (indexes, embedder) = (st.indexes.indexes(), st.embedder.clone());
    let mut outcome = run_search(&indexes, embedder, &req).await;
    let mut related = std::collections::HashMap::new();
    if with_related && let Ok(resp) = &mut outcome {
        let ids: Vec<uuid::Uuid> = resp.hits.iter().map(|h| h.doc_id).collect();
        match sluice_search::related_many(
            &indexes,
            &ids,
            &req.access,
            sluice_core::search::RELATED_PER_HIT,
        )
        .await
        {
            Ok(r) => related = r,
            Err(e) => {
                tracing::warn!(error = %e, "related documents unavailable");
                resp.warnings
                    .push("related documents are unavailable; see server logs".into());
            }
        }
    }
    st.metrics
        .latency
        .with_label_values(&[mode])
        .observe(started.elapsed().as_secs_f64());
    match outcome {
        Ok(resp) => {
            if resp.partial {
                tracing::warn!(warnings = ?resp.warnings, "partial search results");
            }
            st.metrics
                .requests
                .with_label_values(&[mode, if resp.partial { "partial" } else { "ok" }])
                .inc();
            let related = with_related.then_some(&mut related);
            Json(result_body(resp, mode, related)).into_response()
        }
        Err(e) => internal_error(&st, mode, e),
    }
}

/// The API's form of a search answer; with `related`, each hit takes its
/// linked documents from it.
fn result_body(
    resp: SearchResponse,
    mode: &str,
    mut related: Option<
        &mut std::collections::HashMap<uuid::Uuid, Vec<sluice_core::search::Related>>,
    >,
) -> SearchResult {
    let hits = resp
        .hits
        .into_iter()
        .map(|h| HitBody {
            id: h.doc_id.to_string(),
            chunk_id: h.chunk_id.to_string(),
            external_id: h.external_id,
            title: h.title,
            url: h.url,
            source: h.source,
            kind: h.kind,
            labels: h.labels,
            snippet: h.snippet,
            score: h.score,
            updated_at: h.updated_at,
            keyword_rank: h.keyword_rank,
            vector_rank: h.vector_rank,
            related: related.as_mut().map(|r| {
                r.remove(&h.doc_id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(RelatedBody::from)
                    .collect()
            }),
        })
        .collect();
    SearchResult {
        hits,
        mode: mode.to_string(),
        took_ms: resp.took_ms,
        partial: resp.partial,
        // Warnings reach API callers: no backend URL credentials.
        warnings: resp
            .warnings
            .iter()
            .map(|w| sluice_core::redact::text(w))
            .collect(),
    }
}

fn internal_error(st: &ApiState, mode: &str, e: String) -> Response {
    tracing::error!(error = %e, "search failed");
    st.metrics
        .requests
        .with_label_values(&[mode, "error"])
        .inc();
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(ErrorBody {
            error: "search failed; see server logs".into(),
        }),
    )
        .into_response()
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)), security(()))]
async fn healthz(State(st): State<Arc<ApiState>>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        chunks: st.chunk_count().await,
    })
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format"), (status = 401, body = ErrorBody)))]
async fn metrics(State(st): State<Arc<ApiState>>) -> Response {
    st.metrics.chunks.set(st.chunk_count().await as i64);
    let mut buf = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&st.metrics.registry.gather(), &mut buf) {
        return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], buf).into_response()
}
