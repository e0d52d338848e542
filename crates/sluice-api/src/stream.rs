//! `POST /v1/search/stream`: one search answered in stages as Server-Sent
//! Events, so a page shows the keyword leg's hits while the query is being
//! embedded (on its own thread, from the start). The work runs inside the response stream: when the
//! client goes away the stream is dropped, and no leg that had not started
//! starts (the query's embedding, already on a blocking thread, finishes
//! unused).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sluice_core::search::SearchResponse;
use utoipa::ToSchema;

use crate::{
    ApiState, ErrorBody, RelatedBody, SearchBody, SearchResult, auth, mode_name,
    result_body,
};

/// `event: related`: each hit's linked documents the caller may read, by
/// hit `id` (the same lists `"related": true` puts on hits).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelatedEvent {
    pub related: BTreeMap<String, Vec<RelatedBody>>,
}

/// `event: done`: the last event, with when each stage was sent
/// (milliseconds since the request was read).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DoneEvent {
    pub took_ms: f64,
    /// The `keyword` event; absent when none was sent.
    pub keyword_ms: Option<f64>,
    /// The `results` event; absent when the search failed.
    pub results_ms: Option<f64>,
    /// The `related` event; absent when not asked for or unavailable.
    pub related_ms: Option<f64>,
    /// Why a stage is missing (related documents unavailable), if one is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The data of one event; its `event:` field names which:
/// `keyword` (a [`SearchResult`] from the keyword legs alone, sent for a
/// hybrid search when every index has one, before the query is embedded),
/// `results` (the [`SearchResult`] of the whole search: the fused ranking
/// that replaces the keyword one), `related` ([`RelatedEvent`], with
/// `"related": true`), `error` ([`ErrorBody`]: the search failed; `done`
/// follows) and `done` ([`DoneEvent`], always last).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum StreamEvent {
    Results(SearchResult),
    Related(RelatedEvent),
    Done(DoneEvent),
    Error(ErrorBody),
}

/// An event's name.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamEventName {
    Keyword,
    Results,
    Related,
    Error,
    Done,
}

/// One Server-Sent Event as it is sent: `event:` names it, `data:` holds
/// one JSON object ([`StreamEvent`] says which for each name).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SseEvent {
    pub event: StreamEventName,
    /// A `SearchResult` (`keyword`, `results`), `RelatedEvent`, `ErrorBody`
    /// or `DoneEvent`, as JSON.
    #[schema(content_media_type = "application/json")]
    pub data: String,
}

fn event(name: &str, data: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| {
            Event::default()
                .event("error")
                .data("{\"error\":\"unserialisable event\"}")
        })
}

fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// The whole stream's budget, as `POST /v1/search`'s response timeout:
/// past it the search ends with `error` (or `related` is left out).
const STREAM_DEADLINE: Duration = Duration::from_secs(10);

/// Records a stream's latency and outcome once, however it ends: a client
/// that leaves drops the work with this, counted as `cancelled`.
struct Outcome {
    st: Arc<ApiState>,
    mode: &'static str,
    started: Instant,
    status: &'static str,
}

impl Drop for Outcome {
    fn drop(&mut self) {
        self.st
            .metrics
            .latency
            .with_label_values(&[self.mode])
            .observe(self.started.elapsed().as_secs_f64());
        self.st
            .metrics
            .requests
            .with_label_values(&[self.mode, self.status])
            .inc();
    }
}

#[utoipa::path(post, path = "/v1/search/stream", request_body = SearchBody,
    description = "The same search as `POST /v1/search`, answered as Server-Sent Events: `keyword` (hybrid only: the keyword legs' hits, typically within a few milliseconds), `results` (the final, fused ranking, which replaces them), `related` (with `\"related\": true`), `error`, and `done` (timings), always last. Authenticate with a header as for `/v1/search` (the browser's EventSource cannot; use fetch and read the body). When the client disconnects, no further stage starts.",
    responses((status = 200, content_type = "text/event-stream", body = SseEvent, description = "`event: keyword|results|related|error|done`, `data:` one JSON object (`StreamEvent`)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub(crate) async fn search_stream(
    State(st): State<Arc<ApiState>>,
    caller: Option<axum::Extension<auth::Caller>>,
    body: Result<Json<SearchBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let started = Instant::now();
    let (req, with_related) = match crate::search_request(&st, caller, body) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let (tx, rx) = futures::channel::mpsc::unbounded::<Event>();
    let work = async move {
        let mode = mode_name(req.mode);
        let (indexes, embedder) = (st.indexes.indexes(), st.embedder.clone());
        let mut outcome_guard = Outcome {
            st: st.clone(),
            mode,
            started,
            status: "cancelled",
        };
        let keyword_ms: Mutex<Option<f64>> = Mutex::new(None);
        let early = |resp: SearchResponse| {
            let _ = tx.unbounded_send(event("keyword", &result_body(resp, "keyword", None)));
            *keyword_ms.lock().unwrap_or_else(|p| p.into_inner()) = Some(ms(started));
        };
        let outcome = tokio::time::timeout(
            STREAM_DEADLINE,
            sluice_search::search_many_staged(&indexes, embedder, &req, &early),
        )
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {} s", STREAM_DEADLINE.as_secs())));
        let keyword_ms = *keyword_ms.lock().unwrap_or_else(|p| p.into_inner());
        let mut done = DoneEvent {
            took_ms: 0.0,
            keyword_ms,
            results_ms: None,
            related_ms: None,
            warnings: Vec::new(),
        };
        let status = match outcome {
            Ok(resp) => {
                let status = if resp.partial { "partial" } else { "ok" };
                let ids: Vec<uuid::Uuid> = resp.hits.iter().map(|h| h.doc_id).collect();
                let _ = tx.unbounded_send(event("results", &result_body(resp, mode, None)));
                done.results_ms = Some(ms(started));
                if with_related {
                    let related = tokio::time::timeout(
                        STREAM_DEADLINE.saturating_sub(started.elapsed()),
                        sluice_search::related_many(
                            &indexes,
                            &ids,
                            &req.access,
                            sluice_core::search::RELATED_PER_HIT,
                        ),
                    )
                    .await
                    .unwrap_or_else(|_| Err("timed out".into()));
                    match related {
                        Ok(mut r) => {
                            let related = ids
                                .iter()
                                .map(|id| {
                                    let list = r.remove(id).unwrap_or_default();
                                    (
                                        id.to_string(),
                                        list.into_iter().map(RelatedBody::from).collect(),
                                    )
                                })
                                .collect();
                            let _ = tx.unbounded_send(event("related", &RelatedEvent { related }));
                            done.related_ms = Some(ms(started));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "related documents unavailable");
                            done.warnings
                                .push("related documents are unavailable; see server logs".into());
                        }
                    }
                }
                status
            }
            Err(e) => {
                tracing::error!(error = %e, "search failed");
                let _ = tx.unbounded_send(event(
                    "error",
                    &ErrorBody {
                        error: "search failed; see server logs".into(),
                    },
                ));
                "error"
            }
        };
        outcome_guard.status = status;
        done.took_ms = ms(started);
        let _ = tx.unbounded_send(event("done", &done));
    };
    // The work is polled only as part of the response body: when the client
    // goes away the body, and the work with it, is dropped, so no later
    // stage starts.
    let events = futures::stream::select(
        rx.map(Ok::<Event, Infallible>),
        futures::stream::once(work).filter_map(|()| async { None }),
    );
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
