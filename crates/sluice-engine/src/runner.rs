//! Runs a pipeline: for each source, page by page, plan what changed, hand
//! it to the pipeline's destination (index in-process, or publish to a
//! transport), then commit the checkpoint with what was written.

use std::any::Any;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sluice_core::search::SearchBackend;
use sluice_core::{DeadLetter, Document, ListingScope, Publisher, Registry, Sink, SinkBatch, Source, SyncMode, TextEmbedder};
use sluice_spec::LoadedPipeline;
use sluice_state::{PageCommit, RunRecord, StateStore};
use tracing::Instrument;
use uuid::Uuid;

use crate::chunker::Chunker;
use crate::index::{IndexFailure, Indexed, Indexer};
use crate::plan::PageContext;
use crate::publish;
use crate::report::{ProgressEvent, RunOptions, RunReport, SourceReport, SourceStatus};
use crate::transform::SqlTransform;

type Observer = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Where a pipeline's pages go.
pub(crate) enum Destination {
    /// Transform, chunk, embed and write to the stores, here.
    Index(Indexer),
    /// Publish to the transport; workers index (`sluice worker`).
    Publish(Arc<dyn Publisher>),
}

/// A pipeline ready to run: sources are built per run; state, stores,
/// transform and embedder live as long as the pipeline.
///
/// With a transport (`transport: kafka`) a pipeline opened with
/// [`Pipeline::open`] publishes documents instead of indexing them; the
/// workers' pipelines ([`Pipeline::open_indexer`]) index what they consume.
pub struct Pipeline {
    pub(crate) loaded: LoadedPipeline,
    pub(crate) state: Arc<StateStore>,
    pub(crate) destination: Destination,
    /// What search reads: the stores' legs fused, or the embedded index.
    search: Option<Arc<dyn SearchBackend>>,
    /// The opened stores as their concrete types, for callers that know them.
    stores: Vec<Arc<dyn Any + Send + Sync>>,
    /// The state store is committed with every sink write (in-process), so
    /// a document it does not know is not in the sinks. A Kafka worker's is
    /// a cache: deletions go to the sinks whatever it says.
    pub(crate) state_is_complete: bool,
    observer: Option<Observer>,
}

impl Pipeline {
    /// Opens a pipeline for `sluice run` and the daemon: in-process it
    /// indexes into its stores; with a transport it publishes (no stores,
    /// no embedder needed: pass `None`).
    pub async fn open(reg: &Registry, loaded: LoadedPipeline, data_dir: &Path, embedder: Option<Arc<dyn TextEmbedder>>) -> Result<Pipeline, String> {
        match crate::registry::open_publisher(reg, &loaded).await? {
            None => {
                let embedder = embedder.ok_or("an in-process pipeline needs an embedder")?;
                Self::open_indexer_at(reg, loaded, data_dir, &crate::state_path(data_dir), embedder).await
            }
            Some(publisher) => {
                let state = Arc::new(StateStore::open(&crate::state_path(data_dir)).map_err(|e| e.to_string())?);
                Ok(Pipeline { loaded, state, destination: Destination::Publish(publisher), search: None, stores: Vec::new(), state_is_complete: true, observer: None })
            }
        }
    }

    /// Opens the indexing side of a pipeline with a transport, for a worker:
    /// transform, chunking, embedding and the stores. Its state (what each
    /// indexed document's chunks were) is kept apart from the publisher's.
    pub async fn open_indexer(reg: &Registry, loaded: LoadedPipeline, data_dir: &Path, embedder: Arc<dyn TextEmbedder>) -> Result<Pipeline, String> {
        let mut p = Self::open_indexer_at(reg, loaded, data_dir, &crate::worker_state_path(data_dir), embedder).await?;
        p.state_is_complete = false;
        Ok(p)
    }

    async fn open_indexer_at(reg: &Registry, loaded: LoadedPipeline, data_dir: &Path, state_path: &Path, embedder: Arc<dyn TextEmbedder>) -> Result<Pipeline, String> {
        let state = Arc::new(StateStore::open(state_path).map_err(|e| e.to_string())?);
        let stores = crate::registry::open_stores(reg, &loaded, data_dir, embedder.dim(), true)?;
        let transform = match &loaded.spec.transform {
            Some(t) => Some(SqlTransform::new(&t.sql).await.map_err(|e| format!("{}: transform.sql: {e}", loaded.file))?),
            None => None,
        };
        let chunker = Chunker::new(&loaded.spec.chunking);
        let indexer = Indexer { sinks: stores.sinks, embedder, transform, chunker };
        Ok(Pipeline {
            loaded,
            state,
            destination: Destination::Index(indexer),
            search: stores.search,
            stores: stores.handles,
            state_is_complete: true,
            observer: None,
        })
    }

    /// Adds a sink beyond those in the pipeline file (embedding Sluice in
    /// another program, tests). A publishing pipeline has no sinks.
    pub fn with_sink(mut self, sink: Arc<dyn Sink>) -> Self {
        if let Destination::Index(i) = &mut self.destination {
            i.sinks.push(sink);
        }
        self
    }

    /// Replaces the pipeline file's sinks (several in-process workers
    /// sharing one store, embedding Sluice in another program).
    pub fn with_only_sinks(mut self, sinks: Vec<Arc<dyn Sink>>) -> Self {
        if let Destination::Index(i) = &mut self.destination {
            i.sinks = sinks;
        }
        self.stores.clear();
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

    /// True when this pipeline publishes to a transport instead of indexing.
    pub fn publishes(&self) -> bool {
        matches!(self.destination, Destination::Publish(_))
    }

    pub(crate) fn indexer(&self) -> Option<&Indexer> {
        match &self.destination {
            Destination::Index(i) => Some(i),
            Destination::Publish(_) => None,
        }
    }

    pub fn state(&self) -> &Arc<StateStore> {
        &self.state
    }

    /// The first opened store of type `T` (e.g. the embedded index), for
    /// callers that know the concrete store.
    pub fn store<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.stores.iter().find_map(|s| s.clone().downcast::<T>().ok())
    }

    /// What the search API reads for this pipeline: hybrid over the remote
    /// stores when it writes them, else its embedded index.
    pub fn search_backend(&self) -> Option<Arc<dyn SearchBackend>> {
        self.search.clone()
    }

    fn notify(&self, e: ProgressEvent) {
        if let Some(o) = &self.observer {
            o(&e);
        }
    }

    fn page_context(&self) -> PageContext<'_> {
        PageContext {
            pipeline: self.name(),
            file: &self.loaded.file,
            state: &self.state,
            state_is_complete: self.state_is_complete,
            batch_records: self.batch_records(),
            max_document_chars: self.loaded.spec.chunking.max_document_chars,
            observer: self.observer.as_deref(),
        }
    }

    /// Transform → chunk → embed (what changed) → every sink, for one
    /// source's documents and deletions (a worker's consumed records). The
    /// caller commits `states`, `deletes` and `dead_letters` afterwards.
    pub async fn index_documents(&self, source_id: &str, documents: Vec<Document>, deleted: Vec<Uuid>, dead_letters: Vec<DeadLetter>, r: &mut SourceReport) -> Result<Indexed, IndexFailure> {
        let indexer = self.indexer().ok_or_else(|| IndexFailure::permanent("this pipeline publishes to a transport; it does not index"))?;
        indexer.index_documents(&self.page_context(), source_id, documents, deleted, dead_letters, r).await
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
        let out = match &self.destination {
            Destination::Publish(p) => publish::publish_documents(&self.page_context(), p.as_ref(), source_id, page.documents, deleted, page.dead_letters, r).await?,
            Destination::Index(i) => i.index_documents(&self.page_context(), source_id, page.documents, deleted, page.dead_letters, r).await?,
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

    async fn prune(&self, source_id: &str, seen: &HashSet<Uuid>, r: &mut SourceReport) -> Result<(), String> {
        let pipeline = self.name();
        let known = self.state.doc_ids_for_source(pipeline, source_id).map_err(|e| e.to_string())?;
        let gone: Vec<Uuid> = known.into_iter().map(|(id, _)| id).filter(|id| !seen.contains(id)).collect();
        if gone.is_empty() {
            return Ok(());
        }
        // Bounded batches keep sink requests and transactions small.
        for part in gone.chunks(1000) {
            match &self.destination {
                Destination::Publish(p) => publish::publish_tombstones(p.as_ref(), source_id, part, r).await?,
                Destination::Index(indexer) => {
                    indexer.write_to_sinks(&SinkBatch { writes: Vec::new(), deletes: part.to_vec() }).await?;
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
