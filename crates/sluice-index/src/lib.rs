//! The embedded index: keyword (tantivy BM25 with highlighted snippets) and
//! vector (exact cosine search over in-memory vectors persisted in SQLite),
//! both keyed by chunk id, with hybrid search by reciprocal-rank fusion.
//! `EmbeddedIndex` implements `Sink`, so the engine writes to it like any
//! other store.

mod backend;
mod keyword;
mod search;
mod sink;
mod vectors;

pub use backend::{EmbeddedSearch, SearchBackend};
pub use search::{Access, Hit, SearchFilters, SearchMode, SearchRequest, SearchResponse, rrf_fuse, rrf_fuse_weighted};
pub use sink::{KEYWORD_WEIGHT, RRF_K};
pub use sink::EmbeddedIndex;
pub use vectors::ChunkPayload;

#[derive(Debug, thiserror::Error)]
#[error("embedded index at {path}: {message}")]
pub struct IndexError {
    pub path: String,
    pub message: String,
}
