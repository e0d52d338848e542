use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use sluice_core::{Sink, SinkAck, SinkBatch, SinkError};
use uuid::Uuid;

use sluice_core::search::{Access, ChunkPayload, LegChunk, SNIPPET_CHARS, SearchFilters};

use crate::IndexError;
use crate::keyword::KeywordIndex;
use crate::vectors::VectorStore;

struct Inner {
    keyword: KeywordIndex,
    vectors: VectorStore,
}

/// Keyword + vector index in one directory, usable as a `Sink` and for search.
pub struct EmbeddedIndex {
    dir: PathBuf,
    /// Searches share it; writes and catching up on another process's
    /// commits take it alone.
    inner: RwLock<Inner>,
    writable: bool,
}

impl EmbeddedIndex {
    /// Opens (creating if needed) the index under `dir`. Only one writer
    /// may hold an index; readers pick up its commits.
    pub fn open(dir: &Path, writable: bool) -> Result<EmbeddedIndex, IndexError> {
        let err = |message: String| IndexError {
            path: dir.display().to_string(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let keyword_dir = dir.join("keyword");
        let before_access = KeywordIndex::predates_access_slots(&keyword_dir);
        let outdated = before_access || KeywordIndex::schema_outdated(&keyword_dir);
        if outdated && !writable {
            let what = if before_access {
                "the access model (flat ACLs)"
            } else {
                "its current fields (document entries, identifiers)"
            };
            return Err(err(format!(
                "the keyword index predates {what}; run `sluice run` on this data directory once to upgrade it"
            )));
        }
        let reformat = !outdated && KeywordIndex::outdated_format(&keyword_dir);
        if reformat && !writable {
            // Same fields and meaning, older text: served as it is until a writer rebuilds it.
            tracing::warn!(dir = %keyword_dir.display(), "the keyword index is of an older format; the next `sluice run` rebuilds it");
        }
        let outdated = outdated || reformat && writable;
        if outdated {
            // Upgrade in place: rebuild the keyword index from the vector
            // store's payloads. Chunks written before the access model have
            // no access slots and stay hidden from every caller until the
            // re-sync the state store schedules rewrites them.
            tracing::warn!(dir = %keyword_dir.display(), "rebuilding the keyword index from the vector store (its format changed)");
            std::fs::remove_dir_all(&keyword_dir).map_err(|e| err(e.to_string()))?;
        }
        let mut keyword = KeywordIndex::open(&keyword_dir, writable).map_err(err)?;
        let vectors =
            VectorStore::open(&dir.join("vectors.sqlite")).map_err(|e| err(e.to_string()))?;
        if outdated {
            let mut by_doc: std::collections::BTreeMap<Uuid, Vec<&ChunkPayload>> =
                std::collections::BTreeMap::new();
            let all = vectors.all_payloads().map_err(|e| err(e.to_string()))?;
            for p in &all {
                by_doc.entry(p.doc_id).or_default().push(p);
            }
            for chunks in by_doc.values_mut() {
                chunks.sort_by_key(|c| c.ordinal);
                for p in chunks.iter() {
                    keyword.upsert(p).map_err(err)?;
                }
                keyword.upsert_document(chunks).map_err(err)?;
            }
            keyword.commit().map_err(err)?;
        }
        if writable {
            KeywordIndex::mark_format(&keyword_dir).map_err(err)?;
        }
        Ok(EmbeddedIndex {
            dir: dir.to_path_buf(),
            inner: RwLock::new(Inner { keyword, vectors }),
            writable,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> Result<RwLockWriteGuard<'_, Inner>, String> {
        self.inner
            .write()
            .map_err(|_| "index lock poisoned".to_string())
    }

    /// Shared access, after catching up with commits made elsewhere.
    fn read(&self) -> Result<RwLockReadGuard<'_, Inner>, String> {
        let poisoned = |_| "index lock poisoned".to_string();
        {
            let g = self.inner.read().map_err(poisoned)?;
            if !g.vectors.changed().map_err(|e| e.to_string())? {
                return Ok(g);
            }
        }
        self.lock()?
            .vectors
            .refresh_if_changed()
            .map_err(|e| e.to_string())?;
        self.inner.read().map_err(poisoned)
    }

    /// (chunks in the vector store, chunks in the keyword index)
    pub fn counts(&self) -> Result<(usize, u64), String> {
        let g = self.read()?;
        Ok((g.vectors.len(), g.keyword.num_chunks()))
    }

    /// How many chunks may wait outside the vector graph before the writer
    /// merges them in (tests and benches; the default suits real use).
    #[doc(hidden)]
    pub fn set_merge_threshold(&self, n: usize) {
        if let Ok(mut g) = self.lock() {
            g.vectors.set_merge_threshold(n);
        }
    }

    /// (chunks searched exactly, chunks in the vector graph)
    pub fn vector_parts(&self) -> Result<(usize, usize), String> {
        let g = self.read()?;
        Ok(g.vectors.parts())
    }

    /// Vector dimension of the stored vectors (0 when empty).
    pub fn dim(&self) -> usize {
        self.read().map(|g| g.vectors.dim()).unwrap_or(0)
    }

    /// Every chunk payload (for status and tests).
    pub fn payloads(&self) -> Result<Vec<ChunkPayload>, String> {
        let g = self.read()?;
        g.vectors.all_payloads().map_err(|e| e.to_string())
    }

    /// The chunks of one document, in order (empty when unknown).
    pub fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        let g = self.read()?;
        g.vectors
            .document_payloads(doc_id)
            .map_err(|e| e.to_string())
    }

    /// Whether `access` may read document `doc` (every chunk), from memory:
    /// the check `related` makes per linked document.
    pub fn readable(&self, doc: &Uuid, access: &Access) -> Result<bool, String> {
        let g = self.read()?;
        let f = g.vectors.compile(&SearchFilters::default(), access);
        Ok(g.vectors.doc_passes(doc, &f))
    }

    pub fn vector_of(&self, chunk: &Uuid) -> Option<Vec<f32>> {
        self.read().ok()?.vectors.vector_of(chunk)
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
                    acl: sluice_core::access::stored_slots(d.access.as_ref()),
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
        g.vectors.apply(&upserts, &truncate, &batch.deletes)?;
        sluice_core::failpoint::hit("embedded.between_vector_and_keyword_commit");
        // The keyword index is rebuilt per touched document from what the
        // vector store now holds, not from what this call removed: after a
        // crash between the two commits, the replay finds those chunks gone
        // from SQLite already, and only a per-document rewrite removes them
        // from the keyword index too.
        for (doc, count) in &truncate {
            Self::rewrite_keyword(&mut g, doc, *count)?;
        }
        for doc in &batch.deletes {
            g.keyword.delete_document(doc)?;
        }
        g.keyword.commit()?;
        // Both committed: fold the delta into the vector graph when due.
        g.vectors.merge_if_due()?;
        Ok(SinkAck {
            chunks_written: upserts.len(),
            docs_deleted: batch.deletes.len(),
            rejected: Vec::new(),
        })
    }

    fn update_access_blocking(&self, updates: &[sluice_core::AccessUpdate]) -> Result<(), String> {
        if !self.writable {
            return Err("index opened read-only".into());
        }
        let per_chunk: Vec<(Uuid, Vec<Vec<String>>)> = updates
            .iter()
            .flat_map(|u| u.chunk_ids.iter().map(move |c| (*c, u.access.slots())))
            .collect();
        let mut g = self.lock()?;
        // Vectors (the payload search answers from) first, as in `apply`.
        let changed = g.vectors.set_access(&per_chunk)?;
        // Each changed document's chunk count, from one pass over the chunks.
        let docs: std::collections::HashSet<Uuid> = changed.iter().map(|p| p.doc_id).collect();
        let counts: std::collections::BTreeMap<Uuid, u32> =
            g.vectors.chunk_counts(&docs).into_iter().collect();
        for (doc, count) in counts {
            Self::rewrite_keyword(&mut g, &doc, count)?;
        }
        g.keyword.commit()
    }

    /// Rewrites a document's keyword entries (its chunks, then its document
    /// entry) from what the vector store holds for chunks `0..count`.
    fn rewrite_keyword(g: &mut Inner, doc: &Uuid, count: u32) -> Result<(), String> {
        g.keyword.delete_document(doc)?;
        let ids: Vec<Uuid> = (0..count).map(|o| sluice_core::chunk_id(doc, o)).collect();
        let chunks = g.vectors.payloads_of(&ids).map_err(|e| e.to_string())?;
        for p in &chunks {
            g.keyword.upsert(p)?;
        }
        g.keyword
            .upsert_document(&chunks.iter().collect::<Vec<_>>())
    }

    /// The keyword leg: the best `n` chunks by BM25 under the filters and access.
    pub fn keyword_chunks(
        &self,
        query: &str,
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        let g = self.read()?;
        let raw = g.keyword.search(query, n, filters, access)?;
        checked(&g.vectors, raw, filters, access)
    }

    /// The chunk-level keyword leg of before issue 20, for the benchmark's
    /// baseline only (`EmbeddedSearch::chunk_level_baseline`).
    #[doc(hidden)]
    pub fn keyword_chunks_chunk_level(
        &self,
        query: &str,
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        let g = self.read()?;
        let raw = g.keyword.search_chunk_level(query, n, filters, access)?;
        checked(&g.vectors, raw, filters, access)
    }

    /// The vector leg: the `n` documents nearest to `query` under the
    /// filters and access, each by its nearest chunk.
    pub fn vector_chunks(
        &self,
        query: &[f32],
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        let g = self.read()?;
        let raw = g
            .vectors
            .search(query, n, &g.vectors.compile(filters, access));
        full(&g.vectors, raw, filters, access)
    }

    /// Highlighted snippets (`<mark>`) of `texts` for `query`.
    pub fn snippets(&self, query: &str, texts: &[String]) -> Result<Vec<String>, String> {
        let g = self.read()?;
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

    async fn update_access(&self, updates: &[sluice_core::AccessUpdate]) -> Result<(), SinkError> {
        sluice_core::run_blocking(|| self.update_access_blocking(updates)).map_err(|message| {
            SinkError {
                sink: "embedded".into(),
                message: format!("{message} (index at {})", self.dir.display()),
                transient: false,
            }
        })
    }
}

/// Keyword hits as the vector store's payloads, each checked again. The
/// payload is the one answer: vectors commit first, so after a write that
/// stopped between the two commits the keyword index may still hold an
/// older, broader access.
fn checked(
    vectors: &VectorStore,
    raw: Vec<(f32, Uuid)>,
    filters: &SearchFilters,
    access: &Access,
) -> Result<Vec<LegChunk>, String> {
    let compiled = vectors.compile(filters, access);
    let passing = raw
        .into_iter()
        .filter(|(_, c)| vectors.passes(c, &compiled))
        .collect();
    full(vectors, passing, filters, access)
}

/// The chunks with their text (memory holds payloads without it), in
/// order, checked again: SQLite may hold a newer payload than memory.
fn full(
    vectors: &VectorStore,
    raw: Vec<(f32, Uuid)>,
    filters: &SearchFilters,
    access: &Access,
) -> Result<Vec<LegChunk>, String> {
    let ids: Vec<Uuid> = raw.iter().map(|(_, c)| *c).collect();
    let mut by_id: std::collections::HashMap<Uuid, ChunkPayload> = vectors
        .payloads_of(&ids)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|p| (p.chunk_id, p))
        .collect();
    Ok(raw
        .into_iter()
        .filter_map(|(score, c)| {
            by_id
                .remove(&c)
                .filter(|p| filters.matches(p) && access.allows(&p.acl))
                .map(|chunk| LegChunk {
                    score,
                    chunk,
                    snippet: None,
                })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sluice_core::{Chunk, ChunkWrite, DocKind, Document, DocumentWrite};

    use sluice_core::search::{SearchBackend, SearchMode, SearchRequest, SearchResponse};

    use super::*;
    use crate::EmbeddedSearch;

    async fn search(
        idx: &Arc<EmbeddedIndex>,
        r: &SearchRequest,
        qv: Option<&[f32]>,
    ) -> Result<SearchResponse, String> {
        EmbeddedSearch::new(idx.clone()).search(r, qv).await
    }

    fn doc(ext: &str, title: &str, acl: &[&str]) -> Document {
        let mut d = Document::new("wiki", ext, DocKind::Page);
        d.title = title.into();
        d.access = Some(if acl.is_empty() {
            sluice_core::DocAccess::Public
        } else {
            sluice_core::DocAccess::any_of(acl.iter().copied())
        });
        d
    }

    fn write(d: Document, texts: &[&str], vecs: &[[f32; 2]]) -> DocumentWrite {
        let id = d.doc_id();
        let chunks = texts
            .iter()
            .zip(vecs)
            .enumerate()
            .map(|(i, (t, v))| ChunkWrite {
                chunk: Chunk::new(id, i as u32, t.to_string(), 3),
                vector: Some(v.to_vec()),
            })
            .collect::<Vec<_>>();
        DocumentWrite {
            links: None,
            doc_id: id,
            document: Arc::new(d),
            chunk_count: chunks.len() as u32,
            chunks,
        }
    }

    fn req(q: &str, mode: SearchMode, access: Access) -> SearchRequest {
        SearchRequest {
            query: q.into(),
            top_k: 10,
            mode,
            filters: SearchFilters::default(),
            access,
        }
    }

    /// Query syntax in a caller's text is text: `source:jira` searches the
    /// words, not the `source` field, and nobody can address `acl_0`.
    #[tokio::test]
    async fn field_syntax_in_a_query_is_treated_as_words() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Arc::new(EmbeddedIndex::open(dir.path(), true).unwrap());
        let a = write(
            doc("a", "Ticket sync", &[]),
            &["the jira source sync runbook"],
            &[[1.0, 0.0]],
        );
        let b = write(
            doc("b", "Secret", &["group:hr"]),
            &["salary bands"],
            &[[0.0, 1.0]],
        );
        idx.apply(&SinkBatch {
            writes: vec![a, b],
            deletes: vec![],
        })
        .await
        .unwrap();
        let ids = |hits: Vec<LegChunk>| {
            hits.into_iter()
                .map(|h| h.chunk.external_id)
                .collect::<Vec<_>>()
        };
        let public = Access::public_only();
        let f = SearchFilters::default();
        // The document's source field is `wiki`; as a field query this finds nothing.
        assert_eq!(
            ids(idx.keyword_chunks("source:jira", 10, &f, &public).unwrap()),
            vec!["a"]
        );
        assert!(
            idx.keyword_chunks("acl_0:* OR salary", 10, &f, &public)
                .unwrap()
                .is_empty(),
            "no field, no operator reaches the parser"
        );
        assert_eq!(
            ids(idx
                .keyword_chunks("-jira +salary", 10, &f, &public)
                .unwrap()),
            vec!["a"],
            "`-` and `+` are not operators; b stays hidden"
        );
        assert_eq!(
            ids(idx
                .keyword_chunks("runbook AND nothing", 10, &f, &public)
                .unwrap()),
            vec!["a"],
            "AND is a word, not an operator"
        );
        assert_eq!(
            ids(idx
                .keyword_chunks("\"source sync\"", 10, &f, &public)
                .unwrap()),
            vec!["a"],
            "phrases still work"
        );
    }

    /// The ranking pipeline on a small fixed set whose order follows by hand
    /// from how each leg and the fusion work (no score is computed here):
    /// - keyword: an identifier found whole (`WMS-4102`) outranks the same
    ///   words apart, both outrank a document with one of them; a stemmed
    ///   form ("retries") finds "retry"; a stop word ("were") is never
    ///   highlighted;
    /// - vector: cosine order of the hand-set vectors;
    /// - hybrid: a document first in both legs is first, one in both legs
    ///   beats one in a single leg at the same places, and when the keyword
    ///   leg finds nothing the vector order stands.
    #[tokio::test]
    async fn a_fixed_set_ranks_in_the_order_each_leg_and_the_fusion_imply() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Arc::new(EmbeddedIndex::open(dir.path(), true).unwrap());
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let docs = vec![
            // Same length (title + 5 words), same words; `whole` has the identifier whole.
            write(
                doc("whole", "Release blocker", &[]),
                &["ticket WMS-4102 blocks the rollout"],
                &[[1.0, 0.0]],
            ),
            write(
                doc("apart", "Release blocker", &[]),
                &["ticket WMS then 4102 blocks"],
                &[[s, s]],
            ),
            write(
                doc("one", "Release blocker", &[]),
                &["ticket 4102 was reopened twice"],
                &[[0.0, 1.0]],
            ),
            write(
                doc("retry", "Job runner", &[]),
                &["a failed job is retried after one minute; results were kept"],
                &[[-1.0, 0.0]],
            ),
        ];
        idx.apply(&SinkBatch {
            writes: docs,
            deletes: vec![],
        })
        .await
        .unwrap();
        let order = |r: SearchResponse| {
            r.hits
                .into_iter()
                .map(|h| h.external_id)
                .collect::<Vec<_>>()
        };
        let kw = search(
            &idx,
            &req("WMS-4102", SearchMode::Keyword, Access::All),
            None,
        )
        .await
        .unwrap();
        assert_eq!(order(kw), ["whole", "apart", "one"]);
        let kw = search(
            &idx,
            &req("retries were kept", SearchMode::Keyword, Access::All),
            None,
        )
        .await
        .unwrap();
        assert_eq!(kw.hits[0].external_id, "retry");
        assert!(
            kw.hits[0].snippet.contains("<mark>retried</mark>")
                && kw.hits[0].snippet.contains("<mark>kept</mark>"),
            "{}",
            kw.hits[0].snippet
        );
        assert!(
            !kw.hits[0].snippet.contains("<mark>were</mark>"),
            "{}",
            kw.hits[0].snippet
        );
        // Query vector halfway between `whole` and `apart`, nearer `whole`.
        let qv = [0.95f32, 0.31];
        let vec = search(
            &idx,
            &req("WMS-4102", SearchMode::Vector, Access::All),
            Some(&qv),
        )
        .await
        .unwrap();
        assert_eq!(order(vec), ["whole", "apart", "one", "retry"]);
        // Both legs agree on whole > apart > one; `retry` is last in the
        // vector leg and missing from the keyword leg.
        let hy = search(
            &idx,
            &req("WMS-4102", SearchMode::Hybrid, Access::All),
            Some(&qv),
        )
        .await
        .unwrap();
        assert_eq!(
            hy.hits
                .iter()
                .map(|h| (h.external_id.as_str(), h.keyword_rank, h.vector_rank))
                .collect::<Vec<_>>(),
            [
                ("whole", Some(1), Some(1)),
                ("apart", Some(2), Some(2)),
                ("one", Some(3), Some(3)),
                ("retry", None, Some(4)),
            ]
        );
        // A word no document has: the keyword leg is empty, the vector order stands.
        let hy = search(
            &idx,
            &req("zyzzyva", SearchMode::Hybrid, Access::All),
            Some(&[0.0, 1.0]),
        )
        .await
        .unwrap();
        assert_eq!(order(hy), ["one", "apart", "whole", "retry"]);
    }

    /// Documents are ranked as wholes: a document that holds every query
    /// term, spread over two chunks, outranks one whose single chunk holds
    /// two of them; the hit carries the chunk that matches best. The leg's
    /// counts are chunks only, and an access update reaches the document
    /// entry too.
    #[tokio::test]
    async fn documents_rank_as_wholes_and_show_their_best_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Arc::new(EmbeddedIndex::open(dir.path(), true).unwrap());
        let a = write(
            doc("a", "Notes", &[]),
            &[
                "kafka consumer lag grew",
                "after the broker restart the offsets reset",
                "unrelated closing words",
            ],
            &[[1.0, 0.0]; 3],
        );
        let b = write(
            doc("b", "Other", &[]),
            &["kafka broker maintenance window moved to friday"],
            &[[0.0, 1.0]],
        );
        idx.apply(&SinkBatch {
            writes: vec![a, b],
            deletes: vec![],
        })
        .await
        .unwrap();
        let f = SearchFilters::default();
        let hits = idx
            .keyword_chunks("kafka lag offsets reset", 10, &f, &Access::public_only())
            .unwrap();
        let got: Vec<(String, u32)> = hits
            .iter()
            .map(|h| (h.chunk.external_id.clone(), h.chunk.ordinal))
            .collect();
        assert_eq!(
            got,
            vec![("a".to_string(), 1), ("b".to_string(), 0)],
            "a first (all four terms), shown by its best chunk"
        );
        assert_eq!(
            idx.counts().unwrap(),
            (4, 4),
            "document entries are not chunks"
        );
        // Restricting `a` hides it at both levels.
        let a_id = doc("a", "Notes", &[]).doc_id();
        let chunks: Vec<Uuid> = (0..3).map(|o| sluice_core::chunk_id(&a_id, o)).collect();
        idx.update_access(&[sluice_core::AccessUpdate {
            doc_id: a_id,
            chunk_ids: chunks,
            access: sluice_core::DocAccess::any_of(["group:ops"]),
        }])
        .await
        .unwrap();
        let hits = idx
            .keyword_chunks("kafka lag offsets reset", 10, &f, &Access::public_only())
            .unwrap();
        assert_eq!(
            hits.iter()
                .map(|h| h.chunk.external_id.as_str())
                .collect::<Vec<_>>(),
            vec!["b"]
        );
        // In the keyword index itself, before the payload check: the document entry moved too.
        let raw = idx
            .lock()
            .unwrap()
            .keyword
            .search("kafka lag offsets reset", 10, &f, &Access::public_only())
            .unwrap();
        assert!(
            raw.iter().all(|(_, c)| !chunks_of_a(&a_id).contains(c)),
            "{raw:?}"
        );
    }

    fn chunks_of_a(id: &Uuid) -> Vec<Uuid> {
        (0..3).map(|o| sluice_core::chunk_id(id, o)).collect()
    }

    #[tokio::test]
    async fn write_search_replace_delete() {
        let dir = tempfile::tempdir().unwrap();
        let idx = Arc::new(EmbeddedIndex::open(dir.path(), true).unwrap());
        let batch = SinkBatch {
            writes: vec![
                write(
                    doc("1", "Kafka consumer lag", &[]),
                    &[
                        "The lag alert fires at 50k messages.",
                        "Scale the consumers.",
                    ],
                    &[[1.0, 0.0], [0.8, 0.6]],
                ),
                write(
                    doc("2", "Payroll calendar", &["group:hr"]),
                    &["Payroll runs on the 25th."],
                    &[[0.0, 1.0]],
                ),
            ],
            deletes: vec![],
        };
        let ack = idx.apply(&batch).await.unwrap();
        assert_eq!(ack.chunks_written, 3);
        assert_eq!(idx.counts().unwrap(), (3, 3));

        let r = search(
            &idx,
            &req("lag alert", SearchMode::Keyword, Access::All),
            None,
        )
        .await
        .unwrap();
        assert_eq!(r.hits.len(), 1);
        assert_eq!(r.hits[0].external_id, "1");
        assert!(
            r.hits[0].snippet.contains("<mark>lag</mark>"),
            "{}",
            r.hits[0].snippet
        );

        // ACL: the HR doc is invisible to the public and visible to hr.
        let r = search(
            &idx,
            &req("payroll", SearchMode::Hybrid, Access::public_only()),
            Some(&[0.0, 1.0]),
        )
        .await
        .unwrap();
        assert!(r.hits.iter().all(|h| h.external_id != "2"), "{:?}", r.hits);
        let r = search(
            &idx,
            &req(
                "payroll",
                SearchMode::Hybrid,
                Access::Principals(vec!["group:hr".into()]),
            ),
            Some(&[0.0, 1.0]),
        )
        .await
        .unwrap();
        assert_eq!(r.hits[0].external_id, "2");
        assert_eq!(r.hits[0].keyword_rank, Some(1));
        assert_eq!(r.hits[0].vector_rank, Some(1));

        // Replace doc 1 with a single chunk: the stale chunk disappears.
        let mut w = write(
            doc("1", "Kafka consumer lag", &[]),
            &["Lag alert threshold is now 80k."],
            &[[1.0, 0.0]],
        );
        w.chunk_count = 1;
        idx.apply(&SinkBatch {
            writes: vec![w],
            deletes: vec![],
        })
        .await
        .unwrap();
        assert_eq!(idx.counts().unwrap(), (2, 2));
        let r = search(&idx, &req("scale", SearchMode::Keyword, Access::All), None)
            .await
            .unwrap();
        assert!(
            r.hits.is_empty(),
            "stale chunk still searchable: {:?}",
            r.hits
        );

        // Delete doc 2 entirely; applying it twice is harmless.
        let del = SinkBatch {
            writes: vec![],
            deletes: vec![sluice_core::doc_id("wiki", "2")],
        };
        idx.apply(&del).await.unwrap();
        idx.apply(&del).await.unwrap();
        assert_eq!(idx.counts().unwrap(), (1, 1));

        // Survives reopening.
        drop(idx);
        let idx = Arc::new(EmbeddedIndex::open(dir.path(), true).unwrap());
        assert_eq!(idx.counts().unwrap(), (1, 1));
        let r = search(
            &idx,
            &req("threshold", SearchMode::Vector, Access::All),
            Some(&[1.0, 0.0]),
        )
        .await
        .unwrap();
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
        idx.apply(&SinkBatch {
            writes: vec![
                write(a, &["deploy steps"], &[[1.0, 0.0]]),
                write(b, &["deploy chat"], &[[1.0, 0.0]]),
            ],
            deletes: vec![],
        })
        .await
        .unwrap();
        for mode in [SearchMode::Keyword, SearchMode::Vector, SearchMode::Hybrid] {
            let mut r = req("deploy", mode, Access::All);
            r.filters.labels = vec!["runbook".into()];
            let hits = search(&idx, &r, Some(&[1.0, 0.0])).await.unwrap().hits;
            assert_eq!(
                hits.iter()
                    .map(|h| h.external_id.as_str())
                    .collect::<Vec<_>>(),
                vec!["a"],
                "{mode:?}"
            );
            let mut r = req("deploy", mode, Access::All);
            r.filters.kinds = vec!["thread".into()];
            r.filters.updated_after = Some(
                sluice_core::arrow_conv::parse_time("2025-03-01T00:00:00Z")
                    .unwrap()
                    .timestamp_micros(),
            );
            let hits = search(&idx, &r, Some(&[1.0, 0.0])).await.unwrap().hits;
            assert_eq!(
                hits.iter()
                    .map(|h| h.external_id.as_str())
                    .collect::<Vec<_>>(),
                vec!["b"],
                "{mode:?}"
            );
        }
        // Hostile query syntax never errors.
        search(
            &idx,
            &req("title:\"unbalanced AND (", SearchMode::Keyword, Access::All),
            None,
        )
        .await
        .unwrap();
    }

    /// A data directory written before the access model (flat `acl`, an
    /// empty list meaning everyone) is upgraded on open: the keyword index is
    /// rebuilt, and its old chunks are hidden from every restricted caller
    /// until the re-sync rewrites them; `All` still reads them.
    #[tokio::test]
    async fn an_index_from_before_the_access_model_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let idx_dir = dir.path().join("index");
        {
            // The old keyword schema had one `acl` field.
            std::fs::create_dir_all(idx_dir.join("keyword")).unwrap();
            let mut b = tantivy::schema::Schema::builder();
            b.add_text_field(
                "chunk_id",
                tantivy::schema::STRING | tantivy::schema::STORED,
            );
            b.add_text_field("acl", tantivy::schema::STRING);
            tantivy::Index::create_in_dir(idx_dir.join("keyword"), b.build()).unwrap();
            // The old payload: `acl: []` meant public.
            let conn = rusqlite::Connection::open(idx_dir.join("vectors.sqlite")).unwrap();
            conn.execute_batch("CREATE TABLE chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL, payload TEXT NOT NULL, vector BLOB NOT NULL);").unwrap();
            let doc_id = sluice_core::doc_id("wiki", "old");
            let p = ChunkPayload {
                chunk_id: sluice_core::chunk_id(&doc_id, 0),
                doc_id,
                ordinal: 0,
                source: "wiki".into(),
                external_id: "old".into(),
                kind: "page".into(),
                title: "Salary".into(),
                url: None,
                labels: vec![],
                acl: vec![],
                updated_at: None,
                text: String::new(),
            };
            let mut old = serde_json::to_value(&p).unwrap();
            old.as_object_mut().unwrap().remove("acl_sets");
            old["acl"] = serde_json::json!([]);
            old["text"] = serde_json::json!("quarterly salary review");
            let blob: Vec<u8> = [1.0f32, 0.0].iter().flat_map(|x| x.to_le_bytes()).collect();
            conn.execute(
                "INSERT INTO chunks VALUES (?1, ?2, 0, ?3, ?4)",
                rusqlite::params![
                    p.chunk_id.to_string(),
                    p.doc_id.to_string(),
                    old.to_string(),
                    blob
                ],
            )
            .unwrap();
        }
        assert!(
            EmbeddedIndex::open(&idx_dir, false)
                .err()
                .unwrap()
                .message
                .contains("run `sluice run`"),
            "a reader does not upgrade"
        );
        let idx = Arc::new(EmbeddedIndex::open(&idx_dir, true).unwrap());
        assert_eq!(
            idx.counts().unwrap(),
            (1, 1),
            "the keyword index was rebuilt from the payloads"
        );
        let f = SearchFilters::default();
        assert!(
            idx.keyword_chunks("salary", 10, &f, &Access::public_only())
                .unwrap()
                .is_empty(),
            "an old empty ACL is not public"
        );
        assert!(
            idx.vector_chunks(
                &[1.0, 0.0],
                10,
                &f,
                &Access::Principals(vec!["group:any".into()])
            )
            .unwrap()
            .is_empty()
        );
        assert_eq!(
            idx.keyword_chunks("salary", 10, &f, &Access::All)
                .unwrap()
                .len(),
            1
        );
    }

    /// The keyword index is derived from the vector store's payloads, so a
    /// change of its fields or of what its entries hold is an upgrade in
    /// place: a writer rebuilds it on open; a reader serves an index of an
    /// older format with the same fields, and refuses one of other fields.
    #[tokio::test]
    async fn an_index_of_an_older_format_or_schema_is_rebuilt_by_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let kw_dir = dir.path().join("keyword");
        {
            let idx = Arc::new(EmbeddedIndex::open(dir.path(), true).unwrap());
            idx.apply(&SinkBatch {
                writes: vec![write(
                    doc("a", "Blocker", &[]),
                    &["ticket WMS-4102 blocks the rollout"],
                    &[[1.0, 0.0]],
                )],
                deletes: vec![],
            })
            .await
            .unwrap();
        }
        let ids = |idx: &EmbeddedIndex| {
            idx.keyword_chunks("WMS-4102", 10, &SearchFilters::default(), &Access::All)
                .unwrap()
                .into_iter()
                .map(|h| h.chunk.external_id)
                .collect::<Vec<_>>()
        };
        // An older format (no marker): served by a reader, rebuilt by a writer.
        std::fs::remove_file(kw_dir.join("sluice-format")).unwrap();
        assert_eq!(ids(&EmbeddedIndex::open(dir.path(), false).unwrap()), ["a"]);
        assert!(
            !kw_dir.join("sluice-format").exists(),
            "a reader writes nothing"
        );
        assert_eq!(ids(&EmbeddedIndex::open(dir.path(), true).unwrap()), ["a"]);
        assert!(kw_dir.join("sluice-format").exists());
        // Other fields (an index from before identifiers and fast ids).
        std::fs::remove_dir_all(&kw_dir).unwrap();
        std::fs::create_dir_all(&kw_dir).unwrap();
        let mut b = tantivy::schema::Schema::builder();
        b.add_text_field("level", tantivy::schema::STRING);
        b.add_text_field("doc_title", tantivy::schema::TEXT);
        for i in 0..sluice_core::access::MAX_ACL_SETS {
            b.add_text_field(&sluice_core::access::acl_field(i), tantivy::schema::STRING);
        }
        tantivy::Index::create_in_dir(&kw_dir, b.build()).unwrap();
        assert!(
            EmbeddedIndex::open(dir.path(), false)
                .err()
                .unwrap()
                .message
                .contains("run `sluice run`"),
            "a reader does not serve other fields"
        );
        let idx = EmbeddedIndex::open(dir.path(), true).unwrap();
        assert_eq!(idx.counts().unwrap(), (1, 1));
        assert_eq!(ids(&idx), ["a"]);
    }
}
