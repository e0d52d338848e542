//! `related` for any store: the link graph lives in the state store beside
//! each document's state (see `sluice_state::graph`), so a search backend
//! is wrapped with the state it was written with. Each linked document is
//! checked against the caller's access as the state records it (what the
//! stores hold, updated by the permission pass); an unknown access hides it.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sluice_core::DocAccess;
use sluice_core::search::{
    Access, ChunkPayload, EarlyHits, QueryVector, Related, SearchBackend, SearchRequest,
    SearchResponse,
};
use sluice_state::{LinkedDoc, StateStore};
use uuid::Uuid;

/// A search backend with the link graph of the pipelines whose state it holds.
pub struct LinkedBackend {
    inner: Arc<dyn SearchBackend>,
    state: Arc<StateStore>,
    /// The pipelines whose graph is read; `None`: every pipeline in the state.
    pipeline: Option<String>,
}

impl LinkedBackend {
    pub fn new(
        inner: Arc<dyn SearchBackend>,
        state: Arc<StateStore>,
        pipeline: Option<String>,
    ) -> Arc<dyn SearchBackend> {
        Arc::new(LinkedBackend {
            inner,
            state,
            pipeline,
        })
    }
}

/// Picks what the caller may see: readable documents only, each once with
/// its strongest link, strongest first, at most `per_doc` per document.
pub fn choose(
    rows: Vec<LinkedDoc>,
    access: &Access,
    per_doc: usize,
) -> HashMap<Uuid, Vec<Related>> {
    let candidates = rows
        .into_iter()
        .filter(|row| readable(&row.access, access))
        .map(|row| {
            (
                row.from,
                Related {
                    doc_id: row.doc_id,
                    external_id: row.external_id,
                    title: row.title,
                    url: row.url,
                    source: row.source,
                    kind: row.kind,
                    edge: row.edge,
                    direction: if row.outgoing { "out" } else { "in" }.into(),
                },
            )
        });
    sluice_links::choose_related(candidates, per_doc)
}

/// The same rule as a hit's (`Access::allows_doc`); an access the state
/// does not know (empty, or unreadable JSON) is readable by nobody.
fn readable(stored: &str, access: &Access) -> bool {
    if stored.is_empty() {
        return false;
    }
    match serde_json::from_str::<DocAccess>(stored) {
        Ok(a) => a.validate().is_ok() && access.allows_doc(&a),
        Err(_) => false,
    }
}

impl LinkedBackend {
    fn linked(&self, ids: &[Uuid]) -> Result<Vec<LinkedDoc>, String> {
        let pipelines = match &self.pipeline {
            Some(p) => vec![p.clone()],
            None => self.state.pipelines().map_err(|e| e.to_string())?,
        };
        let mut rows = Vec::new();
        for p in pipelines {
            rows.extend(self.state.linked(&p, ids).map_err(|e| e.to_string())?);
        }
        Ok(rows)
    }
}

#[async_trait]
impl SearchBackend for LinkedBackend {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn search(
        &self,
        req: &SearchRequest,
        query_vector: Option<&[f32]>,
    ) -> Result<SearchResponse, String> {
        self.inner.search(req, query_vector).await
    }

    async fn search_staged(
        &self,
        req: &SearchRequest,
        vector: QueryVector,
        early: EarlyHits<'_>,
    ) -> Result<SearchResponse, String> {
        self.inner.search_staged(req, vector, early).await
    }

    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        self.inner.document_chunks(doc_id).await
    }

    async fn chunk_count(&self) -> Option<u64> {
        self.inner.chunk_count().await
    }

    async fn readable(&self, id: &Uuid, access: &Access) -> Result<bool, String> {
        self.inner.readable(id, access).await
    }

    async fn related(
        &self,
        ids: &[Uuid],
        access: &Access,
        per_doc: usize,
    ) -> Result<HashMap<Uuid, Vec<Related>>, String> {
        if ids.is_empty() || per_doc == 0 {
            return Ok(HashMap::new());
        }
        // Only the edges of documents the caller may read here: ids are
        // not scoped by pipeline, and another pipeline of the daemon may
        // hold a document with the same id that this caller may not read.
        let mut readable_ids = Vec::with_capacity(ids.len());
        for id in ids {
            if self.inner.readable(id, access).await? {
                readable_ids.push(*id);
            }
        }
        if readable_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sluice_core::run_blocking(|| self.linked(&readable_ids))?;
        // The state commits after the stores acknowledged: after a crash
        // between the two it may still hold an older, broader access. A
        // linked document is shown only when the stores allow it too.
        let mut out = HashMap::new();
        for (from, candidates) in choose(rows, access, usize::MAX) {
            let mut kept = Vec::new();
            for r in candidates {
                if kept.len() == per_doc {
                    break;
                }
                if self.inner.readable(&r.doc_id, access).await? {
                    kept.push(r);
                }
            }
            out.insert(from, kept);
        }
        Ok(out)
    }
}
