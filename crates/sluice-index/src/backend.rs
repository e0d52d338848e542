//! What the search API needs from a store, so the same routes serve the
//! embedded index and the production stores (Qdrant + Elasticsearch).

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::{ChunkPayload, EmbeddedIndex, SearchRequest, SearchResponse};

#[async_trait]
pub trait SearchBackend: Send + Sync {
    /// Short description for logs and `/v1/status` (`embedded /path`, `qdrant+elasticsearch`).
    fn describe(&self) -> String;

    /// Runs a search; `query_vector` is the embedded query (vector and hybrid modes).
    async fn search(&self, req: &SearchRequest, query_vector: Option<&[f32]>) -> Result<SearchResponse, String>;

    /// The chunks of one document in order; empty when unknown.
    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String>;

    /// Chunks held, when the store can tell cheaply.
    async fn chunk_count(&self) -> Option<u64>;
}

/// The embedded index behind the search API. Its search is CPU-bound (a flat
/// scan and BM25), so it runs on the blocking pool.
pub struct EmbeddedSearch(pub Arc<EmbeddedIndex>);

#[async_trait]
impl SearchBackend for EmbeddedSearch {
    fn describe(&self) -> String {
        format!("embedded {}", self.0.dir().display())
    }

    async fn search(&self, req: &SearchRequest, query_vector: Option<&[f32]>) -> Result<SearchResponse, String> {
        let (index, req, qv) = (self.0.clone(), req.clone(), query_vector.map(<[f32]>::to_vec));
        // Keep the caller's span, so the legs' spans nest under `search`.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| index.search(&req, qv.as_deref()))).await.map_err(|e| format!("search task failed: {e}"))?
    }

    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        let (index, id) = (self.0.clone(), *doc_id);
        tokio::task::spawn_blocking(move || index.document_chunks(&id)).await.map_err(|e| format!("lookup task failed: {e}"))?
    }

    async fn chunk_count(&self) -> Option<u64> {
        self.0.counts().ok().map(|c| c.0 as u64)
    }
}
