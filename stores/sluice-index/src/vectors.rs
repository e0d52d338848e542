//! The vector index. SQLite holds every chunk (payload and fp32 vector) and
//! is the truth: one writer, readers pick up its commits, a crash leaves it
//! consistent. Search runs over two parts:
//!
//! * the **graph** (`ann`): HNSW over int8 vectors, built by the writer from
//!   every row up to a key and memory-mapped by each process;
//! * the **delta**: rows written since, held as fp32 in memory and scanned
//!   exactly. Until `merge_at` chunks sit in the delta there is no graph, so
//!   small indexes are searched exactly, as before.
//!
//! Graph candidates are rescored with their fp32 vectors from SQLite;
//! filters and access are checked during the graph walk, before top-k.
//! Memory holds each chunk's payload without its text (the filters need the
//! rest), never a main-part vector. Each row carries a `key` (new whenever
//! its vector changes: the graph's label) and a `seq` (new whenever the row
//! changes), and removals are logged, so a reader catches up on a commit by
//! reading only what changed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use uuid::Uuid;

use crate::ann::{self, Ann};

use sluice_core::access::MAX_ACL_SETS;
pub use sluice_core::search::ChunkPayload;
use sluice_core::search::{Access, SearchFilters};

/// Chunks outside the graph before the writer merges them in. Below it an
/// exact scan is as fast as a graph walk (and exact).
pub(crate) const MERGE_AT: usize = 20_000;
/// The delta may also grow to this share of the graph before a merge, so
/// merges get rarer as the index grows (each one rewrites the graph file).
const MERGE_SHARE: f64 = 0.05;
/// Payloads kept parsed in memory (about 2 KB each with their text).
const PAYLOAD_CACHE: usize = 4096;
/// Above this share of removed keys the graph is rebuilt, not patched.
const REBUILD_SHARE: f64 = 0.3;

/// What search needs of a chunk, its strings interned: about 100 bytes
/// where the payload without its text took about 700 (measured at 1M
/// chunks in `benches/ann`). The rest is read from SQLite for the hits.
pub(crate) struct Meta {
    chunk_id: Uuid,
    doc_id: Uuid,
    key: u64,
    ordinal: u32,
    source: u32,
    kind: u32,
    updated_at: Option<i64>,
    labels: Box<[u32]>,
    /// The access slots, flattened: slot i is `acl[ends[i-1]..ends[i]]`.
    slots: u8,
    ends: [u16; MAX_ACL_SETS],
    acl: Box<[u32]>,
}

impl Meta {
    fn slot(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.acl[start..self.ends[i] as usize]
    }
}

/// Strings of the filterable fields, each stored once.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(s.to_string(), id);
        id
    }

    fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    fn meta(&mut self, p: &ChunkPayload, key: u64) -> Meta {
        let mut ends = [0u16; MAX_ACL_SETS];
        let mut acl = Vec::new();
        for (i, slot) in p.acl.iter().take(MAX_ACL_SETS).enumerate() {
            acl.extend(slot.iter().map(|t| self.intern(t)));
            ends[i] = acl.len().min(u16::MAX as usize) as u16;
        }
        Meta {
            chunk_id: p.chunk_id,
            doc_id: p.doc_id,
            key,
            ordinal: p.ordinal,
            source: self.intern(&p.source),
            kind: self.intern(&p.kind),
            updated_at: p.updated_at,
            labels: p.labels.iter().map(|l| self.intern(l)).collect(),
            // A payload with more slots than the model has is counted as
            // it is, so the access check refuses it.
            slots: p.acl.len().min(u8::MAX as usize) as u8,
            ends,
            acl: acl.into_boxed_slice(),
        }
    }
}

/// One request's filters and access in interned form: the same rules as
/// `SearchFilters::matches` and `Access::allows`, without a string compare
/// or an allocation per chunk (a graph walk checks thousands).
pub(crate) struct Compiled {
    sources: Option<Vec<u32>>,
    kinds: Option<Vec<u32>>,
    labels: Option<Vec<u32>>,
    updated_after: Option<i64>,
    updated_before: Option<i64>,
    /// `None`: `Access::All`.
    terms: Option<HashSet<u32>>,
}

impl Compiled {
    pub fn passes(&self, m: &Meta) -> bool {
        let any_of = |want: &Option<Vec<u32>>, have: &[u32]| {
            want.as_ref()
                .is_none_or(|w| have.iter().any(|h| w.contains(h)))
        };
        any_of(&self.sources, &[m.source])
            && any_of(&self.kinds, &[m.kind])
            && any_of(&self.labels, &m.labels)
            && self
                .updated_after
                .is_none_or(|t| m.updated_at.is_some_and(|u| u >= t))
            && self
                .updated_before
                .is_none_or(|t| m.updated_at.is_some_and(|u| u < t))
            && self.terms.as_ref().is_none_or(|terms| {
                m.slots as usize == MAX_ACL_SETS
                    && (0..MAX_ACL_SETS).all(|i| m.slot(i).iter().any(|t| terms.contains(t)))
            })
    }
}

struct Entry {
    meta: Meta,
}

pub(crate) struct VectorStore {
    /// Behind a mutex so searches can share the store (`&self`) across
    /// threads; writes hold `&mut self` and reach it without locking.
    conn: Mutex<Connection>,
    dir: PathBuf,
    dim: usize,
    entries: Vec<Entry>,
    strings: Interner,
    slot_of: HashMap<Uuid, usize>,
    slot_of_key: HashMap<u64, usize>,
    /// fp32 vectors of the live keys the graph does not hold.
    delta: HashMap<u64, Box<[f32]>>,
    /// Recently returned payloads (text included), so hits repeated across
    /// requests are not read and parsed again. Emptied of every chunk that
    /// catching up changes or removes.
    cache: Mutex<lru::LruCache<Uuid, ChunkPayload>>,
    graph: Option<Ann>,
    seen_seq: i64,
    data_version: i64,
    merge_at: usize,
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn meta(conn: &Connection, name: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT value FROM vector_meta WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()
}

fn set_meta(conn: &Connection, name: &str, value: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO vector_meta (name, value) VALUES (?1, ?2)",
        params![name, value],
    )?;
    Ok(())
}

/// What a reader needs to catch up: rows changed and chunks removed since
/// its last sequence number, read in one snapshot with the graph's meta.
struct Changes {
    graph: Option<(i64, u64, f32)>,
    next_seq: i64,
    removed_floor: i64,
    removed: Vec<Uuid>,
    rows: Vec<(Meta, Option<Vec<f32>>)>,
}

impl VectorStore {
    pub fn open(path: &Path) -> rusqlite::Result<VectorStore> {
        let conn = Connection::open(path)?;
        // A row (~1.5 KB vector + payload) overflows a 4 KB page and takes
        // about 4.9 KB on disk; 16 KB pages hold it whole. Only a new file
        // takes a page size.
        conn.pragma_update(None, "page_size", 16384)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS chunks (
                chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
                payload TEXT NOT NULL, vector BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (doc_id, ordinal);
             CREATE TABLE IF NOT EXISTS vector_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS removed (seq INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL);",
        )?;
        Self::migrate(&conn)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut store = VectorStore {
            conn: Mutex::new(conn),
            dir,
            dim: 0,
            entries: Vec::new(),
            strings: Interner::default(),
            slot_of: HashMap::new(),
            slot_of_key: HashMap::new(),
            delta: HashMap::new(),
            cache: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(PAYLOAD_CACHE).expect("non-zero"),
            )),
            graph: None,
            seen_seq: -1,
            data_version: -1,
            merge_at: MERGE_AT,
        };
        store.catch_up()?;
        Ok(store)
    }

    /// Stores written before the graph had no `key`/`seq` columns: each row
    /// takes its rowid for both (unique, so every row is "changed since -1"
    /// for a reader and a delta row for the first merge).
    fn migrate(conn: &Connection) -> rusqlite::Result<()> {
        let has_key = |c: &Connection| -> rusqlite::Result<bool> {
            let mut stmt = c.prepare("SELECT name FROM pragma_table_info('chunks')")?;
            let names: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(names.iter().any(|n| n == "key"))
        };
        if has_key(conn)? && meta(conn, "next_seq")?.is_some() {
            return Ok(());
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let done = (|| {
            if !has_key(conn)? {
                conn.execute_batch(
                    "ALTER TABLE chunks ADD COLUMN key INTEGER NOT NULL DEFAULT 0;
                     ALTER TABLE chunks ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
                     UPDATE chunks SET key = rowid, seq = rowid;",
                )?;
            }
            conn.execute_batch("CREATE INDEX IF NOT EXISTS chunks_by_seq ON chunks (seq);")?;
            if meta(conn, "next_seq")?.is_none() {
                let top: i64 =
                    conn.query_row("SELECT COALESCE(MAX(rowid), 0) + 1 FROM chunks", [], |r| {
                        r.get(0)
                    })?;
                set_meta(conn, "next_seq", top)?;
                set_meta(conn, "next_key", top)?;
                set_meta(conn, "removed_floor", 0)?;
            }
            Ok(())
        })();
        match done {
            Ok(()) => conn.execute_batch("COMMIT"),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn conn_mut(&mut self) -> &mut Connection {
        self.conn.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether another process committed since this one caught up.
    pub fn changed(&self) -> rusqlite::Result<bool> {
        Ok(self.current_data_version()? != self.data_version)
    }

    /// Sets how many chunks may wait outside the graph (tests and benches).
    pub fn set_merge_threshold(&mut self, n: usize) {
        self.merge_at = n.max(1);
    }

    fn current_data_version(&self) -> rusqlite::Result<i64> {
        self.conn()
            .query_row("PRAGMA data_version", [], |r| r.get(0))
    }

    /// Catches up when another process committed since the last look (a
    /// reader such as `sluice serve` next to a running sync).
    pub fn refresh_if_changed(&mut self) -> rusqlite::Result<bool> {
        if self.current_data_version()? == self.data_version {
            return Ok(false);
        }
        self.catch_up()?;
        Ok(true)
    }

    /// `all_vectors`: read every row's vector (no usable graph), else only
    /// those of rows past the graph's key (the generation SQLite names).
    fn read_changes(
        &mut self,
        since: i64,
        graph_max: u64,
        all_vectors: bool,
    ) -> rusqlite::Result<Changes> {
        let held = self.graph.as_ref().map(|g| g.generation);
        // Fields, not methods: the rows intern into `strings` while the
        // transaction holds `conn`.
        let tx = self
            .conn
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .transaction()?;
        let strings = &mut self.strings;
        let graph = match meta(&tx, "graph_generation")? {
            Some(g) if g > 0 => {
                let max_key = meta(&tx, "graph_max_key")?.unwrap_or(0) as u64;
                let scale = f32::from_bits(meta(&tx, "graph_scale_bits")?.unwrap_or(0) as u32);
                Some((g, max_key, scale))
            }
            _ => None,
        };
        let graph_max = match (&graph, held) {
            _ if all_vectors => 0,
            (Some((g, m, _)), Some(old)) if *g != old => *m,
            (Some((_, m, _)), None) => *m,
            _ => graph_max,
        };
        let next_seq = meta(&tx, "next_seq")?.unwrap_or(1);
        let removed_floor = meta(&tx, "removed_floor")?.unwrap_or(0);
        let removed = {
            let mut stmt =
                tx.prepare_cached("SELECT chunk_id FROM removed WHERE seq > ?1 ORDER BY seq")?;
            let ids: Vec<String> = stmt
                .query_map([since], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.iter().filter_map(|s| Uuid::parse_str(s).ok()).collect()
        };
        let rows = {
            let mut stmt = tx.prepare_cached(
                "SELECT payload, key, CASE WHEN key > ?2 THEN vector END FROM chunks WHERE seq > ?1 ORDER BY seq",
            )?;
            // Parsed row by row: collecting the raw JSON first would hold
            // every chunk's text at once (and leave the heap that size).
            let parsed: Vec<Option<(Meta, Option<Vec<f32>>)>> = stmt
                .query_map(params![since, graph_max as i64], |r| {
                    let payload: String = r.get(0)?;
                    let key: i64 = r.get(1)?;
                    let vector: Option<Vec<u8>> = r.get(2)?;
                    Ok(serde_json::from_str::<ChunkPayload>(&payload)
                        .ok()
                        .map(|p| (strings.meta(&p, key as u64), vector.map(|b| from_blob(&b)))))
                })?
                .collect::<rusqlite::Result<_>>()?;
            parsed.into_iter().flatten().collect()
        };
        tx.commit()?;
        Ok(Changes {
            graph,
            next_seq,
            removed_floor,
            removed,
            rows,
        })
    }

    /// Brings memory up to what SQLite holds: the graph's generation, the
    /// rows changed since `seen_seq`, the chunks removed since; everything
    /// when this process fell behind the removal log's floor.
    fn catch_up(&mut self) -> rusqlite::Result<()> {
        let data_version = self.current_data_version()?;
        let graph_max = self.graph.as_ref().map_or(0, |g| g.max_key);
        let mut changes = self.read_changes(self.seen_seq, graph_max, false)?;
        let generation_moved =
            changes.graph.map(|g| g.0) != self.graph.as_ref().map(|g| g.generation);
        if self.seen_seq >= 0 && self.seen_seq + 1 < changes.removed_floor {
            // Removals this process has not seen were pruned: start over.
            self.clear();
            changes = self.read_changes(-1, changes.graph.map_or(0, |g| g.1), false)?;
        }
        if generation_moved {
            self.open_graph(changes.graph)?;
        }
        for id in &changes.removed {
            self.remove_slot(id);
        }
        let graph_max = self.graph.as_ref().map_or(0, |g| g.max_key);
        for (p, v) in changes.rows {
            self.put(p, v, graph_max);
        }
        if generation_moved {
            // The graph now holds what the delta held up to its key.
            self.delta.retain(|k, _| *k > graph_max);
        }
        if self.dim == 0 {
            let dim = self
                .conn()
                .query_row("SELECT length(vector) / 4 FROM chunks LIMIT 1", [], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()?;
            self.dim = dim.unwrap_or(0) as usize;
        }
        self.seen_seq = changes.next_seq - 1;
        self.data_version = data_version;
        Ok(())
    }

    fn open_graph(&mut self, graph: Option<(i64, u64, f32)>) -> rusqlite::Result<()> {
        self.graph = None;
        let Some((generation, max_key, scale)) = graph else {
            return Ok(());
        };
        let dim: usize = self
            .conn()
            .query_row("SELECT length(vector) / 4 FROM chunks LIMIT 1", [], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
            .unwrap_or(0) as usize;
        match Ann::view(&self.dir, dim, generation, max_key, scale) {
            Ok(g) => self.graph = Some(g),
            Err(e) => {
                // The graph only speeds search up; without it every row is
                // read into the delta and scanned exactly.
                tracing::warn!(error = %e, "the vector graph could not be opened; searching exactly until the next merge");
                self.clear();
                let changes = self.read_changes(-1, 0, true)?;
                for (p, v) in changes.rows {
                    self.put(p, v, 0);
                }
            }
        }
        Ok(())
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.slot_of.clear();
        self.slot_of_key.clear();
        self.delta.clear();
        self.cache
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn put(&mut self, meta: Meta, v: Option<Vec<f32>>, graph_max: u64) {
        let key = meta.key;
        self.cache
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .pop(&meta.chunk_id);
        if let Some(v) = &v {
            if self.dim == 0 {
                self.dim = v.len();
            }
        }
        if let Some(&slot) = self.slot_of.get(&meta.chunk_id) {
            let old = self.entries[slot].meta.key;
            if old != key {
                self.slot_of_key.remove(&old);
                self.delta.remove(&old);
                self.slot_of_key.insert(key, slot);
            }
            self.entries[slot] = Entry { meta };
        } else {
            let slot = self.entries.len();
            self.slot_of.insert(meta.chunk_id, slot);
            self.slot_of_key.insert(key, slot);
            self.entries.push(Entry { meta });
        }
        if key > graph_max {
            if let Some(v) = v {
                self.delta.insert(key, v.into_boxed_slice());
            }
        }
    }

    fn remove_slot(&mut self, id: &Uuid) {
        self.cache
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .pop(id);
        let Some(slot) = self.slot_of.remove(id) else {
            return;
        };
        let key = self.entries[slot].meta.key;
        self.slot_of_key.remove(&key);
        self.delta.remove(&key);
        let last = self.entries.len() - 1;
        if slot != last {
            self.entries.swap(slot, last);
            let moved = &self.entries[slot].meta;
            self.slot_of.insert(moved.chunk_id, slot);
            self.slot_of_key.insert(moved.key, slot);
        }
        self.entries.pop();
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Chunks outside the graph, and in it (for status and tests).
    pub fn parts(&self) -> (usize, usize) {
        (self.delta.len(), self.graph.as_ref().map_or(0, Ann::size))
    }
    /// One request's filters and access, for `passes` and `search`.
    pub fn compile(&self, filters: &SearchFilters, access: &Access) -> Compiled {
        let known = |v: &[String]| {
            (!v.is_empty()).then(|| v.iter().filter_map(|s| self.strings.get(s)).collect())
        };
        Compiled {
            sources: known(&filters.sources),
            kinds: known(&filters.kinds),
            labels: known(&filters.labels),
            updated_after: filters.updated_after,
            updated_before: filters.updated_before,
            terms: access
                .slot_terms()
                .map(|t| t.iter().filter_map(|s| self.strings.get(s)).collect()),
        }
    }

    /// Whether this chunk is stored and passes.
    pub fn passes(&self, id: &Uuid, f: &Compiled) -> bool {
        self.slot_of
            .get(id)
            .is_some_and(|&s| f.passes(&self.entries[s].meta))
    }

    /// Whether every chunk of `doc` passes `f` (a store holds chunks
    /// `0..n` of a document); `false` when it holds none.
    pub fn doc_passes(&self, doc: &Uuid, f: &Compiled) -> bool {
        let mut any = false;
        for ordinal in 0..=u16::MAX as u32 {
            match self.slot_of.get(&sluice_core::chunk_id(doc, ordinal)) {
                Some(&s) if f.passes(&self.entries[s].meta) => any = true,
                Some(_) => return false,
                None => break,
            }
        }
        any
    }

    /// Each of these documents' chunk count (one past its highest ordinal).
    pub fn chunk_counts(&self, docs: &HashSet<Uuid>) -> HashMap<Uuid, u32> {
        let mut out = HashMap::new();
        for e in &self.entries {
            if docs.contains(&e.meta.doc_id) {
                let n = out.entry(e.meta.doc_id).or_insert(0u32);
                *n = (*n).max(e.meta.ordinal + 1);
            }
        }
        out
    }

    /// Full payloads (text included) of these chunks, from SQLite, in the
    /// order asked; unknown ids are left out.
    pub fn payloads_of(&self, ids: &[Uuid]) -> rusqlite::Result<Vec<ChunkPayload>> {
        let mut out = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            for (i, id) in ids.iter().enumerate() {
                match cache.get(id) {
                    Some(p) => out.push(Some(p.clone())),
                    None => {
                        out.push(None);
                        missing.push(i);
                    }
                }
            }
        }
        if !missing.is_empty() {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached("SELECT payload FROM chunks WHERE chunk_id = ?1")?;
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            for i in missing {
                let p: Option<String> = stmt
                    .query_row([ids[i].to_string()], |r| r.get(0))
                    .optional()?;
                if let Some(p) = p.and_then(|p| serde_json::from_str::<ChunkPayload>(&p).ok()) {
                    // Only what memory also holds: a row newer than this
                    // process's catch-up is read again after it.
                    if self.slot_of.contains_key(&p.chunk_id) {
                        cache.put(p.chunk_id, p.clone());
                    }
                    out[i] = Some(p);
                }
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Every full payload.
    pub fn all_payloads(&self) -> rusqlite::Result<Vec<ChunkPayload>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT payload FROM chunks ORDER BY chunk_id")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .iter()
            .filter_map(|p| serde_json::from_str(p).ok())
            .collect())
    }

    /// One document's chunks, in order.
    pub fn document_payloads(&self, doc: &Uuid) -> rusqlite::Result<Vec<ChunkPayload>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT payload FROM chunks WHERE doc_id = ?1 ORDER BY ordinal")?;
        let rows: Vec<String> = stmt
            .query_map([doc.to_string()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .iter()
            .filter_map(|p| serde_json::from_str(p).ok())
            .collect())
    }

    pub fn vector_of(&self, id: &Uuid) -> Option<Vec<f32>> {
        let blob: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT vector FROM chunks WHERE chunk_id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .ok()?;
        blob.map(|b| from_blob(&b))
    }

    /// Applies one transaction of changes: upserts (payload + optional new
    /// vector), chunk removals. Memory follows only after the commit.
    pub fn apply(
        &mut self,
        upserts: &[(ChunkPayload, Option<Vec<f32>>)],
        truncate: &[(Uuid, u32)],
        delete_docs: &[Uuid],
    ) -> Result<Vec<Uuid>, String> {
        let e = |e: rusqlite::Error| e.to_string();
        let dim = if self.dim != 0 {
            self.dim
        } else {
            upserts
                .iter()
                .find_map(|(_, v)| v.as_ref().map(Vec::len))
                .unwrap_or(0)
        };
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let mut key = meta(&tx, "next_key").map_err(e)?.unwrap_or(1);
        let mut seq = meta(&tx, "next_seq").map_err(e)?.unwrap_or(1);
        let mut removed = Vec::new();
        {
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO chunks (chunk_id, doc_id, ordinal, payload, vector, key, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .map_err(e)?;
            let mut touch = tx
                .prepare_cached("UPDATE chunks SET payload = ?2, seq = ?3 WHERE chunk_id = ?1")
                .map_err(e)?;
            for (p, v) in upserts {
                let payload = serde_json::to_string(p).map_err(|e| e.to_string())?;
                match v {
                    Some(v) => {
                        if v.len() != dim {
                            return Err(format!(
                                "vector has {} dims but the index holds {dim}-dim vectors; use a new data dir for a new model",
                                v.len()
                            ));
                        }
                        put.execute(params![
                            p.chunk_id.to_string(),
                            p.doc_id.to_string(),
                            p.ordinal,
                            payload,
                            to_blob(v),
                            key,
                            seq
                        ])
                        .map_err(e)?;
                        key += 1;
                    }
                    None => {
                        if touch
                            .execute(params![p.chunk_id.to_string(), payload, seq])
                            .map_err(e)?
                            == 0
                        {
                            return Err(format!(
                                "chunk {} of document {} arrived without a vector and none is stored; \
                                 the index is out of step with the state store — run with --full",
                                p.chunk_id, p.doc_id
                            ));
                        }
                    }
                }
                seq += 1;
            }
            let mut sel = tx
                .prepare_cached("SELECT chunk_id FROM chunks WHERE doc_id = ?1 AND ordinal >= ?2")
                .map_err(e)?;
            let mut del = tx
                .prepare_cached("DELETE FROM chunks WHERE doc_id = ?1 AND ordinal >= ?2")
                .map_err(e)?;
            let mut log = tx
                .prepare_cached("INSERT INTO removed (seq, chunk_id) VALUES (?1, ?2)")
                .map_err(e)?;
            let all = truncate
                .iter()
                .copied()
                .chain(delete_docs.iter().map(|d| (*d, 0)));
            for (doc, from) in all {
                let ids: Vec<String> = sel
                    .query_map(params![doc.to_string(), from], |r| r.get(0))
                    .map_err(e)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(e)?;
                del.execute(params![doc.to_string(), from]).map_err(e)?;
                for id in &ids {
                    log.execute(params![seq, id]).map_err(e)?;
                    seq += 1;
                }
                removed.extend(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()));
            }
        }
        set_meta(&tx, "next_key", key).map_err(e)?;
        set_meta(&tx, "next_seq", seq).map_err(e)?;
        tx.commit().map_err(e)?;
        self.catch_up().map_err(e)?;
        Ok(removed)
    }

    /// Sets the access slots of these chunks (those present) in one
    /// transaction; returns their new payloads.
    pub fn set_access(
        &mut self,
        updates: &[(Uuid, Vec<Vec<String>>)],
    ) -> Result<Vec<ChunkPayload>, String> {
        let e = |e: rusqlite::Error| e.to_string();
        let ids: Vec<Uuid> = updates
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| self.slot_of.contains_key(id))
            .collect();
        let slots: HashMap<Uuid, &Vec<Vec<String>>> =
            updates.iter().map(|(id, s)| (*id, s)).collect();
        let mut changed = self.payloads_of(&ids).map_err(e)?;
        for p in &mut changed {
            p.acl = slots[&p.chunk_id].clone();
        }
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        let mut seq = meta(&tx, "next_seq").map_err(e)?.unwrap_or(1);
        {
            let mut put = tx
                .prepare_cached("UPDATE chunks SET payload = ?2, seq = ?3 WHERE chunk_id = ?1")
                .map_err(e)?;
            for p in &changed {
                let payload = serde_json::to_string(p).map_err(|e| e.to_string())?;
                put.execute(params![p.chunk_id.to_string(), payload, seq])
                    .map_err(e)?;
                seq += 1;
            }
        }
        set_meta(&tx, "next_seq", seq).map_err(e)?;
        tx.commit().map_err(e)?;
        self.catch_up().map_err(e)?;
        Ok(changed)
    }

    /// Merges the delta into a new graph generation when it has grown past
    /// the threshold (the writer calls this after its commits). Returns
    /// whether it merged.
    pub fn merge_if_due(&mut self) -> Result<bool, String> {
        let graph_size = self.graph.as_ref().map_or(0, Ann::size);
        let due = self.delta.len()
            >= self
                .merge_at
                .max((graph_size as f64 * MERGE_SHARE) as usize);
        if !due || self.dim == 0 {
            return Ok(false);
        }
        self.merge().map(|_| true)
    }

    /// Writes the next graph generation from the current graph and delta
    /// and publishes it with one SQLite commit (the switch point: a crash
    /// before it leaves the old generation in force, a crash after it the
    /// new one; stray files of other generations are removed next time).
    pub fn merge(&mut self) -> Result<(), String> {
        let e = |e: rusqlite::Error| e.to_string();
        let started = std::time::Instant::now();
        // Unit tests build on one thread: a graph built in parallel differs
        // run to run, and their exact-answer checks must not be flaky.
        let threads = if cfg!(test) {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        let generation = self.graph.as_ref().map_or(0, |g| g.generation) + 1;
        let live: HashSet<u64> = self.slot_of_key.keys().copied().collect();
        let previous_keys = match &self.graph {
            Some(g) => ann::read_keys(&self.dir, g.generation)?,
            None => Vec::new(),
        };
        let dead: HashSet<u64> = previous_keys
            .iter()
            .copied()
            .filter(|k| !live.contains(k))
            .collect();
        let rebuild =
            self.graph.is_none() || dead.len() as f64 > previous_keys.len() as f64 * REBUILD_SHARE;
        let (keys, scale, max_key) = if rebuild {
            // Every live row, from SQLite (the graph's own vectors are int8).
            let mut rows: Vec<(u64, Vec<f32>)> = Vec::with_capacity(self.entries.len());
            {
                let conn = self.conn();
                let mut stmt = conn
                    .prepare("SELECT key, vector FROM chunks ORDER BY key")
                    .map_err(e)?;
                let mut q = stmt.query([]).map_err(e)?;
                while let Some(r) = q.next().map_err(e)? {
                    let key: i64 = r.get(0).map_err(e)?;
                    let blob: Vec<u8> = r.get(1).map_err(e)?;
                    if live.contains(&(key as u64)) {
                        rows.push((key as u64, from_blob(&blob)));
                    }
                }
            }
            let scale = ann::calibrate(rows.iter().map(|(_, v)| v.as_slice()));
            let max_key = rows.iter().map(|(k, _)| *k).max().unwrap_or(0);
            let added: Vec<(u64, &[f32])> = rows.iter().map(|(k, v)| (*k, v.as_slice())).collect();
            let keys = ann::build(
                &self.dir, self.dim, generation, scale, None, &dead, &added, threads,
            )?;
            (keys, scale, max_key)
        } else {
            let g = self.graph.as_ref().expect("checked above");
            let added: Vec<(u64, &[f32])> = self.delta.iter().map(|(k, v)| (*k, &v[..])).collect();
            let max_key = added
                .iter()
                .map(|(k, _)| *k)
                .max()
                .unwrap_or(g.max_key)
                .max(g.max_key);
            let keys = ann::build(
                &self.dir,
                self.dim,
                generation,
                g.scale,
                Some((g.generation, &previous_keys)),
                &dead,
                &added,
                threads,
            )?;
            (keys, g.scale, max_key)
        };
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        set_meta(&tx, "graph_generation", generation).map_err(e)?;
        set_meta(&tx, "graph_max_key", max_key as i64).map_err(e)?;
        set_meta(&tx, "graph_scale_bits", scale.to_bits() as i64).map_err(e)?;
        // The removal log is pruned one merge behind: a reader that has
        // caught up since the previous merge still finds every removal it
        // has not seen; one further behind re-reads everything (the floor).
        let seq = meta(&tx, "next_seq").map_err(e)?.unwrap_or(1);
        let previous = meta(&tx, "merge_seq").map_err(e)?.unwrap_or(0);
        tx.execute("DELETE FROM removed WHERE seq < ?1", [previous])
            .map_err(e)?;
        set_meta(&tx, "removed_floor", previous).map_err(e)?;
        set_meta(&tx, "merge_seq", seq).map_err(e)?;
        tx.commit().map_err(e)?;
        ann::remove_other_generations(&self.dir, generation);
        self.catch_up().map_err(e)?;
        tracing::info!(
            generation,
            chunks = keys.len(),
            rebuilt = rebuild,
            seconds = started.elapsed().as_secs_f64(),
            "vector graph merged"
        );
        Ok(())
    }

    /// The `n` documents nearest by dot product (vectors are unit length),
    /// each as its nearest chunk, among the chunks passing `keep`; scores
    /// are exact fp32 dot products. Returns (score, chunk id).
    pub fn search(&self, query: &[f32], n: usize, f: &Compiled) -> Vec<(f32, Uuid)> {
        self.search_by(query, n, |m| f.passes(m))
    }

    fn search_by(&self, query: &[f32], n: usize, keep: impl Fn(&Meta) -> bool) -> Vec<(f32, Uuid)> {
        if self.dim == 0 || query.len() != self.dim || n == 0 {
            return Vec::new();
        }
        let by_score = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        // The delta: exact, once.
        let delta: Vec<(f32, usize)> = self
            .delta
            .iter()
            .filter_map(|(key, v)| {
                let slot = *self.slot_of_key.get(key)?;
                keep(&self.entries[slot].meta).then(|| (dot(query, v), slot))
            })
            .collect();
        // The n nearest documents, each by its nearest chunk: look among the
        // 1.5n nearest chunks first, four times deeper each time those hold
        // fewer than n documents.
        let mut depth = n.saturating_add(n / 2).max(40);
        loop {
            let (from_graph, graph_done) = self.graph_candidates(query, depth, &keep);
            let mut top: Vec<(f32, usize)> = delta.iter().copied().chain(from_graph).collect();
            // Complete: the graph gave every passing chunk and nothing was cut.
            let all = graph_done && top.len() <= depth;
            if top.len() > depth {
                top.select_nth_unstable_by(depth - 1, by_score);
                top.truncate(depth);
            }
            top.sort_by(by_score);
            let mut seen = HashSet::new();
            top.retain(|(_, slot)| seen.insert(self.entries[*slot].meta.doc_id));
            if top.len() >= n || all || depth >= self.entries.len() {
                top.truncate(n);
                return top
                    .into_iter()
                    .map(|(s, slot)| (s, self.entries[slot].meta.chunk_id))
                    .collect();
            }
            depth = depth.saturating_mul(4);
        }
    }

    /// Up to `depth` graph chunks passing `keep`, rescored exactly; and
    /// whether the graph has no more passing chunks than those.
    fn graph_candidates(
        &self,
        query: &[f32],
        depth: usize,
        keep: &impl Fn(&Meta) -> bool,
    ) -> (Vec<(f32, usize)>, bool) {
        let Some(graph) = &self.graph else {
            return (Vec::new(), true);
        };
        let pass = |key: u64| {
            key <= graph.max_key
                && self
                    .slot_of_key
                    .get(&key)
                    .is_some_and(|&s| keep(&self.entries[s].meta))
        };
        let mut keys = match graph.search(query, depth, pass) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "vector graph search failed");
                Vec::new()
            }
        };
        let mut done = false;
        if keys.len() < depth {
            // The walk ran out of passing neighbours: under a very selective
            // filter the graph is too sparse to walk. Score every passing
            // chunk on its int8 vector instead, keep the best `depth`.
            let q = ann::quantize(query, graph.scale);
            let mut buf = vec![0i8; self.dim];
            let mut scored: Vec<(i32, u64)> = self
                .entries
                .iter()
                .filter(|e| e.meta.key <= graph.max_key && keep(&e.meta))
                .filter_map(|e| {
                    graph
                        .stored(e.meta.key, &mut buf)
                        .then(|| (ann::score_i8(&q, &buf), e.meta.key))
                })
                .collect();
            done = scored.len() <= depth;
            if !done {
                scored.select_nth_unstable_by(depth - 1, |a, b| b.0.cmp(&a.0));
                scored.truncate(depth);
            }
            keys = scored.into_iter().map(|(_, k)| k).collect();
        }
        (self.rescore(query, &keys), done)
    }

    /// Exact scores for graph keys, from their fp32 vectors in SQLite (a
    /// row whose key moved on since this process caught up is skipped).
    fn rescore(&self, query: &[f32], keys: &[u64]) -> Vec<(f32, usize)> {
        let conn = self.conn();
        let Ok(mut stmt) =
            conn.prepare_cached("SELECT vector FROM chunks WHERE chunk_id = ?1 AND key = ?2")
        else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|key| {
                let slot = *self.slot_of_key.get(key)?;
                let id = self.entries[slot].meta.chunk_id.to_string();
                let blob: Vec<u8> = stmt
                    .query_row(params![id, *key as i64], |r| r.get(0))
                    .optional()
                    .ok()??;
                Some((dot(query, &from_blob(&blob)), slot))
            })
            .collect()
    }
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators let the compiler vectorise the loop.
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for i in 0..chunks {
        for j in 0..8 {
            acc[j] += a[i * 8 + j] * b[i * 8 + j];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for i in chunks * 8..a.len() {
        s += a[i] * b[i];
    }
    s
}

#[cfg(test)]
impl VectorStore {
    /// `search` with the filter given as a predicate over full payloads
    /// (applied inside the walk all the same), answering with payloads.
    fn search_payloads(
        &self,
        q: &[f32],
        n: usize,
        keep: impl Fn(&ChunkPayload) -> bool,
    ) -> Vec<(f32, ChunkPayload)> {
        let all = self.all_payloads().unwrap();
        let pass: HashSet<Uuid> = all.iter().filter(|p| keep(p)).map(|p| p.chunk_id).collect();
        let hits = self.search_by(q, n, |m| pass.contains(&m.chunk_id));
        let by_id: HashMap<Uuid, ChunkPayload> = all.into_iter().map(|p| (p.chunk_id, p)).collect();
        hits.into_iter()
            .map(|(s, id)| (s, by_id[&id].clone()))
            .collect()
    }

    fn thin_payload(&self, id: &Uuid) -> Option<ChunkPayload> {
        self.slot_of.get(id)?;
        self.payloads_of(&[*id]).unwrap().into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn payload(doc: &str, ordinal: u32) -> ChunkPayload {
        let doc_id = sluice_core::doc_id("s", doc);
        ChunkPayload {
            chunk_id: sluice_core::chunk_id(&doc_id, ordinal),
            doc_id,
            ordinal,
            source: "s".into(),
            external_id: doc.into(),
            kind: "page".into(),
            title: format!("doc {doc}"),
            url: None,
            labels: vec![],
            acl: vec![],
            updated_at: None,
            text: "t".into(),
        }
    }

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn upsert_search_truncate_delete_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite");
        let mut s = VectorStore::open(&path).unwrap();
        s.apply(
            &[
                (payload("a", 0), Some(unit(&[1.0, 0.0, 0.0]))),
                (payload("a", 1), Some(unit(&[0.0, 1.0, 0.0]))),
                (payload("b", 0), Some(unit(&[0.7, 0.7, 0.0]))),
            ],
            &[],
            &[],
        )
        .unwrap();
        let hits = s.search_payloads(&unit(&[1.0, 0.1, 0.0]), 2, |_| true);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].1.external_id, "a");
        assert_eq!(hits[0].1.ordinal, 0);
        assert_eq!(hits[1].1.external_id, "b");
        // Filters apply before ranking.
        let hits = s.search_payloads(&unit(&[1.0, 0.0, 0.0]), 5, |p| p.external_id == "b");
        assert_eq!(hits.len(), 1);
        // Payload-only update keeps the stored vector.
        let mut p = payload("a", 0);
        p.title = "renamed".into();
        s.apply(&[(p, None)], &[(sluice_core::doc_id("s", "a"), 1)], &[])
            .unwrap();
        assert_eq!(s.len(), 2);
        let a0 = sluice_core::chunk_id(&sluice_core::doc_id("s", "a"), 0);
        assert_eq!(s.thin_payload(&a0).unwrap().title, "renamed");
        assert_eq!(s.vector_of(&a0).unwrap(), unit(&[1.0, 0.0, 0.0]));
        drop(s);
        let mut s = VectorStore::open(&path).unwrap();
        assert_eq!(s.len(), 2);
        let removed = s.apply(&[], &[], &[sluice_core::doc_id("s", "b")]).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(s.len(), 1);
        assert!(s.thin_payload(&a0).is_some());
    }

    /// `n` documents, not `n` chunks: a document with many chunks near the
    /// query takes one place, its nearest chunk's.
    #[test]
    fn search_returns_n_documents_by_their_nearest_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = VectorStore::open(&dir.path().join("v.sqlite")).unwrap();
        let mut rows: Vec<(ChunkPayload, Option<Vec<f32>>)> = (0..12)
            .map(|o| (payload("many", o), Some(unit(&[1.0, 0.01 * o as f32, 0.0]))))
            .collect();
        rows.push((payload("near", 0), Some(unit(&[0.5, 0.5, 0.0]))));
        rows.push((payload("far", 0), Some(unit(&[0.0, 0.0, 1.0]))));
        s.apply(&rows, &[], &[]).unwrap();
        let hits: Vec<(String, u32)> = s
            .search_payloads(&unit(&[1.0, 0.0, 0.0]), 3, |_| true)
            .into_iter()
            .map(|(_, p)| (p.external_id.clone(), p.ordinal))
            .collect();
        assert_eq!(
            hits,
            [
                ("many".to_string(), 0),
                ("near".to_string(), 0),
                ("far".to_string(), 0)
            ]
        );
    }

    #[test]
    fn missing_vector_for_new_chunk_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = VectorStore::open(&dir.path().join("v.sqlite")).unwrap();
        let err = s.apply(&[(payload("x", 0), None)], &[], &[]).unwrap_err();
        assert!(err.contains("without a vector"));
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn reader_sees_writer_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite");
        let mut w = VectorStore::open(&path).unwrap();
        let mut r = VectorStore::open(&path).unwrap();
        assert!(!r.refresh_if_changed().unwrap());
        w.apply(&[(payload("a", 0), Some(unit(&[1.0, 0.0])))], &[], &[])
            .unwrap();
        assert!(r.refresh_if_changed().unwrap());
        assert_eq!(r.len(), 1);
    }

    /// A deterministic cloud of unit vectors in `dim` dimensions.
    fn cloud(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut s = seed.max(1);
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        (0..n)
            .map(|_| unit(&(0..dim).map(|_| next()).collect::<Vec<f32>>()))
            .collect()
    }

    fn exact(
        vs: &[(ChunkPayload, Vec<f32>)],
        q: &[f32],
        n: usize,
        keep: impl Fn(&ChunkPayload) -> bool,
    ) -> Vec<String> {
        let mut scored: Vec<(f32, &ChunkPayload)> = vs
            .iter()
            .filter(|(p, _)| keep(p))
            .map(|(p, v)| (dot(q, v), p))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .into_iter()
            .take(n)
            .map(|(_, p)| p.external_id.clone())
            .collect()
    }

    /// With a graph: same answers as an exact scan (a graph this small,
    /// built on one thread, finds them all), filters applied
    /// inside the walk, the delta searched beside it, removals and
    /// re-embedded chunks honoured, and a second process that catches up.
    #[test]
    fn graph_and_delta_answer_like_an_exact_scan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors.sqlite");
        let mut w = VectorStore::open(&path).unwrap();
        w.set_merge_threshold(300);
        let vs = cloud(400, 24, 7);
        let mut rows: Vec<(ChunkPayload, Vec<f32>)> = vs
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut p = payload(&format!("d{i}"), 0);
                p.acl = vec![vec![if i % 3 == 0 {
                    "group:a".into()
                } else {
                    "group:b".into()
                }]];
                (p, v.clone())
            })
            .collect();
        let upserts: Vec<(ChunkPayload, Option<Vec<f32>>)> = rows[..350]
            .iter()
            .map(|(p, v)| (p.clone(), Some(v.clone())))
            .collect();
        w.apply(&upserts, &[], &[]).unwrap();
        assert!(w.merge_if_due().unwrap());
        assert_eq!(w.parts(), (0, 350));
        let upserts: Vec<(ChunkPayload, Option<Vec<f32>>)> = rows[350..]
            .iter()
            .map(|(p, v)| (p.clone(), Some(v.clone())))
            .collect();
        w.apply(&upserts, &[], &[]).unwrap();
        assert_eq!(w.parts(), (50, 350));
        let mut r = VectorStore::open(&path).unwrap();
        assert_eq!(r.parts(), (50, 350));
        let only_a = |p: &ChunkPayload| p.acl[0][0] == "group:a";
        for (i, q) in cloud(20, 24, 99).iter().enumerate() {
            let want = exact(&rows, q, 5, |_| true);
            let got: Vec<String> = r
                .search_payloads(q, 5, |_| true)
                .into_iter()
                .map(|(_, p)| p.external_id.clone())
                .collect();
            assert_eq!(got, want, "query {i}");
            let want = exact(&rows, q, 5, only_a);
            let got: Vec<String> = r
                .search_payloads(q, 5, only_a)
                .into_iter()
                .map(|(_, p)| p.external_id.clone())
                .collect();
            assert_eq!(got, want, "filtered query {i}");
        }
        // A chunk in the graph removed, another re-embedded: the writer
        // commits, the reader catches up, neither answers with old data.
        let (gone, moved) = (rows[10].0.doc_id, rows[11].0.clone());
        let new_vector = unit(&vs[11].iter().map(|x| -x).collect::<Vec<f32>>());
        w.apply(&[(moved.clone(), Some(new_vector.clone()))], &[], &[gone])
            .unwrap();
        rows.remove(10);
        rows[10].1 = new_vector.clone();
        assert!(r.refresh_if_changed().unwrap());
        assert_eq!(r.len(), 399);
        let got = r.search_payloads(&vs[10], 1, |_| true);
        assert_ne!(got[0].1.doc_id, gone);
        let got = r.search_payloads(&new_vector, 1, |_| true);
        assert_eq!(got[0].1.external_id, moved.external_id);
        assert!(
            (got[0].0 - 1.0).abs() < 1e-5,
            "rescored with the fp32 vector, got {}",
            got[0].0
        );
        // The next generation patches the graph: the removed key goes, the delta joins.
        w.set_merge_threshold(10);
        assert!(w.merge_if_due().unwrap());
        assert_eq!(w.parts(), (0, 399));
        assert!(r.refresh_if_changed().unwrap());
        assert_eq!(r.parts(), (0, 399));
        for q in cloud(10, 24, 5) {
            let want = exact(&rows, &q, 3, only_a);
            let got: Vec<String> = r
                .search_payloads(&q, 3, only_a)
                .into_iter()
                .map(|(_, p)| p.external_id.clone())
                .collect();
            assert_eq!(got, want);
        }
        // Reopened from disk: same parts, same answers.
        drop(w);
        let w = VectorStore::open(&path).unwrap();
        assert_eq!(w.parts(), (0, 399));
        let only_gen = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("ann-")
            })
            .count();
        assert_eq!(only_gen, 2, "one generation's graph and keys");
    }

    /// A filter that passes a handful of chunks: the graph walk cannot
    /// find them, the int8 fallback does, and nothing else comes back.
    #[test]
    fn selective_filter_finds_every_passing_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = VectorStore::open(&dir.path().join("vectors.sqlite")).unwrap();
        w.set_merge_threshold(100);
        let vs = cloud(500, 16, 3);
        let rows: Vec<(ChunkPayload, Option<Vec<f32>>)> = vs
            .iter()
            .enumerate()
            .map(|(i, v)| (payload(&format!("d{i}"), 0), Some(v.clone())))
            .collect();
        w.apply(&rows, &[], &[]).unwrap();
        assert!(w.merge_if_due().unwrap());
        let wanted: HashSet<String> = ["d3", "d250", "d499"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let got = w.search_payloads(&vs[0], 10, |p| wanted.contains(&p.external_id));
        let got: HashSet<String> = got
            .into_iter()
            .map(|(_, p)| p.external_id.clone())
            .collect();
        assert_eq!(got, wanted);
        assert!(w.search_payloads(&vs[0], 10, |_| false).is_empty());
    }

    /// What a crash can leave: files of an unpublished generation (the
    /// SQLite commit is the switch), or a published graph file gone or
    /// broken. The first is ignored and overwritten by the next merge; the
    /// second degrades to an exact scan of every chunk, never to wrong or
    /// missing answers.
    #[test]
    fn crash_leftovers_never_change_answers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors.sqlite");
        let vs = cloud(160, 16, 11);
        let rows: Vec<(ChunkPayload, Vec<f32>)> = vs
            .iter()
            .enumerate()
            .map(|(i, v)| (payload(&format!("d{i}"), 0), v.clone()))
            .collect();
        let answers = |s: &VectorStore| -> Vec<Vec<String>> {
            cloud(8, 16, 42)
                .iter()
                .map(|q| {
                    s.search_payloads(q, 3, |_| true)
                        .into_iter()
                        .map(|(_, p)| p.external_id.clone())
                        .collect()
                })
                .collect()
        };
        let want = |n: usize| -> Vec<Vec<String>> {
            cloud(8, 16, 42)
                .iter()
                .map(|q| exact(&rows[..n], q, 3, |_| true))
                .collect()
        };
        let mut w = VectorStore::open(&path).unwrap();
        w.set_merge_threshold(50);
        let up = |r: &[(ChunkPayload, Vec<f32>)]| -> Vec<(ChunkPayload, Option<Vec<f32>>)> {
            r.iter()
                .map(|(p, v)| (p.clone(), Some(v.clone())))
                .collect()
        };
        w.apply(&up(&rows[..100]), &[], &[]).unwrap();
        assert!(w.merge_if_due().unwrap());
        // A merge that died before its commit: a half-written temporary and
        // a complete-looking but unpublished graph of generation 2.
        std::fs::write(dir.path().join("ann-2.usearch.tmp"), b"partial").unwrap();
        std::fs::write(ann::graph_path(dir.path(), 2), b"not a graph").unwrap();
        drop(w);
        let mut w = VectorStore::open(&path).unwrap();
        w.set_merge_threshold(50);
        assert_eq!(w.parts(), (0, 100));
        assert_eq!(answers(&w), want(100));
        w.apply(&up(&rows[100..]), &[], &[]).unwrap();
        assert!(w.merge_if_due().unwrap());
        assert_eq!(w.parts(), (0, 160));
        assert_eq!(answers(&w), want(160));
        assert!(
            !dir.path().join("ann-2.usearch.tmp").exists(),
            "stray files of other generations are removed"
        );
        // The published graph lost: every chunk is searched exactly.
        std::fs::remove_file(ann::graph_path(dir.path(), 2)).unwrap();
        drop(w);
        let r = VectorStore::open(&path).unwrap();
        assert_eq!(r.parts(), (160, 0));
        assert_eq!(answers(&r), want(160));
    }

    /// A reader that keeps up learns removals from the log; one that fell
    /// behind by more than a merge (the log pruned past it) re-reads
    /// everything. Either way it ends with exactly the writer's chunks.
    #[test]
    fn readers_catch_up_across_merges_and_log_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors.sqlite");
        let vs = cloud(80, 8, 5);
        let row = |i: usize| (payload(&format!("d{i}"), 0), Some(vs[i].clone()));
        let mut w = VectorStore::open(&path).unwrap();
        w.set_merge_threshold(10);
        w.apply(&(0..20).map(row).collect::<Vec<_>>(), &[], &[])
            .unwrap();
        assert!(w.merge_if_due().unwrap());
        let mut keeping_up = VectorStore::open(&path).unwrap();
        let mut behind = VectorStore::open(&path).unwrap();
        let ids = |s: &VectorStore| -> BTreeSet<Uuid> { s.slot_of.keys().copied().collect() };
        for round in 0..3 {
            let gone = sluice_core::doc_id("s", &format!("d{round}"));
            let fresh: Vec<_> = (20 + round * 10..30 + round * 10).map(row).collect();
            w.apply(&fresh, &[], &[gone]).unwrap();
            assert!(w.merge_if_due().unwrap());
            assert!(keeping_up.refresh_if_changed().unwrap());
            assert_eq!(ids(&keeping_up), ids(&w), "round {round}");
            assert!(
                keeping_up.search_payloads(&vs[round], 1, |_| true)[0]
                    .1
                    .doc_id
                    != gone
            );
        }
        assert!(behind.refresh_if_changed().unwrap());
        assert_eq!(ids(&behind), ids(&w));
        assert_eq!(behind.len(), 47);
        assert_eq!(behind.parts(), (0, 47));
    }

    /// A store from before the graph (no key/seq columns) is upgraded in
    /// place and answers as before.
    #[test]
    fn store_without_keys_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors.sqlite");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL, payload TEXT NOT NULL, vector BLOB NOT NULL);",
            )
            .unwrap();
            for (i, v) in [[1.0f32, 0.0], [0.0, 1.0]].iter().enumerate() {
                let p = payload(&format!("old{i}"), 0);
                c.execute(
                    "INSERT INTO chunks VALUES (?1, ?2, 0, ?3, ?4)",
                    params![
                        p.chunk_id.to_string(),
                        p.doc_id.to_string(),
                        serde_json::to_string(&p).unwrap(),
                        to_blob(v)
                    ],
                )
                .unwrap();
            }
        }
        let mut s = VectorStore::open(&path).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.search_payloads(&[0.0, 1.0], 1, |_| true)[0].1.external_id,
            "old1"
        );
        s.apply(&[(payload("new", 0), Some(vec![0.6, 0.8]))], &[], &[])
            .unwrap();
        let s = VectorStore::open(&path).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(
            s.search_payloads(&[0.6, 0.8], 1, |_| true)[0].1.external_id,
            "new"
        );
    }

    /// The interned check is the same rule as `SearchFilters::matches` and
    /// `Access::allows` (the one access check), on payloads and requests
    /// drawn from small vocabularies so that they collide: slots missing,
    /// too many, the public marker, unknown principals and filter values.
    #[test]
    fn compiled_filters_agree_with_the_access_check_and_filters() {
        let mut seed = 0x5EED_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let principals = [
            "group:a",
            "group:b",
            "user:x",
            sluice_core::access::ANY,
            "group:unknown",
        ];
        let words = ["wiki", "jira", "page", "issue", "red", "blue", "nowhere"];
        let mut store =
            VectorStore::open(&tempfile::tempdir().unwrap().path().join("v.sqlite")).unwrap();
        let mut payloads = Vec::new();
        for i in 0..300 {
            let mut p = payload(&format!("d{i}"), 0);
            p.source = words[next(2) as usize].into();
            p.kind = words[2 + next(2) as usize].into();
            p.labels = (0..next(3))
                .map(|_| words[4 + next(2) as usize].to_string())
                .collect();
            p.updated_at = (next(3) > 0).then(|| next(100) as i64);
            let slots = match next(10) {
                0 => 0,
                1 => MAX_ACL_SETS + 1,
                _ => MAX_ACL_SETS,
            };
            p.acl = (0..slots)
                .map(|_| {
                    (0..1 + next(2))
                        .map(|_| principals[next(4) as usize].to_string())
                        .collect()
                })
                .collect();
            let meta = store.strings.meta(&p, i as u64 + 1);
            store.put(meta, Some(vec![1.0, 0.0]), 0);
            payloads.push(p);
        }
        let mut checked = 0;
        for _ in 0..400 {
            let pick = |next: &mut dyn FnMut(u64) -> u64, from: &[&str]| -> Vec<String> {
                (0..next(3))
                    .map(|_| from[next(from.len() as u64) as usize].to_string())
                    .collect()
            };
            let filters = SearchFilters {
                sources: pick(&mut next, &words),
                kinds: pick(&mut next, &words),
                labels: pick(&mut next, &words),
                updated_after: (next(3) == 0).then(|| next(100) as i64),
                updated_before: (next(3) == 0).then(|| next(100) as i64),
            };
            let access = match next(4) {
                0 => Access::All,
                _ => Access::Principals(pick(&mut next, &principals)),
            };
            let compiled = store.compile(&filters, &access);
            for p in &payloads {
                let want = filters.matches(p) && access.allows(&p.acl);
                assert_eq!(
                    store.passes(&p.chunk_id, &compiled),
                    want,
                    "{p:?} {filters:?} {access:?}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 120_000);
    }

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.1).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.05).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }
}
