//! The state shared by several daemon replicas, in PostgreSQL: the same
//! tables and transactions as the embedded SQLite store (checkpoints,
//! document hashes, the link graph, dead letters, runs), prefixed
//! `sluice_`, in the database that also holds the job leases
//! (`sluice_coord`). Every page commit is fenced: it runs in one
//! transaction with a check that the committing replica still holds the
//! job's lease under the token it started with (`FOR UPDATE`, so a takeover
//! waits for it or it sees the takeover), so a replica that stalled and
//! lost its job cannot move the new owner's checkpoint or hashes back.
//!
//! The engine calls the state synchronously (as it calls SQLite), so the
//! client lives on its own thread and calls wait for it: the blocking
//! `postgres` client must not run on the async runtime's threads.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::mpsc;

use postgres::{Client, NoTls};
use sluice_core::DeadLetter;
use uuid::Uuid;

use crate::graph::{DocGraph, LinkedDoc, MAX_LINKS_READ};
use crate::{DeadLetterEntry, DocState, MAX_DEAD_LETTERS, PageCommit, RunRecord, STATE_VERSION, now};

/// The lease a replica runs a job under; its page commits carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The lease's job (`sluice_coord::job_key`).
    pub job: String,
    pub owner: String,
    pub token: i64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sluice_state_version (version BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS sluice_checkpoints (
    pipeline TEXT NOT NULL, source TEXT NOT NULL, cursor TEXT, updated_at TEXT NOT NULL,
    PRIMARY KEY (pipeline, source));
CREATE TABLE IF NOT EXISTS sluice_documents (
    pipeline TEXT NOT NULL, doc_id TEXT NOT NULL, source TEXT NOT NULL, external_id TEXT NOT NULL,
    content_hash TEXT NOT NULL, meta_hash TEXT NOT NULL, chunk_hashes TEXT NOT NULL,
    access TEXT NOT NULL DEFAULT '', source_access TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (pipeline, doc_id));
CREATE INDEX IF NOT EXISTS sluice_documents_by_source ON sluice_documents (pipeline, source);
CREATE TABLE IF NOT EXISTS sluice_dead_letters (
    id BIGSERIAL PRIMARY KEY, pipeline TEXT NOT NULL, source TEXT NOT NULL,
    location TEXT NOT NULL, external_id TEXT, error TEXT NOT NULL, at TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'failed', attempts BIGINT NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS sluice_dead_letters_by_record ON sluice_dead_letters (pipeline, source, external_id);
CREATE TABLE IF NOT EXISTS sluice_pipeline_settings (
    pipeline TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (pipeline, key));
CREATE TABLE IF NOT EXISTS sluice_runs (
    id BIGSERIAL PRIMARY KEY, pipeline TEXT NOT NULL, source TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL,
    docs_added BIGINT NOT NULL, docs_updated BIGINT NOT NULL, docs_unchanged BIGINT NOT NULL,
    docs_deleted BIGINT NOT NULL, chunks_embedded BIGINT NOT NULL, dead_letters BIGINT NOT NULL,
    error TEXT);
CREATE TABLE IF NOT EXISTS sluice_graph_nodes (
    pipeline TEXT NOT NULL, doc_id TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, url TEXT,
    PRIMARY KEY (pipeline, doc_id));
CREATE TABLE IF NOT EXISTS sluice_graph_names (
    pipeline TEXT NOT NULL, name TEXT NOT NULL, doc_id TEXT NOT NULL,
    PRIMARY KEY (pipeline, name, doc_id));
CREATE INDEX IF NOT EXISTS sluice_graph_names_by_doc ON sluice_graph_names (pipeline, doc_id);
CREATE TABLE IF NOT EXISTS sluice_graph_edges (
    pipeline TEXT NOT NULL, from_doc TEXT NOT NULL, edge TEXT NOT NULL, target TEXT NOT NULL,
    PRIMARY KEY (pipeline, from_doc, edge, target));
CREATE INDEX IF NOT EXISTS sluice_graph_edges_by_target ON sluice_graph_edges (pipeline, target);
";

/// Replicas starting together create the schema one at a time (concurrent
/// `CREATE TABLE IF NOT EXISTS` can fail in PostgreSQL).
const SCHEMA_LOCK: i64 = 0x511CE_57A7F;

type Job = Box<dyn FnOnce(Result<&mut Client, String>) + Send>;

pub(crate) struct PgState {
    jobs: Mutex<mpsc::Sender<Job>>,
    fences: Mutex<HashMap<(String, String), Fence>>,
}

type PgResult<T> = Result<T, String>;

fn fenced(f: &Fence) -> String {
    format!(
        "fenced: this replica ({}) no longer holds {} under token {}; nothing more is written (the job's new owner goes on from its own checkpoint)",
        f.owner, f.job, f.token
    )
}

fn pg(e: postgres::Error) -> String {
    // The server's message (a constraint, a missing table) rather than
    // the client's "db error".
    match e.as_db_error() {
        Some(d) => format!("{}: {}", d.code().code(), d.message()),
        None => e.to_string(),
    }
}

impl PgState {
    /// Connects (on the client's thread), creates (`create`) or checks the
    /// schema. Without `create`, a database without Sluice's state is an
    /// error: reading never creates one.
    pub(crate) fn connect(url: &str, create: bool) -> PgResult<PgState> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let url = url.to_string();
        std::thread::Builder::new()
            .name("sluice-state-pg".into())
            .spawn(move || {
                let mut client: Option<Client> = None;
                for job in rx {
                    // A dropped connection is opened again for the next call.
                    if client.as_ref().is_none_or(|c| c.is_closed()) {
                        // A replica stalled inside a commit holds the job's lease row
                        // locked; the server ends such a session after 5 s, so the
                        // takeover is not held up behind it.
                        client = Client::connect(&url, NoTls)
                            .and_then(|mut c| {
                                c.batch_execute("SET idle_in_transaction_session_timeout = '5s'")?;
                                Ok(c)
                            })
                            .map_err(|e| tracing::warn!(error = %pg(e), "cannot reach the shared state"))
                            .ok();
                    }
                    // A panic fails that call (its sender is dropped), not the thread.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match client.as_mut() {
                        Some(c) => job(Ok(c)),
                        None => job(Err("cannot connect to the shared state's PostgreSQL".into())),
                    }));
                }
            })
            .map_err(|e| e.to_string())?;
        let state = PgState {
            jobs: Mutex::new(jobs),
            fences: Mutex::new(HashMap::new()),
        };
        state.call(move |c| {
            if !create {
                let exists: bool = c
                    .query_one("SELECT to_regclass('sluice_state_version') IS NOT NULL", &[])?
                    .get(0);
                if !exists {
                    return Ok(Err("this database holds no Sluice state; a daemon with --shared-state creates it".to_string()));
                }
            }
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
            tx.batch_execute(SCHEMA)?;
            let version: Option<i64> = tx
                .query_opt("SELECT max(version) FROM sluice_state_version", &[])?
                .and_then(|r| r.get(0));
            if version.is_none() {
                tx.execute("INSERT INTO sluice_state_version (version) VALUES ($1)", &[&STATE_VERSION])?;
            }
            tx.commit()?;
            Ok(Ok(version))
        })
        .and_then(|v| v)
        .and_then(|v| match v {
            Some(v) if v != STATE_VERSION => Err(format!(
                "the shared state has format {v}, this Sluice reads {STATE_VERSION}: run the Sluice version that wrote it"
            )),
            _ => Ok(state),
        })
    }

    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> PgResult<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |c| {
            let _ = tx.send(c.and_then(|c| f(c).map_err(pg)));
        });
        self.jobs
            .lock()
            .map_err(|_| "lock poisoned".to_string())?
            .send(job)
            .map_err(|_| "the shared state's client thread is gone".to_string())?;
        rx.recv()
            .map_err(|_| "the shared state's client thread is gone".to_string())?
    }

    pub(crate) fn set_fence(&self, pipeline: &str, source: &str, fence: Option<Fence>) {
        let mut f = self.fences.lock().unwrap_or_else(|p| p.into_inner());
        let key = (pipeline.to_string(), source.to_string());
        match fence {
            Some(fence) => f.insert(key, fence),
            None => f.remove(&key),
        };
    }

    fn fence_of(&self, pipeline: &str, source: &str) -> PgResult<Fence> {
        self.fences
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(pipeline.to_string(), source.to_string()))
            .cloned()
            .ok_or_else(|| {
                format!("no job lease is held for {pipeline}/{source}: the shared state takes commits only from the replica that holds the job")
            })
    }

    /// Whether this replica still holds the job's lease: checked before
    /// each write to the stores, so a replica that stalled and lost the
    /// job does not write an older version over the new owner's once it
    /// wakes (what is left is a stall between this check and the write).
    pub(crate) fn check_fence(&self, pipeline: &str, source: &str) -> PgResult<()> {
        let f = self.fence_of(pipeline, source)?;
        let held = self.call({
            let f = f.clone();
            move |c| {
                Ok(c.query_opt(
                    "SELECT 1 FROM sluice_job_leases WHERE job = $1 AND owner = $2 AND token = $3 AND expires_at > now()",
                    &[&f.job, &f.owner, &f.token],
                )?
                .is_some())
            }
        })?;
        if held {
            Ok(())
        } else {
            Err(fenced(&f))
        }
    }

    pub(crate) fn checkpoint(&self, pipeline: &str, source: &str) -> PgResult<Option<String>> {
        let (p, s) = (pipeline.to_string(), source.to_string());
        self.call(move |c| {
            Ok(c.query_opt("SELECT cursor FROM sluice_checkpoints WHERE pipeline = $1 AND source = $2", &[&p, &s])?
                .and_then(|r| r.get::<_, Option<String>>(0)))
        })
    }

    pub(crate) fn has_checkpoint(&self, pipeline: &str, source: &str) -> PgResult<bool> {
        let (p, s) = (pipeline.to_string(), source.to_string());
        self.call(move |c| {
            Ok(c.query_opt("SELECT 1 FROM sluice_checkpoints WHERE pipeline = $1 AND source = $2", &[&p, &s])?
                .is_some())
        })
    }

    pub(crate) fn doc_states(&self, pipeline: &str, ids: &[Uuid]) -> PgResult<Vec<DocState>> {
        let p = pipeline.to_string();
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        self.call(move |c| {
            let rows = c.query(
                "SELECT doc_id, source, external_id, content_hash, meta_hash, chunk_hashes, access, source_access
                 FROM sluice_documents WHERE pipeline = $1 AND doc_id = ANY($2)",
                &[&p, &ids],
            )?;
            let mut by_id: HashMap<String, DocState> = HashMap::new();
            for r in rows {
                let id: String = r.get(0);
                let Ok(doc_id) = Uuid::parse_str(&id) else { continue };
                let hashes: String = r.get(5);
                by_id.insert(
                    id,
                    DocState {
                        doc_id,
                        source: r.get(1),
                        external_id: r.get(2),
                        content_hash: r.get(3),
                        meta_hash: r.get(4),
                        chunk_hashes: serde_json::from_str(&hashes).unwrap_or_default(),
                        access: r.get(6),
                        source_access: r.get(7),
                        graph: None,
                    },
                );
            }
            // In the order asked, as the embedded store answers.
            Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
        })
    }

    pub(crate) fn doc_ids_for_source(&self, pipeline: &str, source: &str) -> PgResult<Vec<(Uuid, String)>> {
        let (p, s) = (pipeline.to_string(), source.to_string());
        let out = self.call(move |c| {
            Ok(c.query("SELECT doc_id, external_id FROM sluice_documents WHERE pipeline = $1 AND source = $2", &[&p, &s])?
                .into_iter()
                .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
                .collect::<Vec<_>>())
        })?;
        out.into_iter()
            .map(|(id, ext)| Uuid::parse_str(&id).map(|u| (u, ext)).map_err(|e| e.to_string()))
            .collect()
    }

    pub(crate) fn count_documents(&self, pipeline: &str) -> PgResult<Vec<(String, u64, u64)>> {
        let p = pipeline.to_string();
        self.call(move |c| {
            Ok(c.query(
                "SELECT source, COUNT(*), COALESCE(SUM(json_array_length(chunk_hashes::json)), 0)::bigint
                 FROM sluice_documents WHERE pipeline = $1 GROUP BY source ORDER BY source COLLATE \"C\"",
                &[&p],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64, r.get::<_, i64>(2) as u64))
            .collect())
        })
    }

    pub(crate) fn commit_page(&self, pipeline: &str, source: &str, page: &PageCommit<'_>) -> PgResult<()> {
        let fence = self.fence_of(pipeline, source)?;
        let (p, s) = (pipeline.to_string(), source.to_string());
        let cursor = page.cursor.map(str::to_string);
        let upserts = page.upserts.clone();
        let deletes: Vec<String> = page.deletes.iter().map(Uuid::to_string).collect();
        let resolved: Vec<String> = page.resolved.iter().map(Uuid::to_string).collect();
        let letters: Vec<(&'static str, DeadLetter)> = page
            .dead_letters
            .iter()
            .map(|d| ("failed", d.clone()))
            .chain(page.notes.iter().map(|d| ("partial", d.clone())))
            .collect();
        let refused = self.call(move |c| {
            let mut tx = c.transaction()?;
            // Locks the lease row: a takeover waits until this commit is
            // done, and a lapsed or moved lease refuses it.
            let held = tx.query_opt(
                "SELECT 1 FROM sluice_job_leases WHERE job = $1 AND owner = $2 AND token = $3 AND expires_at > now() FOR UPDATE",
                &[&fence.job, &fence.owner, &fence.token],
            )?;
            if held.is_none() {
                return Ok(Some(fence));
            }
            let up = tx.prepare(
                "INSERT INTO sluice_documents (pipeline, doc_id, source, external_id, content_hash, meta_hash, chunk_hashes, access, source_access)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (pipeline, doc_id) DO UPDATE SET content_hash = excluded.content_hash,
                   meta_hash = excluded.meta_hash, chunk_hashes = excluded.chunk_hashes, access = excluded.access,
                   source_access = excluded.source_access",
            )?;
            for d in &upserts {
                let hashes = serde_json::to_string(&d.chunk_hashes).unwrap_or_else(|_| "[]".into());
                let id = d.doc_id.to_string();
                tx.execute(&up, &[&p, &id, &d.source, &d.external_id, &d.content_hash, &d.meta_hash, &hashes, &d.access, &d.source_access])?;
                if let Some(g) = &d.graph {
                    write_graph(&mut tx, &p, &id, g)?;
                }
            }
            let settle = tx.prepare(
                "DELETE FROM sluice_dead_letters WHERE pipeline = $1 AND kind = 'failed' AND (source, external_id) IN
                   (SELECT source, external_id FROM sluice_documents WHERE pipeline = $1 AND doc_id = $2)",
            )?;
            for id in &resolved {
                tx.execute(&settle, &[&p, id])?;
            }
            let forget = tx.prepare(
                "DELETE FROM sluice_dead_letters WHERE pipeline = $1 AND (source, external_id) IN
                   (SELECT source, external_id FROM sluice_documents WHERE pipeline = $1 AND doc_id = $2)",
            )?;
            for id in &deletes {
                tx.execute(&forget, &[&p, id])?;
                tx.execute("DELETE FROM sluice_documents WHERE pipeline = $1 AND doc_id = $2", &[&p, id])?;
                remove_graph(&mut tx, &p, id)?;
            }
            for (kind, d) in &letters {
                let before = match &d.external_id {
                    Some(ext) => tx.query(
                        "DELETE FROM sluice_dead_letters WHERE pipeline = $1 AND source = $2 AND external_id = $3 AND kind = $4 RETURNING attempts",
                        &[&p, &d.source, ext, kind],
                    )?,
                    None => tx.query(
                        "DELETE FROM sluice_dead_letters WHERE pipeline = $1 AND source = $2 AND external_id IS NULL AND location = $3 AND kind = $4 RETURNING attempts",
                        &[&p, &d.source, &d.location, kind],
                    )?,
                };
                let attempts = 1 + before.iter().map(|r| r.get::<_, i64>(0)).max().unwrap_or(0);
                tx.execute(
                    "INSERT INTO sluice_dead_letters (pipeline, source, location, external_id, error, at, kind, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[&p, &d.source, &d.location, &d.external_id, &d.error, &now(), kind, &attempts],
                )?;
            }
            if !letters.is_empty() {
                tx.execute(
                    "DELETE FROM sluice_dead_letters WHERE pipeline = $1 AND id <= (SELECT id FROM sluice_dead_letters WHERE pipeline = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
                    &[&p, &MAX_DEAD_LETTERS],
                )?;
            }
            tx.execute(
                "INSERT INTO sluice_checkpoints (pipeline, source, cursor, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (pipeline, source) DO UPDATE SET
                   cursor = COALESCE(excluded.cursor, sluice_checkpoints.cursor), updated_at = excluded.updated_at",
                &[&p, &s, &cursor, &now()],
            )?;
            tx.commit()?;
            Ok(None)
        })?;
        match refused {
            None => Ok(()),
            Some(f) => Err(fenced(&f)),
        }
    }

    pub(crate) fn set_access(&self, pipeline: &str, updates: &[(Uuid, String, String)]) -> PgResult<()> {
        let p = pipeline.to_string();
        let updates: Vec<(String, String, String)> =
            updates.iter().map(|(id, a, s)| (id.to_string(), a.clone(), s.clone())).collect();
        self.call(move |c| {
            let mut tx = c.transaction()?;
            let st = tx.prepare(
                "UPDATE sluice_documents SET access = $3, source_access = $4, content_hash = '' WHERE pipeline = $1 AND doc_id = $2",
            )?;
            for (id, access, source_access) in &updates {
                tx.execute(&st, &[&p, id, access, source_access])?;
            }
            tx.commit()
        })
    }

    pub(crate) fn forget_documents(&self, pipeline: &str) -> PgResult<u64> {
        let p = pipeline.to_string();
        self.call(move |c| {
            let mut tx = c.transaction()?;
            for table in ["sluice_graph_nodes", "sluice_graph_names", "sluice_graph_edges"] {
                tx.execute(&format!("DELETE FROM {table} WHERE pipeline = $1"), &[&p])?;
            }
            let n = tx.execute("DELETE FROM sluice_documents WHERE pipeline = $1", &[&p])?;
            tx.commit()?;
            Ok(n)
        })
    }

    pub(crate) fn setting(&self, pipeline: &str, key: &str) -> PgResult<Option<String>> {
        let (p, k) = (pipeline.to_string(), key.to_string());
        self.call(move |c| {
            Ok(c.query_opt("SELECT value FROM sluice_pipeline_settings WHERE pipeline = $1 AND key = $2", &[&p, &k])?
                .map(|r| r.get(0)))
        })
    }

    /// As the embedded store's `adopt_setting`; `forget_sql` is this
    /// store's own statement.
    pub(crate) fn adopt_setting(
        &self,
        pipeline: &str,
        key: &str,
        value: &str,
        legacy: Option<&str>,
        forget_sql: &'static str,
    ) -> PgResult<Option<String>> {
        let (p, k, v, legacy) = (pipeline.to_string(), key.to_string(), value.to_string(), legacy.map(str::to_string));
        self.call(move |c| {
            let mut tx = c.transaction()?;
            // Replicas opening the same pipeline adopt one at a time.
            tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&format!("{p}\n{k}")])?;
            let recorded: Option<String> = tx
                .query_opt("SELECT value FROM sluice_pipeline_settings WHERE pipeline = $1 AND key = $2", &[&p, &k])?
                .map(|r| r.get(0));
            let documents: i64 = tx
                .query_one("SELECT count(*) FROM sluice_documents WHERE pipeline = $1", &[&p])?
                .get(0);
            let previous = recorded.or_else(|| legacy.filter(|_| documents > 0));
            let replaced = previous.filter(|old| *old != v);
            if replaced.is_some() && documents > 0 {
                tx.execute(forget_sql, &[&p])?;
                tx.execute("DELETE FROM sluice_checkpoints WHERE pipeline = $1", &[&p])?;
            }
            tx.execute(
                "INSERT INTO sluice_pipeline_settings (pipeline, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (pipeline, key) DO UPDATE SET value = excluded.value",
                &[&p, &k, &v],
            )?;
            tx.commit()?;
            Ok(replaced)
        })
    }

    pub(crate) fn reset_checkpoint(&self, pipeline: &str, source: &str) -> PgResult<()> {
        let (p, s) = (pipeline.to_string(), source.to_string());
        self.call(move |c| {
            c.execute("DELETE FROM sluice_checkpoints WHERE pipeline = $1 AND source = $2", &[&p, &s])
                .map(|_| ())
        })
    }

    pub(crate) fn record_run(&self, run: &RunRecord) -> PgResult<()> {
        let r = run.clone();
        self.call(move |c| {
            c.execute(
                "INSERT INTO sluice_runs (pipeline, source, started_at, finished_at, mode, status, docs_added, docs_updated,
                   docs_unchanged, docs_deleted, chunks_embedded, dead_letters, error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                &[
                    &r.pipeline, &r.source, &r.started_at, &r.finished_at, &r.mode, &r.status,
                    &(r.docs_added as i64), &(r.docs_updated as i64), &(r.docs_unchanged as i64),
                    &(r.docs_deleted as i64), &(r.chunks_embedded as i64), &(r.dead_letters as i64), &r.error,
                ],
            )
            .map(|_| ())
        })
    }

    pub(crate) fn last_runs(&self, pipeline: &str) -> PgResult<Vec<RunRecord>> {
        let p = pipeline.to_string();
        self.call(move |c| {
            Ok(c.query(
                "SELECT pipeline, source, started_at, finished_at, mode, status, docs_added, docs_updated, docs_unchanged,
                        docs_deleted, chunks_embedded, dead_letters, error
                 FROM sluice_runs WHERE id IN (SELECT MAX(id) FROM sluice_runs WHERE pipeline = $1 GROUP BY source) ORDER BY source COLLATE \"C\"",
                &[&p],
            )?
            .into_iter()
            .map(|r| RunRecord {
                pipeline: r.get(0),
                source: r.get(1),
                started_at: r.get(2),
                finished_at: r.get(3),
                mode: r.get(4),
                status: r.get(5),
                docs_added: r.get::<_, i64>(6) as u64,
                docs_updated: r.get::<_, i64>(7) as u64,
                docs_unchanged: r.get::<_, i64>(8) as u64,
                docs_deleted: r.get::<_, i64>(9) as u64,
                chunks_embedded: r.get::<_, i64>(10) as u64,
                dead_letters: r.get::<_, i64>(11) as u64,
                error: r.get(12),
            })
            .collect())
        })
    }

    pub(crate) fn dead_letter_entries(
        &self,
        pipeline: &str,
        source: Option<&str>,
        kind: Option<&str>,
        limit: usize,
    ) -> PgResult<Vec<DeadLetterEntry>> {
        let (p, s, k, n) = (pipeline.to_string(), source.map(str::to_string), kind.map(str::to_string), limit as i64);
        self.call(move |c| {
            Ok(c.query(
                "SELECT id, kind, at, attempts, source, location, external_id, error FROM sluice_dead_letters
                 WHERE pipeline = $1 AND ($2::text IS NULL OR source = $2) AND ($3::text IS NULL OR kind = $3) ORDER BY id DESC LIMIT $4",
                &[&p, &s, &k, &n],
            )?
            .into_iter()
            .map(|r| DeadLetterEntry {
                id: r.get(0),
                kind: r.get(1),
                at: r.get(2),
                attempts: r.get(3),
                letter: DeadLetter { source: r.get(4), location: r.get(5), external_id: r.get(6), error: r.get(7) },
            })
            .collect())
        })
    }

    pub(crate) fn settle_dead_letters(&self, pipeline: &str, source: &str, external_ids: &[String]) -> PgResult<()> {
        let (p, s, ids) = (pipeline.to_string(), source.to_string(), external_ids.to_vec());
        self.call(move |c| {
            c.execute(
                "DELETE FROM sluice_dead_letters WHERE pipeline = $1 AND source = $2 AND external_id = ANY($3)",
                &[&p, &s, &ids],
            )
            .map(|_| ())
        })
    }

    pub(crate) fn purge_dead_letters(
        &self,
        pipeline: &str,
        source: Option<&str>,
        kind: Option<&str>,
        before: Option<&str>,
    ) -> PgResult<usize> {
        let (p, s, k, b) = (pipeline.to_string(), source.map(str::to_string), kind.map(str::to_string), before.map(str::to_string));
        self.call(move |c| {
            c.execute(
                "DELETE FROM sluice_dead_letters WHERE pipeline = $1 AND ($2::text IS NULL OR source = $2)
                   AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR at < $4)",
                &[&p, &s, &k, &b],
            )
            .map(|n| n as usize)
        })
    }

    pub(crate) fn linked(&self, pipeline: &str, ids: &[Uuid]) -> PgResult<Vec<LinkedDoc>> {
        let p = pipeline.to_string();
        let ids = ids.to_vec();
        self.call(move |c| {
            const COLUMNS: &str = "d.doc_id, d.source, d.external_id, d.access, g.kind, g.title, g.url";
            let outgoing = c.prepare(&format!(
                "SELECT e.edge, {COLUMNS} FROM sluice_graph_edges e
                 JOIN sluice_graph_names n ON n.pipeline = e.pipeline AND n.name = e.target AND n.doc_id <> $2
                 JOIN sluice_documents d ON d.pipeline = n.pipeline AND d.doc_id = n.doc_id
                 JOIN sluice_graph_nodes g ON g.pipeline = d.pipeline AND g.doc_id = d.doc_id
                 WHERE e.pipeline = $1 AND e.from_doc = $2 LIMIT {MAX_LINKS_READ}"
            ))?;
            let incoming = c.prepare(&format!(
                "SELECT e.edge, {COLUMNS} FROM sluice_graph_names n
                 JOIN sluice_graph_edges e ON e.pipeline = n.pipeline AND e.target = n.name AND e.from_doc <> $2
                 JOIN sluice_documents d ON d.pipeline = e.pipeline AND d.doc_id = e.from_doc
                 JOIN sluice_graph_nodes g ON g.pipeline = d.pipeline AND g.doc_id = d.doc_id
                 WHERE n.pipeline = $1 AND n.doc_id = $2 LIMIT {MAX_LINKS_READ}"
            ))?;
            let mut out = Vec::new();
            for id in &ids {
                let key = id.to_string();
                for (stmt, dir) in [(&outgoing, true), (&incoming, false)] {
                    for r in c.query(stmt, &[&p, &key])? {
                        let Ok(doc_id) = Uuid::parse_str(&r.get::<_, String>(1)) else { continue };
                        out.push(LinkedDoc {
                            from: *id,
                            edge: r.get(0),
                            doc_id,
                            source: r.get(2),
                            external_id: r.get(3),
                            access: r.get(4),
                            kind: r.get(5),
                            title: r.get(6),
                            url: r.get(7),
                            outgoing: dir,
                        });
                    }
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn pipelines(&self) -> PgResult<Vec<String>> {
        self.call(|c| {
            Ok(c.query("SELECT pipeline FROM sluice_graph_nodes GROUP BY pipeline ORDER BY pipeline COLLATE \"C\"", &[])?
                .into_iter()
                .map(|r| r.get(0))
                .collect())
        })
    }

    pub(crate) fn resolved_edges(&self, pipeline: &str) -> PgResult<u64> {
        let p = pipeline.to_string();
        self.call(move |c| {
            Ok(c.query_one(
                "SELECT count(*) FROM sluice_graph_edges e JOIN sluice_graph_names n
                   ON n.pipeline = e.pipeline AND n.name = e.target AND n.doc_id <> e.from_doc
                 WHERE e.pipeline = $1",
                &[&p],
            )?
            .get::<_, i64>(0) as u64)
        })
    }

    pub(crate) fn graph_size(&self, pipeline: &str) -> PgResult<(u64, u64)> {
        let p = pipeline.to_string();
        self.call(move |c| {
            let edges: i64 = c.query_one("SELECT count(*) FROM sluice_graph_edges WHERE pipeline = $1", &[&p])?.get(0);
            let names: i64 = c.query_one("SELECT count(*) FROM sluice_graph_names WHERE pipeline = $1", &[&p])?.get(0);
            Ok((edges as u64, names as u64))
        })
    }
}

/// The embedded store's forget statements, in this store's tables.
pub(crate) const FORGET_FOR_NEW_SPACE: &str = "UPDATE sluice_documents SET content_hash = '', meta_hash = '',
    chunk_hashes = (SELECT COALESCE(json_agg(''::text)::text, '[]') FROM json_array_elements(sluice_documents.chunk_hashes::json))
  WHERE pipeline = $1";
pub(crate) const FORGET_FOR_NEW_SHAPE: &str =
    "UPDATE sluice_documents SET content_hash = '', meta_hash = '' WHERE pipeline = $1";

fn remove_graph(tx: &mut postgres::Transaction<'_>, pipeline: &str, id: &str) -> Result<(), postgres::Error> {
    tx.execute("DELETE FROM sluice_graph_nodes WHERE pipeline = $1 AND doc_id = $2", &[&pipeline, &id])?;
    tx.execute("DELETE FROM sluice_graph_names WHERE pipeline = $1 AND doc_id = $2", &[&pipeline, &id])?;
    tx.execute("DELETE FROM sluice_graph_edges WHERE pipeline = $1 AND from_doc = $2", &[&pipeline, &id])?;
    Ok(())
}

fn write_graph(tx: &mut postgres::Transaction<'_>, pipeline: &str, id: &str, g: &DocGraph) -> Result<(), postgres::Error> {
    remove_graph(tx, pipeline, id)?;
    tx.execute(
        "INSERT INTO sluice_graph_nodes (pipeline, doc_id, kind, title, url) VALUES ($1, $2, $3, $4, $5)",
        &[&pipeline, &id, &g.kind, &g.title, &g.url],
    )?;
    for n in &g.names {
        tx.execute(
            "INSERT INTO sluice_graph_names (pipeline, name, doc_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&pipeline, n, &id],
        )?;
    }
    for (e, target) in &g.edges {
        tx.execute(
            "INSERT INTO sluice_graph_edges (pipeline, from_doc, edge, target) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&pipeline, &id, e, target],
        )?;
    }
    Ok(())
}
