//! What a run reports: per source and per run, and progress events for
//! CLIs and daemons.

use sluice_core::{DeadLetter, SyncMode};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Full sync of every source (and prune of records gone at the source).
    pub full: bool,
    /// An ids-only listing that deletes what is gone at the source, without
    /// fetching content (sources that cannot do it cheaply run a full sync).
    /// Ignored for a source that has never synced (it runs a full sync).
    pub prune: bool,
    /// The permission sync pass: list each record's access only and set it
    /// in place in every store (nothing embedded, checkpoints untouched).
    pub permissions: bool,
    /// Let a prune delete more than `prune.max_delete_percent` of a
    /// source's documents (the mass-deletion guard's override).
    pub allow_mass_delete: bool,
    /// Only these source ids (all when empty).
    pub only_sources: Vec<String>,
    /// Re-read the records in the dead-letter record by id through their
    /// source (`sluice dead-letters retry`); checkpoints untouched.
    pub retry_dead_letters: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "error")]
pub enum SourceStatus {
    Ok,
    /// Stopped at a failing page; the checkpoint stayed before it.
    Failed(String),
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceReport {
    pub source: String,
    pub mode: String,
    pub status: SourceStatus,
    pub pages: u64,
    pub docs_seen: u64,
    pub docs_added: u64,
    pub docs_updated: u64,
    pub docs_unchanged: u64,
    pub docs_deleted: u64,
    /// Documents indexed in part (see the dead-letter notes).
    pub docs_partial: u64,
    pub chunks_embedded: u64,
    pub chunks_written: u64,
    /// Records (documents and tombstones) the Kafka broker acknowledged.
    pub records_published: u64,
    /// Bytes of those records (keys and values).
    pub bytes_published: u64,
    pub dead_letter_count: u64,
    /// The first few dead letters, for the run summary.
    pub dead_letters: Vec<DeadLetter>,
    /// Documents whose access a permission pass changed in the stores.
    pub access_updated: u64,
    pub pruned: bool,
    pub embed_seconds: f64,
    /// Time spent extracting the link graph.
    pub link_seconds: f64,
    pub seconds: f64,
}

impl SourceReport {
    pub fn empty(source: &str) -> SourceReport {
        SourceReport {
            source: source.to_string(),
            mode: String::new(),
            status: SourceStatus::Ok,
            pages: 0,
            docs_seen: 0,
            docs_added: 0,
            docs_updated: 0,
            docs_unchanged: 0,
            docs_deleted: 0,
            docs_partial: 0,
            chunks_embedded: 0,
            chunks_written: 0,
            records_published: 0,
            bytes_published: 0,
            dead_letter_count: 0,
            access_updated: 0,
            dead_letters: Vec::new(),
            pruned: false,
            embed_seconds: 0.0,
            link_seconds: 0.0,
            seconds: 0.0,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    pub pipeline: String,
    pub sources: Vec<SourceReport>,
    pub seconds: f64,
}

impl RunReport {
    pub fn failed(&self) -> bool {
        self.sources.iter().any(|s| s.status != SourceStatus::Ok)
    }
    pub fn dead_letters(&self) -> u64 {
        self.sources.iter().map(|s| s.dead_letter_count).sum()
    }
    pub fn chunks_embedded(&self) -> u64 {
        self.sources.iter().map(|s| s.chunks_embedded).sum()
    }
    pub fn chunks_written(&self) -> u64 {
        self.sources.iter().map(|s| s.chunks_written).sum()
    }
}

/// Progress notifications for CLIs and daemons.
#[derive(Debug, Clone)]
pub enum ProgressEvent {
    SourceStarted {
        source: String,
        mode: SyncMode,
    },
    PageCommitted {
        source: String,
        docs: u64,
        chunks_embedded: u64,
        /// Records the source expects to list in all, when it says.
        expected_total: Option<u64>,
    },
    /// One call of the embedder.
    EmbedBatch {
        source: String,
        chunks: usize,
        seconds: f64,
    },
    SourceFinished(SourceReport),
}

/// The first few dead letters go into the report (all go to the state store).
const DEAD_LETTERS_IN_REPORT: usize = 20;

pub(crate) fn record_dead_letters(dead_letters: &[DeadLetter], r: &mut SourceReport) {
    r.dead_letter_count += dead_letters.len() as u64;
    for dl in dead_letters {
        if r.dead_letters.len() < DEAD_LETTERS_IN_REPORT {
            r.dead_letters.push(dl.clone());
        }
    }
}
