use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;
use sluice_core::{Sink, SinkAck, SinkBatch, SinkError};
use uuid::Uuid;

use crate::keyword::KeywordIndex;
use crate::search::{Hit, SearchMode, SearchRequest, SearchResponse, collapse, rrf_fuse_weighted};
use crate::vectors::{ChunkPayload, VectorStore};
use crate::IndexError;

/// Candidates per leg before fusion: enough that a document ranked low in
/// one leg but high in the other still makes the fused top-k.
const MIN_CANDIDATES: usize = 100;
/// Fusion constants, measured with `sluice eval` on SciFact (train, 809
/// queries; nDCG@10): equal weights with k = 60 gave 0.673 (below the vector
/// leg's 0.686); keyword weight 0.5 with k = 20 gave 0.694. The same change
/// lifted the bundled sample's hit@5 from 22 to 26 of 30 queries.
pub const RRF_K: f32 = 20.0;
pub const KEYWORD_WEIGHT: f32 = 0.5;
const SNIPPET_CHARS: usize = 240;

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

    /// Runs a search. `query_vector` is the embedded query (needed for the
    /// vector and hybrid modes).
    pub fn search(&self, req: &SearchRequest, query_vector: Option<&[f32]>) -> Result<SearchResponse, String> {
        let start = Instant::now();
        let mut g = self.lock()?;
        g.vectors.refresh_if_changed().map_err(|e| e.to_string())?;
        let n = (req.top_k * 5).max(MIN_CANDIDATES);
        let want_kw = matches!(req.mode, SearchMode::Hybrid | SearchMode::Keyword);
        let want_vec = matches!(req.mode, SearchMode::Hybrid | SearchMode::Vector);
        if want_vec && query_vector.is_none() {
            return Err(format!("{:?} search needs a query embedding", req.mode));
        }

        let doc_of = |vs: &VectorStore, c: &Uuid| vs.payload(c).map(|p| p.doc_id);
        let kw_docs = if want_kw {
            let _leg = tracing::info_span!("keyword_leg", candidates = n).entered();
            let raw = g.keyword.search(&req.query, n, &req.filters, &req.access)?;
            let triples: Vec<(f32, Uuid, Uuid)> =
                raw.into_iter().filter_map(|(s, c)| doc_of(&g.vectors, &c).map(|d| (s, c, d))).collect();
            collapse(&triples)
        } else {
            Vec::new()
        };
        let vec_docs = match (want_vec, query_vector) {
            (true, Some(q)) => {
                let _leg = tracing::info_span!("vector_leg", candidates = n).entered();
                let raw = g.vectors.search(q, n, |p| req.filters.matches(p) && req.access.allows(&p.acl));
                let triples: Vec<(f32, Uuid, Uuid)> = raw.into_iter().map(|(s, p)| (s, p.chunk_id, p.doc_id)).collect();
                collapse(&triples)
            }
            _ => Vec::new(),
        };

        // (doc, best chunk, score, keyword rank, vector rank)
        let ranked: Vec<(Uuid, Uuid, f32, Option<usize>, Option<usize>)> = match req.mode {
            SearchMode::Keyword => kw_docs.iter().enumerate().map(|(i, (d, c, s))| (*d, *c, *s, Some(i + 1), None)).collect(),
            SearchMode::Vector => vec_docs.iter().enumerate().map(|(i, (d, c, s))| (*d, *c, *s, None, Some(i + 1))).collect(),
            SearchMode::Hybrid => {
                let legs = vec![kw_docs.iter().map(|x| x.0).collect(), vec_docs.iter().map(|x| x.0).collect()];
                let best_chunk = |d: &Uuid, kr: Option<usize>, vr: Option<usize>| -> Uuid {
                    // The chunk from the leg where the document ranked higher.
                    match (kr, vr) {
                        (Some(k), Some(v)) if v < k => vec_docs[v - 1].1,
                        (Some(k), _) => kw_docs[k - 1].1,
                        (None, Some(v)) => vec_docs[v - 1].1,
                        (None, None) => *d,
                    }
                };
                rrf_fuse_weighted(&legs, &[KEYWORD_WEIGHT, 1.0], RRF_K)
                    .into_iter()
                    .map(|(d, s, ranks)| (d, best_chunk(&d, ranks[0], ranks[1]), s, ranks[0], ranks[1]))
                    .collect()
            }
        };

        let top: Vec<_> = ranked.into_iter().take(req.top_k).collect();
        let payloads: Vec<Option<&ChunkPayload>> = top.iter().map(|t| g.vectors.payload(&t.1)).collect();
        let texts: Vec<&str> = payloads.iter().map(|p| p.map_or("", |p| p.text.as_str())).collect();
        let snippets = g.keyword.snippets(&req.query, &texts, SNIPPET_CHARS);
        let hits = top
            .iter()
            .zip(payloads)
            .zip(snippets)
            .filter_map(|((t, p), snippet)| {
                let p = p?;
                Some(Hit {
                    doc_id: t.0,
                    chunk_id: t.1,
                    external_id: p.external_id.clone(),
                    title: p.title.clone(),
                    url: p.url.clone(),
                    source: p.source.clone(),
                    kind: p.kind.clone(),
                    labels: p.labels.clone(),
                    snippet,
                    score: t.2,
                    updated_at: p.updated_at.and_then(chrono::DateTime::from_timestamp_micros).map(|t| t.to_rfc3339()),
                    keyword_rank: t.3,
                    vector_rank: t.4,
                })
            })
            .collect();
        Ok(SearchResponse { hits, mode: req.mode, took_ms: start.elapsed().as_secs_f64() * 1e3, partial: false, warnings: Vec::new() })
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
        tokio_block(|| self.apply_blocking(batch)).map_err(|message| SinkError {
            sink: "embedded".into(),
            message: format!("{message} (index at {})", self.dir.display()),
            transient: false,
        })
    }
}

fn tokio_block<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sluice_core::{Chunk, ChunkWrite, DocKind, Document, DocumentWrite};

    use super::*;
    use crate::search::{Access, SearchFilters};

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
        let idx = EmbeddedIndex::open(dir.path(), true).unwrap();
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

        let r = idx.search(&req("lag alert", SearchMode::Keyword, Access::All), None).unwrap();
        assert_eq!(r.hits.len(), 1);
        assert_eq!(r.hits[0].external_id, "1");
        assert!(r.hits[0].snippet.contains("<mark>lag</mark>"), "{}", r.hits[0].snippet);

        // ACL: the HR doc is invisible to the public and visible to hr.
        let r = idx.search(&req("payroll", SearchMode::Hybrid, Access::public_only()), Some(&[0.0, 1.0])).unwrap();
        assert!(r.hits.iter().all(|h| h.external_id != "2"), "{:?}", r.hits);
        let r = idx.search(&req("payroll", SearchMode::Hybrid, Access::Principals(vec!["group:hr".into()])), Some(&[0.0, 1.0])).unwrap();
        assert_eq!(r.hits[0].external_id, "2");
        assert_eq!(r.hits[0].keyword_rank, Some(1));
        assert_eq!(r.hits[0].vector_rank, Some(1));

        // Replace doc 1 with a single chunk: the stale chunk disappears.
        let mut w = write(doc("1", "Kafka consumer lag", &[]), &["Lag alert threshold is now 80k."], &[[1.0, 0.0]]);
        w.chunk_count = 1;
        idx.apply(&SinkBatch { writes: vec![w], deletes: vec![] }).await.unwrap();
        assert_eq!(idx.counts().unwrap(), (2, 2));
        let r = idx.search(&req("scale", SearchMode::Keyword, Access::All), None).unwrap();
        assert!(r.hits.is_empty(), "stale chunk still searchable: {:?}", r.hits);

        // Delete doc 2 entirely; applying it twice is harmless.
        let del = SinkBatch { writes: vec![], deletes: vec![sluice_core::doc_id("wiki", "2")] };
        idx.apply(&del).await.unwrap();
        idx.apply(&del).await.unwrap();
        assert_eq!(idx.counts().unwrap(), (1, 1));

        // Survives reopening.
        drop(idx);
        let idx = EmbeddedIndex::open(dir.path(), true).unwrap();
        assert_eq!(idx.counts().unwrap(), (1, 1));
        let r = idx.search(&req("threshold", SearchMode::Vector, Access::All), Some(&[1.0, 0.0])).unwrap();
        assert_eq!(r.hits[0].external_id, "1");
    }

    #[tokio::test]
    async fn filters_apply_to_both_legs() {
        let dir = tempfile::tempdir().unwrap();
        let idx = EmbeddedIndex::open(dir.path(), true).unwrap();
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
            let hits = idx.search(&r, Some(&[1.0, 0.0])).unwrap().hits;
            assert_eq!(hits.iter().map(|h| h.external_id.as_str()).collect::<Vec<_>>(), vec!["a"], "{mode:?}");
            let mut r = req("deploy", mode, Access::All);
            r.filters.kinds = vec!["thread".into()];
            r.filters.updated_after = Some(sluice_core::arrow_conv::parse_time("2025-03-01T00:00:00Z").unwrap().timestamp_micros());
            let hits = idx.search(&r, Some(&[1.0, 0.0])).unwrap().hits;
            assert_eq!(hits.iter().map(|h| h.external_id.as_str()).collect::<Vec<_>>(), vec!["b"], "{mode:?}");
        }
        // Hostile query syntax never errors.
        idx.search(&req("title:\"unbalanced AND (", SearchMode::Keyword, Access::All), None).unwrap();
    }
}
