//! The daemon: loads every pipeline in a directory, runs each source on its
//! schedule, reloads changed files (a rejected file keeps the previous
//! version running), serves pipeline status and manual syncs, and shuts
//! down within a bounded time.
//!
//! Each pipeline has its own data directory (`<data>/<name>`) and runs one
//! source at a time (the embedded index has one writer); different
//! pipelines run in parallel. A run is committed page by page after every
//! sink acknowledged, so abandoning one (timeout, shutdown) loses nothing:
//! the next run resumes from the last committed page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sluice_core::{Registry, TextEmbedder};
use sluice_engine::{Pipeline, RunOptions};
use sluice_spec::LoadedPipeline;
use sluice_state::RunRecord;
use tokio::task::JoinSet;

use crate::metrics::SyncMetrics;
use crate::schedule::{Job, RunKind, Scheduler, SlotStatus, SourceSchedule};
use sluice_core::search::SearchBackend;

#[derive(Clone)]
pub struct DaemonConfig {
    /// The sources, stores and transports this build ships.
    pub registry: Arc<Registry>,
    /// The directory of pipeline YAML files.
    pub dir: PathBuf,
    /// Data root; each pipeline keeps `<data>/<name>`.
    pub data_root: PathBuf,
    /// How often the directory is checked for changed files.
    pub reload_every: Duration,
    /// How long shutdown waits for in-flight runs before abandoning them.
    pub shutdown_grace: Duration,
    /// Several replicas: who runs each source's job (`None`: this one runs
    /// everything, the single-node default).
    pub coordination: Option<Coordination>,
}

/// Job ownership shared with other replicas (`sluice_coord`): a run starts
/// only under the job's lease, renews it every third of `ttl`, and stops
/// when it is lost; a run held off by another replica is tried again after
/// half a `ttl`, so a killed owner is replaced within about 1.5 × `ttl`.
#[derive(Clone)]
pub struct Coordination {
    pub leases: Arc<sluice_coord::Leases>,
    /// The state every replica reads and commits to (checkpoints, hashes,
    /// dead letters, runs), in the leases' database: each page commit is
    /// fenced by the job's lease.
    pub state: Arc<sluice_state::StateStore>,
    /// This replica's name in the leases (unique per replica).
    pub replica: String,
    pub ttl: Duration,
}

struct Entry {
    file: PathBuf,
    modified: SystemTime,
    loaded: LoadedPipeline,
    pipeline: Option<Arc<Pipeline>>,
    /// One run at a time per pipeline.
    lock: Arc<tokio::sync::Mutex<()>>,
    /// Why the file's newest version was rejected (the old one keeps running).
    rejected: Option<String>,
}

pub struct Daemon {
    cfg: DaemonConfig,
    /// The running pipelines' indexes, for the search API (kept apart from
    /// `entries`, whose lock a reload holds across awaits).
    indexes: std::sync::RwLock<Vec<Arc<dyn SearchBackend>>>,
    metrics: Option<SyncMetrics>,
    embedder: Arc<dyn TextEmbedder>,
    entries: tokio::sync::Mutex<BTreeMap<String, Entry>>,
    scheduler: Mutex<Scheduler>,
    tasks: Mutex<JoinSet<()>>,
    stopping: AtomicBool,
    ready: AtomicBool,
    runs_started: AtomicU64,
    /// When the scheduler loop last went round (unix ms): liveness.
    heartbeat: AtomicI64,
    /// The jobs this replica runs under a lease now.
    held: Mutex<std::collections::BTreeSet<String>>,
    /// Whether the last call to the lease store succeeded.
    lease_store_ok: AtomicBool,
}

/// What `/readyz` and `/healthz` say about this daemon.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HealthBody {
    /// `ready`, `starting`, `stopping`; `ok` or `stalled` for liveness.
    pub status: String,
    /// This replica's name in the leases (`None`: a single daemon).
    pub replica: Option<String>,
    /// Jobs (`pipeline/source`) this replica runs now under their lease.
    pub jobs_held: Vec<String>,
    /// Whether the last call to the shared state's leases succeeded
    /// (`None`: a single daemon).
    pub shared_state_reachable: Option<bool>,
    /// Seconds since the scheduler loop last went round.
    pub scheduler_idle_secs: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SourceStatusBody {
    pub id: String,
    #[serde(rename = "type")]
    pub source_type: String,
    #[serde(flatten)]
    pub slot: Option<SlotStatus>,
    pub last_run: Option<RunRecord>,
    /// Seconds since the last successful run finished.
    pub lag_secs: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PipelineStatusBody {
    pub name: String,
    pub file: String,
    pub schedule: Option<String>,
    /// The newest file version was rejected; the previous one is running.
    pub rejected: Option<String>,
    pub sources: Vec<SourceStatusBody>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Daemon {
    pub fn new(cfg: DaemonConfig, embedder: Arc<dyn TextEmbedder>) -> Arc<Daemon> {
        Daemon::with_metrics(cfg, embedder, None)
    }

    /// A daemon whose runs feed these sync metrics.
    pub fn with_metrics(
        cfg: DaemonConfig,
        embedder: Arc<dyn TextEmbedder>,
        metrics: Option<SyncMetrics>,
    ) -> Arc<Daemon> {
        Arc::new(Daemon {
            cfg,
            indexes: Default::default(),
            metrics,
            embedder,
            entries: tokio::sync::Mutex::new(BTreeMap::new()),
            scheduler: Mutex::new(Scheduler::default()),
            tasks: Mutex::new(JoinSet::new()),
            stopping: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            runs_started: AtomicU64::new(0),
            heartbeat: AtomicI64::new(Utc::now().timestamp_millis()),
            held: Mutex::new(Default::default()),
            lease_store_ok: AtomicBool::new(true),
        })
    }

    /// Readiness (`live == false`) or liveness (`live == true`) with what
    /// this replica holds. Ready: pipelines loaded and not stopping. Live:
    /// the scheduler loop went round in the last minute (a wedged loop
    /// runs no job and renews no lease: restart it). An unreachable shared
    /// state makes neither fail: search goes on over the remote stores and
    /// every replica would fail at once.
    pub fn health(&self, live: bool) -> (bool, HealthBody) {
        let idle = (Utc::now().timestamp_millis() - self.heartbeat.load(Ordering::SeqCst)).max(0) as f64 / 1000.0;
        let (ok, status) = if live {
            // Starting (the first load of every pipeline) is not stalling.
            let ok = idle < 60.0 || !self.ready.load(Ordering::SeqCst);
            (ok, if ok { "ok" } else { "stalled" })
        } else if self.stopping.load(Ordering::SeqCst) {
            (false, "stopping")
        } else if self.ready.load(Ordering::SeqCst) {
            (true, "ready")
        } else {
            (false, "starting")
        };
        let c = self.cfg.coordination.as_ref();
        (
            ok,
            HealthBody {
                status: status.into(),
                replica: c.map(|c| c.replica.clone()),
                jobs_held: lock(&self.held).iter().cloned().collect(),
                shared_state_reachable: c.map(|_| self.lease_store_ok.load(Ordering::SeqCst)),
                scheduler_idle_secs: idle,
            },
        )
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.stopping.load(Ordering::SeqCst)
    }

    pub fn runs_started(&self) -> u64 {
        self.runs_started.load(Ordering::SeqCst)
    }

    fn files(&self) -> Vec<(PathBuf, SystemTime)> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&self.cfg.dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                    let m = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(SystemTime::UNIX_EPOCH);
                    out.push((p, m));
                }
            }
        }
        out.sort();
        out
    }

    /// Loads and checks one file; every problem as one message.
    async fn load(&self, path: &Path) -> Result<LoadedPipeline, String> {
        let render = |d: Vec<sluice_spec::Diagnostic>| {
            d.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let loaded = sluice_spec::load_pipeline(path).map_err(render)?;
        let diags = sluice_engine::validate_pipeline(&self.cfg.registry, &loaded, true).await;
        if !diags.is_empty() {
            return Err(render(diags));
        }
        if let Some(s) = &loaded.spec.schedule {
            SourceSchedule::from_spec(s)?;
        }
        Ok(loaded)
    }

    fn schedule_sources(&self, loaded: &LoadedPipeline, pipeline: &Pipeline) {
        let name = &loaded.spec.name;
        let schedule = loaded
            .spec
            .schedule
            .as_ref()
            .and_then(|s| SourceSchedule::from_spec(s).ok());
        let last: BTreeMap<String, DateTime<Utc>> = pipeline
            .state()
            .last_runs(name)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| Some((r.source.clone(), parse_ts(&r.finished_at)?)))
            .collect();
        let mut sched = lock(&self.scheduler);
        let ids: Vec<String> = loaded.spec.sources.iter().map(|s| s.id.clone()).collect();
        sched.retain(name, &ids);
        for id in &ids {
            sched.set(
                name,
                id,
                schedule.clone(),
                last.get(id).copied(),
                Utc::now(),
            );
        }
    }

    /// Picks up new, changed and removed files.
    pub async fn reload(&self) {
        let files = self.files();
        let mut entries = self.entries.lock().await;
        // Removed files stop their pipelines.
        let present: Vec<&PathBuf> = files.iter().map(|f| &f.0).collect();
        let gone: Vec<String> = entries
            .iter()
            .filter(|(_, e)| !present.contains(&&e.file))
            .map(|(n, _)| n.clone())
            .collect();
        for name in gone {
            // A run in flight finishes first; the removal is retried next round.
            let busy = entries
                .get(&name)
                .is_some_and(|e| e.lock.try_lock().is_err());
            if busy {
                continue;
            }
            entries.remove(&name);
            lock(&self.scheduler).remove_pipeline(&name);
            tracing::info!(pipeline = %name, "pipeline file removed; stopped");
        }
        for (path, modified) in files {
            let known = entries.iter_mut().find(|(_, e)| e.file == path);
            if let Some((_, e)) = &known {
                if e.modified == modified {
                    continue;
                }
            }
            match self.load(&path).await {
                Err(msg) => {
                    tracing::error!(file = %path.display(), "pipeline rejected; the previous version keeps running: {msg}");
                    if let Some((_, e)) = known {
                        e.modified = modified;
                        e.rejected = Some(msg);
                    } else {
                        // Remembered, so the API shows why it is not running.
                        let name = path
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        if let Ok((loaded, _)) = sluice_spec::load_pipeline_lenient(&path) {
                            entries.insert(
                                name,
                                Entry {
                                    file: path.clone(),
                                    modified,
                                    loaded,
                                    pipeline: None,
                                    lock: Arc::default(),
                                    rejected: Some(msg),
                                },
                            );
                        }
                    }
                }
                Ok(loaded) => {
                    let name = loaded.spec.name.clone();
                    let lock_handle = known
                        .as_ref()
                        .map(|(_, e)| e.lock.clone())
                        .unwrap_or_default();
                    // Never block the loop behind a long run: retry next round.
                    let Ok(_g) = lock_handle.try_lock() else {
                        continue;
                    };
                    // The index has one writer: close the old pipeline first.
                    let old_name = entries
                        .iter()
                        .find(|(_, e)| e.file == path)
                        .map(|(n, _)| n.clone());
                    let old = old_name.and_then(|n| entries.remove(&n));
                    let old_loaded = old.as_ref().map(|e| e.loaded.clone());
                    drop(old);
                    match self.open_pipeline(&loaded).await {
                        Ok(p) => {
                            self.schedule_sources(&loaded, &p);
                            tracing::info!(pipeline = %name, file = %path.display(), "pipeline loaded");
                            entries.insert(
                                name,
                                Entry {
                                    file: path,
                                    modified,
                                    loaded,
                                    pipeline: Some(p),
                                    lock: lock_handle.clone(),
                                    rejected: None,
                                },
                            );
                        }
                        Err(e) => {
                            tracing::error!(pipeline = %name, "cannot open the pipeline: {e}");
                            let (loaded, pipeline) = match old_loaded {
                                Some(ol) => {
                                    let p = self.open_pipeline(&ol).await.ok();
                                    (ol, p)
                                }
                                None => (loaded, None),
                            };
                            entries.insert(
                                name,
                                Entry {
                                    file: path,
                                    modified,
                                    loaded,
                                    pipeline,
                                    lock: lock_handle.clone(),
                                    rejected: Some(e),
                                },
                            );
                        }
                    }
                }
            }
        }
        *self.indexes.write().unwrap_or_else(|e| e.into_inner()) = entries
            .values()
            .filter_map(|e| e.pipeline.as_ref()?.search_backend())
            .collect();
        self.ready.store(true, Ordering::SeqCst);
    }

    async fn open_pipeline(&self, loaded: &LoadedPipeline) -> Result<Arc<Pipeline>, String> {
        let name = &loaded.spec.name;
        let data_dir = self.cfg.data_root.join(name);
        let p = match &self.cfg.coordination {
            None => {
                Pipeline::open(&self.cfg.registry, loaded.clone(), &data_dir, Some(self.embedder.clone()))
                    .await?
            }
            Some(c) => {
                Pipeline::open_with_state(
                    &self.cfg.registry,
                    loaded.clone(),
                    &data_dir,
                    Some(self.embedder.clone()),
                    c.state.clone(),
                )
                .await?
            }
        };
        Ok(Arc::new(match &self.metrics {
            Some(m) => {
                m.refresh_index_counts(name, p.state());
                let observer = m.observer(name, p.state().clone());
                p.with_observer(observer)
            }
            None => p,
        }))
    }

    /// Starts a run in the background (the source is already claimed).
    async fn spawn(self: &Arc<Self>, job: Job) {
        let entries = self.entries.lock().await;
        let Some(e) = entries.get(&job.pipeline) else {
            lock(&self.scheduler).finished(&job.pipeline, &job.source);
            return;
        };
        let Some(pipeline) = e.pipeline.clone() else {
            lock(&self.scheduler).finished(&job.pipeline, &job.source);
            return;
        };
        let (loaded, run_lock) = (e.loaded.clone(), e.lock.clone());
        drop(entries);
        let timeout = Duration::from_secs(
            loaded
                .spec
                .schedule
                .as_ref()
                .map(|s| s.run_timeout_secs)
                .unwrap_or(6 * 3600),
        );
        let me = self.clone();
        self.runs_started.fetch_add(1, Ordering::SeqCst);
        lock(&self.tasks).spawn(async move {
            let mut lease = None;
            'run: {
                let _g = run_lock.lock().await;
                // With replicas: run only under the job's lease, taken once
                // this pipeline's lock is held so it is not spent waiting.
                lease = match me.lease_for(&job).await {
                    Ok(l) => l,
                    Err(()) => break 'run,
                };
                let opts = RunOptions { full: job.kind == RunKind::Full, prune: job.kind == RunKind::Prune, permissions: job.kind == RunKind::Permissions, allow_mass_delete: false, only_sources: vec![job.source.clone()], ..Default::default() };
                match sluice_engine::build_sources(&me.cfg.registry, &loaded) {
                    Err(d) => tracing::error!(pipeline = %job.pipeline, source = %job.source, "cannot build the source: {d:?}"),
                    Ok(sources) => {
                        tracing::info!(pipeline = %job.pipeline, source = %job.source, kind = ?job.kind, lease_token = lease.as_ref().map(|l| l.token), "run started");
                        // Every page this run commits carries the lease's token.
                        let fence = lease.as_ref().map(|l| sluice_state::Fence { job: l.job.clone(), owner: l.owner.clone(), token: l.token });
                        pipeline.state().set_fence(&job.pipeline, &job.source, fence);
                        let run = tokio::time::timeout(timeout, pipeline.run(sources, &opts));
                        let outcome = match (&lease, &me.cfg.coordination) {
                            (Some(l), Some(c)) => tokio::select! {
                                r = run => Some(r),
                                e = keep_lease(c, l) => {
                                    // Dropping the run stops it between pages: the new
                                    // owner resumes from the last committed one.
                                    tracing::error!(pipeline = %job.pipeline, source = %job.source, error = %e, "the job's lease was lost; run stopped");
                                    None
                                }
                            },
                            _ => Some(run.await),
                        };
                        match &outcome {
                            Some(Ok(report)) => {
                                for s in &report.sources {
                                    tracing::info!(pipeline = %job.pipeline, source = %s.source, status = ?s.status, added = s.docs_added, updated = s.docs_updated, deleted = s.docs_deleted, seconds = s.seconds, "run finished");
                                }
                            }
                            Some(Err(_)) => tracing::error!(pipeline = %job.pipeline, source = %job.source, timeout_secs = timeout.as_secs(), "run abandoned after schedule.run_timeout_secs; the next run resumes from the last committed page"),
                            None => {}
                        }
                        if let (Some(l), Some(c)) = (&lease, &me.cfg.coordination) {
                            // The tick is handled (well or not: a failed run waits for
                            // the next tick, as with one replica) once this replica
                            // records it under the lease it still holds. A lost lease
                            // leaves it to the new owner, and this replica watches in
                            // case that one dies too.
                            let recorded = match outcome {
                                Some(_) => c.leases.complete(l, &kind_name(job.kind)).await,
                                None => Err(sluice_coord::LeaseError::Store("lease lost".into())),
                            };
                            if let Err(e) = recorded {
                                tracing::warn!(pipeline = %job.pipeline, source = %job.source, error = %e, "this run does not count as done; the job is watched until a replica finishes it");
                                me.retry_later(&job, c);
                            }
                        }
                    }
                }
            }
            if let (Some(l), Some(c)) = (&lease, &me.cfg.coordination) {
                pipeline.state().set_fence(&job.pipeline, &job.source, None);
                lock(&me.held).remove(&l.job);
                if let Err(e) = c.leases.release(l).await {
                    tracing::warn!(error = %e, "could not release the job's lease; it lapses on its own");
                }
            }
            lock(&me.scheduler).finished(&job.pipeline, &job.source);
        });
    }

    /// The job's lease when replicas coordinate: `Ok(None)` without
    /// coordination; `Err(())` when this replica must not run it now
    /// (another holds it: tried again soon; a finished run of another
    /// replica already covers it; the lease store is unreachable: fail
    /// closed, tried again soon).
    async fn lease_for(&self, job: &Job) -> Result<Option<sluice_coord::Lease>, ()> {
        let Some(c) = &self.cfg.coordination else {
            return Ok(None);
        };
        let key = sluice_coord::job_key(&job.pipeline, &job.source);
        let retry = || self.retry_later(job, c);
        let acquired = c.leases.try_acquire(&key, &c.replica, c.ttl).await;
        self.lease_store_ok.store(acquired.is_ok(), Ordering::SeqCst);
        match acquired {
            Ok(Some(l)) => match if job.manual {
                Ok(false)
            } else {
                c.leases.completed_since(&key, &kind_name(job.kind), job.due.timestamp_millis()).await
            } {
                Ok(false) => {
                    lock(&self.held).insert(key);
                    Ok(Some(l))
                }
                Ok(true) => {
                    tracing::info!(job = %key, "another replica finished this run already");
                    let _ = c.leases.release(&l).await;
                    Err(())
                }
                Err(e) => {
                    tracing::error!(job = %key, error = %e, "the lease store failed; not running");
                    let _ = c.leases.release(&l).await;
                    retry();
                    Err(())
                }
            },
            Ok(None) => {
                tracing::info!(job = %key, "held by another replica; trying again after half a lease");
                retry();
                Err(())
            }
            Err(e) => {
                tracing::error!(job = %key, error = %e, "the lease store failed; not running");
                retry();
                Err(())
            }
        }
    }

    /// Tries `job` again after half a lease, for the same tick.
    fn retry_later(&self, job: &Job, c: &Coordination) {
        let at = Utc::now() + chrono::Duration::from_std(c.ttl / 2).unwrap_or_default();
        lock(&self.scheduler).retry_at(&job.pipeline, &job.source, at, job.kind, job.due, job.manual);
    }

    /// Starts a manual sync of a pipeline's sources (all when `source` is
    /// `None`). Returns (started, already running) or `None` for an unknown pipeline.
    pub async fn sync_now(
        self: &Arc<Self>,
        name: &str,
        kind: RunKind,
        source: Option<&str>,
    ) -> Option<Result<(Vec<String>, Vec<String>), String>> {
        let ids: Vec<String> = {
            let entries = self.entries.lock().await;
            let e = entries.get(name)?;
            if e.pipeline.is_none() {
                return Some(Err(e
                    .rejected
                    .clone()
                    .unwrap_or_else(|| "the pipeline is not running".into())));
            }
            e.loaded.spec.sources.iter().map(|s| s.id.clone()).collect()
        };
        let wanted: Vec<String> = match source {
            Some(s) if !ids.iter().any(|i| i == s) => {
                return Some(Err(format!("no source `{s}` in pipeline `{name}`")));
            }
            Some(s) => vec![s.to_string()],
            None => ids,
        };
        let (mut started, mut busy) = (Vec::new(), Vec::new());
        for id in wanted {
            if self.stopping.load(Ordering::SeqCst) || !lock(&self.scheduler).try_start(name, &id) {
                busy.push(id);
                continue;
            }
            self.spawn(Job {
                pipeline: name.into(),
                source: id.clone(),
                kind,
                due: Utc::now(),
                manual: true,
            })
            .await;
            started.push(id);
        }
        Some(Ok((started, busy)))
    }

    pub async fn status(&self, name: Option<&str>) -> Vec<PipelineStatusBody> {
        let entries = self.entries.lock().await;
        let sched = lock(&self.scheduler);
        entries
            .iter()
            .filter(|(n, _)| name.is_none_or(|x| x == n.as_str()))
            .map(|(n, e)| {
                let runs: BTreeMap<String, RunRecord> = e
                    .pipeline
                    .as_ref()
                    .and_then(|p| p.state().last_runs(n).ok())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| (r.source.clone(), r))
                    .collect();
                PipelineStatusBody {
                    name: n.clone(),
                    file: e.file.display().to_string(),
                    schedule: e.loaded.spec.schedule.as_ref().map(|s| s.cron.clone()),
                    rejected: e.rejected.clone(),
                    sources: e
                        .loaded
                        .spec
                        .sources
                        .iter()
                        .map(|s| {
                            let last = runs.get(&s.id).cloned();
                            let lag = last
                                .as_ref()
                                .filter(|r| r.status == "ok")
                                .and_then(|r| parse_ts(&r.finished_at))
                                .map(|t| (Utc::now() - t).num_seconds());
                            SourceStatusBody {
                                id: s.id.clone(),
                                source_type: s.source_type.clone(),
                                slot: sched.status(n, &s.id),
                                last_run: last,
                                lag_secs: lag,
                            }
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Runs until `shutdown` resolves, then stops taking work, waits up to
    /// `shutdown_grace` for in-flight runs and abandons the rest.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        self.reload().await;
        self.heartbeat.store(Utc::now().timestamp_millis(), Ordering::SeqCst);
        tokio::pin!(shutdown);
        let mut last_reload = tokio::time::Instant::now();
        loop {
            self.heartbeat.store(Utc::now().timestamp_millis(), Ordering::SeqCst);
            let jobs = lock(&self.scheduler).due(Utc::now());
            for job in jobs {
                self.spawn(job).await;
            }
            // Reap finished tasks so the set does not grow.
            while lock(&self.tasks).try_join_next().is_some() {}
            let wake = lock(&self.scheduler)
                .next_wake()
                .map(|t| (t - Utc::now()).to_std().unwrap_or_default())
                .unwrap_or(Duration::from_secs(1));
            let nap = wake
                .min(Duration::from_secs(1))
                .max(Duration::from_millis(50));
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(nap) => {}
            }
            if last_reload.elapsed() >= self.cfg.reload_every {
                self.reload().await;
                last_reload = tokio::time::Instant::now();
            }
        }
        self.stopping.store(true, Ordering::SeqCst);
        let mut tasks = std::mem::take(&mut *lock(&self.tasks));
        let n = tasks.len();
        tracing::info!(
            in_flight = n,
            grace_secs = self.cfg.shutdown_grace.as_secs(),
            "shutting down"
        );
        let drained = tokio::time::timeout(self.cfg.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "abandoning runs still going after the grace period; their checkpoints stay at the last committed page"
            );
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
    }
}

/// The run kind as the leases record a finished tick of it.
fn kind_name(kind: RunKind) -> String {
    format!("{kind:?}").to_lowercase()
}

/// Renews `lease` every third of its TTL; returns why once it is lost.
async fn keep_lease(c: &Coordination, lease: &sluice_coord::Lease) -> sluice_coord::LeaseError {
    loop {
        tokio::time::sleep(c.ttl / 3).await;
        if let Err(e) = c.leases.renew(lease, c.ttl).await {
            return e;
        }
    }
}

impl sluice_api::IndexSet for Daemon {
    fn indexes(&self) -> Vec<Arc<dyn SearchBackend>> {
        self.indexes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
