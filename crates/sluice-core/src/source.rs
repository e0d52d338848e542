//! The `Source` contract: a connector yields pages of documents plus an
//! opaque cursor. The engine stores the cursor only after every sink
//! acknowledged the page, so a crash replays at most the pages in flight.

use async_trait::async_trait;

use crate::model::{DeadLetter, Document};

/// Full: list everything (first run, `--full`, or a periodic re-sync).
/// Incremental: only what changed since the checkpoint cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    Full,
    Incremental,
    /// List the ids of every live record, without bodies, so the engine can
    /// delete what is gone. It must admit exactly the records a full run
    /// admits (same scope, same filters), or it deletes good data. A source
    /// that cannot list ids cheaply may treat it as `Full`.
    Prune,
    /// List the access of every live record (`SourcePage::access`), without
    /// bodies: the permission sync pass, which updates access in place in
    /// every store without re-embedding. A source that cannot list access
    /// cheaply may treat it as `Full`; the engine then uses only each
    /// document's access.
    Permissions,
}

/// What a run of the source will list, decided by the source at `open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingScope {
    /// Every live record will be listed: anything indexed before but not
    /// listed in this run was deleted at the source (the engine prunes it,
    /// but only if the run finished without errors).
    Complete,
    /// Only changes are listed; deletions arrive explicitly in
    /// `SourcePage::deleted`.
    Changes,
}

/// One page of a source listing.
#[derive(Debug, Default, Clone)]
pub struct SourcePage {
    pub documents: Vec<Document>,
    /// External ids deleted at the source.
    pub deleted: Vec<String>,
    /// Records of this page that could not be read; the rest is indexed.
    pub dead_letters: Vec<DeadLetter>,
    /// Opaque position after this page. `None` keeps the previous cursor.
    pub cursor: Option<String>,
    /// External ids of live records listed without their content (a
    /// `Prune` pass); they are kept, everything unlisted is deleted.
    pub live_ids: Vec<String>,
    /// External id → current access, listed without content (a
    /// `Permissions` pass).
    pub access: Vec<(String, crate::access::DocAccess)>,
    /// External-id prefix → access of every indexed record whose id starts
    /// with it, listed without the records (a `Permissions` pass over a
    /// container whose members are the access: a Slack channel). A record
    /// matched by several prefixes needs all of their access.
    pub prefix_access: Vec<(String, crate::access::DocAccess)>,
    /// Records the whole listing is expected to yield, when the system
    /// says (Jira Server's `total`). For progress and its ETA only: never
    /// a measure of completeness.
    pub expected_total: Option<u64>,
}

/// A page-level failure: the page (and the run of this source) stops here,
/// and its checkpoint does not advance past it.
#[derive(Debug, thiserror::Error)]
#[error("source `{source_id}` failed at {location}: {message}")]
pub struct SourceError {
    pub source_id: String,
    /// Redacted URL, file path, or other place the failure happened.
    pub location: String,
    pub message: String,
    /// Transient failures (network, 5xx) may be retried by the scheduler.
    pub transient: bool,
}

#[async_trait]
pub trait Source: Send {
    /// The source id from the pipeline YAML; part of every document id.
    fn id(&self) -> &str;

    /// Prepares a run from the last committed cursor.
    async fn open(
        &mut self,
        mode: SyncMode,
        cursor: Option<&str>,
    ) -> Result<ListingScope, SourceError>;

    /// The next page, or `None` when the listing is exhausted.
    async fn next_page(&mut self) -> Result<Option<SourcePage>, SourceError>;

    /// Re-reads these records by external id (`sluice dead-letters
    /// retry`): their documents, `deleted` for those gone (or out of the
    /// configured scope), `dead_letters` for those failing again. `None`:
    /// this source cannot read single records; a full run re-reads them.
    async fn fetch(&mut self, _external_ids: &[String]) -> Result<Option<SourcePage>, SourceError> {
        Ok(None)
    }
}

/// `fetch` for a source whose only listing is its whole listing (a file):
/// lists everything and keeps what concerns these ids. Ids the completed
/// listing did not mention are gone.
pub async fn fetch_by_listing(
    src: &mut dyn Source,
    external_ids: &[String],
) -> Result<SourcePage, SourceError> {
    let wanted: std::collections::HashSet<&str> = external_ids.iter().map(String::as_str).collect();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut out = SourcePage::default();
    src.open(SyncMode::Full, None).await?;
    while let Some(page) = src.next_page().await? {
        for d in page.documents {
            if wanted.contains(d.external_id.as_str()) {
                seen.insert(d.external_id.clone());
                out.documents.push(d);
            }
        }
        for dl in page.dead_letters {
            if let Some(ext) = dl.external_id.as_deref().filter(|e| wanted.contains(e)) {
                seen.insert(ext.to_string());
                out.dead_letters.push(dl);
            }
        }
    }
    out.deleted = external_ids
        .iter()
        .filter(|e| !seen.contains(*e))
        .cloned()
        .collect();
    Ok(out)
}
