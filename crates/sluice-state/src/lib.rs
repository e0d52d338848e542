//! Embedded on-disk state (SQLite via rusqlite): source checkpoints, the
//! per-document chunk hashes that make re-syncs cheap, dead letters and run
//! history. Each page's checkpoint and document states commit in one
//! transaction, after the sinks acknowledged that page. Several daemon
//! replicas share one store in PostgreSQL instead (`open_shared`), where
//! each page commit is fenced by the job's lease.

mod graph;
mod pg;

pub use graph::{DocGraph, LinkedDoc, MAX_LINKS_READ};
pub use pg::Fence;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use sluice_core::DeadLetter;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
#[error("state store {path}: {message}")]
pub struct StateError {
    pub path: String,
    pub message: String,
}

/// What the store remembers about an indexed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocState {
    pub doc_id: Uuid,
    pub source: String,
    pub external_id: String,
    pub content_hash: String,
    pub meta_hash: String,
    /// Hash of each chunk's text, by ordinal.
    pub chunk_hashes: Vec<String>,
    /// The access the stores hold (`DocAccess` as JSON; empty when
    /// unknown), so the permission pass writes only what changed.
    pub access: String,
    /// The access the source gave before the transform (JSON; empty when
    /// unknown): what the permission pass compares a new listing with.
    pub source_access: String,
    /// The document's part of the link graph, written with this state;
    /// `None` leaves the stored one (read back as `None`).
    pub graph: Option<DocGraph>,
}

/// A committed run of one source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RunRecord {
    pub pipeline: String,
    pub source: String,
    pub started_at: String,
    pub finished_at: String,
    pub mode: String,
    pub status: String,
    pub docs_added: u64,
    pub docs_updated: u64,
    pub docs_unchanged: u64,
    pub docs_deleted: u64,
    pub chunks_embedded: u64,
    pub dead_letters: u64,
    pub error: Option<String>,
}

/// Everything committed after one acknowledged page.
#[derive(Debug, Default)]
pub struct PageCommit<'a> {
    pub cursor: Option<&'a str>,
    pub upserts: Vec<DocState>,
    pub deletes: Vec<Uuid>,
    pub dead_letters: Vec<DeadLetter>,
    /// Records indexed in part (markup flattened, text past a cap left
    /// out): kept as dead-letter notes, not failures.
    pub notes: Vec<DeadLetter>,
    /// Records indexed (or unchanged) in this page: their earlier failures
    /// are settled and leave the dead-letter record.
    pub resolved: Vec<Uuid>,
}

/// Dead letters kept per pipeline; the oldest go first. A record that
/// fails run after run keeps one entry (its attempts are counted; without
/// an id, by its location), so the bound is rarely reached.
pub const MAX_DEAD_LETTERS: i64 = 10_000;

/// One entry of the dead-letter record.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeadLetterEntry {
    pub id: i64,
    /// `failed` (not indexed) or `partial` (indexed in part: a note).
    pub kind: String,
    pub at: String,
    pub attempts: i64,
    #[serde(flatten)]
    pub letter: DeadLetter,
}

pub struct StateStore {
    /// The embedded store; `None` when the state is shared (`pg`).
    conn: Option<Mutex<Connection>>,
    pg: Option<pg::PgState>,
    path: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS checkpoints (
    pipeline TEXT NOT NULL, source TEXT NOT NULL, cursor TEXT, updated_at TEXT NOT NULL,
    PRIMARY KEY (pipeline, source));
CREATE TABLE IF NOT EXISTS documents (
    pipeline TEXT NOT NULL, doc_id TEXT NOT NULL, source TEXT NOT NULL, external_id TEXT NOT NULL,
    content_hash TEXT NOT NULL, meta_hash TEXT NOT NULL, chunk_hashes TEXT NOT NULL,
    access TEXT NOT NULL DEFAULT '', source_access TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (pipeline, doc_id));
CREATE INDEX IF NOT EXISTS documents_by_source ON documents (pipeline, source);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, source TEXT NOT NULL,
    location TEXT NOT NULL, external_id TEXT, error TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pipeline_settings (
    pipeline TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (pipeline, key));
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, source TEXT NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL,
    docs_added INTEGER NOT NULL, docs_updated INTEGER NOT NULL, docs_unchanged INTEGER NOT NULL,
    docs_deleted INTEGER NOT NULL, chunks_embedded INTEGER NOT NULL, dead_letters INTEGER NOT NULL,
    error TEXT);
";

/// The state format (`PRAGMA user_version`). 1: documents were indexed under
/// the fail-closed access model with per-system principals. 2: every
/// document's link graph is stored beside its state. 3: the remote stores
/// hold each document's links on its first chunk too.
pub const STATE_VERSION: i64 = 3;

/// Upgrades a state store in place. Before version 1 every store held flat,
/// unqualified ACLs in which an empty list meant "everyone". Those chunks are
/// hidden from every caller by the new stores' filters (they lack the access
/// slots); forgetting each document's content hash and every checkpoint
/// makes the next run re-read every source and rewrite every document with
/// its real access. Chunk hashes are kept, so unchanged text is not
/// re-embedded: only payloads are refreshed.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    // Columns added since: present whatever the version says.
    for (table, column, decl) in [
        ("documents", "access", "TEXT NOT NULL DEFAULT ''"),
        ("documents", "source_access", "TEXT NOT NULL DEFAULT ''"),
        ("dead_letters", "kind", "TEXT NOT NULL DEFAULT 'failed'"),
        ("dead_letters", "attempts", "INTEGER NOT NULL DEFAULT 1"),
    ] {
        let has: i64 = conn.query_row(
            &format!("SELECT count(*) FROM pragma_table_info('{table}') WHERE name = ?1"),
            [column],
            |r| r.get(0),
        )?;
        if has == 0 {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
        }
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS dead_letters_by_record ON dead_letters (pipeline, source, external_id)")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version >= STATE_VERSION {
        return Ok(());
    }
    let documents: i64 = conn.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))?;
    if (version == 1 || version == 2) && documents > 0 {
        // Version 1 stored no link graph, version 2 not in the remote
        // stores: the next run re-reads every source, records each
        // document's links and rewrites its first chunk with them (content
        // hashes are forgotten, chunk hashes kept: nothing is re-embedded).
        tracing::warn!(
            documents,
            "state predates the link graph in the stores: every source is re-read on the next run to record each document's links"
        );
        conn.execute_batch(
            "BEGIN; UPDATE documents SET content_hash = ''; DELETE FROM checkpoints; COMMIT;",
        )?;
    } else if documents > 0 {
        tracing::warn!(
            documents,
            "state predates the access model: every source is re-read on the next run and every document rewritten with its access"
        );
        conn.execute_batch("BEGIN; UPDATE documents SET content_hash = '', meta_hash = ''; DELETE FROM checkpoints; COMMIT;")?;
    }
    conn.pragma_update(None, "user_version", STATE_VERSION)
}

#[cfg(unix)]
fn owner_only(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn owner_only(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn file_owner_only(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn file_owner_only(_file: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Why a data directory is exposed to other local users, if it is.
#[cfg(unix)]
pub fn exposure(dir: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| format!("the data directory is readable by other users (mode {mode:o}); it holds indexed text of restricted documents: `chmod 700` it"))
}

#[cfg(not(unix))]
pub fn exposure(_dir: &Path) -> Option<String> {
    None
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The format version of an existing state file, read without writing
/// (`None` when it cannot be opened read-only).
pub fn stored_version(path: &Path) -> Option<i64> {
    let conn =
        Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    conn.query_row("PRAGMA user_version", [], |r| r.get(0)).ok()
}

impl StateStore {
    pub fn open(path: &Path) -> Result<StateStore, StateError> {
        let p = path.display().to_string();
        let err = |e: rusqlite::Error| StateError {
            path: p.clone(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            let created = !dir.exists();
            std::fs::create_dir_all(dir).map_err(|e| StateError {
                path: p.clone(),
                message: e.to_string(),
            })?;
            // The data directory holds the index (restricted documents' text)
            // and the state: owner-only when Sluice creates it, and a warning
            // when an existing one is open to others.
            if created {
                owner_only(dir).map_err(|e| StateError {
                    path: p.clone(),
                    message: e.to_string(),
                })?;
            } else if let Some(why) = exposure(dir) {
                tracing::warn!(dir = %dir.display(), "{why}");
            }
        }
        let new_file = !path.exists();
        let conn = Connection::open(path).map_err(err)?;
        if new_file {
            // The state names every indexed record: owner-only, like its directory.
            file_owner_only(path).map_err(|e| StateError {
                path: p.clone(),
                message: e.to_string(),
            })?;
        }
        // WAL + NORMAL: each commit is atomic and durable across process
        // crashes; readers (status, API) do not block the writer.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        conn.execute_batch(graph::SCHEMA).map_err(err)?;
        migrate(&conn).map_err(err)?;
        Ok(StateStore {
            conn: Some(Mutex::new(conn)),
            pg: None,
            path: p,
        })
    }

    /// The state shared by several replicas, in the PostgreSQL database at
    /// `url` (the one that holds the job leases); created when empty.
    pub fn open_shared(url: &str) -> Result<StateStore, StateError> {
        Self::shared(url, true)
    }

    /// The shared state at `url` when it exists (for reading: `status`,
    /// `dead-letters`); an error for a database without one.
    pub fn open_shared_existing(url: &str) -> Result<StateStore, StateError> {
        Self::shared(url, false)
    }

    fn shared(url: &str, create: bool) -> Result<StateStore, StateError> {
        let path = format!("shared state ({})", sluice_core::redact::text(url));
        let pg = pg::PgState::connect(url, create).map_err(|message| StateError {
            path: path.clone(),
            message,
        })?;
        Ok(StateStore {
            conn: None,
            pg: Some(pg),
            path,
        })
    }

    /// In the shared state, whether this replica still holds `source`'s
    /// job (its fence); the engine asks before each write to the stores.
    /// Always `Ok` for the embedded store (one writer).
    pub fn check_fence(&self, pipeline: &str, source: &str) -> Result<(), StateError> {
        match &self.pg {
            Some(pg) => pg.check_fence(pipeline, source).map_err(|e| self.err(e)),
            None => Ok(()),
        }
    }

    /// True when replicas share this state (page commits need a fence).
    pub fn is_shared(&self) -> bool {
        self.pg.is_some()
    }

    /// The lease under which this replica runs `source`'s job: in the
    /// shared state every page commit of it is refused without one, and
    /// once the lease has moved on. `None` when the run ends. The embedded
    /// store has one writer and ignores it.
    pub fn set_fence(&self, pipeline: &str, source: &str, fence: Option<Fence>) {
        if let Some(pg) = &self.pg {
            pg.set_fence(pipeline, source, fence);
        }
    }

    fn err(&self, e: impl std::fmt::Display) -> StateError {
        StateError {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StateError> {
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| self.err("not an embedded state store"))?;
        let mut conn = conn.lock().map_err(|_| self.err("lock poisoned"))?;
        f(&mut conn).map_err(|e| self.err(e))
    }

    pub fn checkpoint(&self, pipeline: &str, source: &str) -> Result<Option<String>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.checkpoint(pipeline, source).map_err(|e| self.err(e));
        }
        self.with(|c| {
            c.query_row(
                "SELECT cursor FROM checkpoints WHERE pipeline = ?1 AND source = ?2",
                params![pipeline, source],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
        })
    }

    /// True once any page of this source was committed.
    pub fn has_checkpoint(&self, pipeline: &str, source: &str) -> Result<bool, StateError> {
        if let Some(pg) = &self.pg {
            return pg.has_checkpoint(pipeline, source).map_err(|e| self.err(e));
        }
        self.with(|c| {
            c.query_row(
                "SELECT 1 FROM checkpoints WHERE pipeline = ?1 AND source = ?2",
                params![pipeline, source],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
        })
    }

    pub fn doc_states(&self, pipeline: &str, ids: &[Uuid]) -> Result<Vec<DocState>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.doc_states(pipeline, ids).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT doc_id, source, external_id, content_hash, meta_hash, chunk_hashes, access, source_access FROM documents WHERE pipeline = ?1 AND doc_id = ?2",
            )?;
            let mut out = Vec::new();
            for id in ids {
                if let Some(s) = stmt.query_row(params![pipeline, id.to_string()], row_to_state).optional()? {
                    out.push(s);
                }
            }
            Ok(out)
        })
    }

    /// Ids of every document of `source`, for the prune pass.
    pub fn doc_ids_for_source(
        &self,
        pipeline: &str,
        source: &str,
    ) -> Result<Vec<(Uuid, String)>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.doc_ids_for_source(pipeline, source).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT doc_id, external_id FROM documents WHERE pipeline = ?1 AND source = ?2",
            )?;
            let rows = stmt.query_map(params![pipeline, source], |r| {
                let id: String = r.get(0)?;
                Ok((parse_uuid(&id)?, r.get::<_, String>(1)?))
            })?;
            rows.collect()
        })
    }

    pub fn count_documents(&self, pipeline: &str) -> Result<Vec<(String, u64, u64)>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.count_documents(pipeline).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT source, COUNT(*), COALESCE(SUM(json_array_length(chunk_hashes)), 0) FROM documents WHERE pipeline = ?1 GROUP BY source ORDER BY source",
            )?;
            let rows = stmt.query_map(params![pipeline], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64)))?;
            rows.collect()
        })
    }

    /// Commits one acknowledged page atomically: document states, deletions,
    /// dead letters and the new cursor land together or not at all.
    pub fn commit_page(
        &self,
        pipeline: &str,
        source: &str,
        page: &PageCommit<'_>,
    ) -> Result<(), StateError> {
        if let Some(pg) = &self.pg {
            return pg.commit_page(pipeline, source, page).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut up = tx.prepare_cached(
                    "INSERT INTO documents (pipeline, doc_id, source, external_id, content_hash, meta_hash, chunk_hashes, access, source_access)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (pipeline, doc_id) DO UPDATE SET content_hash = excluded.content_hash,
                       meta_hash = excluded.meta_hash, chunk_hashes = excluded.chunk_hashes, access = excluded.access,
                       source_access = excluded.source_access",
                )?;
                for d in &page.upserts {
                    let hashes = serde_json::to_string(&d.chunk_hashes).unwrap_or_else(|_| "[]".into());
                    up.execute(params![pipeline, d.doc_id.to_string(), d.source, d.external_id, d.content_hash, d.meta_hash, hashes, d.access, d.source_access])?;
                    if let Some(g) = &d.graph {
                        graph::write(&tx, pipeline, &d.doc_id.to_string(), g)?;
                    }
                }
                // Settled: indexed now, or gone. A record's entries are
                // found by its external id, which the documents row holds.
                let mut settle = tx.prepare_cached(
                    "DELETE FROM dead_letters WHERE pipeline = ?1 AND kind = ?3 AND (source, external_id) IN
                       (SELECT source, external_id FROM documents WHERE pipeline = ?1 AND doc_id = ?2)",
                )?;
                for id in &page.resolved {
                    settle.execute(params![pipeline, id.to_string(), "failed"])?;
                }
                let mut forget = tx.prepare_cached(
                    "DELETE FROM dead_letters WHERE pipeline = ?1 AND (source, external_id) IN
                       (SELECT source, external_id FROM documents WHERE pipeline = ?1 AND doc_id = ?2)",
                )?;
                let mut del = tx.prepare_cached("DELETE FROM documents WHERE pipeline = ?1 AND doc_id = ?2")?;
                for id in &page.deletes {
                    forget.execute(params![pipeline, id.to_string()])?;
                    del.execute(params![pipeline, id.to_string()])?;
                    graph::remove(&tx, pipeline, &id.to_string())?;
                }
                // One entry per record and kind: a record failing again
                // replaces its entry and counts the attempt.
                let mut previous = tx.prepare_cached(
                    "DELETE FROM dead_letters WHERE pipeline = ?1 AND source = ?2 AND external_id = ?3 AND kind = ?4 RETURNING attempts",
                )?;
                // Without an id, the same place is the same record.
                let mut previous_at = tx.prepare_cached(
                    "DELETE FROM dead_letters WHERE pipeline = ?1 AND source = ?2 AND external_id IS NULL AND location = ?3 AND kind = ?4 RETURNING attempts",
                )?;
                let mut dl = tx.prepare_cached(
                    "INSERT INTO dead_letters (pipeline, source, location, external_id, error, at, kind, attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for (kind, letters) in [("failed", &page.dead_letters), ("partial", &page.notes)] {
                    for d in letters {
                        let before: Vec<i64> = match &d.external_id {
                            Some(ext) => previous.query_map(params![pipeline, d.source, ext, kind], |r| r.get(0))?.collect::<Result<_, _>>()?,
                            None => previous_at.query_map(params![pipeline, d.source, d.location, kind], |r| r.get(0))?.collect::<Result<_, _>>()?,
                        };
                        let attempts = 1 + before.into_iter().max().unwrap_or(0);
                        dl.execute(params![pipeline, d.source, d.location, d.external_id, d.error, now(), kind, attempts])?;
                    }
                }
                if !page.dead_letters.is_empty() || !page.notes.is_empty() {
                    tx.execute(
                        "DELETE FROM dead_letters WHERE pipeline = ?1 AND id <= (SELECT id FROM dead_letters WHERE pipeline = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                        params![pipeline, MAX_DEAD_LETTERS],
                    )?;
                }
                tx.execute(
                    "INSERT INTO checkpoints (pipeline, source, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (pipeline, source) DO UPDATE SET
                       cursor = COALESCE(excluded.cursor, checkpoints.cursor), updated_at = excluded.updated_at",
                    params![pipeline, source, page.cursor, now()],
                )?;
            }
            tx.commit()
        })
    }

    /// Records the access the stores now hold for these documents (after a
    /// permission pass wrote it), and forgets their content hash so the
    /// next content sync that reads them writes them again in full (the
    /// payload only, with stored vectors): what it computes replaces what
    /// the pass set.
    /// `updates`: (document, access the stores hold, access the source gave).
    pub fn set_access(
        &self,
        pipeline: &str,
        updates: &[(Uuid, String, String)],
    ) -> Result<(), StateError> {
        if let Some(pg) = &self.pg {
            return pg.set_access(pipeline, updates).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut st = tx.prepare_cached("UPDATE documents SET access = ?3, source_access = ?4, content_hash = '' WHERE pipeline = ?1 AND doc_id = ?2")?;
                for (id, access, source_access) in updates {
                    st.execute(params![pipeline, id.to_string(), access, source_access])?;
                }
            }
            tx.commit()
        })
    }

    /// Forgets every document's stored hashes for `pipeline` (checkpoints
    /// and dead letters stay): the next version of each is treated as new.
    pub fn forget_documents(&self, pipeline: &str) -> Result<u64, StateError> {
        if let Some(pg) = &self.pg {
            return pg.forget_documents(pipeline).map_err(|e| self.err(e));
        }
        self.with(|c| {
            for table in ["graph_nodes", "graph_names", "graph_edges"] {
                c.execute(
                    &format!("DELETE FROM {table} WHERE pipeline = ?1"),
                    params![pipeline],
                )?;
            }
            c.execute(
                "DELETE FROM documents WHERE pipeline = ?1",
                params![pipeline],
            )
            .map(|n| n as u64)
        })
    }

    /// The vector space (`TextEmbedder::space`) the pipeline's stored
    /// vectors came from; `None` when never recorded.
    pub fn embedding_space(&self, pipeline: &str) -> Result<Option<String>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.setting(pipeline, "embedding_space").map_err(|e| self.err(e));
        }
        self.with(|c| {
            c.query_row("SELECT value FROM pipeline_settings WHERE pipeline = ?1 AND key = 'embedding_space'", params![pipeline], |r| r.get(0))
                .optional()
        })
    }

    /// Makes `space` the pipeline's vector space. When the stored vectors
    /// came from another one (for a store with documents that never recorded
    /// a space: `legacy`, what every index was built with before), every
    /// document's hashes and every checkpoint are forgotten in the same
    /// transaction, so the next run re-reads every source and re-embeds every
    /// chunk: vectors from two spaces never answer one query. Returns the
    /// space that was replaced, if any.
    pub fn adopt_embedding_space(
        &self,
        pipeline: &str,
        space: &str,
        legacy: &str,
    ) -> Result<Option<String>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.adopt_setting(pipeline, "embedding_space", space, Some(legacy), pg::FORGET_FOR_NEW_SPACE).map_err(|e| self.err(e));
        }
        // Chunk hashes are blanked one by one, not dropped, so status still
        // counts the chunks that are stored until they are rewritten.
        self.adopt_setting(
            pipeline,
            "embedding_space",
            space,
            Some(legacy),
            "UPDATE documents SET content_hash = '', meta_hash = '',
               chunk_hashes = (SELECT COALESCE(json_group_array(''), '[]') FROM json_each(documents.chunk_hashes))
             WHERE pipeline = ?1",
        )
    }

    /// Makes `shape` (a hash of what turns records into chunks: the
    /// transform, the chunking) the pipeline's. When it changed, every
    /// document's hashes (not its chunks') and every checkpoint are
    /// forgotten, so the next run re-reads every source and rewrites every
    /// document the new way; a chunk whose text did not change keeps its
    /// vector. A store that never recorded a shape adopts it as it is.
    pub fn adopt_document_shape(
        &self,
        pipeline: &str,
        shape: &str,
    ) -> Result<Option<String>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.adopt_setting(pipeline, "document_shape", shape, None, pg::FORGET_FOR_NEW_SHAPE).map_err(|e| self.err(e));
        }
        self.adopt_setting(
            pipeline,
            "document_shape",
            shape,
            None,
            "UPDATE documents SET content_hash = '', meta_hash = '' WHERE pipeline = ?1",
        )
    }

    fn adopt_setting(
        &self,
        pipeline: &str,
        key: &str,
        value: &str,
        legacy: Option<&str>,
        forget_sql: &str,
    ) -> Result<Option<String>, StateError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let recorded: Option<String> = tx
                .query_row(
                    "SELECT value FROM pipeline_settings WHERE pipeline = ?1 AND key = ?2",
                    params![pipeline, key],
                    |r| r.get(0),
                )
                .optional()?;
            let documents: i64 = tx.query_row(
                "SELECT count(*) FROM documents WHERE pipeline = ?1",
                params![pipeline],
                |r| r.get(0),
            )?;
            let previous =
                recorded.or_else(|| legacy.filter(|_| documents > 0).map(str::to_string));
            let replaced = previous.filter(|p| p != value);
            if replaced.is_some() && documents > 0 {
                tx.execute(forget_sql, params![pipeline])?;
                tx.execute(
                    "DELETE FROM checkpoints WHERE pipeline = ?1",
                    params![pipeline],
                )?;
            }
            tx.execute(
                "INSERT INTO pipeline_settings (pipeline, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (pipeline, key) DO UPDATE SET value = excluded.value",
                params![pipeline, key, value],
            )?;
            tx.commit()?;
            Ok(replaced)
        })
    }

    /// Drops the checkpoint so the next run of the source is a full sync.
    pub fn reset_checkpoint(&self, pipeline: &str, source: &str) -> Result<(), StateError> {
        if let Some(pg) = &self.pg {
            return pg.reset_checkpoint(pipeline, source).map_err(|e| self.err(e));
        }
        self.with(|c| {
            c.execute(
                "DELETE FROM checkpoints WHERE pipeline = ?1 AND source = ?2",
                params![pipeline, source],
            )
            .map(|_| ())
        })
    }

    pub fn record_run(&self, run: &RunRecord) -> Result<(), StateError> {
        if let Some(pg) = &self.pg {
            return pg.record_run(run).map_err(|e| self.err(e));
        }
        self.with(|c| {
            c.execute(
                "INSERT INTO runs (pipeline, source, started_at, finished_at, mode, status, docs_added, docs_updated,
                   docs_unchanged, docs_deleted, chunks_embedded, dead_letters, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    run.pipeline, run.source, run.started_at, run.finished_at, run.mode, run.status,
                    run.docs_added as i64, run.docs_updated as i64, run.docs_unchanged as i64,
                    run.docs_deleted as i64, run.chunks_embedded as i64, run.dead_letters as i64, run.error
                ],
            )
            .map(|_| ())
        })
    }

    /// The most recent run of each source of `pipeline`.
    pub fn last_runs(&self, pipeline: &str) -> Result<Vec<RunRecord>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.last_runs(pipeline).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT pipeline, source, started_at, finished_at, mode, status, docs_added, docs_updated, docs_unchanged,
                        docs_deleted, chunks_embedded, dead_letters, error
                 FROM runs WHERE id IN (SELECT MAX(id) FROM runs WHERE pipeline = ?1 GROUP BY source) ORDER BY source",
            )?;
            let rows = stmt.query_map(params![pipeline], |r| {
                Ok(RunRecord {
                    pipeline: r.get(0)?,
                    source: r.get(1)?,
                    started_at: r.get(2)?,
                    finished_at: r.get(3)?,
                    mode: r.get(4)?,
                    status: r.get(5)?,
                    docs_added: r.get::<_, i64>(6)? as u64,
                    docs_updated: r.get::<_, i64>(7)? as u64,
                    docs_unchanged: r.get::<_, i64>(8)? as u64,
                    docs_deleted: r.get::<_, i64>(9)? as u64,
                    chunks_embedded: r.get::<_, i64>(10)? as u64,
                    dead_letters: r.get::<_, i64>(11)? as u64,
                    error: r.get(12)?,
                })
            })?;
            rows.collect()
        })
    }

    pub fn dead_letters(
        &self,
        pipeline: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.dead_letter_entries(pipeline, None, None, limit).map(|v| v.into_iter().map(|e| e.letter).collect()).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT source, location, external_id, error FROM dead_letters WHERE pipeline = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![pipeline, limit as i64], |r| {
                Ok(DeadLetter { source: r.get(0)?, location: r.get(1)?, external_id: r.get(2)?, error: r.get(3)? })
            })?;
            rows.collect()
        })
    }

    /// The dead-letter record, newest first.
    pub fn dead_letter_entries(
        &self,
        pipeline: &str,
        source: Option<&str>,
        kind: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetterEntry>, StateError> {
        if let Some(pg) = &self.pg {
            return pg.dead_letter_entries(pipeline, source, kind, limit).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, kind, at, attempts, source, location, external_id, error FROM dead_letters
                 WHERE pipeline = ?1 AND (?2 IS NULL OR source = ?2) AND (?3 IS NULL OR kind = ?3) ORDER BY id DESC LIMIT ?4",
            )?;
            let rows = stmt.query_map(params![pipeline, source, kind, limit as i64], |r| {
                Ok(DeadLetterEntry {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    at: r.get(2)?,
                    attempts: r.get(3)?,
                    letter: DeadLetter { source: r.get(4)?, location: r.get(5)?, external_id: r.get(6)?, error: r.get(7)? },
                })
            })?;
            rows.collect()
        })
    }

    /// Forgets every entry of these records (gone at the source).
    pub fn settle_dead_letters(
        &self,
        pipeline: &str,
        source: &str,
        external_ids: &[String],
    ) -> Result<(), StateError> {
        if let Some(pg) = &self.pg {
            return pg.settle_dead_letters(pipeline, source, external_ids).map_err(|e| self.err(e));
        }
        self.with(|c| {
            let tx = c.transaction()?;
            {
                let mut del = tx.prepare_cached("DELETE FROM dead_letters WHERE pipeline = ?1 AND source = ?2 AND external_id = ?3")?;
                for ext in external_ids {
                    del.execute(params![pipeline, source, ext])?;
                }
            }
            tx.commit()
        })
    }

    /// Removes entries (all of a pipeline, or of one source, kind, or
    /// older than a timestamp); returns how many.
    pub fn purge_dead_letters(
        &self,
        pipeline: &str,
        source: Option<&str>,
        kind: Option<&str>,
        before: Option<&str>,
    ) -> Result<usize, StateError> {
        if let Some(pg) = &self.pg {
            return pg.purge_dead_letters(pipeline, source, kind, before).map_err(|e| self.err(e));
        }
        self.with(|c| {
            c.execute(
                "DELETE FROM dead_letters WHERE pipeline = ?1 AND (?2 IS NULL OR source = ?2) AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR at < ?4)",
                params![pipeline, source, kind, before],
            )
        })
    }

    pub fn timestamp_now() -> String {
        now()
    }
}

fn parse_uuid(s: &str) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn row_to_state(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocState> {
    let hashes: String = r.get(5)?;
    Ok(DocState {
        doc_id: parse_uuid(&r.get::<_, String>(0)?)?,
        source: r.get(1)?,
        external_id: r.get(2)?,
        content_hash: r.get(3)?,
        meta_hash: r.get(4)?,
        chunk_hashes: serde_json::from_str(&hashes).unwrap_or_default(),
        access: r.get(6)?,
        source_access: r.get(7)?,
        graph: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(ext: &str) -> DocState {
        DocState {
            doc_id: sluice_core::doc_id("s", ext),
            source: "s".into(),
            external_id: ext.into(),
            content_hash: format!("h-{ext}"),
            meta_hash: "m".into(),
            chunk_hashes: vec!["a".into(), "b".into()],
            access: String::new(),
            source_access: String::new(),
            graph: None,
        }
    }

    #[test]
    fn a_store_from_before_the_link_graph_is_resynced_without_losing_hashes() {
        // 1: no graph; 2: the graph in the state only.
        for old in [1, 2] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("state.sqlite");
            {
                let s = StateStore::open(&path).unwrap();
                let page = PageCommit {
                    cursor: Some("c1"),
                    upserts: vec![state("a")],
                    ..Default::default()
                };
                s.commit_page("p", "src", &page).unwrap();
                s.with(|c| c.pragma_update(None, "user_version", old))
                    .unwrap();
            }
            let s = StateStore::open(&path).unwrap();
            assert_eq!(
                s.checkpoint("p", "src").unwrap(),
                None,
                "every source is re-read"
            );
            let st = &s.doc_states("p", &[state("a").doc_id]).unwrap()[0];
            assert_eq!(
                st.content_hash, "",
                "every document's links are recorded again"
            );
            assert_eq!(
                (st.meta_hash.as_str(), &st.chunk_hashes),
                ("m", &state("a").chunk_hashes),
                "nothing re-embedded or rewritten"
            );
            assert_eq!(stored_version(&path), Some(STATE_VERSION));
        }
    }

    #[test]
    fn links_resolve_through_names_and_leave_with_their_document() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(&dir.path().join("state.sqlite")).unwrap();
        let with_graph = |ext: &str, names: &[&str], edges: &[(&str, &str)]| {
            let mut st = state(ext);
            st.access = r#"{"all_of":[["group:a"]]}"#.into();
            st.graph = Some(DocGraph {
                kind: "issue".into(),
                title: format!("title {ext}"),
                url: None,
                names: names.iter().map(|n| n.to_string()).collect(),
                edges: edges
                    .iter()
                    .map(|(e, t)| (e.to_string(), t.to_string()))
                    .collect(),
            });
            st
        };
        let commit = |upserts: Vec<DocState>, deletes: Vec<Uuid>| {
            s.commit_page(
                "p",
                "src",
                &PageCommit {
                    upserts,
                    deletes,
                    ..Default::default()
                },
            )
            .unwrap();
        };
        // The referring document first: nothing to resolve to yet.
        commit(
            vec![with_graph("t", &["doc:s:t"], &[("mentions", "jira:A-1")])],
            vec![],
        );
        let (t, a) = (state("t").doc_id, state("a").doc_id);
        assert!(s.linked("p", &[t]).unwrap().is_empty());
        commit(vec![with_graph("a", &["doc:s:a", "jira:A-1"], &[])], vec![]);
        let l = s.linked("p", &[t, a]).unwrap();
        assert_eq!(l.len(), 2, "{l:?}");
        assert!(l.iter().any(|x| x.from == t
            && x.doc_id == a
            && x.outgoing
            && x.edge == "mentions"
            && x.title == "title a"));
        assert!(
            l.iter()
                .any(|x| x.from == a && x.doc_id == t && !x.outgoing)
        );
        assert_eq!(s.graph_size("p").unwrap(), (1, 3));
        // A rewrite without the reference drops it; a deletion drops all.
        commit(vec![with_graph("t", &["doc:s:t"], &[])], vec![]);
        assert!(s.linked("p", &[t, a]).unwrap().is_empty());
        commit(
            vec![with_graph("t", &["doc:s:t"], &[("mentions", "jira:A-1")])],
            vec![a],
        );
        assert!(s.linked("p", &[t]).unwrap().is_empty());
        assert_eq!(
            s.graph_size("p").unwrap(),
            (1, 1),
            "the unresolved edge waits"
        );
        // A state without a graph leaves the stored one.
        commit(vec![state("t")], vec![]);
        assert_eq!(s.graph_size("p").unwrap(), (1, 1));
    }

    #[test]
    fn a_store_from_before_the_access_model_is_resynced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        {
            let s = StateStore::open(&path).unwrap();
            let page = PageCommit {
                cursor: Some("c1"),
                upserts: vec![state("a")],
                deletes: vec![],
                ..Default::default()
            };
            s.commit_page("p", "src", &page).unwrap();
            // What an older Sluice left behind.
            s.with(|c| c.pragma_update(None, "user_version", 0))
                .unwrap();
        }
        let s = StateStore::open(&path).unwrap();
        assert_eq!(
            s.checkpoint("p", "src").unwrap(),
            None,
            "every source is re-read"
        );
        let st = s.doc_states("p", &[state("a").doc_id]).unwrap();
        assert_eq!(st[0].content_hash, "", "every document is rewritten");
        assert_eq!(
            st[0].chunk_hashes,
            state("a").chunk_hashes,
            "unchanged text keeps its vectors"
        );
        // Opening again changes nothing more.
        let page = PageCommit {
            cursor: Some("c2"),
            upserts: vec![state("a")],
            deletes: vec![],
            ..Default::default()
        };
        s.commit_page("p", "src", &page).unwrap();
        drop(s);
        let s = StateStore::open(&path).unwrap();
        assert_eq!(s.checkpoint("p", "src").unwrap().as_deref(), Some("c2"));
    }

    #[test]
    fn a_new_embedding_space_re_embeds_everything_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(&dir.path().join("state.sqlite")).unwrap();
        // An empty pipeline adopts its space without forgetting anything.
        assert_eq!(
            s.adopt_embedding_space("p", "m/int8", "m/fp32").unwrap(),
            None
        );
        s.commit_page(
            "p",
            "src",
            &PageCommit {
                cursor: Some("c1"),
                upserts: vec![state("a")],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            s.adopt_embedding_space("p", "m/int8", "m/fp32").unwrap(),
            None,
            "same space: nothing to redo"
        );
        assert_eq!(s.checkpoint("p", "src").unwrap().as_deref(), Some("c1"));

        assert_eq!(
            s.adopt_embedding_space("p", "m/fp32", "m/fp32")
                .unwrap()
                .as_deref(),
            Some("m/int8")
        );
        assert_eq!(
            s.checkpoint("p", "src").unwrap(),
            None,
            "every source is re-read"
        );
        let st = &s.doc_states("p", &[state("a").doc_id]).unwrap()[0];
        assert_eq!(st.content_hash, "");
        assert_eq!(
            st.chunk_hashes,
            vec![String::new(), String::new()],
            "no chunk keeps its old vector, and status still counts 2"
        );
        assert_eq!(s.embedding_space("p").unwrap().as_deref(), Some("m/fp32"));

        // A store with documents that never recorded a space was built with `legacy`.
        let s2 = StateStore::open(&dir.path().join("old.sqlite")).unwrap();
        s2.commit_page(
            "p",
            "src",
            &PageCommit {
                cursor: Some("c1"),
                upserts: vec![state("a")],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            s2.adopt_embedding_space("p", "m/fp32", "m/fp32").unwrap(),
            None
        );
        assert_eq!(
            s2.checkpoint("p", "src").unwrap().as_deref(),
            Some("c1"),
            "the legacy space is the same: kept"
        );
        s2.with(|c| c.execute("DELETE FROM pipeline_settings", []))
            .unwrap();
        assert_eq!(
            s2.adopt_embedding_space("p", "m/int8", "m/fp32")
                .unwrap()
                .as_deref(),
            Some("m/fp32")
        );
        assert_eq!(s2.checkpoint("p", "src").unwrap(), None);
    }

    #[test]
    fn a_new_document_shape_rewrites_documents_but_keeps_their_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(&dir.path().join("state.sqlite")).unwrap();
        s.commit_page(
            "p",
            "src",
            &PageCommit {
                cursor: Some("c1"),
                upserts: vec![state("a")],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            s.adopt_document_shape("p", "shape-1").unwrap(),
            None,
            "a store without a shape adopts it"
        );
        assert_eq!(s.checkpoint("p", "src").unwrap().as_deref(), Some("c1"));
        assert_eq!(s.adopt_document_shape("p", "shape-1").unwrap(), None);
        assert_eq!(
            s.adopt_document_shape("p", "shape-2").unwrap().as_deref(),
            Some("shape-1")
        );
        assert_eq!(
            s.checkpoint("p", "src").unwrap(),
            None,
            "every source is re-read"
        );
        let st = &s.doc_states("p", &[state("a").doc_id]).unwrap()[0];
        assert_eq!(
            (st.content_hash.as_str(), st.chunk_hashes.clone()),
            ("", state("a").chunk_hashes),
            "rewritten, vectors kept"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_new_data_directory_is_owner_only_and_an_open_one_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        StateStore::open(&data.join("state.sqlite")).unwrap();
        assert_eq!(
            std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(data.join("state.sqlite"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600,
            "the state file too"
        );
        assert_eq!(exposure(&data), None);
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(exposure(&data).unwrap().contains("chmod 700"));
        StateStore::open(&data.join("state.sqlite")).unwrap();
        assert_eq!(
            std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
            0o755,
            "an operator's choice is reported, not changed"
        );
    }

    #[test]
    fn page_commit_is_atomic_and_persistent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        {
            let st = StateStore::open(&path).unwrap();
            assert_eq!(st.checkpoint("p", "s").unwrap(), None);
            assert!(!st.has_checkpoint("p", "s").unwrap());
            st.commit_page(
                "p",
                "s",
                &PageCommit {
                    cursor: Some("c1"),
                    upserts: vec![state("1"), state("2")],
                    ..Default::default()
                },
            )
            .unwrap();
            // A page without a cursor keeps the old one.
            st.commit_page(
                "p",
                "s",
                &PageCommit {
                    cursor: None,
                    deletes: vec![sluice_core::doc_id("s", "2")],
                    ..Default::default()
                },
            )
            .unwrap();
        }
        let st = StateStore::open(&path).unwrap();
        assert_eq!(st.checkpoint("p", "s").unwrap().as_deref(), Some("c1"));
        let got = st
            .doc_states(
                "p",
                &[sluice_core::doc_id("s", "1"), sluice_core::doc_id("s", "2")],
            )
            .unwrap();
        assert_eq!(got, vec![state("1")]);
        assert_eq!(st.doc_ids_for_source("p", "s").unwrap().len(), 1);
        assert_eq!(
            st.count_documents("p").unwrap(),
            vec![("s".to_string(), 1, 2)]
        );
        // Other pipelines are isolated.
        assert_eq!(st.checkpoint("other", "s").unwrap(), None);
        st.reset_checkpoint("p", "s").unwrap();
        assert!(!st.has_checkpoint("p", "s").unwrap());
    }

    #[test]
    fn failed_transaction_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let st = StateStore::open(&dir.path().join("s.sqlite")).unwrap();
        // Sabotage: drop a table the commit writes to, after the upsert table.
        st.with(|c| c.execute_batch("DROP TABLE dead_letters"))
            .unwrap();
        let dl = DeadLetter {
            source: "s".into(),
            location: "x:1".into(),
            external_id: None,
            error: "bad".into(),
        };
        let res = st.commit_page(
            "p",
            "s",
            &PageCommit {
                cursor: Some("c9"),
                upserts: vec![state("1")],
                dead_letters: vec![dl],
                ..Default::default()
            },
        );
        assert!(res.is_err());
        assert_eq!(st.checkpoint("p", "s").unwrap(), None);
        assert!(
            st.doc_states("p", &[sluice_core::doc_id("s", "1")])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn runs_and_dead_letters_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let st = StateStore::open(&dir.path().join("s.sqlite")).unwrap();
        let dl = DeadLetter {
            source: "s".into(),
            location: "f.jsonl:3".into(),
            external_id: Some("9".into()),
            error: "bad json".into(),
        };
        st.commit_page(
            "p",
            "s",
            &PageCommit {
                dead_letters: vec![dl.clone()],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(st.dead_letters("p", 10).unwrap(), vec![dl]);
        let mut run = RunRecord {
            pipeline: "p".into(),
            source: "s".into(),
            started_at: now(),
            finished_at: now(),
            mode: "full".into(),
            status: "ok".into(),
            docs_added: 3,
            docs_updated: 0,
            docs_unchanged: 0,
            docs_deleted: 0,
            chunks_embedded: 5,
            dead_letters: 1,
            error: None,
        };
        st.record_run(&run).unwrap();
        run.docs_added = 0;
        run.docs_unchanged = 3;
        st.record_run(&run).unwrap();
        assert_eq!(st.last_runs("p").unwrap(), vec![run]);
    }

    #[test]
    fn a_dead_letter_is_kept_once_per_record_and_settled_when_the_record_is_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let st = StateStore::open(&dir.path().join("s.sqlite")).unwrap();
        let dl = |ext: Option<&str>, error: &str| DeadLetter {
            source: "s".into(),
            location: "x".into(),
            external_id: ext.map(String::from),
            error: error.into(),
        };
        for attempt in 0..3 {
            st.commit_page(
                "p",
                "s",
                &PageCommit {
                    dead_letters: vec![dl(Some("7"), &format!("try {attempt}")), dl(None, "no id")],
                    ..Default::default()
                },
            )
            .unwrap();
        }
        let all = st.dead_letter_entries("p", None, None, 100).unwrap();
        let seven: Vec<&DeadLetterEntry> = all
            .iter()
            .filter(|e| e.letter.external_id.as_deref() == Some("7"))
            .collect();
        assert_eq!(seven.len(), 1, "one entry per record: {all:?}");
        assert_eq!(
            (
                seven[0].attempts,
                seven[0].letter.error.as_str(),
                seven[0].kind.as_str()
            ),
            (3, "try 2", "failed")
        );
        let no_id: Vec<&DeadLetterEntry> = all
            .iter()
            .filter(|e| e.letter.external_id.is_none())
            .collect();
        assert_eq!(
            (no_id.len(), no_id[0].attempts),
            (1, 3),
            "without an id, one entry per location"
        );
        // Indexed in part: a note beside the failure, for another record.
        st.commit_page(
            "p",
            "s",
            &PageCommit {
                upserts: vec![state("8")],
                notes: vec![dl(Some("8"), "flattened")],
                resolved: vec![sluice_core::doc_id("s", "8")],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            st.dead_letter_entries("p", None, Some("partial"), 100)
                .unwrap()
                .len(),
            1
        );
        // Record 7 is indexed now: its failure is settled, the note stays.
        st.commit_page(
            "p",
            "s",
            &PageCommit {
                upserts: vec![state("7")],
                resolved: vec![sluice_core::doc_id("s", "7")],
                ..Default::default()
            },
        )
        .unwrap();
        let left = st.dead_letter_entries("p", None, None, 100).unwrap();
        assert!(
            left.iter()
                .all(|e| e.letter.external_id.as_deref() != Some("7")),
            "{left:?}"
        );
        assert_eq!(left.len(), 2);
        // Deleting record 8 forgets its note too.
        st.commit_page(
            "p",
            "s",
            &PageCommit {
                deletes: vec![sluice_core::doc_id("s", "8")],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            st.dead_letter_entries("p", None, Some("partial"), 100)
                .unwrap()
                .len(),
            0
        );
        assert_eq!(
            st.purge_dead_letters("p", Some("other"), None, None)
                .unwrap(),
            0
        );
        assert_eq!(st.purge_dead_letters("p", None, None, None).unwrap(), 1);
        assert!(
            st.dead_letter_entries("p", None, None, 100)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn the_dead_letter_record_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let st = StateStore::open(&dir.path().join("s.sqlite")).unwrap();
        let many: Vec<DeadLetter> = (0..MAX_DEAD_LETTERS + 50)
            .map(|i| DeadLetter {
                source: "s".into(),
                location: format!("line {i}"),
                external_id: None,
                error: "bad".into(),
            })
            .collect();
        st.commit_page(
            "p",
            "s",
            &PageCommit {
                dead_letters: many,
                ..Default::default()
            },
        )
        .unwrap();
        let kept = st
            .dead_letter_entries("p", None, None, usize::MAX >> 1)
            .unwrap();
        assert_eq!(kept.len() as i64, MAX_DEAD_LETTERS);
        assert_eq!(
            kept[0].letter.location,
            format!("line {}", MAX_DEAD_LETTERS + 49),
            "the newest are kept"
        );
    }
}
