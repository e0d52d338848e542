//! The vector leg: nearest chunks under the caller's filters and ACL.

use qdrant_client::qdrant::{CountPointsBuilder, Filter, ScrollPointsBuilder, SearchPointsBuilder};
use sluice_core::search::{Access, ChunkPayload, LinkLookup, LinkedChunk, SearchFilters};
use uuid::Uuid;

use crate::filters::{documents, link_filter, search_filter};
use crate::payload::{from_payload, links_from_payload};
use crate::retry::with_retry;
use crate::sink::QdrantStore;

impl QdrantStore {
    /// Up to `limit` chunks nearest to `vector`, best first, with scores.
    pub async fn search_chunks(
        &self,
        vector: &[f32],
        limit: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<(f32, ChunkPayload)>, String> {
        self.bootstrap().await.map_err(|e| e.to_string())?;
        let mut req = SearchPointsBuilder::new(self.collection(), vector.to_vec(), limit as u64)
            .with_payload(true);
        if let Some(f) = search_filter(filters, access) {
            req = req.filter(f);
        }
        // One attempt: search has its own deadline and falls back to the other leg.
        let resp = with_retry("search", 1, || self.client().search_points(req.clone()))
            .await
            .map_err(|(e, _)| format!("qdrant search: {e}"))?;
        Ok(resp
            .result
            .into_iter()
            .filter_map(|p| Some((p.score, from_payload(&p.payload)?)))
            .collect())
    }

    /// The chunks of one document, in order.
    pub async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        self.bootstrap().await.map_err(|e| e.to_string())?;
        let req = ScrollPointsBuilder::new(self.collection())
            .filter(documents(&[*doc_id]))
            .limit(10_000)
            .with_payload(true);
        let resp = with_retry("scroll", self.config().spec.max_attempts, || {
            self.client().scroll(req.clone())
        })
        .await
        .map_err(|(e, _)| format!("qdrant scroll: {e}"))?;
        let mut chunks: Vec<ChunkPayload> = resp
            .result
            .iter()
            .filter_map(|p| from_payload(&p.payload))
            .collect();
        chunks.sort_by_key(|c| c.ordinal);
        Ok(chunks)
    }

    /// First chunks with their links (`related`), under the caller's access.
    pub async fn link_lookup(
        &self,
        lookup: &LinkLookup,
        access: &Access,
        limit: usize,
    ) -> Result<Vec<LinkedChunk>, String> {
        let Some(filter) = link_filter(lookup, access) else {
            return Ok(Vec::new());
        };
        self.bootstrap().await.map_err(|e| e.to_string())?;
        let req = ScrollPointsBuilder::new(self.collection())
            .filter(filter)
            .limit(limit.min(u32::MAX as usize) as u32)
            .with_payload(true);
        let resp = with_retry("scroll", self.config().spec.max_attempts, || {
            self.client().scroll(req.clone())
        })
        .await
        .map_err(|(e, _)| format!("qdrant scroll: {e}"))?;
        Ok(resp
            .result
            .iter()
            .filter_map(|p| {
                Some(LinkedChunk {
                    chunk: from_payload(&p.payload)?,
                    links: links_from_payload(&p.payload)?,
                })
            })
            .collect())
    }

    /// Points in the collection (exact count), optionally under a filter.
    pub async fn count(&self, filter: Option<Filter>) -> Result<u64, String> {
        self.bootstrap().await.map_err(|e| e.to_string())?;
        let mut req = CountPointsBuilder::new(self.collection()).exact(true);
        if let Some(f) = filter {
            req = req.filter(f);
        }
        let resp = with_retry("count", self.config().spec.max_attempts, || {
            self.client().count(req.clone())
        })
        .await
        .map_err(|(e, _)| format!("qdrant count: {e}"))?;
        Ok(resp.result.map(|r| r.count).unwrap_or(0))
    }
}
