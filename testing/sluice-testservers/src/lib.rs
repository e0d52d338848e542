//! Test-only servers (no shipped binary links this crate): stand-ins for
//! Qdrant and Elasticsearch where neither can be installed (these machines:
//! no server binaries in any package registry), and a real Kafka-protocol
//! broker.
//!
//! * [`qdrant_server::QdrantEdgeServer`]: Qdrant's own gRPC API (the generated
//!   `qdrant-client` server traits) on 127.0.0.1, answering with the real
//!   Qdrant engine (`qdrant-edge`): filters, payload indexes, exact scores.
//!   It implements the calls Sluice makes; the rest answer `Unimplemented`.
//! * [`elastic_fixture::ElasticFixture`]: an HTTP server replaying
//!   Elasticsearch 8 / OpenSearch 2 response shapes for the APIs Sluice
//!   calls, with scripted failures (per-item 429/400 in `_bulk`, 503s, slow searches).
//! * [`elastic_emulator::NoidaElasticsearch`]: launches `noida-db`, an
//!   emulator of the Elasticsearch REST API that keeps data, for round trips.
//! * [`kafka_broker::LocalBroker`]: starts tansu, a Kafka-protocol broker,
//!   on 127.0.0.1 with its data in a directory.
//! * [`postgres_server::PostgresServer`]: a real PostgreSQL server (Debian's
//!   package) with a fresh cluster, for the replicas' shared job leases.
//!
//! The stand-ins can inject faults so tests can check retries and partial results.

pub mod elastic_emulator;
pub mod elastic_fixture;
pub mod kafka_broker;
pub mod postgres_server;
pub mod qdrant_server;
