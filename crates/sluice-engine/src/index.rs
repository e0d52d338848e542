//! The indexing destination: transform → chunk → embed (only what changed)
//! → every sink. `sluice run` and the daemon use it in-process; a Kafka
//! worker uses it for what it consumes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_core::arrow_conv::{batch_to_documents, documents_to_batch};
use sluice_core::retry::{Backoff, RetryPolicy, retry};
use sluice_core::{
    Chunk, ChunkWrite, DeadLetter, DocAccess, Document, DocumentWrite, Sink, SinkBatch,
    TextEmbedder,
};
use sluice_state::{DocState, PageCommit};
use tracing::Instrument;
use uuid::Uuid;

use crate::chunker::Chunker;
use crate::plan::{self, PageContext};
use crate::report::{ProgressEvent, SourceReport, record_dead_letters};
use crate::transform::SqlTransform;

/// What indexing needs beyond the pipeline's state: the stages and the stores.
pub(crate) struct Indexer {
    pub sinks: Vec<Arc<dyn Sink>>,
    pub embedder: Arc<dyn TextEmbedder>,
    pub transform: Option<SqlTransform>,
    pub chunker: Chunker,
    /// What restricts link extraction (the Jira projects the pipeline reads).
    pub links: sluice_links::LinkSettings,
}

/// Why documents could not be indexed.
#[derive(Debug, Clone)]
pub struct IndexFailure {
    pub message: String,
    /// A sink or the embedder may succeed later (timeouts, 429, 5xx).
    pub transient: bool,
}

impl IndexFailure {
    pub(crate) fn permanent(message: impl Into<String>) -> IndexFailure {
        IndexFailure {
            message: message.into(),
            transient: false,
        }
    }
}

impl std::fmt::Display for IndexFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<IndexFailure> for String {
    fn from(e: IndexFailure) -> String {
        e.message
    }
}

/// What indexing a group of documents did, for the caller's state commit.
pub struct Indexed {
    /// Documents now in the sinks (or unchanged there).
    pub admitted: HashSet<Uuid>,
    /// Documents that failed this time; they keep their indexed version.
    pub failed: HashSet<Uuid>,
    /// Ids deleted at the source or filtered out by the transform.
    pub delete_candidates: Vec<Uuid>,
    /// Some record failed without an id.
    pub unidentified_failures: bool,
    /// Deleted from the sinks.
    pub deletes: Vec<Uuid>,
    pub states: Vec<DocState>,
    pub dead_letters: Vec<DeadLetter>,
    /// Documents written in part: one note per warning.
    pub notes: Vec<DeadLetter>,
    /// Documents now indexed as the source has them: their earlier dead
    /// letters are settled.
    pub resolved: Vec<Uuid>,
}

impl Indexed {
    /// What the state store commits for this page.
    pub fn commit<'a>(&self, cursor: Option<&'a str>) -> PageCommit<'a> {
        PageCommit {
            cursor,
            upserts: self.states.clone(),
            deletes: self.deletes.clone(),
            dead_letters: self.dead_letters.clone(),
            notes: self.notes.clone(),
            resolved: self.resolved.clone(),
        }
    }
}

/// One dead-letter note per written document with warnings (the record
/// keeps one entry per record and kind).
pub(crate) fn notes(
    source_id: &str,
    warnings: &HashMap<Uuid, (String, Vec<String>)>,
    written: &[DocState],
) -> Vec<DeadLetter> {
    written
        .iter()
        .filter_map(|s| warnings.get(&s.doc_id))
        .map(|(ext, ws)| DeadLetter {
            source: source_id.to_string(),
            location: "indexed in part".into(),
            external_id: Some(ext.clone()),
            error: ws.join("; "),
        })
        .collect()
}

impl Indexer {
    /// Every sink must acknowledge; returns what each refused for good.
    pub(crate) async fn write_to_sinks(
        &self,
        batch: &SinkBatch,
    ) -> Result<Vec<(String, sluice_core::SinkRejection)>, IndexFailure> {
        // The sinks are independent stores: write them concurrently.
        let acks = futures::future::try_join_all(self.sinks.iter().map(|sink| {
            let span = tracing::info_span!(
                "sink_write",
                sink = sink.name(),
                documents = batch.writes.len(),
                deletes = batch.deletes.len()
            );
            apply_with_retry(sink.as_ref(), batch).instrument(span)
        }))
        .await?;
        let mut rejected = Vec::new();
        for (sink, ack) in self.sinks.iter().zip(acks) {
            tracing::debug!(
                sink = sink.name(),
                chunks = ack.chunks_written,
                deleted = ack.docs_deleted,
                rejected = ack.rejected.len(),
                "sink acknowledged"
            );
            rejected.extend(
                ack.rejected
                    .into_iter()
                    .map(|r| (sink.name().to_string(), r)),
            );
        }
        Ok(rejected)
    }

    /// Transform → chunk → embed (what changed) → every sink, for one
    /// source's documents and deletions. The caller commits `states`,
    /// `deletes` and `dead_letters` to the state store afterwards.
    pub(crate) async fn index_documents(
        &self,
        cx: &PageContext<'_>,
        source_id: &str,
        documents: Vec<Document>,
        deleted: Vec<Uuid>,
        mut dead_letters: Vec<DeadLetter>,
        r: &mut SourceReport,
    ) -> Result<Indexed, IndexFailure> {
        let docs = plan::prepare(
            source_id,
            documents,
            cx.max_document_chars,
            cx.public_sources.contains(source_id),
        );
        let input_ids: Vec<Uuid> = docs.iter().map(Document::doc_id).collect();
        let before: HashMap<Uuid, Option<DocAccess>> = docs
            .iter()
            .map(|d| (d.doc_id(), d.access.clone()))
            .collect();
        let mut access_errors: HashSet<Uuid> = HashSet::new();
        // The access each record had before the transform, for the
        // permission pass to compare a later listing with.
        let source_access: HashMap<Uuid, String> = docs
            .iter()
            .filter_map(|d| Some((d.doc_id(), serde_json::to_string(d.access.as_ref()?).ok()?)))
            .collect();
        r.docs_seen += docs.len() as u64;
        // Warnings travel beside the documents: the transform's Arrow
        // batches do not carry them.
        let mut warnings: HashMap<Uuid, (String, Vec<String>)> = docs
            .iter()
            .filter(|d| !d.warnings.is_empty())
            .map(|d| (d.doc_id(), (d.external_id.clone(), d.warnings.clone())))
            .collect();

        let docs = match &self.transform {
            None => docs,
            Some(t) if !docs.is_empty() => {
                // Arrow batches of `transport.batch_records` rows bound the
                // transform's memory whatever the connector's page size.
                let mut out = Vec::new();
                for part in docs.chunks(cx.batch_records.max(1)) {
                    let batch = documents_to_batch(part).map_err(|e| {
                        IndexFailure::permanent(format!("building the Arrow batch: {e}"))
                    })?;
                    out.extend(t.apply(batch).await.map_err(|e| {
                        IndexFailure::permanent(format!("{}: transform.sql: {e}", cx.file))
                    })?);
                }
                let input: HashSet<Uuid> = input_ids.iter().copied().collect();
                let mut result = Vec::new();
                for b in &out {
                    let (ds, errors) = batch_to_documents(b).map_err(|e| {
                        IndexFailure::permanent(format!("{}: transform.sql: {e}", cx.file))
                    })?;
                    for e in errors {
                        if e.access {
                            if let Some(ext) = &e.external_id {
                                access_errors.insert(sluice_core::doc_id(source_id, ext));
                            }
                        }
                        dead_letters.push(DeadLetter {
                            source: source_id.to_string(),
                            location: format!("transform row {}", e.row),
                            external_id: e.external_id,
                            error: e.message,
                        });
                    }
                    for d in ds {
                        if d.source != source_id || !input.contains(&d.doc_id()) {
                            dead_letters.push(DeadLetter {
                                source: source_id.to_string(),
                                location: "transform".into(),
                                external_id: Some(d.external_id.clone()),
                                error: "the transform changed `source` or `external_id`; they identify the document and must pass through unchanged".into(),
                            });
                            continue;
                        }
                        result.push(d);
                    }
                }
                result
            }
            Some(_) => docs,
        };
        let (docs, mut access_refused) =
            plan::admit_access(source_id, docs, &before, &mut dead_letters);
        access_refused.extend(access_errors);
        // Records that failed this time keep their indexed version, except
        // those refused for their access: an older version may be readable
        // by more people than the source now allows, so it is removed.
        let (mut failed, unidentified_failures) = plan::failed_ids(source_id, &dead_letters);
        failed.retain(|id| !access_refused.contains(id));
        for dl in &dead_letters {
            tracing::warn!(source = source_id, location = %dl.location, error = %dl.error, "dead letter");
        }
        let admitted: HashSet<Uuid> = docs.iter().map(Document::doc_id).collect();

        // Deleted at the source, or filtered out by the transform.
        let mut delete_candidates = deleted;
        delete_candidates.extend(
            input_ids
                .iter()
                .filter(|id| !admitted.contains(id) && !failed.contains(id)),
        );

        let mut lookup: Vec<Uuid> = admitted.iter().copied().collect();
        lookup.extend(delete_candidates.iter().copied());
        let previous =
            plan::previous_states(cx.state, cx.pipeline, &lookup).map_err(|message| {
                IndexFailure {
                    message,
                    transient: true,
                }
            })?;
        let deletes = plan::deletes(&delete_candidates, &previous, cx.state_is_complete);

        let changes = plan::changes(docs, &previous);
        r.docs_added += changes.added;
        r.docs_updated += changes.updated;
        r.docs_unchanged += changes.unchanged;
        let (writes, states) = self.plan_writes(
            cx,
            source_id,
            changes.changed,
            changes.content_hashes,
            &previous,
            &mut warnings,
            r,
        )?;

        // Sink requests of at most `batch_records` documents; the caller
        // commits only after all of them were acknowledged.
        let mut groups: Vec<SinkBatch> = Vec::new();
        let mut writes = writes.into_iter().peekable();
        while writes.peek().is_some() {
            groups.push(SinkBatch {
                writes: writes.by_ref().take(cx.batch_records.max(1)).collect(),
                deletes: Vec::new(),
            });
        }
        if !deletes.is_empty() {
            groups.push(SinkBatch {
                writes: Vec::new(),
                deletes: deletes.clone(),
            });
        }
        let mut refused = HashSet::new();
        for batch in &groups {
            cx.state
                .check_fence(cx.pipeline, source_id)
                .map_err(|e| IndexFailure::permanent(e.to_string()))?;
            for (sink, rejected) in self.write_to_sinks(batch).await? {
                let external = batch
                    .writes
                    .iter()
                    .find(|w| w.doc_id == rejected.doc_id)
                    .map(|w| w.document.external_id.clone());
                tracing::warn!(sink, doc_id = %rejected.doc_id, reason = %rejected.reason, "sink rejected a document");
                refused.insert(rejected.doc_id);
                dead_letters.push(DeadLetter {
                    source: source_id.to_string(),
                    location: format!("sink {sink}"),
                    external_id: external,
                    error: rejected.reason,
                });
            }
            r.chunks_written += batch
                .writes
                .iter()
                .map(|w| w.chunks.len() as u64)
                .sum::<u64>();
        }
        // A store that refused a document may still hold its older version
        // (with its older, maybe broader access) while the others hold the
        // new one: the document is removed from every store and forgotten,
        // so each run tries it afresh and no store serves a stale version.
        let mut states = states;
        states.retain(|s| !refused.contains(&s.doc_id));
        let mut deletes = deletes;
        if !refused.is_empty() {
            let gone: Vec<Uuid> = refused
                .iter()
                .copied()
                .filter(|id| !deletes.contains(id))
                .collect();
            self.write_to_sinks(&SinkBatch {
                writes: Vec::new(),
                deletes: gone.clone(),
            })
            .await?;
            deletes.extend(gone);
        }
        for s in &mut states {
            s.source_access = source_access.get(&s.doc_id).cloned().unwrap_or_default();
        }
        r.docs_deleted += deletes.len() as u64;
        record_dead_letters(&dead_letters, r);
        let notes = notes(source_id, &warnings, &states);
        r.docs_partial += notes.len() as u64;
        let resolved = admitted
            .iter()
            .copied()
            .filter(|id| !refused.contains(id))
            .collect();
        Ok(Indexed {
            admitted,
            failed,
            delete_candidates,
            unidentified_failures,
            deletes,
            states,
            dead_letters,
            notes,
            resolved,
        })
    }

    /// Decides what each changed document needs: which chunks to embed,
    /// which to rewrite with their stored vectors, how many to keep.
    fn plan_writes(
        &self,
        cx: &PageContext<'_>,
        source_id: &str,
        changed: Vec<Document>,
        content_hashes: Vec<String>,
        previous: &HashMap<Uuid, DocState>,
        warnings: &mut HashMap<Uuid, (String, Vec<String>)>,
        r: &mut SourceReport,
    ) -> Result<(Vec<DocumentWrite>, Vec<DocState>), IndexFailure> {
        let embedder = self.embedder.clone();
        let mut writes = Vec::new();
        let mut states = Vec::new();
        let mut to_embed: Vec<(usize, usize)> = Vec::new(); // (write index, chunk index)
        let counter = |t: &str| embedder.count_tokens(t);
        for (d, hash) in changed.into_iter().zip(content_hashes) {
            let id = d.doc_id();
            let prev = previous.get(&id);
            let meta_hash = d.meta_hash();
            let (pieces, capped) = self.chunker.chunk(&d.title, &d.body, &counter);
            if capped {
                let w = format!(
                    "more than {} chunks (chunking.max_chunks_per_document): the text past them is not indexed",
                    pieces.len()
                );
                tracing::warn!(source = source_id, external_id = %d.external_id, "{w}");
                warnings
                    .entry(id)
                    .or_insert_with(|| (d.external_id.clone(), Vec::new()))
                    .1
                    .push(w);
            }
            let chunks: Vec<Chunk> = pieces
                .into_iter()
                .enumerate()
                .map(|(i, p)| Chunk::new(id, i as u32, p.text, p.tokens as u32))
                .collect();
            let meta_changed = prev.is_none_or(|p| p.meta_hash != meta_hash);
            let w_index = writes.len();
            let mut cw = Vec::new();
            for c in &chunks {
                let same_text = prev
                    .and_then(|p| p.chunk_hashes.get(c.ordinal as usize))
                    .is_some_and(|h| *h == c.content_hash);
                // The first chunk carries the document's links in the
                // remote stores, and any change to the text or metadata
                // may change them: it is rewritten with every change.
                if same_text && !meta_changed && c.ordinal != 0 {
                    continue;
                }
                if !same_text {
                    to_embed.push((w_index, cw.len()));
                }
                cw.push(ChunkWrite {
                    chunk: c.clone(),
                    vector: None,
                });
            }
            let mut state = plan::doc_state(
                &d,
                hash,
                chunks.iter().map(|c| c.content_hash.clone()).collect(),
            );
            let started = Instant::now();
            let graph = plan::doc_graph(&d, &self.links);
            let links = Arc::new(sluice_core::LinkFields {
                names: graph.names.clone(),
                edges: graph.edges.clone(),
            });
            state.graph = Some(graph);
            r.link_seconds += started.elapsed().as_secs_f64();
            states.push(state);
            writes.push(DocumentWrite {
                doc_id: id,
                chunk_count: chunks.len() as u32,
                chunks: cw,
                document: Arc::new(d),
                links: Some(links),
            });
        }
        if !to_embed.is_empty() {
            let started = Instant::now();
            let texts: Vec<&str> = to_embed
                .iter()
                .map(|(w, c)| writes[*w].chunks[*c].chunk.text.as_str())
                .collect();
            let vectors = tracing::info_span!("embed", chunks = texts.len())
                .in_scope(|| sluice_core::run_blocking(|| embedder.embed(&texts)))
                .map_err(|e| IndexFailure::permanent(e.to_string()))?;
            let seconds = started.elapsed().as_secs_f64();
            r.embed_seconds += seconds;
            cx.notify(ProgressEvent::EmbedBatch {
                source: source_id.to_string(),
                chunks: texts.len(),
                seconds,
            });
            r.chunks_embedded += vectors.len() as u64;
            for ((w, c), v) in to_embed.iter().zip(vectors) {
                writes[*w].chunks[*c].vector = Some(v);
            }
        }
        Ok((writes, states))
    }
}

/// Transient store failures (timeouts, 429, 5xx) are retried within a run;
/// a store still failing fails the page, and the next run resumes from its checkpoint.
const SINK_RETRY: RetryPolicy = RetryPolicy::new(
    Backoff::new(Duration::from_millis(200), Duration::from_secs(10)),
    Some(5),
);

impl Indexer {
    /// Sets access in place in every sink (the permission pass); every
    /// sink must acknowledge.
    pub(crate) async fn update_access(
        &self,
        updates: &[sluice_core::AccessUpdate],
    ) -> Result<(), IndexFailure> {
        futures::future::try_join_all(self.sinks.iter().map(|sink| async move {
            retry(&SINK_RETRY, || sink.update_access(updates), |e| e.transient, |e, attempt, wait| {
                tracing::warn!(sink = sink.name(), attempt, wait_ms = wait.as_millis() as u64, error = %e, "transient sink error; retrying");
            })
            .await
            .map_err(|e| IndexFailure { message: e.to_string(), transient: e.transient })
        }))
        .await?;
        Ok(())
    }
}

async fn apply_with_retry(
    sink: &dyn Sink,
    batch: &SinkBatch,
) -> Result<sluice_core::SinkAck, IndexFailure> {
    retry(&SINK_RETRY, || sink.apply(batch), |e| e.transient, |e, attempt, wait| {
        tracing::warn!(sink = sink.name(), attempt, wait_ms = wait.as_millis() as u64, error = %e, "transient sink error; retrying");
    })
    .await
    .map_err(|e| IndexFailure { message: e.to_string(), transient: e.transient })
}
