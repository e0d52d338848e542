//! The Elasticsearch / OpenSearch store: a sink (one document per chunk)
//! and the keyword leg of search, over plain HTTP with `reqwest`.
//!
//! Why `reqwest` and not the `elasticsearch` crate: that crate is still a
//! pre-release (9.x alpha) and speaks only Elasticsearch; the handful of
//! endpoints Sluice needs (`_bulk`, `_search`, `_delete_by_query`, index,
//! template and alias APIs) have the same shape on Elasticsearch 8 and
//! OpenSearch 2, and `reqwest` is already in the tree.
//!
//! * `client`: auth (API key, basic, bearer), timeouts, which failures are transient.
//! * `bootstrap`: index template + versioned index from `schemas/elasticsearch/chunks.json`
//!   behind the write alias; atomic alias swap for full re-indexes.
//! * `bulk`: NDJSON request building and per-item response handling.
//! * `sink`: the `Sink` (retries failed items, dead-letters rejected ones).
//! * `search`: the keyword leg with highlights.

mod bootstrap;
mod bulk;
mod client;
mod factory;
mod query;
mod search;
mod sink;

pub use bootstrap::{Flavor, MAPPING};
pub use bulk::{BulkOutcome, ItemFailure, parse_bulk_response};
pub use client::{Auth, EsClient, EsError};
pub use factory::ElasticStoreType;
pub use query::{keyword_query, search_filters};
pub use search::KeywordHit;
pub use sink::{ElasticStore, ElasticStoreConfig};
