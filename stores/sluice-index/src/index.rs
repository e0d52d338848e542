use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use sluice_core::{Sink, SinkAck, SinkBatch, SinkError};
use uuid::Uuid;

use sluice_core::search::{Access, ChunkPayload, LegChunk, SNIPPET_CHARS, SearchFilters};

use crate::keyword::KeywordIndex;
use crate::vectors::VectorStore;
use crate::IndexError;

struct Inner {
    keyword: KeywordIndex,
    vectors: VectorStore,
}

/// Keyword + vector index in one directory, usable as a `Sink` and for search.
pub struct EmbeddedIndex {
    dir: PathBuf,
    inner: Mutex<Inner>,
    writable: bool,
}

impl EmbeddedIndex {
    /// Opens (creating if needed) the index under `dir`. Only one writer
    /// may hold an index; readers pick up its commits.
    pub fn open(dir: &Path, writable: bool) -> Result<EmbeddedIndex, IndexError> {
        let err = |message: String| IndexError { path: dir.display().to_string(), message };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let keyword = KeywordIndex::open(&dir.join("keyword"), writable).map_err(err)?;
        let vectors = VectorStore::open(&dir.join("vectors.sqlite")).map_err(|e| err(e.to_string()))?;
        Ok(EmbeddedIndex { dir: dir.to_path_buf(), inner: Mutex::new(Inner { keyword, vectors }), writable })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, String> {
        self.inner.lock().map_err(|_| "index lock poisoned".to_string())
    }

    /// (chunks in the vector store, chunks in the keyword index)
    pub fn counts(&self) -> Result<(usize, u64), String> {
        let g = self.lock()?;
        Ok((g.vectors.len(), g.keyword.num_chunks()))
    }

    /// Vector dimension of the stored vectors (0 when empty).
    pub fn dim(&self) -> usize {
        self.lock().map(|g| g.vectors.dim()).unwrap_or(0)
    }

    /// Every chunk payload (for status and tests).
    pub fn payloads(&self) -> Result<Vec<ChunkPayload>, String> {
        let mut g = self.lock()?;
        g.vectors.refresh_if_changed().map_err(|e| e.to_string())?;
        Ok(g.vectors.payloads().to_vec())
    }

    /// The chunks of one document, in order (empty when unknown).
    pub fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        let mut g = self.lock()?;
        g.vectors.refresh_if_changed().map_err(|e| e.to_string())?;
        let mut chunks: Vec<ChunkPayload> = g.vectors.payloads().iter().filter(|p| p.doc_id == *doc_id).cloned().collect();
        chunks.sort_by_key(|c| c.ordinal);
        Ok(chunks)
    }

    pub fn vector_of(&self, chunk: &Uuid) -> Option<Vec<f32>> {
        self.lock().ok()?.vectors.vector_of(chunk).map(<[f32]>::to_vec)
    }

    fn apply_blocking(&self, batch: &SinkBatch) -> Result<SinkAck, String> {
        if !self.writable {
            return Err("index opened read-only".into());
        }
        let mut upserts = Vec::new();
        let mut truncate = Vec::new();
        for w in &batch.writes {
            let d = &w.document;
            for c in &w.chunks {
                let payload = ChunkPayload {
                    chunk_id: c.chunk.chunk_id,
                    doc_id: w.doc_id,
                    ordinal: c.chunk.ordinal,
                    source: d.source.clone(),
                    external_id: d.external_id.clone(),
                    kind: d.kind.as_str().to_string(),
                    title: d.title.clone(),
                    url: d.url.clone(),
                    labels: d.labels.clone(),
                    acl: d.acl.clone(),
                    updated_at: d.updated_at.map(|t| t.timestamp_micros()),
                    text: c.chunk.text.clone(),
                };
                upserts.push((payload, c.vector.clone()));
            }
            truncate.push((w.doc_id, w.chunk_count));
        }
        let mut g = self.lock()?;
        // Vectors (SQLite) first: if the keyword commit then fails, the
        // engine does not commit its checkpoint and the replay rewrites both.
        let removed = g.vectors.apply(&upserts, &truncate, &batch.deletes)?;
        for (p, _) in &upserts {
            g.keyword.upsert(p)?;
        }
        for id in &removed {
            g.keyword.delete_chunk(id)?;
        }
        g.keyword.commit()?;
        Ok(SinkAck { chunks_written: upserts.len(), docs_deleted: batch.deletes.len(), rejected: Vec::new() })
    }

    /// The keyword leg: the best `n` chunks by BM25 under the filters and access.
    pub fn keyword_chunks(&self, query: &str, n: usize, filters: &SearchFilters, access: &Access) -> Result<Vec<LegChunk>, String> {
        let mut g = self.lock()?;
        g.vectors.refresh_if_changed().map_err(|e| e.to_string())?;
        let raw = g.keyword.search(query, n, filters, access)?;
        Ok(raw.into_iter().filter_map(|(score, c)| g.vectors.payload(&c).map(|p| LegChunk { score, chunk: p.clone(), snippet: None })).collect())
    }

    /// The vector leg: the `n` chunks nearest to `query` under the filters and access.
    pub fn vector_chunks(&self, query: &[f32], n: usize, filters: &SearchFilters, access: &Access) -> Result<Vec<LegChunk>, String> {
        let mut g = self.lock()?;
        g.vectors.refresh_if_changed().map_err(|e| e.to_string())?;
        let raw = g.vectors.search(query, n, |p| filters.matches(p) && access.allows(&p.acl));
        Ok(raw.into_iter().map(|(score, p)| LegChunk { score, chunk: p.clone(), snippet: None }).collect())
    }

    /// Highlighted snippets (`<mark>`) of `texts` for `query`.
    pub fn snippets(&self, query: &str, texts: &[String]) -> Result<Vec<String>, String> {
        let g = self.lock()?;
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(g.keyword.snippets(query, &texts, SNIPPET_CHARS))
    }
}

#[async_trait]
impl Sink for EmbeddedIndex {
    fn name(&self) -> &str {
        "embedded"
    }

    async fn apply(&self, batch: &SinkBatch) -> Result<SinkAck, SinkError> {
        if batch.is_empty() {
            return Ok(SinkAck::default());
        }
        // tantivy and SQLite block; keep them off the async workers.
        sluice_core::run_blocking(|| self.apply_blocking(batch)).map_err(|message| SinkError {
            sink: "embedded".into(),
            message: format!("{message} (index at {})", self.dir.display()),
            transient: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sluice_core::{Chunk, ChunkWrite, DocKind, Document, DocumentWrite};

    use sluice_core::search::{SearchBackend, SearchMode, SearchRequest, SearchResponse};

    use super::*;
    use crate::EmbeddedSearch;

    async fn search(idx: &Arc<EmbeddedIndex>, r: &SearchRequest, qv: Option<&[f32]>) -> Result<SearchResponse, String> {
        EmbeddedSearch::new(idx.clone()).search(r, qv).await
    }

    fn doc(ext: &str, title: &str, acl: &[&str]) -> Document {
        let mut d = Document::new("wiki", ext, DocKind::Page);
        d.title = title.into();
        d.acl = acl.iter().map(|s| s.to_string()).collect();
        d
    }

    fn write(d: Document, texts: &[&str], vecs: &[[f32; 2]]) -> DocumentWrite {
        let id = d.doc_id();
        let chunks = texts
            .iter()
            .zip(vecs)
            .enumerate()
            .map(|(i, (t, v))| ChunkWrite { chunk: Chunk::new(id, i as u32, t.to_string(), 3), vector: Some(v.to_vec()) })
            .collect::<Vec<_>>();
        DocumentWrite { doc_id: id, document: Arc::new(d), chunk_count: chunks.len() as u32, chunks }
    }

    fn req(q: &str, mode: SearchMode, access: Access) -> SearchRequest {
        SearchRequest { query: q.into(), top_k: 10, mode, filters: SearchFilters::default(), access }
    }

    #[tokio::test]
    async fn write_search_replace_delete() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Arc::new(EmbeddedIndex::open(dir.path(), true).unwrap());
        let batch = SinkBatch {
            writes: vec![
                write(doc("1", "Kafka consumer lag", &[]), &["The lag alert fires at 50k messages.", "Scale the consumers."], &[[1.0, 0.0], [0.8, 0.6]]),
                write(doc("2", "Payroll calendar", &["group:hr"]), &["Payroll runs on the 25th."], &[[0.0, 1.0]]),
            ],
            deletes: vec![],
        };
        let ack = idx.apply(&batch).await.unwrap();
        assert_eq!(ack.chunks_written, 3);
        assert_eq!(idx.counts().unwrap(), (3, 3));

        let r = search(&idx, &req("lag alert", SearchMode::Keyword, Access::All), None).await.unwrap();
        assert_eq!(r.hits.len(), 1);
        assert_eq!(r.hits[0].external_id, "1");
        assert!(r.hits[0].snippet.contains("<mark>lag</mark>"), "{}", r.hits[0].snippet);

        // ACL: the HR doc is invisible to the public and visible to hr.
        let r = search(&idx, &req("payroll", SearchMode::Hybrid, Access::public_only()), Some(&[0.0, 1.0])).await.unwrap();
        assert!(r.hits.iter().all(|h| h.external_id != "2"), "{:?}", r.hits);
        let r = search(&idx, &req("payroll", SearchMode::Hybrid, Access::Principals(vec!["group:hr".into()])), Some(&[0.0, 1.0])).await.unwrap();
        assert_eq!(r.hits[0].external_id, "2");
        assert_eq!(r.hits[0].keyword_rank, Some(1));
        assert_eq!(r.hits[0].vector_rank, Some(1));

        // Replace doc 1 with a single chunk: the stale chunk disappears.
        let mut w = write(doc("1", "Kafka consumer lag", &[]), &["Lag alert threshold is now 80k."], &[[1.0, 0.0]]);
        w.chunk_count = 1;
        idx.apply(&SinkBatch { writes: vec![w], deletes: vec![] }).await.unwrap();
        assert_eq!(idx.counts().unwrap(), (2, 2));
        let r = search(&idx, &req("scale", SearchMode::Keyword, Access::All), None).await.unwrap();
        assert!(r.hits.is_empty(), "stale chunk still searchable: {:?}", r.hits);

        // Delete doc 2 entirely; applying it twice is harmless.
        let del = SinkBatch { writes: vec![], deletes: vec![sluice_core::doc_id("wiki", "2")] };
        idx.apply(&del).await.unwrap();
        idx.apply(&del).await.unwrap();
        assert_eq!(idx.counts().unwrap(), (1, 1));

        // Survives reopening.
        drop(idx);
        let idx = Arc::new(EmbeddedIndex::open(dir.path(), true).unwrap());
        assert_eq!(idx.counts().unwrap(), (1, 1));
        let r = search(&idx, &req("threshold", SearchMode::Vector, Access::All), Some(&[1.0, 0.0])).await.unwrap();
        assert_eq!(r.hits[0].external_id, "1");
    }

    #[tokio::test]
    async fn filters_apply_to_both_legs() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Arc::new(EmbeddedIndex::open(dir.path(), true).unwrap());
        let mut a = doc("a", "Deploy guide", &[]);
        a.labels = vec!["runbook".into()];
        a.updated_at = Some(sluice_core::arrow_conv::parse_time("2025-01-10T00:00:00Z").unwrap());
        let mut b = doc("b", "Deploy notes", &[]);
        b.kind = DocKind::Thread;
        b.updated_at = Some(sluice_core::arrow_conv::parse_time("2025-06-10T00:00:00Z").unwrap());
        idx.apply(&SinkBatch { writes: vec![write(a, &["deploy steps"], &[[1.0, 0.0]]), write(b, &["deploy chat"], &[[1.0, 0.0]])], deletes: vec![] })
            .await
            .unwrap();
        for mode in [SearchMode::Keyword, SearchMode::Vector, SearchMode::Hybrid] {
            let mut r = req("deploy", mode, Access::All);
            r.filters.labels = vec!["runbook".into()];
            let hits = search(&idx, &r, Some(&[1.0, 0.0])).await.unwrap().hits;
            assert_eq!(hits.iter().map(|h| h.external_id.as_str()).collect::<Vec<_>>(), vec!["a"], "{mode:?}");
            let mut r = req("deploy", mode, Access::All);
            r.filters.kinds = vec!["thread".into()];
            r.filters.updated_after = Some(sluice_core::arrow_conv::parse_time("2025-03-01T00:00:00Z").unwrap().timestamp_micros());
            let hits = search(&idx, &r, Some(&[1.0, 0.0])).await.unwrap().hits;
            assert_eq!(hits.iter().map(|h| h.external_id.as_str()).collect::<Vec<_>>(), vec!["b"], "{mode:?}");
        }
        // Hostile query syntax never errors.
        search(&idx, &req("title:\"unbalanced AND (", SearchMode::Keyword, Access::All), None).await.unwrap();
    }
}
