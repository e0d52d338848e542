//! Exact vector search. At the embedded index's scale (up to a few hundred
//! thousand chunks) a flat scan is fast, has perfect recall and makes filters
//! trivial; vectors and payloads persist in SQLite and load into memory.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use uuid::Uuid;

pub use sluice_core::search::ChunkPayload;

pub(crate) struct VectorStore {
    conn: Connection,
    dim: usize,
    /// Row-major vectors, `dim` floats per slot.
    data: Vec<f32>,
    payloads: Vec<ChunkPayload>,
    slot_of: HashMap<Uuid, usize>,
    data_version: i64,
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

impl VectorStore {
    pub fn open(path: &Path) -> rusqlite::Result<VectorStore> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS chunks (
                chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
                payload TEXT NOT NULL, vector BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (doc_id, ordinal);",
        )?;
        let mut store = VectorStore {
            conn,
            dim: 0,
            data: Vec::new(),
            payloads: Vec::new(),
            slot_of: HashMap::new(),
            data_version: -1,
        };
        store.reload()?;
        Ok(store)
    }

    fn current_data_version(&self) -> rusqlite::Result<i64> {
        self.conn.query_row("PRAGMA data_version", [], |r| r.get(0))
    }

    /// Reloads when another process committed since the last load (a reader
    /// such as `sluice serve` next to a running sync).
    pub fn refresh_if_changed(&mut self) -> rusqlite::Result<bool> {
        if self.current_data_version()? == self.data_version {
            return Ok(false);
        }
        self.reload()?;
        Ok(true)
    }

    fn reload(&mut self) -> rusqlite::Result<()> {
        self.data.clear();
        self.payloads.clear();
        self.slot_of.clear();
        self.dim = 0;
        let rows: Vec<(String, Vec<u8>)> = {
            let mut stmt = self.conn.prepare("SELECT payload, vector FROM chunks ORDER BY chunk_id")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?
        };
        for (payload, blob) in rows {
            let Ok(p) = serde_json::from_str::<ChunkPayload>(&payload) else { continue };
            let v = from_blob(&blob);
            self.push(p, &v);
        }
        self.data_version = self.current_data_version()?;
        Ok(())
    }

    fn push(&mut self, p: ChunkPayload, v: &[f32]) {
        if self.dim == 0 {
            self.dim = v.len();
        }
        if v.len() != self.dim {
            return;
        }
        if let Some(&slot) = self.slot_of.get(&p.chunk_id) {
            self.data[slot * self.dim..(slot + 1) * self.dim].copy_from_slice(v);
            self.payloads[slot] = p;
            return;
        }
        self.slot_of.insert(p.chunk_id, self.payloads.len());
        self.payloads.push(p);
        self.data.extend_from_slice(v);
    }

    fn remove_slot(&mut self, id: &Uuid) {
        let Some(slot) = self.slot_of.remove(id) else { return };
        let last = self.payloads.len() - 1;
        if slot != last {
            let moved = self.payloads[last].chunk_id;
            self.payloads.swap(slot, last);
            let (d, dim) = (&mut self.data, self.dim);
            for i in 0..dim {
                d[slot * dim + i] = d[last * dim + i];
            }
            self.slot_of.insert(moved, slot);
        }
        self.payloads.pop();
        self.data.truncate(last * self.dim);
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.payloads.len()
    }

    pub fn payload(&self, id: &Uuid) -> Option<&ChunkPayload> {
        self.slot_of.get(id).map(|&s| &self.payloads[s])
    }

    pub fn payloads(&self) -> &[ChunkPayload] {
        &self.payloads
    }

    pub fn vector_of(&self, id: &Uuid) -> Option<&[f32]> {
        self.slot_of.get(id).map(|&s| &self.data[s * self.dim..(s + 1) * self.dim])
    }

    /// Applies one transaction of changes: upserts (payload + optional new
    /// vector), chunk removals. Memory follows only after the commit.
    pub fn apply(
        &mut self,
        upserts: &[(ChunkPayload, Option<Vec<f32>>)],
        truncate: &[(Uuid, u32)],
        delete_docs: &[Uuid],
    ) -> Result<Vec<Uuid>, String> {
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        let mut removed = Vec::new();
        let mut resolved: Vec<(ChunkPayload, Vec<f32>)> = Vec::with_capacity(upserts.len());
        {
            let mut get = tx.prepare_cached("SELECT vector FROM chunks WHERE chunk_id = ?1").map_err(|e| e.to_string())?;
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO chunks (chunk_id, doc_id, ordinal, payload, vector) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(|e| e.to_string())?;
            for (p, v) in upserts {
                let vector = match v {
                    Some(v) => v.clone(),
                    None => {
                        let blob: Option<Vec<u8>> = get.query_row(params![p.chunk_id.to_string()], |r| r.get(0)).optional().map_err(|e| e.to_string())?;
                        match blob {
                            Some(b) => from_blob(&b),
                            None => {
                                return Err(format!(
                                    "chunk {} of document {} arrived without a vector and none is stored; \
                                     the index is out of step with the state store — run with --full",
                                    p.chunk_id, p.doc_id
                                ));
                            }
                        }
                    }
                };
                if self.dim != 0 && vector.len() != self.dim {
                    return Err(format!("vector has {} dims but the index holds {}-dim vectors; use a new data dir for a new model", vector.len(), self.dim));
                }
                let payload = serde_json::to_string(p).map_err(|e| e.to_string())?;
                put.execute(params![p.chunk_id.to_string(), p.doc_id.to_string(), p.ordinal, payload, to_blob(&vector)])
                    .map_err(|e| e.to_string())?;
                resolved.push((p.clone(), vector));
            }
            let mut sel = tx
                .prepare_cached("SELECT chunk_id FROM chunks WHERE doc_id = ?1 AND ordinal >= ?2")
                .map_err(|e| e.to_string())?;
            let mut del = tx.prepare_cached("DELETE FROM chunks WHERE doc_id = ?1 AND ordinal >= ?2").map_err(|e| e.to_string())?;
            let all = truncate.iter().copied().chain(delete_docs.iter().map(|d| (*d, 0)));
            for (doc, from) in all {
                let ids: Vec<String> = sel
                    .query_map(params![doc.to_string(), from], |r| r.get(0))
                    .map_err(|e| e.to_string())?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(|e| e.to_string())?;
                del.execute(params![doc.to_string(), from]).map_err(|e| e.to_string())?;
                removed.extend(ids.iter().filter_map(|s| Uuid::parse_str(s).ok()));
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
        for (p, v) in resolved {
            self.push(p, &v);
        }
        for id in &removed {
            self.remove_slot(id);
        }
        self.data_version = self.current_data_version().map_err(|e| e.to_string())?;
        Ok(removed)
    }

    /// Sets the access slots of these chunks (those present) in one
    /// transaction; returns their new payloads.
    pub fn set_access(&mut self, updates: &[(Uuid, Vec<Vec<String>>)]) -> Result<Vec<ChunkPayload>, String> {
        let mut changed = Vec::new();
        for (id, slots) in updates {
            if let Some(p) = self.payload(id) {
                let mut p = p.clone();
                p.acl = slots.clone();
                changed.push(p);
            }
        }
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        {
            let mut put = tx.prepare_cached("UPDATE chunks SET payload = ?2 WHERE chunk_id = ?1").map_err(|e| e.to_string())?;
            for p in &changed {
                let payload = serde_json::to_string(p).map_err(|e| e.to_string())?;
                put.execute(params![p.chunk_id.to_string(), payload]).map_err(|e| e.to_string())?;
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
        for p in &changed {
            if let Some(&slot) = self.slot_of.get(&p.chunk_id) {
                self.payloads[slot] = p.clone();
            }
        }
        self.data_version = self.current_data_version().map_err(|e| e.to_string())?;
        Ok(changed)
    }

    /// The `n` documents nearest by dot product (vectors are unit length),
    /// each as its nearest chunk, among the chunks passing `keep`.
    pub fn search(&self, query: &[f32], n: usize, keep: impl Fn(&ChunkPayload) -> bool) -> Vec<(f32, &ChunkPayload)> {
        if self.dim == 0 || query.len() != self.dim || n == 0 {
            return Vec::new();
        }
        let scored: Vec<(f32, usize)> = self
            .payloads
            .iter()
            .enumerate()
            .filter(|(_, p)| keep(p))
            .map(|(slot, _)| {
                let v = &self.data[slot * self.dim..(slot + 1) * self.dim];
                (dot(query, v), slot)
            })
            .collect();
        let by_score = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        // The n nearest documents, each by its nearest chunk: look among the
        // 4n nearest chunks first (documents have a few chunks each), and
        // among all when those hold fewer than n documents.
        let mut depth = n.saturating_mul(4);
        loop {
            let mut top = scored.clone();
            let all = top.len() <= depth;
            if !all {
                top.select_nth_unstable_by(depth - 1, by_score);
                top.truncate(depth);
            }
            top.sort_by(by_score);
            let mut seen = std::collections::HashSet::new();
            top.retain(|(_, slot)| seen.insert(self.payloads[*slot].doc_id));
            if top.len() >= n || all {
                top.truncate(n);
                return top.into_iter().map(|(s, slot)| (s, &self.payloads[slot])).collect();
            }
            depth = scored.len();
        }
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
mod tests {
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
        let hits = s.search(&unit(&[1.0, 0.1, 0.0]), 2, |_| true);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].1.external_id, "a");
        assert_eq!(hits[0].1.ordinal, 0);
        assert_eq!(hits[1].1.external_id, "b");
        // Filters apply before ranking.
        let hits = s.search(&unit(&[1.0, 0.0, 0.0]), 5, |p| p.external_id == "b");
        assert_eq!(hits.len(), 1);
        // Payload-only update keeps the stored vector.
        let mut p = payload("a", 0);
        p.title = "renamed".into();
        s.apply(&[(p, None)], &[(sluice_core::doc_id("s", "a"), 1)], &[]).unwrap();
        assert_eq!(s.len(), 2);
        let a0 = sluice_core::chunk_id(&sluice_core::doc_id("s", "a"), 0);
        assert_eq!(s.payload(&a0).unwrap().title, "renamed");
        assert_eq!(s.vector_of(&a0).unwrap(), unit(&[1.0, 0.0, 0.0]).as_slice());
        drop(s);
        let mut s = VectorStore::open(&path).unwrap();
        assert_eq!(s.len(), 2);
        let removed = s.apply(&[], &[], &[sluice_core::doc_id("s", "b")]).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(s.len(), 1);
        assert!(s.payload(&a0).is_some());
    }

    /// `n` documents, not `n` chunks: a document with many chunks near the
    /// query takes one place, its nearest chunk's.
    #[test]
    fn search_returns_n_documents_by_their_nearest_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = VectorStore::open(&dir.path().join("v.sqlite")).unwrap();
        let mut rows: Vec<(ChunkPayload, Option<Vec<f32>>)> = (0..12).map(|o| (payload("many", o), Some(unit(&[1.0, 0.01 * o as f32, 0.0])))).collect();
        rows.push((payload("near", 0), Some(unit(&[0.5, 0.5, 0.0]))));
        rows.push((payload("far", 0), Some(unit(&[0.0, 0.0, 1.0]))));
        s.apply(&rows, &[], &[]).unwrap();
        let hits: Vec<(String, u32)> = s.search(&unit(&[1.0, 0.0, 0.0]), 3, |_| true).into_iter().map(|(_, p)| (p.external_id.clone(), p.ordinal)).collect();
        assert_eq!(hits, [("many".to_string(), 0), ("near".to_string(), 0), ("far".to_string(), 0)]);
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
        w.apply(&[(payload("a", 0), Some(unit(&[1.0, 0.0])))], &[], &[]).unwrap();
        assert!(r.refresh_if_changed().unwrap());
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.1).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.05).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }
}
