//! The publishing destination (a transport such as Kafka): a page's new and
//! changed documents and its deletions go to the topic; indexing workers
//! consume them. The caller commits the page only after the broker
//! acknowledged every record.

use std::collections::HashSet;
use std::time::Duration;

use sluice_core::retry::{Backoff, RetryPolicy, retry};
use sluice_core::{DeadLetter, Document, Publisher};
use sluice_state::DocState;
use tracing::Instrument;
use uuid::Uuid;

use crate::index::Indexed;
use crate::plan::{self, PageContext};
use crate::report::{SourceReport, record_dead_letters};

/// Publishes the documents that changed since they were last published,
/// and tombstones for deletions of published documents.
pub(crate) async fn publish_documents(
    cx: &PageContext<'_>,
    publisher: &dyn Publisher,
    source_id: &str,
    documents: Vec<Document>,
    deleted: Vec<Uuid>,
    dead_letters: Vec<DeadLetter>,
    r: &mut SourceReport,
) -> Result<Indexed, String> {
    let docs = plan::prepare(
        source_id,
        documents,
        cx.max_document_chars,
        cx.public_sources.contains(source_id),
    );
    r.docs_seen += docs.len() as u64;
    let warnings: std::collections::HashMap<Uuid, (String, Vec<String>)> = docs
        .iter()
        .filter(|d| !d.warnings.is_empty())
        .map(|d| (d.doc_id(), (d.external_id.clone(), d.warnings.clone())))
        .collect();
    let (failed, unidentified_failures) = plan::failed_ids(source_id, &dead_letters);
    let admitted: HashSet<Uuid> = docs.iter().map(Document::doc_id).collect();
    let mut lookup: Vec<Uuid> = admitted.iter().copied().collect();
    lookup.extend(deleted.iter().copied());
    let previous = plan::previous_states(cx.state, cx.pipeline, &lookup)?;
    let changes = plan::changes(docs, &previous);
    r.docs_added += changes.added;
    r.docs_updated += changes.updated;
    r.docs_unchanged += changes.unchanged;
    let states: Vec<DocState> = changes
        .changed
        .iter()
        .zip(&changes.content_hashes)
        .map(|(d, h)| plan::doc_state(d, h.clone(), Vec::new()))
        .collect();
    let deletes = plan::deletes(&deleted, &previous, true);
    // In transport-sized slices, so one huge page does not hold every record in memory twice.
    // Each slice only while this replica still holds the job (shared state).
    let fence = || cx.state.check_fence(cx.pipeline, source_id).map_err(|e| e.to_string());
    for part in changes.changed.chunks(cx.batch_records.max(1)) {
        fence()?;
        publish_with_retry(publisher, part, &[], r).await?;
    }
    fence()?;
    publish_tombstones(publisher, source_id, &deletes, r).await?;
    r.docs_deleted += deletes.len() as u64;
    record_dead_letters(&dead_letters, r);
    let notes = crate::index::notes(source_id, &warnings, &states);
    let resolved = admitted.iter().copied().collect();
    Ok(Indexed {
        admitted,
        failed,
        delete_candidates: deleted,
        unidentified_failures,
        deletes,
        states,
        dead_letters,
        notes,
        resolved,
    })
}

pub(crate) async fn publish_tombstones(
    publisher: &dyn Publisher,
    source_id: &str,
    ids: &[Uuid],
    r: &mut SourceReport,
) -> Result<(), String> {
    if ids.is_empty() {
        return Ok(());
    }
    let tombstones: Vec<(String, Uuid)> =
        ids.iter().map(|id| (source_id.to_string(), *id)).collect();
    publish_with_retry(publisher, &[], &tombstones, r).await
}

/// The transport's client already retries inside its own timeout; this
/// covers a broker that stays away longer (up to 1 + 2 + 4 + 8 s between
/// five attempts). Re-publishing records is harmless.
const PUBLISH_RETRY: RetryPolicy = RetryPolicy::new(
    Backoff::new(Duration::from_secs(1), Duration::from_secs(16)),
    Some(5),
);

async fn publish_with_retry(
    p: &dyn Publisher,
    docs: &[Document],
    deletes: &[(String, Uuid)],
    r: &mut SourceReport,
) -> Result<(), String> {
    let span = tracing::info_span!(
        "kafka_publish",
        documents = docs.len(),
        tombstones = deletes.len()
    );
    let ack = retry(
        &PUBLISH_RETRY,
        || p.publish(docs, deletes),
        |e| e.transient,
        |e, attempt, _| {
            tracing::warn!(attempt, error = %e, "publishing to the transport failed; retrying");
        },
    )
    .instrument(span)
    .await
    .map_err(|e| format!("publishing to Kafka: {e}"))?;
    r.records_published += ack.records as u64;
    r.bytes_published += ack.bytes as u64;
    Ok(())
}
