//! Runs a pipeline: for each source, page by page, plan what changed, hand
//! it to the pipeline's destination (index in-process, or publish to a
//! transport), then commit the checkpoint with what was written.

use std::any::Any;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sluice_core::search::SearchBackend;
use sluice_core::{
    DeadLetter, Document, ListingScope, Publisher, Registry, Sink, SinkBatch, Source, SyncMode,
    TextEmbedder,
};
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
    /// The remote stores answer `related` (`Stores::links_in_stores`).
    links_in_stores: bool,
    /// The opened stores as their concrete types, for callers that know them.
    stores: Vec<Arc<dyn Any + Send + Sync>>,
    /// The state store is committed with every sink write (in-process), so
    /// a document it does not know is not in the sinks. A Kafka worker's is
    /// a cache: deletions go to the sinks whatever it says.
    pub(crate) state_is_complete: bool,
    /// Ids of the sources with `visibility: public`.
    public_sources: HashSet<String>,
    observer: Option<Observer>,
}

/// The Jira project keys the pipeline's Jira sources read, when they list
/// them: only those keys are references then.
fn link_settings(loaded: &LoadedPipeline) -> sluice_links::LinkSettings {
    let mut keys = std::collections::BTreeSet::new();
    let mut listed = false;
    for s in &loaded.spec.sources {
        if s.source_type != "jira" {
            continue;
        }
        match s.settings.get("projects").and_then(|p| p.as_array()) {
            Some(projects) if !projects.is_empty() => {
                listed = true;
                keys.extend(
                    projects
                        .iter()
                        .filter_map(|p| p.as_str())
                        .map(str::to_string),
                );
            }
            // A Jira source without a project list (JQL) reads any project.
            _ => return sluice_links::LinkSettings::default(),
        }
    }
    sluice_links::LinkSettings {
        jira_projects: listed.then_some(keys),
    }
}

fn public_sources(loaded: &LoadedPipeline) -> HashSet<String> {
    loaded
        .spec
        .sources
        .iter()
        .filter(|s| s.visibility == sluice_spec::Visibility::Public)
        .map(|s| s.id.clone())
        .collect()
}

impl Pipeline {
    /// Opens a pipeline for `sluice run` and the daemon: in-process it
    /// indexes into its stores; with a transport it publishes (no stores,
    /// no embedder needed: pass `None`).
    pub async fn open(
        reg: &Registry,
        loaded: LoadedPipeline,
        data_dir: &Path,
        embedder: Option<Arc<dyn TextEmbedder>>,
    ) -> Result<Pipeline, String> {
        let state = Arc::new(
            StateStore::open(&crate::state_path(data_dir)).map_err(|e| e.to_string())?,
        );
        Self::open_with_state(reg, loaded, data_dir, embedder, state).await
    }

    /// As [`Pipeline::open`], with a given state store: the daemon's
    /// replicas share one in PostgreSQL. A shared state refuses an embedded
    /// index (one writer, on one machine).
    pub async fn open_with_state(
        reg: &Registry,
        loaded: LoadedPipeline,
        data_dir: &Path,
        embedder: Option<Arc<dyn TextEmbedder>>,
        state: Arc<StateStore>,
    ) -> Result<Pipeline, String> {
        match crate::registry::open_publisher(reg, &loaded).await? {
            None => {
                let embedder = embedder.ok_or("an in-process pipeline needs an embedder")?;
                Self::open_indexer_at(reg, loaded, data_dir, state, embedder).await
            }
            Some(publisher) => Ok(Pipeline {
                public_sources: public_sources(&loaded),
                loaded,
                state,
                destination: Destination::Publish(publisher),
                search: None,
                links_in_stores: false,
                stores: Vec::new(),
                state_is_complete: true,
                observer: None,
            }),
        }
    }

    /// Opens the indexing side of a pipeline with a transport, for a worker:
    /// transform, chunking, embedding and the stores. Its state (what each
    /// indexed document's chunks were) is kept apart from the publisher's.
    pub async fn open_indexer(
        reg: &Registry,
        loaded: LoadedPipeline,
        data_dir: &Path,
        embedder: Arc<dyn TextEmbedder>,
    ) -> Result<Pipeline, String> {
        let state = Arc::new(
            StateStore::open(&crate::worker_state_path(data_dir)).map_err(|e| e.to_string())?,
        );
        let mut p = Self::open_indexer_at(reg, loaded, data_dir, state, embedder).await?;
        p.state_is_complete = false;
        Ok(p)
    }

    async fn open_indexer_at(
        reg: &Registry,
        loaded: LoadedPipeline,
        data_dir: &Path,
        state: Arc<StateStore>,
        embedder: Arc<dyn TextEmbedder>,
    ) -> Result<Pipeline, String> {
        let space = embedder.space();
        if !space.is_empty() {
            // Before spaces were recorded every index was built with the fp32 model.
            let legacy = match space.rsplit_once('/') {
                Some((model, _)) => format!("{model}/fp32"),
                None => space.clone(),
            };
            if let Some(old) = state
                .adopt_embedding_space(&loaded.spec.name, &space, &legacy)
                .map_err(|e| e.to_string())?
            {
                tracing::warn!(pipeline = %loaded.spec.name, from = %old, to = %space, "the embedding model changed: every source is re-read and every chunk re-embedded on this run");
            }
        }
        // What turns records into chunks; a change rewrites every document.
        let shape = serde_json::to_string(&(&loaded.spec.transform, &loaded.spec.chunking))
            .map_err(|e| e.to_string())?;
        let shape = sluice_core::content_hash(shape.as_bytes());
        if let Some(old) = state
            .adopt_document_shape(&loaded.spec.name, &shape)
            .map_err(|e| e.to_string())?
        {
            tracing::warn!(pipeline = %loaded.spec.name, from = %old, to = %shape, "the transform or chunking changed: every source is re-read and every document rewritten on this run");
        }
        let stores = crate::registry::open_stores(reg, &loaded, data_dir, embedder.dim(), true)?;
        if let (true, Some(place)) = (state.is_shared(), &stores.local_index) {
            return Err(format!(
                "{place}: the embedded index has one writer on one machine, so replicas sharing the state (--shared-state) cannot index into it; use Qdrant and Elasticsearch stores, or run one daemon without --shared-state"
            ));
        }
        let transform = match &loaded.spec.transform {
            Some(t) => Some(
                SqlTransform::new(&t.sql)
                    .await
                    .map_err(|e| format!("{}: transform.sql: {e}", loaded.file))?,
            ),
            None => None,
        };
        let chunker = Chunker::new(&loaded.spec.chunking);
        let indexer = Indexer {
            sinks: stores.sinks,
            embedder,
            transform,
            chunker,
            links: link_settings(&loaded),
        };
        Ok(Pipeline {
            public_sources: public_sources(&loaded),
            loaded,
            state,
            destination: Destination::Index(indexer),
            search: stores.search,
            links_in_stores: stores.links_in_stores,
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
        self.stores
            .iter()
            .find_map(|s| s.clone().downcast::<T>().ok())
    }

    /// What the search API reads for this pipeline: hybrid over the remote
    /// stores when it writes them (their links answer `related`), else its
    /// embedded index with the state store's graph.
    pub fn search_backend(&self) -> Option<Arc<dyn SearchBackend>> {
        let search = self.search.clone()?;
        if self.links_in_stores {
            return Some(search);
        }
        Some(crate::related::LinkedBackend::new(
            search,
            self.state.clone(),
            Some(self.name().to_string()),
        ))
    }

    /// The search backend without the link graph.
    pub fn plain_search_backend(&self) -> Option<Arc<dyn SearchBackend>> {
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
            public_sources: &self.public_sources,
            observer: self.observer.as_deref(),
        }
    }

    /// Transform → chunk → embed (what changed) → every sink, for one
    /// source's documents and deletions (a worker's consumed records). The
    /// caller commits `states`, `deletes` and `dead_letters` afterwards.
    pub async fn index_documents(
        &self,
        source_id: &str,
        documents: Vec<Document>,
        deleted: Vec<Uuid>,
        dead_letters: Vec<DeadLetter>,
        r: &mut SourceReport,
    ) -> Result<Indexed, IndexFailure> {
        let indexer = self.indexer().ok_or_else(|| {
            IndexFailure::permanent("this pipeline publishes to a transport; it does not index")
        })?;
        indexer
            .index_documents(
                &self.page_context(),
                source_id,
                documents,
                deleted,
                dead_letters,
                r,
            )
            .await
    }

    /// Commits what a worker indexed (no source cursor: Kafka offsets are
    /// the worker's position).
    pub fn commit_indexed(&self, source_id: &str, out: &Indexed) -> Result<(), String> {
        let commit = out.commit(None);
        self.state
            .commit_page(self.name(), source_id, &commit)
            .map_err(|e| e.to_string())
    }

    /// Forgets what this worker knew about indexed documents, so the next
    /// version of each is written in full. Needed when partitions move
    /// between workers: another worker may have changed them meanwhile.
    pub fn forget_indexed_documents(&self) -> Result<(), String> {
        self.state
            .forget_documents(self.name())
            .map(|_| ())
            .map_err(|e| e.to_string())
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
        RunReport {
            pipeline: self.name().to_string(),
            sources: reports,
            seconds: start.elapsed().as_secs_f64(),
        }
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

    async fn sync_source(
        &self,
        src: &mut dyn Source,
        opts: &RunOptions,
        r: &mut SourceReport,
    ) -> Result<(), String> {
        let pipeline = self.name().to_string();
        let id = src.id().to_string();
        let has_checkpoint = self
            .state
            .has_checkpoint(&pipeline, &id)
            .map_err(|e| e.to_string())?;
        let cursor = self
            .state
            .checkpoint(&pipeline, &id)
            .map_err(|e| e.to_string())?;
        if opts.retry_dead_letters {
            r.mode = "retry".into();
            return self.retry_dead_letters(src, r).await;
        }
        if opts.permissions {
            r.mode = "permissions".into();
            if !has_checkpoint {
                tracing::info!(source = %id, "permission pass: the source has never synced; nothing to update");
                return Ok(());
            }
            return self.sync_permissions(src, cursor.as_deref(), r).await;
        }
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
            SyncMode::Permissions => "permissions".into(),
        };
        self.notify(ProgressEvent::SourceStarted {
            source: id.clone(),
            mode,
        });
        let scope = src
            .open(mode, cursor.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        let mut seen: HashSet<Uuid> = HashSet::new();
        // A record that failed without an id might be a live document: if
        // any did, pruning could delete it, so the prune is skipped.
        let mut unidentified_failures = false;
        let mut expected_total: Option<u64> = None;
        // Records that failed before (a sink refused them, the embedder
        // failed) and that the source now lists live without content (a
        // files source's unchanged file) are read again after the listing,
        // so the next run still retries a failure.
        let failed: HashSet<String> = match mode {
            SyncMode::Incremental => self
                .state
                .dead_letter_entries(&pipeline, Some(&id), Some("failed"), 10_000)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter_map(|e| e.letter.external_id)
                .collect(),
            _ => HashSet::new(),
        };
        let mut retry: Vec<String> = Vec::new();
        loop {
            let page = match src.next_page().await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            };
            if !failed.is_empty() {
                retry.extend(
                    page.live_ids
                        .iter()
                        .filter(|e| failed.contains(e.as_str()))
                        .cloned(),
                );
            }
            r.pages += 1;
            expected_total = page.expected_total.or(expected_total);
            let embedded_before = r.chunks_embedded;
            let docs_before = r.docs_seen;
            let span = tracing::info_span!(
                "batch",
                page = r.pages,
                records = page.documents.len(),
                deleted = page.deleted.len()
            );
            self.process_page(&id, page, &mut seen, &mut unidentified_failures, r)
                .instrument(span)
                .await?;
            self.notify(ProgressEvent::PageCommitted {
                source: id.clone(),
                docs: r.docs_seen - docs_before,
                chunks_embedded: r.chunks_embedded - embedded_before,
                expected_total,
            });
        }
        if !retry.is_empty() {
            if let Some(mut page) = src.fetch(&retry).await.map_err(|e| e.to_string())? {
                page.cursor = None;
                // The listing said these live; only the prune decides deletions.
                page.deleted.clear();
                // Counted as seen and unchanged when listed live.
                let again = page.documents.len() as u64;
                r.docs_seen = r.docs_seen.saturating_sub(again);
                r.docs_unchanged = r.docs_unchanged.saturating_sub(again);
                r.pages += 1;
                self.process_page(&id, page, &mut seen, &mut unidentified_failures, r)
                    .await?;
            }
        }
        if scope == ListingScope::Complete {
            if unidentified_failures {
                tracing::warn!(source = %id, "skipping the prune of deleted records: some records failed without an id (see dead letters)");
            } else {
                self.prune(&id, &seen, opts.allow_mass_delete, r).await?;
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
        let live: Vec<Uuid> = page
            .live_ids
            .iter()
            .map(|ext| sluice_core::doc_id(source_id, ext))
            .collect();
        // Records listed live without content (a prune pass, a file the
        // files source knows unchanged) are seen and unchanged.
        r.docs_seen += live.len() as u64;
        r.docs_unchanged += live.len() as u64;
        let deleted: Vec<Uuid> = page
            .deleted
            .iter()
            .map(|ext| sluice_core::doc_id(source_id, ext))
            .collect();
        let out = match &self.destination {
            Destination::Publish(p) => {
                publish::publish_documents(
                    &self.page_context(),
                    p.as_ref(),
                    source_id,
                    page.documents,
                    deleted,
                    page.dead_letters,
                    r,
                )
                .await?
            }
            Destination::Index(i) => {
                i.index_documents(
                    &self.page_context(),
                    source_id,
                    page.documents,
                    deleted,
                    page.dead_letters,
                    r,
                )
                .await?
            }
        };
        seen.extend(live);
        seen.extend(out.admitted.iter().copied());
        seen.extend(out.failed.iter().copied());
        for id in &out.delete_candidates {
            seen.remove(id);
        }
        *unidentified_failures |= out.unidentified_failures;
        sluice_core::failpoint::hit("engine.after_sink_write_before_checkpoint");
        let commit = out.commit(page.cursor.as_deref());
        self.state
            .commit_page(self.name(), source_id, &commit)
            .map_err(|e| e.to_string())
    }

    /// The permission sync pass for one source: list every record's access
    /// and set what changed in place in every store, then in the state. No
    /// content is read where the source can list access alone, nothing is
    /// embedded, and the checkpoint does not move. A record whose access is
    /// now unknown or too deep is removed, as a content sync would.
    async fn sync_permissions(
        &self,
        src: &mut dyn Source,
        cursor: Option<&str>,
        r: &mut SourceReport,
    ) -> Result<(), String> {
        let id = src.id().to_string();
        let indexer = match &self.destination {
            Destination::Index(i) => i,
            Destination::Publish(_) => {
                return Err("the permission pass needs the stores in this process; a pipeline with a Kafka transport carries access changes with its content syncs (run `sluice run --full` to refresh them)".into());
            }
        };
        if self.public_sources.contains(&id) {
            return Ok(());
        }
        // With a transform the stored access may be the SQL's, computed
        // from content this pass does not read; the source's new access is
        // then intersected with it (revocations apply now, grants with the
        // next full sync), never written over it.
        let narrow_only = indexer.transform.is_some();
        self.notify(ProgressEvent::SourceStarted {
            source: id.clone(),
            mode: SyncMode::Permissions,
        });
        let scope = src
            .open(SyncMode::Permissions, cursor)
            .await
            .map_err(|e| e.to_string())?;
        let pipeline = self.name().to_string();
        // Every record the listing mentioned; with a complete listing, an
        // indexed record it did not mention is quarantined.
        let mut mentioned: HashSet<Uuid> = HashSet::new();
        // The source's indexed ids, read once when a page lists access by
        // container (`prefix_access`).
        let mut indexed: Option<Vec<(Uuid, String)>> = None;
        loop {
            let page = match src.next_page().await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            };
            r.pages += 1;
            // Gone, or no longer visible to the connector's account, or
            // unreadable: whatever access it had may be wrong now.
            let mut unknown: Vec<Uuid> = page
                .deleted
                .iter()
                .map(|ext| sluice_core::doc_id(&id, ext))
                .collect();
            unknown.extend(
                page.dead_letters
                    .iter()
                    .filter_map(|d| d.external_id.as_deref())
                    .map(|ext| sluice_core::doc_id(&id, ext)),
            );
            mentioned.extend(unknown.iter().copied());
            self.quarantine(indexer, &id, &unknown, r).await?;
            // Sources that treat the pass as a full listing send documents.
            let mut listed: Vec<(String, Option<sluice_core::DocAccess>)> = page
                .access
                .into_iter()
                .map(|(ext, a)| (ext, Some(a)))
                .collect();
            listed.extend(
                page.documents
                    .into_iter()
                    .map(|d| (d.external_id, d.access)),
            );
            if !page.prefix_access.is_empty() {
                if indexed.is_none() {
                    indexed = Some(
                        self.state
                            .doc_ids_for_source(&pipeline, &id)
                            .map_err(|e| e.to_string())?,
                    );
                }
                listed.extend(expand_prefix_access(
                    indexed.as_deref().unwrap_or_default(),
                    &page.prefix_access,
                ));
            }
            r.docs_seen += listed.len() as u64;
            let ids: Vec<Uuid> = listed
                .iter()
                .map(|(ext, _)| sluice_core::doc_id(&id, ext))
                .collect();
            mentioned.extend(ids.iter().copied());
            let known: std::collections::HashMap<Uuid, sluice_state::DocState> = self
                .state
                .doc_states(&pipeline, &ids)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|s| (s.doc_id, s))
                .collect();
            let mut updates = Vec::new();
            let mut removed = Vec::new();
            let mut dead_letters = Vec::new();
            for ((ext, access), doc_id) in listed.into_iter().zip(ids) {
                // Not indexed yet: the next content sync adds it with its access.
                let Some(st) = known.get(&doc_id) else {
                    continue;
                };
                let problem = match &access {
                    None => Some("the record's access is now unknown; it is removed until a sync can read it".to_string()),
                    Some(a) => a.validate().err(),
                };
                if let Some(error) = problem {
                    removed.push(doc_id);
                    dead_letters.push(DeadLetter {
                        source: id.clone(),
                        location: "permission pass".into(),
                        external_id: Some(ext),
                        error,
                    });
                    continue;
                }
                let Some(source_access) = access else {
                    continue;
                };
                let source_json =
                    serde_json::to_string(&source_access).map_err(|e| e.to_string())?;
                if source_json == st.source_access {
                    continue;
                }
                let access = if narrow_only {
                    match serde_json::from_str::<sluice_core::DocAccess>(&st.access) {
                        Ok(stored) => intersect(&stored, &source_access),
                        // Stored access unknown: nothing to narrow from safely.
                        Err(_) => {
                            removed.push(doc_id);
                            dead_letters.push(DeadLetter {
                                source: id.clone(),
                                location: "permission pass".into(),
                                external_id: Some(ext),
                                error:
                                    "the stored access is unknown; removed until the next full sync"
                                        .into(),
                            });
                            continue;
                        }
                    }
                } else {
                    source_access
                };
                if let Err(error) = access.validate() {
                    removed.push(doc_id);
                    dead_letters.push(DeadLetter {
                        source: id.clone(),
                        location: "permission pass".into(),
                        external_id: Some(ext),
                        error: format!("{error}; removed until the next full sync"),
                    });
                    continue;
                }
                let json = serde_json::to_string(&access).map_err(|e| e.to_string())?;
                if json == st.access {
                    // Only what the source says changed: record it.
                    self.state
                        .set_access(&pipeline, &[(doc_id, json, source_json)])
                        .map_err(|e| e.to_string())?;
                    continue;
                }
                let chunk_ids = (0..st.chunk_hashes.len() as u32)
                    .map(|o| sluice_core::chunk_id(&doc_id, o))
                    .collect();
                updates.push((
                    sluice_core::AccessUpdate {
                        doc_id,
                        chunk_ids,
                        access,
                    },
                    json,
                    source_json,
                ));
            }
            for part in updates.chunks(self.batch_records().max(1)) {
                let batch: Vec<sluice_core::AccessUpdate> =
                    part.iter().map(|(u, _, _)| u.clone()).collect();
                // Only while this replica still holds the job (shared state).
                self.state.check_fence(&pipeline, &id).map_err(|e| e.to_string())?;
                indexer.update_access(&batch).await?;
                let recorded: Vec<(Uuid, String, String)> = part
                    .iter()
                    .map(|(u, j, s)| (u.doc_id, j.clone(), s.clone()))
                    .collect();
                self.state
                    .set_access(&pipeline, &recorded)
                    .map_err(|e| e.to_string())?;
                r.access_updated += part.len() as u64;
            }
            if !removed.is_empty() {
                indexer
                    .write_to_sinks(&SinkBatch {
                        writes: Vec::new(),
                        deletes: removed.clone(),
                    })
                    .await?;
                crate::report::record_dead_letters(&dead_letters, r);
                let commit = PageCommit {
                    deletes: removed.clone(),
                    dead_letters,
                    ..Default::default()
                };
                self.state
                    .commit_page(&pipeline, &id, &commit)
                    .map_err(|e| e.to_string())?;
                r.docs_deleted += removed.len() as u64;
            }
        }
        if scope == ListingScope::Complete {
            let known = self
                .state
                .doc_ids_for_source(&pipeline, &id)
                .map_err(|e| e.to_string())?;
            let unlisted: Vec<Uuid> = known
                .into_iter()
                .map(|(d, _)| d)
                .filter(|d| !mentioned.contains(d))
                .collect();
            self.quarantine(indexer, &id, &unlisted, r).await?;
        }
        Ok(())
    }

    /// Re-reads the source's dead-lettered records by id and indexes what
    /// comes back: a record that now converts is indexed and leaves the
    /// record; one failing again stays with its attempts counted; one gone
    /// at the source is deleted. Entries without an id cannot be fetched
    /// (a full run re-reads them).
    async fn retry_dead_letters(
        &self,
        src: &mut dyn Source,
        r: &mut SourceReport,
    ) -> Result<(), String> {
        let pipeline = self.name().to_string();
        let id = src.id().to_string();
        let entries = self
            .state
            .dead_letter_entries(
                &pipeline,
                Some(&id),
                Some("failed"),
                sluice_state::MAX_DEAD_LETTERS as usize,
            )
            .map_err(|e| e.to_string())?;
        let mut ids: Vec<String> = entries
            .iter()
            .filter_map(|e| e.letter.external_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        let without_id = entries
            .iter()
            .filter(|e| e.letter.external_id.is_none())
            .count();
        if without_id > 0 {
            tracing::warn!(source = %id, entries = without_id, "dead letters without a record id cannot be fetched; `sluice run --full` re-reads them");
        }
        if ids.is_empty() {
            return Ok(());
        }
        self.notify(ProgressEvent::SourceStarted {
            source: id.clone(),
            mode: SyncMode::Full,
        });
        let Some(mut page) = src.fetch(&ids).await.map_err(|e| e.to_string())? else {
            return Err(format!(
                "this source cannot re-read single records, so its {} dead-lettered record(s) stay; `sluice run --full --source {id}` re-reads them",
                ids.len()
            ));
        };
        r.pages += 1;
        page.cursor = None;
        let gone = page.deleted.clone();
        let mut seen = HashSet::new();
        let mut unidentified = false;
        self.process_page(&id, page, &mut seen, &mut unidentified, r)
            .await?;
        // Gone records never indexed have no document row to settle by.
        self.state
            .settle_dead_letters(&pipeline, &id, &gone)
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Hides these indexed documents from every caller, in place, until a
    /// content sync reads them again (it rewrites them with their access) or
    /// a prune removes them: their access is unknown now, and the old one
    /// may be broader than the source's. Reversible, and nothing is
    /// deleted, so it is safe where a deletion would need the guard.
    async fn quarantine(
        &self,
        indexer: &crate::index::Indexer,
        source_id: &str,
        ids: &[Uuid],
        r: &mut SourceReport,
    ) -> Result<(), String> {
        if ids.is_empty() {
            return Ok(());
        }
        let pipeline = self.name();
        let hidden = sluice_core::DocAccess::any_of([sluice_core::access::QUARANTINE]);
        let hidden_json = serde_json::to_string(&hidden).map_err(|e| e.to_string())?;
        let states = self
            .state
            .doc_states(pipeline, ids)
            .map_err(|e| e.to_string())?;
        let todo: Vec<sluice_state::DocState> = states
            .into_iter()
            .filter(|s| s.access != hidden_json)
            .collect();
        for part in todo.chunks(self.batch_records().max(1)) {
            let updates: Vec<sluice_core::AccessUpdate> = part
                .iter()
                .map(|s| sluice_core::AccessUpdate {
                    doc_id: s.doc_id,
                    chunk_ids: (0..s.chunk_hashes.len() as u32)
                        .map(|o| sluice_core::chunk_id(&s.doc_id, o))
                        .collect(),
                    access: hidden.clone(),
                })
                .collect();
            self.state
                .check_fence(pipeline, source_id)
                .map_err(|e| e.to_string())?;
            indexer.update_access(&updates).await?;
            let recorded: Vec<(Uuid, String, String)> = part
                .iter()
                .map(|s| (s.doc_id, hidden_json.clone(), String::new()))
                .collect();
            self.state
                .set_access(pipeline, &recorded)
                .map_err(|e| e.to_string())?;
            r.access_updated += part.len() as u64;
            tracing::warn!(
                source = source_id,
                documents = part.len(),
                "quarantined: hidden from every caller until a sync reads them again"
            );
        }
        Ok(())
    }

    async fn prune(
        &self,
        source_id: &str,
        seen: &HashSet<Uuid>,
        allow_mass_delete: bool,
        r: &mut SourceReport,
    ) -> Result<(), String> {
        let pipeline = self.name();
        let known = self
            .state
            .doc_ids_for_source(pipeline, source_id)
            .map_err(|e| e.to_string())?;
        let total = known.len();
        let gone: Vec<Uuid> = known
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| !seen.contains(id))
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        let guard = &self.loaded.spec.prune;
        if let Some(why) = mass_delete(gone.len(), total, seen.is_empty(), guard) {
            if allow_mass_delete || guard.allow_mass_delete {
                tracing::warn!(
                    source = source_id,
                    deleting = gone.len(),
                    of = total,
                    "{why}; allowed by allow_mass_delete"
                );
            } else {
                // Not deleted, but not served either: the listing says they
                // are gone or no longer visible to the connector.
                if let Destination::Index(indexer) = &self.destination {
                    self.quarantine(indexer, source_id, &gone, r).await?;
                }
                return Err(format!(
                    "{}: source `{source_id}`: the prune would delete {} of its {total} indexed documents ({why}); nothing was deleted, and they are hidden from search until a sync lists them again. \
                     If the source really lost them, run `sluice run --allow-mass-delete` once (or set `prune.allow_mass_delete: true`)",
                    self.loaded.file,
                    gone.len()
                ));
            }
        }
        // Bounded batches keep sink requests and transactions small.
        for part in gone.chunks(1000) {
            match &self.destination {
                Destination::Publish(p) => {
                    publish::publish_tombstones(p.as_ref(), source_id, part, r).await?
                }
                Destination::Index(indexer) => {
                    indexer
                        .write_to_sinks(&SinkBatch {
                            writes: Vec::new(),
                            deletes: part.to_vec(),
                        })
                        .await?;
                }
            }
            sluice_core::failpoint::hit("engine.mid_prune");
            let commit = PageCommit {
                deletes: part.to_vec(),
                ..Default::default()
            };
            self.state
                .commit_page(pipeline, source_id, &commit)
                .map_err(|e| e.to_string())?;
            r.docs_deleted += part.len() as u64;
        }
        Ok(())
    }

    /// Records per Arrow batch through the indexing stages.
    pub fn batch_records(&self) -> usize {
        self.loaded.spec.transport.batch_records()
    }
}

/// Readable only by who may read both: every set of each (public adds none).
/// Each indexed record under one or more listed prefixes, with the access
/// of all of them (a record under two containers needs both).
fn expand_prefix_access(
    indexed: &[(Uuid, String)],
    prefixes: &[(String, sluice_core::DocAccess)],
) -> Vec<(String, Option<sluice_core::DocAccess>)> {
    indexed
        .iter()
        .filter_map(|(_, ext)| {
            let access = prefixes
                .iter()
                .filter(|(p, _)| ext.starts_with(p.as_str()))
                .map(|(_, a)| a)
                .fold(None, |acc: Option<sluice_core::DocAccess>, a| {
                    Some(match acc {
                        None => a.clone(),
                        Some(x) => intersect(&x, a),
                    })
                })?;
            Some((ext.clone(), Some(access)))
        })
        .collect()
}

fn intersect(a: &sluice_core::DocAccess, b: &sluice_core::DocAccess) -> sluice_core::DocAccess {
    use sluice_core::DocAccess;
    match (a, b) {
        (DocAccess::Public, x) | (x, DocAccess::Public) => x.clone(),
        (DocAccess::AllOf(_), DocAccess::AllOf(sets)) => sets
            .iter()
            .fold(a.clone(), |acc, set| acc.and(set.iter().cloned())),
    }
}

/// Why a prune of `gone` of `total` documents needs an explicit go-ahead,
/// or `None` when it may proceed.
pub(crate) fn mass_delete(
    gone: usize,
    total: usize,
    listing_empty: bool,
    guard: &sluice_spec::PruneSpec,
) -> Option<String> {
    if listing_empty {
        return Some("the listing came back empty".into());
    }
    let share = 100.0 * gone as f64 / total.max(1) as f64;
    (gone > guard.min_guarded_deletes && share > guard.max_delete_percent).then(|| {
        format!(
            "{share:.0} % is more than prune.max_delete_percent = {} %",
            guard.max_delete_percent
        )
    })
}

#[cfg(test)]
mod guard_tests {
    use super::mass_delete;

    #[test]
    fn intersection_never_widens() {
        use sluice_core::DocAccess;
        let eng = DocAccess::any_of(["group:eng"]);
        let hr = DocAccess::any_of(["group:hr"]);
        assert_eq!(super::intersect(&DocAccess::Public, &hr), hr);
        assert_eq!(super::intersect(&eng, &DocAccess::Public), eng);
        assert_eq!(super::intersect(&eng, &hr), eng.and(["group:hr"]));
        assert_eq!(super::intersect(&eng, &eng), eng, "no duplicate sets");
    }

    #[test]
    fn container_access_reaches_exactly_the_records_under_it() {
        use sluice_core::DocAccess;
        let id = |s: &str| {
            (
                uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, s.as_bytes()),
                s.to_string(),
            )
        };
        let indexed = vec![
            id("day:C1:2025-01-01"),
            id("thread:C1:17.5"),
            id("day:C10:2025-01-01"),
            id("day:C2:2025-01-01"),
        ];
        let c1 = DocAccess::any_of(["slack:s:user:U1"]);
        let wide = DocAccess::any_of(["slack:s:workspace"]);
        let listed = super::expand_prefix_access(
            &indexed,
            &[
                ("day:C1:".into(), c1.clone()),
                ("thread:C1:".into(), c1.clone()),
                ("day:".into(), wide.clone()),
            ],
        );
        let got: std::collections::BTreeMap<String, Option<DocAccess>> =
            listed.into_iter().collect();
        assert_eq!(
            got.get("day:C1:2025-01-01"),
            Some(&Some(c1.and(["slack:s:workspace"]))),
            "under two prefixes: both apply"
        );
        assert_eq!(got.get("thread:C1:17.5"), Some(&Some(c1.clone())));
        assert_eq!(
            got.get("day:C10:2025-01-01"),
            Some(&Some(wide.clone())),
            "C1's prefix ends at its colon; C10 is another channel"
        );
        assert_eq!(got.len(), 4);
        assert!(
            super::expand_prefix_access(&indexed, &[("thread:C9:".into(), c1)]).is_empty(),
            "a container with nothing indexed lists nothing"
        );
    }

    #[test]
    fn the_guard_stops_large_shares_and_empty_listings_only() {
        let g = sluice_spec::PruneSpec::default();
        assert_eq!(
            mass_delete(3, 4, false, &g),
            None,
            "a few records of a small source"
        );
        assert_eq!(mass_delete(20, 100, false, &g), None, "exactly 20 %");
        assert!(mass_delete(21, 100, false, &g).unwrap().contains("21 %"));
        assert!(
            mass_delete(1, 1, true, &g).unwrap().contains("empty"),
            "an empty listing at any size"
        );
        let loose = sluice_spec::PruneSpec {
            max_delete_percent: 50.0,
            ..Default::default()
        };
        assert_eq!(mass_delete(40, 100, false, &loose), None);
    }
}
