//! The Qdrant store: a sink (vectors + payloads) and the vector leg of
//! search, over gRPC with `qdrant-client`.
//!
//! * `bootstrap`: creates the collection from config (size from the model,
//!   distance, HNSW, quantization) with a payload index per filter field,
//!   and refuses a collection whose size or distance differs.
//! * `payload`: chunk ⇄ point payload.
//! * `filters`: search filters, ACL principals and stale-chunk selectors as
//!   Qdrant filters.
//! * `retry`: which gRPC statuses are transient, and the backoff loop.
//! * `sink`: the `Sink` (acknowledges only after Qdrant confirmed, `wait`).
//! * `search`: the vector leg.

mod bootstrap;
mod factory;
mod filters;
mod payload;
mod retry;
mod search;
mod sink;

pub use bootstrap::{CollectionCheck, PAYLOAD_INDEXES};
pub use factory::QdrantStoreType;
pub use filters::search_filter;
pub use payload::{chunk_payload, from_payload, links_from_payload};
pub use retry::is_transient;
pub use sink::{QdrantStore, QdrantStoreConfig};
