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

/// A document's access as principal sets with `prefix` (the connector's
/// `system:instance:`) removed, for readable assertions; `None` when public.
/// Panics when the access is unknown or a principal lacks the prefix, so a
/// test also checks that every principal is qualified.
pub fn access_sets(d: &sluice_core::Document, prefix: &str) -> Option<Vec<Vec<String>>> {
    match d
        .access
        .as_ref()
        .unwrap_or_else(|| panic!("{}: no access", d.external_id))
    {
        sluice_core::DocAccess::Public => None,
        sluice_core::DocAccess::AllOf(sets) => Some(
            sets.iter()
                .map(|s| {
                    s.iter()
                        .map(|p| {
                            p.strip_prefix(prefix)
                                .unwrap_or_else(|| {
                                    panic!(
                                        "{}: `{p}` is not qualified with `{prefix}`",
                                        d.external_id
                                    )
                                })
                                .to_string()
                        })
                        .collect()
                })
                .collect(),
        ),
    }
}

/// `Some(sets)` from string slices, to compare with `access_sets`.
pub fn sets(s: &[&[&str]]) -> Option<Vec<Vec<String>>> {
    Some(
        s.iter()
            .map(|set| set.iter().map(|p| p.to_string()).collect())
            .collect(),
    )
}
