//! The `Sink` contract. A sink applies a batch of document writes and
//! deletions and returns an acknowledgement only once the store made them
//! durable; the engine commits source checkpoints after every sink acked.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::model::{Chunk, Document};

/// The fields a store keeps per chunk (payload in Qdrant, document in
/// Elasticsearch): what filters look at and what a hit shows. The access
/// is stored as the slots `acl_0 … acl_{K-1}` (see `access.rs`), so a store
/// filters with indexed keyword fields only.
/// A document's links ride on its first chunk (`LinkFields`), so a store
/// answers `related` without the state store.
pub fn chunk_record(
    doc: &Document,
    chunk: &Chunk,
    links: Option<&LinkFields>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut value = serde_json::json!({
        "doc_id": chunk.doc_id.to_string(),
        "chunk_id": chunk.chunk_id.to_string(),
        "ordinal": chunk.ordinal,
        "source": doc.source,
        "external_id": doc.external_id,
        "kind": doc.kind.as_str(),
        "title": doc.title,
        "text": chunk.text,
        "url": doc.url,
        "author": doc.author,
        "labels": doc.labels,
        "updated_at": doc.updated_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        "content_hash": chunk.content_hash,
    });
    for (i, slot) in crate::access::stored_slots(doc.access.as_ref())
        .into_iter()
        .enumerate()
    {
        value[crate::access::acl_field(i)] = serde_json::json!(slot);
    }
    if let (0, Some(l)) = (chunk.ordinal, links) {
        value["link_names"] = serde_json::json!(l.names);
        value["link_targets"] = serde_json::json!(l.edges.iter().map(|e| &e.1).collect::<Vec<_>>());
        value["link_kinds"] = serde_json::json!(l.edges.iter().map(|e| &e.0).collect::<Vec<_>>());
    }
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// One chunk to upsert. `vector: None` means the chunk text is unchanged
/// since the last write: keep the stored vector, refresh text and payload.
#[derive(Debug, Clone)]
pub struct ChunkWrite {
    pub chunk: Chunk,
    pub vector: Option<Vec<f32>>,
}

/// After this write is applied, the store holds exactly chunks
/// `0..chunk_count` of `doc_id`: listed chunks are upserted, chunks with
/// `ordinal >= chunk_count` are removed, unlisted chunks below it are kept.
#[derive(Debug, Clone)]
pub struct DocumentWrite {
    pub doc_id: Uuid,
    pub document: Arc<Document>,
    pub chunk_count: u32,
    pub chunks: Vec<ChunkWrite>,
    /// The document's links, written with its first chunk (which the
    /// engine rewrites whenever the document changed). `None` writes the
    /// first chunk without them (its record is replaced whole): only tools
    /// and tests that keep no graph pass it.
    pub links: Option<Arc<LinkFields>>,
}

/// A document's part of the link graph as a remote store keeps it on the
/// document's first chunk: `link_names` (what others may call it, indexed),
/// `link_targets` (what it refers to, indexed) and `link_kinds` (each
/// target's edge type, in the same order; not indexed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFields {
    pub names: Vec<String>,
    /// (edge type, target name)
    pub edges: Vec<(String, String)>,
}

impl LinkFields {
    /// Reads the three fields back from a stored record; `None` when the
    /// record has none (a first chunk stored before the graph, or a later chunk).
    pub fn from_record(r: &serde_json::Map<String, serde_json::Value>) -> Option<LinkFields> {
        let list = |k: &str| -> Option<Vec<String>> {
            Some(
                r.get(k)?
                    .as_array()?
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            )
        };
        let names = list("link_names")?;
        let targets = list("link_targets").unwrap_or_default();
        let kinds = list("link_kinds").unwrap_or_default();
        // Mismatched lists (written by something else) are not guessed at.
        if targets.len() != kinds.len() {
            return Some(LinkFields {
                names,
                edges: Vec::new(),
            });
        }
        Some(LinkFields {
            names,
            edges: kinds.into_iter().zip(targets).collect(),
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct SinkBatch {
    pub writes: Vec<DocumentWrite>,
    /// Documents to remove entirely (all their chunks).
    pub deletes: Vec<Uuid>,
}

impl SinkBatch {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.deletes.is_empty()
    }
}

/// Proof that a batch is durable in the sink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkAck {
    pub chunks_written: usize,
    pub docs_deleted: usize,
    /// Documents the store refused for a reason retrying cannot fix (a
    /// mapping conflict). Everything else in the batch is durable; these
    /// become dead letters with the store's reason.
    pub rejected: Vec<SinkRejection>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkRejection {
    pub doc_id: Uuid,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
#[error("sink `{sink}` failed: {message}")]
pub struct SinkError {
    pub sink: String,
    pub message: String,
    /// Worth retrying with backoff (timeouts, 429, 5xx).
    pub transient: bool,
}

/// A document's new access, to be set on every one of its chunks in place
/// (the permission sync pass): no text, no vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessUpdate {
    pub doc_id: Uuid,
    /// The document's chunks (`chunk_id(doc_id, 0..n)`).
    pub chunk_ids: Vec<Uuid>,
    pub access: crate::access::DocAccess,
}

#[async_trait]
pub trait Sink: Send + Sync {
    fn name(&self) -> &str;

    /// Applies writes and deletes idempotently (applying the same batch twice
    /// leaves the same state) and acknowledges only when durable.
    async fn apply(&self, batch: &SinkBatch) -> Result<SinkAck, SinkError>;

    /// Sets the access of existing chunks in place, idempotently, and
    /// returns only when durable. A store that cannot answers an error (fail
    /// closed: the pass stops and nothing is recorded as updated).
    async fn update_access(&self, _updates: &[AccessUpdate]) -> Result<(), SinkError> {
        Err(SinkError { sink: self.name().to_string(), message: "this store cannot update access in place; a content sync (`sluice run --full`) carries the change".into(), transient: false })
    }
}
