//! Servers that stand in for Qdrant and Elasticsearch where neither can be
//! installed (these machines: no server binaries in any package registry).
//!
//! * [`qdrant::QdrantEdgeServer`]: Qdrant's own gRPC API (the generated
//!   `qdrant-client` server traits) on 127.0.0.1, answering with the real
//!   Qdrant engine (`qdrant-edge`): filters, payload indexes, exact scores.
//!   It implements the calls Sluice makes; the rest answer `Unimplemented`.
//! * [`elastic::ElasticFixture`]: an HTTP server replaying Elasticsearch 8 /
//!   OpenSearch 2 response shapes for the APIs Sluice calls, with scripted
//!   failures (per-item 429/400 in `_bulk`, 503s, slow searches).
//!
//! Both can inject faults so tests can check retries and partial results.

pub mod elastic;
pub mod noida;
pub mod qdrant;
