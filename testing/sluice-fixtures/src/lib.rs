//! Fixture servers for the HTTP connectors. Each one keeps an in-memory
//! model of the remote system (spaces, pages, issues, permissions…) and
//! answers the REST endpoints the connector uses in the shapes the real
//! APIs document (and the recorded samples in `shared/data/api-fixtures`
//! show): cursor/offset/token pagination, error envelopes, 429 with
//! `Retry-After`. Tests mutate the model between runs (edit, trash, purge,
//! restrict) and inject faults (rate limits, 5xx, malformed pages).
//!
//! Bodies are generated from (id, version) on demand, so a 10,000-page
//! space costs a few MB here and the fixture does not dominate memory
//! measurements of the connector.

pub mod common;
pub mod confluence;
pub mod gitlab;
pub mod jira;
pub mod slack;
pub mod text;

pub use common::{Faults, FixtureServer, Shared};
