//! The embedded index: keyword (tantivy BM25 with highlighted snippets) and
//! vector (exact cosine search over in-memory vectors persisted in SQLite),
//! both keyed by chunk id; its two legs are fused by `sluice-search`.
//! `EmbeddedIndex` implements `Sink`, so the engine writes to it like any
//! other store.

mod analysis;
mod ann;
mod backend;
mod factory;
mod index;
mod keyword;
mod vectors;

pub use backend::EmbeddedSearch;
pub use factory::EmbeddedStoreType;
pub use index::EmbeddedIndex;

#[derive(Debug, thiserror::Error)]
#[error("embedded index at {path}: {message}")]
pub struct IndexError {
    pub path: String,
    pub message: String,
}
