//! The embedded index behind the search API: its keyword and vector legs,
//! fused by the one hybrid search (`sluice-search`). Both legs are
//! CPU-bound (BM25, a flat scan), so they run on the blocking pool.

use std::sync::Arc;

use async_trait::async_trait;
use sluice_core::search::{
    Access, ChunkPayload, KeywordLeg, LegChunk, SearchBackend, SearchFilters, SearchRequest,
    SearchResponse, VectorLeg,
};
use sluice_search::HybridSearch;
use uuid::Uuid;

use crate::EmbeddedIndex;

/// Runs `f` on the blocking pool, inside the caller's span (so the legs'
/// spans nest under `search`).
async fn blocking<T: Send + 'static>(
    index: &Arc<EmbeddedIndex>,
    f: impl FnOnce(&EmbeddedIndex) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (index, span) = (index.clone(), tracing::Span::current());
    tokio::task::spawn_blocking(move || span.in_scope(|| f(&index)))
        .await
        .map_err(|e| format!("index task failed: {e}"))?
}

/// The index's legs. `chunk_level`: the keyword leg of before document
/// entries (issue 20), kept only as the benchmark's baseline.
struct Legs(Arc<EmbeddedIndex>, bool);

#[async_trait]
impl KeywordLeg for Legs {
    fn store_kind(&self) -> &'static str {
        "embedded"
    }
    fn describe(&self) -> String {
        format!("embedded {}", self.0.dir().display())
    }
    async fn keyword_search(
        &self,
        query: &str,
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        let (q, f, a) = (query.to_string(), filters.clone(), access.clone());
        if self.1 {
            return blocking(&self.0, move |i| {
                i.keyword_chunks_chunk_level(&q, n, &f, &a)
            })
            .await;
        }
        blocking(&self.0, move |i| i.keyword_chunks(&q, n, &f, &a)).await
    }
    async fn snippets(&self, query: &str, texts: &[String]) -> Option<Vec<String>> {
        let (q, t) = (query.to_string(), texts.to_vec());
        blocking(&self.0, move |i| i.snippets(&q, &t)).await.ok()
    }
    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        let id = *doc_id;
        blocking(&self.0, move |i| i.document_chunks(&id)).await
    }
    async fn chunk_count(&self) -> Result<u64, String> {
        self.0.counts().map(|c| c.0 as u64)
    }
}

#[async_trait]
impl VectorLeg for Legs {
    fn store_kind(&self) -> &'static str {
        "embedded"
    }
    fn describe(&self) -> String {
        format!("embedded {}", self.0.dir().display())
    }
    async fn vector_search(
        &self,
        vector: &[f32],
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        let (v, f, a) = (vector.to_vec(), filters.clone(), access.clone());
        blocking(&self.0, move |i| i.vector_chunks(&v, n, &f, &a)).await
    }
    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        KeywordLeg::document_chunks(self, doc_id).await
    }
    async fn chunk_count(&self) -> Result<u64, String> {
        KeywordLeg::chunk_count(self).await
    }
}

/// Hybrid search over one embedded index.
pub struct EmbeddedSearch {
    index: Arc<EmbeddedIndex>,
    hybrid: HybridSearch,
}

impl EmbeddedSearch {
    pub fn new(index: Arc<EmbeddedIndex>) -> EmbeddedSearch {
        let legs = Arc::new(Legs(index.clone(), false));
        let hybrid = HybridSearch::new(
            Some((legs.clone() as Arc<dyn KeywordLeg>, None)),
            Some((legs as Arc<dyn VectorLeg>, None)),
        )
        .described_as(format!("embedded {}", index.dir().display()))
        .fused_by(sluice_core::search::CALIBRATED_FUSION);
        EmbeddedSearch { index, hybrid }
    }

    /// The search this index served before issue 20 (chunk-level BM25,
    /// weighted RRF with k 20 and keyword weight 0.5), over the same
    /// entries: the benchmark's same-process latency baseline.
    #[doc(hidden)]
    pub fn chunk_level_baseline(index: Arc<EmbeddedIndex>) -> HybridSearch {
        let legs = Arc::new(Legs(index, true));
        HybridSearch::new(
            Some((legs.clone() as Arc<dyn KeywordLeg>, None)),
            Some((legs as Arc<dyn VectorLeg>, None)),
        )
        .fused_by(sluice_core::search::Fusion::Rrf {
            k: sluice_core::search::RRF_K,
            keyword_weight: sluice_core::search::KEYWORD_WEIGHT,
        })
    }

    pub fn index(&self) -> &Arc<EmbeddedIndex> {
        &self.index
    }
}

#[async_trait]
impl SearchBackend for EmbeddedSearch {
    fn describe(&self) -> String {
        self.hybrid.describe()
    }

    async fn search(
        &self,
        req: &SearchRequest,
        query_vector: Option<&[f32]>,
    ) -> Result<SearchResponse, String> {
        self.hybrid.search(req, query_vector).await
    }

    async fn search_staged(
        &self,
        req: &SearchRequest,
        vector: sluice_core::search::QueryVector,
        early: sluice_core::search::EarlyHits<'_>,
    ) -> Result<SearchResponse, String> {
        self.hybrid.search_staged(req, vector, early).await
    }

    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        self.hybrid.document_chunks(doc_id).await
    }

    async fn chunk_count(&self) -> Option<u64> {
        self.index.counts().ok().map(|c| c.0 as u64)
    }

    /// From the payloads held in memory (no text read): microseconds.
    async fn readable(&self, id: &Uuid, access: &Access) -> Result<bool, String> {
        self.index.readable(id, access)
    }
}
