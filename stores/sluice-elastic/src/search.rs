//! The keyword leg: BM25 over chunk title and text under the caller's
//! filters and ACL, with highlighted snippets.

use reqwest::Method;
use serde_json::Value;
use sluice_core::search::{Access, ChunkPayload, LinkLookup, LinkedChunk, SearchFilters};
use uuid::Uuid;

use crate::client::Body;
use crate::query::{keyword_query, link_query};
use crate::sink::ElasticStore;

#[derive(Debug, Clone)]
pub struct KeywordHit {
    pub score: f32,
    pub chunk: ChunkPayload,
    /// Highlighted fragment (`<mark>`, HTML-escaped), when the server made one.
    pub snippet: Option<String>,
}

fn payload(src: &Value) -> Option<ChunkPayload> {
    let s = |k: &str| src[k].as_str().map(str::to_string);
    let list = |k: &str| {
        src[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(ChunkPayload {
        chunk_id: Uuid::parse_str(src["chunk_id"].as_str()?).ok()?,
        doc_id: Uuid::parse_str(src["doc_id"].as_str()?).ok()?,
        ordinal: src["ordinal"].as_u64().unwrap_or(0) as u32,
        source: s("source")?,
        external_id: s("external_id")?,
        kind: s("kind").unwrap_or_default(),
        title: s("title").unwrap_or_default(),
        url: s("url"),
        labels: list("labels"),
        acl: src
            .as_object()
            .map(sluice_core::access::slots_from_record)
            .unwrap_or_default(),
        updated_at: s("updated_at")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.timestamp_micros()),
        text: s("text").unwrap_or_default(),
    })
}

impl ElasticStore {
    /// `POST /{alias}/_search` with `body`; the response.
    async fn search_hits(&self, body: serde_json::Value) -> Result<serde_json::Value, String> {
        let (_, v) = self
            .client
            .send(
                Method::POST,
                &format!("/{}/_search", self.alias()),
                Some(Body::Json(body)),
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(v)
    }

    /// Up to `size` best-matching chunks, best first.
    pub async fn search_chunks(
        &self,
        query: &str,
        size: usize,
        filters: &SearchFilters,
        access: &Access,
        snippet_chars: usize,
    ) -> Result<Vec<KeywordHit>, String> {
        self.bootstrap().await.map_err(|e| e.to_string())?;
        let body = keyword_query(query, size, filters, access, snippet_chars);
        let v = self.search_hits(body).await?;
        let hits = v["hits"]["hits"].as_array().cloned().unwrap_or_default();
        Ok(hits
            .iter()
            .filter_map(|h| {
                Some(KeywordHit {
                    score: h["_score"].as_f64().unwrap_or(0.0) as f32,
                    chunk: payload(&h["_source"])?,
                    snippet: h["highlight"]["text"][0].as_str().map(str::to_string),
                })
            })
            .collect())
    }

    /// The chunks of one document, in order.
    pub async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        self.bootstrap().await.map_err(|e| e.to_string())?;
        let body = serde_json::json!({ "size": 10000, "query": { "term": { "doc_id": doc_id.to_string() } }, "sort": [{ "ordinal": "asc" }] });
        let v = self.search_hits(body).await?;
        let mut chunks: Vec<ChunkPayload> = v["hits"]["hits"]
            .as_array()
            .map(|h| h.iter().filter_map(|h| payload(&h["_source"])).collect())
            .unwrap_or_default();
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
        let Some(body) = link_query(lookup, access, limit) else {
            return Ok(Vec::new());
        };
        self.bootstrap().await.map_err(|e| e.to_string())?;
        let v = self.search_hits(body).await?;
        Ok(v["hits"]["hits"]
            .as_array()
            .map(|hits| {
                hits.iter()
                    .filter_map(|h| {
                        let src = &h["_source"];
                        Some(LinkedChunk {
                            chunk: payload(src)?,
                            links: sluice_core::LinkFields::from_record(src.as_object()?)?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Chunk documents behind the alias (after a refresh).
    pub async fn count(&self) -> Result<u64, String> {
        self.bootstrap().await.map_err(|e| e.to_string())?;
        let _ = self
            .client
            .send(
                Method::POST,
                &format!("/{}/_refresh", self.alias()),
                None,
                &[],
            )
            .await;
        let (_, v) = self
            .client
            .send(Method::GET, &format!("/{}/_count", self.alias()), None, &[])
            .await
            .map_err(|e| e.to_string())?;
        v["count"]
            .as_u64()
            .ok_or_else(|| format!("_count answer without `count`: {v}"))
    }
}
