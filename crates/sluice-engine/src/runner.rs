//! Runs a pipeline: for each source, page by page, transform → chunk →
//! embed (only what changed) → every sink → commit the checkpoint.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_core::arrow_conv::{batch_to_documents, documents_to_batch};
use sluice_core::{Chunk, ChunkWrite, DeadLetter, Document, DocumentWrite, ListingScope, Sink, SinkBatch, Source, SyncMode};
use sluice_embed::TextEmbedder;
use tracing::Instrument;
use sluice_index::{EmbeddedIndex, EmbeddedSearch, SearchBackend};
use sluice_kafka::KafkaPublisher;
use sluice_spec::{LoadedPipeline, SinkSpec, TransportSpec};
use sluice_state::{DocState, PageCommit, RunRecord, StateStore};
use uuid::Uuid;

use crate::chunker::Chunker;
use crate::transform::SqlTransform;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Full sync of every source (and prune of records gone at the source).
    pub full: bool,
    /// An ids-only listing that deletes what is gone at the source, without
    /// fetching content (sources that cannot do it cheaply run a full sync).
    /// Ignored for a source that has never synced (it runs a full sync).
    pub prune: bool,
    /// Only these source ids (all when empty).
    pub only_sources: Vec<String>,
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
    pub chunks_embedded: u64,
    pub chunks_written: u64,
    /// Records (documents and tombstones) the Kafka broker acknowledged.
    pub records_published: u64,
    /// Bytes of those records (keys and values).
    pub bytes_published: u64,
    pub dead_letter_count: u64,
    /// The first few dead letters, for the run summary.
    pub dead_letters: Vec<DeadLetter>,
    pub pruned: bool,
    pub embed_seconds: f64,
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
            chunks_embedded: 0,
            chunks_written: 0,
            records_published: 0,
            bytes_published: 0,
            dead_letter_count: 0,
            dead_letters: Vec::new(),
            pruned: false,
            embed_seconds: 0.0,
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
    SourceStarted { source: String, mode: SyncMode },
    PageCommitted { source: String, docs: u64, chunks_embedded: u64 },
    /// One call of the embedder.
    EmbedBatch { source: String, chunks: usize, seconds: f64 },
    SourceFinished(SourceReport),
}

type Observer = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// A pipeline ready to run: sources are built per run; state, sinks,
/// transform and embedder live as long as the pipeline.
///
/// With `transport: kafka` a pipeline opened with [`Pipeline::open`]
/// publishes documents to the topic instead of indexing them; the workers'
/// pipelines ([`Pipeline::open_indexer`]) index what they consume.
pub struct Pipeline {
    loaded: LoadedPipeline,
    state: Arc<StateStore>,
    sinks: Vec<Arc<dyn Sink>>,
    index: Option<Arc<EmbeddedIndex>>,
    /// What search reads: Qdrant + Elasticsearch when the pipeline writes
    /// them, else the embedded index.
    search: Option<Arc<dyn SearchBackend>>,
    embedder: Option<Arc<dyn TextEmbedder>>,
    transform: Option<SqlTransform>,
    chunker: Chunker,
    publisher: Option<KafkaPublisher>,
    /// The state store is committed with every sink write (in-process), so
    /// a document it does not know is not in the sinks. A Kafka worker's is
    /// a cache: deletions go to the sinks whatever it says.
    state_is_complete: bool,
    observer: Option<Observer>,
}

/// Why documents could not be indexed.
#[derive(Debug, Clone)]
pub struct IndexFailure {
    pub message: String,
    /// A sink or the embedder may succeed later (timeouts, 429, 5xx).
    pub transient: bool,
}

impl IndexFailure {
    fn permanent(message: impl Into<String>) -> IndexFailure {
        IndexFailure { message: message.into(), transient: false }
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
}

const SINK_ATTEMPTS: u32 = 5;
const DEAD_LETTERS_IN_REPORT: usize = 20;

impl Pipeline {
    /// Opens a pipeline for `sluice run` and the daemon: in-process it
    /// indexes into its sinks; with `transport: kafka` it publishes to the
    /// topic (no sinks, no embedder needed: pass `None`).
    pub async fn open(loaded: LoadedPipeline, data_dir: &Path, embedder: Option<Arc<dyn TextEmbedder>>) -> Result<Pipeline, String> {
        match &loaded.spec.transport {
            TransportSpec::InProcess { .. } => {
                let embedder = embedder.ok_or("an in-process pipeline needs an embedder")?;
                Self::open_indexer_at(loaded, data_dir, &crate::state_path(data_dir), embedder).await
            }
            TransportSpec::Kafka(k) => {
                let state = Arc::new(StateStore::open(&crate::state_path(data_dir)).map_err(|e| e.to_string())?);
                let cfg = crate::kafka::kafka_config(&loaded)?;
                let publisher = KafkaPublisher::new(&cfg, &loaded.spec.name).map_err(|e| format!("{}: transport: {e}", loaded.file))?;
                publisher.ensure_topic(k.partitions, k.replication).await.map_err(|e| {
                    format!("{}: transport: Kafka at `{}`: {e}; check that the broker is up and `bootstrap_servers` is right", loaded.file, cfg.bootstrap_servers)
                })?;
                let chunker = Chunker::new(&loaded.spec.chunking);
                Ok(Pipeline { loaded, state, sinks: Vec::new(), index: None, search: None, embedder: None, transform: None, chunker, publisher: Some(publisher), state_is_complete: true, observer: None })
            }
        }
    }

    /// Opens the indexing side of a Kafka pipeline for `sluice worker`:
    /// transform, chunking, embedding and the sinks. Its state (what each
    /// indexed document's chunks were) is kept apart from the publisher's.
    pub async fn open_indexer(loaded: LoadedPipeline, data_dir: &Path, embedder: Arc<dyn TextEmbedder>) -> Result<Pipeline, String> {
        let mut p = Self::open_indexer_at(loaded, data_dir, &crate::worker_state_path(data_dir), embedder).await?;
        p.state_is_complete = false;
        Ok(p)
    }

    async fn open_indexer_at(loaded: LoadedPipeline, data_dir: &Path, state_path: &Path, embedder: Arc<dyn TextEmbedder>) -> Result<Pipeline, String> {
        let state = Arc::new(StateStore::open(state_path).map_err(|e| e.to_string())?);
        let mut sinks: Vec<Arc<dyn Sink>> = Vec::new();
        let mut index = None;
        let (mut keyword_store, mut vector_store) = (None, None);
        for (i, s) in loaded.spec.sinks.iter().enumerate() {
            match s {
                SinkSpec::Embedded(cfg) => {
                    let dir = cfg.path.as_ref().map(|p| loaded.resolve_path(p)).unwrap_or_else(|| crate::index_dir(data_dir));
                    let idx = Arc::new(EmbeddedIndex::open(&dir, true).map_err(|e| e.to_string())?);
                    if idx.dim() != 0 && idx.dim() != embedder.dim() {
                        return Err(format!(
                            "the index at {} holds {}-dim vectors but the model makes {}-dim ones; use another data dir or re-index from scratch",
                            dir.display(),
                            idx.dim(),
                            embedder.dim()
                        ));
                    }
                    index = Some(idx.clone());
                    sinks.push(idx);
                }
                SinkSpec::Qdrant(spec) => {
                    let store = Arc::new(crate::stores::qdrant_store(&loaded, i, spec, embedder.dim())?);
                    vector_store = Some((store.clone(), Duration::from_millis(spec.search_timeout_ms)));
                    sinks.push(store);
                }
                SinkSpec::Elasticsearch(spec) => {
                    let store = Arc::new(crate::stores::elastic_store(&loaded, i, spec)?);
                    keyword_store = Some((store.clone(), Duration::from_millis(spec.search_timeout_ms)));
                    sinks.push(store);
                }
            }
        }
        let search: Option<Arc<dyn SearchBackend>> = if keyword_store.is_some() || vector_store.is_some() {
            Some(Arc::new(crate::stores::StoreSearch { keyword: keyword_store, vector: vector_store }))
        } else {
            index.as_ref().map(|i| Arc::new(EmbeddedSearch(i.clone())) as Arc<dyn SearchBackend>)
        };
        let transform = match &loaded.spec.transform {
            Some(t) => Some(SqlTransform::new(&t.sql).await.map_err(|e| format!("{}: transform.sql: {e}", loaded.file))?),
            None => None,
        };
        let chunker = Chunker::new(&loaded.spec.chunking);
        Ok(Pipeline { loaded, state, sinks, index, search, embedder: Some(embedder), transform, chunker, publisher: None, state_is_complete: true, observer: None })
    }

    /// Adds a sink beyond those in the pipeline file (embedding Sluice in
    /// another program, tests).
    pub fn with_sink(mut self, sink: Arc<dyn Sink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Replaces the pipeline file's sinks (several in-process workers
    /// sharing one store, embedding Sluice in another program).
    pub fn with_only_sinks(mut self, sinks: Vec<Arc<dyn Sink>>) -> Self {
        self.sinks = sinks;
        self.index = None;
        self.search = None;
        self
    }

    pub fn with_observer(mut self, f: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(f));
        self
    }

    pub fn name(&self) -> &str {
        &self.loaded.spec.name
    }

    pub fn loaded(&self) -> &LoadedPipeline {
        &self.loaded
    }

    /// True when this pipeline publishes to Kafka instead of indexing.
    pub fn publishes(&self) -> bool {
        self.publisher.is_some()
    }

    pub fn state(&self) -> &Arc<StateStore> {
        &self.state
    }

    /// The embedded index, when the pipeline writes to one.
    pub fn index(&self) -> Option<&Arc<EmbeddedIndex>> {
        self.index.as_ref()
    }

    /// What the search API reads for this pipeline: hybrid over Qdrant +
    /// Elasticsearch when it writes them, else its embedded index.
    pub fn search_backend(&self) -> Option<Arc<dyn SearchBackend>> {
        self.search.clone()
    }

    fn notify(&self, e: ProgressEvent) {
        if let Some(o) = &self.observer {
            o(&e);
        }
    }

    /// Runs every source (one failing source does not stop the others).
    pub async fn run(&self, sources: Vec<Box<dyn Source>>, opts: &RunOptions) -> RunReport {
        let start = Instant::now();
        let mut reports = Vec::new();
        for mut src in sources {
            if !opts.only_sources.is_empty() && !opts.only_sources.iter().any(|s| s == src.id()) {
                continue;
            }
            let span = tracing::info_span!("sync_run", pipeline = %self.name(), source = %src.id());
            let report = self.run_source(src.as_mut(), opts).instrument(span).await;
            self.notify(ProgressEvent::SourceFinished(report.clone()));
            reports.push(report);
        }
        RunReport { pipeline: self.name().to_string(), sources: reports, seconds: start.elapsed().as_secs_f64() }
    }

    async fn run_source(&self, src: &mut dyn Source, opts: &RunOptions) -> SourceReport {
        let started = Instant::now();
        let started_at = StateStore::timestamp_now();
        let pipeline = self.name().to_string();
        let id = src.id().to_string();
        let mut r = SourceReport::empty(&id);
        let outcome = self.sync_source(src, opts, &mut r).await;
        if let Err(e) = outcome {
            tracing::error!(pipeline = %pipeline, source = %id, error = %e, "source failed; its checkpoint stays at the last acknowledged page");
            r.status = SourceStatus::Failed(e);
        }
        r.seconds = started.elapsed().as_secs_f64();
        let run = RunRecord {
            pipeline: pipeline.clone(),
            source: id,
            started_at,
            finished_at: StateStore::timestamp_now(),
            mode: r.mode.clone(),
            status: match &r.status {
                SourceStatus::Ok => "ok".into(),
                SourceStatus::Failed(_) => "failed".into(),
            },
            docs_added: r.docs_added,
            docs_updated: r.docs_updated,
            docs_unchanged: r.docs_unchanged,
            docs_deleted: r.docs_deleted,
            chunks_embedded: r.chunks_embedded,
            dead_letters: r.dead_letter_count,
            error: match &r.status {
                SourceStatus::Failed(e) => Some(e.clone()),
                SourceStatus::Ok => None,
            },
        };
        if let Err(e) = self.state.record_run(&run) {
            tracing::warn!(error = %e, "could not record the run");
        }
        r
    }

    async fn sync_source(&self, src: &mut dyn Source, opts: &RunOptions, r: &mut SourceReport) -> Result<(), String> {
        let pipeline = self.name().to_string();
        let id = src.id().to_string();
        let has_checkpoint = self.state.has_checkpoint(&pipeline, &id).map_err(|e| e.to_string())?;
        let cursor = self.state.checkpoint(&pipeline, &id).map_err(|e| e.to_string())?;
        let mode = if opts.full || !has_checkpoint {
            SyncMode::Full
        } else if opts.prune {
            SyncMode::Prune
        } else {
            SyncMode::Incremental
        };
        r.mode = match mode {
            SyncMode::Full => "full".into(),
            SyncMode::Incremental => "incremental".into(),
            SyncMode::Prune => "prune".into(),
        };
        self.notify(ProgressEvent::SourceStarted { source: id.clone(), mode });
        let scope = src.open(mode, cursor.as_deref()).await.map_err(|e| e.to_string())?;
        let mut seen: HashSet<Uuid> = HashSet::new();
        // A record that failed without an id might be a live document: if
        // any did, pruning could delete it, so the prune is skipped.
        let mut unidentified_failures = false;
        loop {
            let page = match src.next_page().await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            };
            r.pages += 1;
            let embedded_before = r.chunks_embedded;
            let docs_before = r.docs_seen;
            let span = tracing::info_span!("batch", page = r.pages, records = page.documents.len(), deleted = page.deleted.len());
            self.process_page(&id, page, &mut seen, &mut unidentified_failures, r).instrument(span).await?;
            self.notify(ProgressEvent::PageCommitted {
                source: id.clone(),
                docs: r.docs_seen - docs_before,
                chunks_embedded: r.chunks_embedded - embedded_before,
            });
        }
        if scope == ListingScope::Complete {
            if unidentified_failures {
                tracing::warn!(source = %id, "skipping the prune of deleted records: some records failed without an id (see dead letters)");
            } else {
                self.prune(&id, &seen, r).await?;
                r.pruned = true;
            }
        }
        Ok(())
    }

    async fn process_page(
        &self,
        source_id: &str,
        page: sluice_core::SourcePage,
        seen: &mut HashSet<Uuid>,
        unidentified_failures: &mut bool,
        r: &mut SourceReport,
    ) -> Result<(), String> {
        let live: Vec<Uuid> = page.live_ids.iter().map(|ext| sluice_core::doc_id(source_id, ext)).collect();
        let deleted: Vec<Uuid> = page.deleted.iter().map(|ext| sluice_core::doc_id(source_id, ext)).collect();
        let out = match &self.publisher {
            Some(p) => self.publish_documents(p, source_id, page.documents, deleted, page.dead_letters, r).await?,
            None => self.index_documents(source_id, page.documents, deleted, page.dead_letters, r).await?,
        };
        seen.extend(live);
        seen.extend(out.admitted.iter().copied());
        seen.extend(out.failed.iter().copied());
        for id in &out.delete_candidates {
            seen.remove(id);
        }
        *unidentified_failures |= out.unidentified_failures;
        let commit = PageCommit { cursor: page.cursor.as_deref(), upserts: out.states, deletes: out.deletes, dead_letters: out.dead_letters };
        self.state.commit_page(self.name(), source_id, &commit).map_err(|e| e.to_string())
    }

    /// Dedupes a page's documents (later versions win) and applies the
    /// document size limit.
    fn prepare(&self, source_id: &str, documents: Vec<Document>) -> Vec<Document> {
        let max_chars = self.loaded.spec.chunking.max_document_chars;
        let mut by_id: HashMap<Uuid, Document> = HashMap::new();
        let mut order = Vec::new();
        for mut d in documents {
            d.source = source_id.to_string();
            if d.body.len() > max_chars {
                let cut = floor_char_boundary(&d.body, max_chars);
                tracing::warn!(source = source_id, external_id = %d.external_id, chars = d.body.len(), limit = max_chars, "document body truncated (chunking.max_document_chars)");
                d.body.truncate(cut);
            }
            let id = d.doc_id();
            if by_id.insert(id, d).is_none() {
                order.push(id);
            }
        }
        order.into_iter().filter_map(|id| by_id.remove(&id)).collect()
    }

    /// Kafka transport, producing side: publishes documents that changed
    /// since they were last published, and tombstones for deletions. The
    /// caller commits the page only after this returned, i.e. after the
    /// broker acknowledged every record.
    async fn publish_documents(
        &self,
        publisher: &KafkaPublisher,
        source_id: &str,
        documents: Vec<Document>,
        deleted: Vec<Uuid>,
        dead_letters: Vec<DeadLetter>,
        r: &mut SourceReport,
    ) -> Result<Indexed, String> {
        let docs = self.prepare(source_id, documents);
        r.docs_seen += docs.len() as u64;
        let (failed, unidentified_failures) = failed_ids(source_id, &dead_letters);
        let admitted: HashSet<Uuid> = docs.iter().map(Document::doc_id).collect();
        let mut lookup: Vec<Uuid> = admitted.iter().copied().collect();
        lookup.extend(deleted.iter().copied());
        let previous: HashMap<Uuid, DocState> =
            self.state.doc_states(self.name(), &lookup).map_err(|e| e.to_string())?.into_iter().map(|s| (s.doc_id, s)).collect();
        let mut changed = Vec::new();
        let mut states = Vec::new();
        for d in docs {
            let hash = d.content_hash();
            match previous.get(&d.doc_id()) {
                Some(p) if p.content_hash == hash => {
                    r.docs_unchanged += 1;
                    continue;
                }
                Some(_) => r.docs_updated += 1,
                None => r.docs_added += 1,
            }
            states.push(DocState {
                doc_id: d.doc_id(),
                source: d.source.clone(),
                external_id: d.external_id.clone(),
                content_hash: hash,
                meta_hash: d.meta_hash(),
                chunk_hashes: Vec::new(),
            });
            changed.push(d);
        }
        let deletes: Vec<Uuid> = deleted.iter().copied().filter(|id| previous.contains_key(id)).collect::<HashSet<_>>().into_iter().collect();
        let tombstones: Vec<(String, Uuid)> = deletes.iter().map(|id| (source_id.to_string(), *id)).collect();
        // In Kafka-sized slices, so one huge page does not hold every record in memory twice.
        for part in changed.chunks(self.batch_records().max(1)) {
            publish_with_retry(publisher, part, &[], r).await?;
        }
        if !tombstones.is_empty() {
            publish_with_retry(publisher, &[], &tombstones, r).await?;
        }
        r.docs_deleted += deletes.len() as u64;
        record_dead_letters(&dead_letters, r);
        Ok(Indexed { admitted, failed, delete_candidates: deleted, unidentified_failures, deletes, states, dead_letters })
    }

    /// Transform → chunk → embed (what changed) → every sink, for one
    /// source's documents and deletions. The caller commits `states`,
    /// `deletes` and `dead_letters` to the state store afterwards.
    pub async fn index_documents(
        &self,
        source_id: &str,
        documents: Vec<Document>,
        deleted: Vec<Uuid>,
        mut dead_letters: Vec<DeadLetter>,
        r: &mut SourceReport,
    ) -> Result<Indexed, IndexFailure> {
        let pipeline = self.name();
        let docs = self.prepare(source_id, documents);
        let input_ids: Vec<Uuid> = docs.iter().map(Document::doc_id).collect();
        r.docs_seen += docs.len() as u64;

        let docs = match &self.transform {
            None => docs,
            Some(t) if !docs.is_empty() => {
                // Arrow batches of `transport.batch_records` rows bound the
                // transform's memory whatever the connector's page size.
                let mut out = Vec::new();
                for part in docs.chunks(self.batch_records().max(1)) {
                    let batch = documents_to_batch(part).map_err(|e| IndexFailure::permanent(format!("building the Arrow batch: {e}")))?;
                    out.extend(t.apply(batch).await.map_err(|e| IndexFailure::permanent(format!("{}: transform.sql: {e}", self.loaded.file)))?);
                }
                let input: HashSet<Uuid> = input_ids.iter().copied().collect();
                let mut result = Vec::new();
                for b in &out {
                    let (ds, errors) = batch_to_documents(b).map_err(|e| IndexFailure::permanent(format!("{}: transform.sql: {e}", self.loaded.file)))?;
                    for e in errors {
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
        // Records that failed this time keep their indexed version.
        let (failed, unidentified_failures) = failed_ids(source_id, &dead_letters);
        for dl in &dead_letters {
            tracing::warn!(source = source_id, location = %dl.location, error = %dl.error, "dead letter");
        }
        let admitted: HashSet<Uuid> = docs.iter().map(Document::doc_id).collect();

        // Deleted at the source, or filtered out by the transform.
        let mut delete_candidates = deleted;
        delete_candidates.extend(input_ids.iter().filter(|id| !admitted.contains(id) && !failed.contains(id)));

        let mut lookup: Vec<Uuid> = admitted.iter().copied().collect();
        lookup.extend(delete_candidates.iter().copied());
        let previous: HashMap<Uuid, DocState> = self
            .state
            .doc_states(pipeline, &lookup)
            .map_err(|e| IndexFailure { message: e.to_string(), transient: true })?
            .into_iter()
            .map(|s| (s.doc_id, s))
            .collect();
        let deletes: Vec<Uuid> = delete_candidates
            .iter()
            .copied()
            .filter(|id| !self.state_is_complete || previous.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();

        let (writes, states, stats) = self.plan_writes(source_id, docs, &previous, r)?;
        r.docs_added += stats.0;
        r.docs_updated += stats.1;
        r.docs_unchanged += stats.2;

        // Sink requests of at most `batch_records` documents; the caller
        // commits only after all of them were acknowledged.
        let mut groups: Vec<SinkBatch> = Vec::new();
        let mut writes = writes.into_iter().peekable();
        while writes.peek().is_some() {
            groups.push(SinkBatch { writes: writes.by_ref().take(self.batch_records().max(1)).collect(), deletes: Vec::new() });
        }
        if !deletes.is_empty() {
            groups.push(SinkBatch { writes: Vec::new(), deletes: deletes.clone() });
        }
        for batch in &groups {
            for (sink, rejected) in self.write_to_sinks(batch).await? {
                let external = batch.writes.iter().find(|w| w.doc_id == rejected.doc_id).map(|w| w.document.external_id.clone());
                tracing::warn!(sink, doc_id = %rejected.doc_id, reason = %rejected.reason, "sink rejected a document");
                dead_letters.push(DeadLetter { source: source_id.to_string(), location: format!("sink {sink}"), external_id: external, error: rejected.reason });
            }
            r.chunks_written += batch.writes.iter().map(|w| w.chunks.len() as u64).sum::<u64>();
        }
        r.docs_deleted += deletes.len() as u64;
        record_dead_letters(&dead_letters, r);
        Ok(Indexed { admitted, failed, delete_candidates, unidentified_failures, deletes, states, dead_letters })
    }

    /// Every sink must acknowledge; returns what each refused for good.
    async fn write_to_sinks(&self, batch: &SinkBatch) -> Result<Vec<(String, sluice_core::SinkRejection)>, IndexFailure> {
        // The sinks are independent stores: write them concurrently.
        let acks = futures::future::try_join_all(self.sinks.iter().map(|sink| {
            let span = tracing::info_span!("sink_write", sink = sink.name(), documents = batch.writes.len(), deletes = batch.deletes.len());
            apply_with_retry(sink.as_ref(), batch).instrument(span)
        }))
        .await?;
        let mut rejected = Vec::new();
        for (sink, ack) in self.sinks.iter().zip(acks) {
            tracing::debug!(sink = sink.name(), chunks = ack.chunks_written, deleted = ack.docs_deleted, rejected = ack.rejected.len(), "sink acknowledged");
            rejected.extend(ack.rejected.into_iter().map(|r| (sink.name().to_string(), r)));
        }
        Ok(rejected)
    }

    /// Commits what a worker indexed (no source cursor: Kafka offsets are
    /// the worker's position).
    pub fn commit_indexed(&self, source_id: &str, out: &Indexed) -> Result<(), String> {
        let commit = PageCommit { cursor: None, upserts: out.states.clone(), deletes: out.deletes.clone(), dead_letters: out.dead_letters.clone() };
        self.state.commit_page(self.name(), source_id, &commit).map_err(|e| e.to_string())
    }

    /// Forgets what this worker knew about indexed documents, so the next
    /// version of each is written in full. Needed when partitions move
    /// between workers: another worker may have changed them meanwhile.
    pub fn forget_indexed_documents(&self) -> Result<(), String> {
        self.state.forget_documents(self.name()).map(|_| ()).map_err(|e| e.to_string())
    }

    /// Decides what each changed document needs: which chunks to embed,
    /// which to rewrite with their stored vectors, how many to keep.
    fn plan_writes(
        &self,
        source_id: &str,
        docs: Vec<Document>,
        previous: &HashMap<Uuid, DocState>,
        r: &mut SourceReport,
    ) -> Result<(Vec<DocumentWrite>, Vec<DocState>, (u64, u64, u64)), IndexFailure> {
        let embedder = self.embedder.clone().ok_or_else(|| IndexFailure::permanent("this pipeline publishes to Kafka; it has no embedder"))?;
        let (mut added, mut updated, mut unchanged) = (0, 0, 0);
        let mut writes = Vec::new();
        let mut states = Vec::new();
        let mut to_embed: Vec<(usize, usize)> = Vec::new(); // (write index, chunk index)
        let counter = |t: &str| embedder.count_tokens(t);
        for d in docs {
            let id = d.doc_id();
            let hash = d.content_hash();
            let prev = previous.get(&id);
            if prev.is_some_and(|p| p.content_hash == hash) {
                unchanged += 1;
                continue;
            }
            if prev.is_some() { updated += 1 } else { added += 1 }
            let meta_hash = d.meta_hash();
            let pieces = self.chunker.chunk(&d.title, &d.body, &counter);
            let chunks: Vec<Chunk> =
                pieces.into_iter().enumerate().map(|(i, p)| Chunk::new(id, i as u32, p.text, p.tokens as u32)).collect();
            let meta_changed = prev.is_none_or(|p| p.meta_hash != meta_hash);
            let w_index = writes.len();
            let mut cw = Vec::new();
            for c in &chunks {
                let same_text = prev.and_then(|p| p.chunk_hashes.get(c.ordinal as usize)).is_some_and(|h| *h == c.content_hash);
                if same_text && !meta_changed {
                    continue;
                }
                if !same_text {
                    to_embed.push((w_index, cw.len()));
                }
                cw.push(ChunkWrite { chunk: c.clone(), vector: None });
            }
            states.push(DocState {
                doc_id: id,
                source: d.source.clone(),
                external_id: d.external_id.clone(),
                content_hash: hash,
                meta_hash,
                chunk_hashes: chunks.iter().map(|c| c.content_hash.clone()).collect(),
            });
            writes.push(DocumentWrite { doc_id: id, chunk_count: chunks.len() as u32, chunks: cw, document: Arc::new(d) });
        }
        if !to_embed.is_empty() {
            let started = Instant::now();
            let texts: Vec<&str> = to_embed.iter().map(|(w, c)| writes[*w].chunks[*c].chunk.text.as_str()).collect();
            let vectors = tracing::info_span!("embed", chunks = texts.len())
                .in_scope(|| block(|| embedder.embed(&texts)))
                .map_err(|e| IndexFailure::permanent(e.to_string()))?;
            let seconds = started.elapsed().as_secs_f64();
            r.embed_seconds += seconds;
            self.notify(ProgressEvent::EmbedBatch { source: source_id.to_string(), chunks: texts.len(), seconds });
            r.chunks_embedded += vectors.len() as u64;
            for ((w, c), v) in to_embed.iter().zip(vectors) {
                writes[*w].chunks[*c].vector = Some(v);
            }
        }
        Ok((writes, states, (added, updated, unchanged)))
    }

    async fn prune(&self, source_id: &str, seen: &HashSet<Uuid>, r: &mut SourceReport) -> Result<(), String> {
        let pipeline = self.name();
        let known = self.state.doc_ids_for_source(pipeline, source_id).map_err(|e| e.to_string())?;
        let gone: Vec<Uuid> = known.into_iter().map(|(id, _)| id).filter(|id| !seen.contains(id)).collect();
        if gone.is_empty() {
            return Ok(());
        }
        // Bounded batches keep sink requests and transactions small.
        for part in gone.chunks(1000) {
            match &self.publisher {
                Some(p) => {
                    let tombstones: Vec<(String, Uuid)> = part.iter().map(|id| (source_id.to_string(), *id)).collect();
                    publish_with_retry(p, &[], &tombstones, r).await?;
                }
                None => {
                    self.write_to_sinks(&SinkBatch { writes: Vec::new(), deletes: part.to_vec() }).await?;
                }
            }
            let commit = PageCommit { cursor: None, upserts: Vec::new(), deletes: part.to_vec(), dead_letters: Vec::new() };
            self.state.commit_page(pipeline, source_id, &commit).map_err(|e| e.to_string())?;
            r.docs_deleted += part.len() as u64;
        }
        Ok(())
    }

    /// Records per Arrow batch through the indexing stages.
    pub fn batch_records(&self) -> usize {
        self.loaded.spec.transport.batch_records()
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Runs CPU-bound work without stalling the async runtime's workers.
fn block<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Ids of the records that failed (dead letters), and whether any failed without an id.
fn failed_ids(source_id: &str, dead_letters: &[DeadLetter]) -> (HashSet<Uuid>, bool) {
    let mut failed = HashSet::new();
    let mut unidentified = false;
    for dl in dead_letters {
        match &dl.external_id {
            Some(ext) => {
                failed.insert(sluice_core::doc_id(source_id, ext));
            }
            None => unidentified = true,
        }
    }
    (failed, unidentified)
}

fn record_dead_letters(dead_letters: &[DeadLetter], r: &mut SourceReport) {
    r.dead_letter_count += dead_letters.len() as u64;
    for dl in dead_letters {
        if r.dead_letters.len() < DEAD_LETTERS_IN_REPORT {
            r.dead_letters.push(dl.clone());
        }
    }
}

const PUBLISH_ATTEMPTS: u32 = 3;

/// librdkafka already retries inside `message.timeout.ms`; this covers a
/// broker that stays away longer. Re-publishing records is harmless.
async fn publish_with_retry(p: &KafkaPublisher, docs: &[Document], deletes: &[(String, Uuid)], r: &mut SourceReport) -> Result<(), String> {
    let mut delay = Duration::from_secs(1);
    for attempt in 1..=PUBLISH_ATTEMPTS {
        let span = tracing::info_span!("kafka_publish", documents = docs.len(), tombstones = deletes.len());
        match p.publish(docs, deletes).instrument(span).await {
            Ok(ack) => {
                r.records_published += ack.records as u64;
                r.bytes_published += ack.bytes as u64;
                return Ok(());
            }
            Err(e) if e.transient && attempt < PUBLISH_ATTEMPTS => {
                tracing::warn!(attempt, error = %e, "publishing to Kafka failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
            Err(e) => return Err(format!("publishing to Kafka: {e}")),
        }
    }
    Err("publishing to Kafka kept failing".into())
}

async fn apply_with_retry(sink: &dyn Sink, batch: &SinkBatch) -> Result<sluice_core::SinkAck, IndexFailure> {
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=SINK_ATTEMPTS {
        match sink.apply(batch).await {
            Ok(ack) => return Ok(ack),
            Err(e) if e.transient && attempt < SINK_ATTEMPTS => {
                tracing::warn!(sink = sink.name(), attempt, error = %e, "transient sink error; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(IndexFailure { message: e.to_string(), transient: e.transient }),
        }
    }
    Err(IndexFailure { message: format!("sink `{}` kept failing", sink.name()), transient: true })
}
