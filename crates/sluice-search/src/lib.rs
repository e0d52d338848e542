//! The one search path. [`HybridSearch`] runs a request's keyword and vector
//! legs in parallel — on the embedded index or on Qdrant + Elasticsearch,
//! whatever implements the leg traits of `sluice_core::search` — each under
//! its own deadline, with the same filters and access, and fuses them
//! (`sluice_core::search::FUSION`, a convex combination of z-score
//! normalised scores, or the calibrated fusion a backend sets with
//! [`HybridSearch::fused_by`]; both chosen by cross-validation on SciFact).
//! A leg that
//! fails or times out leaves the
//! other's results, marked partial. [`search_many`] embeds the query once
//! and merges the hits of several pipelines.

mod links;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sluice_core::TextEmbedder;
use sluice_core::search::{
    ChunkPayload, EarlyHits, FUSION, Fusion, Hit, KeywordLeg, LegChunk, MIN_CANDIDATES, Normalise,
    QueryVector, SearchBackend, SearchMode, SearchRequest, SearchResponse, VectorLeg, collapse,
    convex_fuse, convex_fuse_each, plain_snippet, rrf_fuse_weighted,
};
use tracing::Instrument;
use uuid::Uuid;

/// Hybrid search over a keyword leg and a vector leg; either may be absent.
pub struct HybridSearch {
    keyword: Option<(Arc<dyn KeywordLeg>, Option<Duration>)>,
    vector: Option<(Arc<dyn VectorLeg>, Option<Duration>)>,
    description: Option<String>,
    fusion: Fusion,
}

enum Leg<T> {
    Skipped,
    Done(T),
    Failed(String),
}

async fn with_deadline<T>(
    name: &str,
    d: Option<Duration>,
    f: impl std::future::Future<Output = Result<T, String>>,
) -> Leg<T> {
    let result = match d {
        Some(d) => match tokio::time::timeout(d, f).await {
            Ok(r) => r,
            Err(_) => {
                return Leg::Failed(format!("{name} leg timed out after {} ms", d.as_millis()));
            }
        },
        None => f.await,
    };
    match result {
        Ok(v) => Leg::Done(v),
        Err(e) => Leg::Failed(format!("{name} leg failed: {e}")),
    }
}

impl HybridSearch {
    /// `None` as a deadline waits as long as the leg takes (in-process legs).
    pub fn new(
        keyword: Option<(Arc<dyn KeywordLeg>, Option<Duration>)>,
        vector: Option<(Arc<dyn VectorLeg>, Option<Duration>)>,
    ) -> HybridSearch {
        HybridSearch {
            keyword,
            vector,
            description: None,
            fusion: FUSION,
        }
    }

    /// Fuses with `fusion` instead of [`FUSION`] (a backend whose legs'
    /// scores were calibrated).
    pub fn fused_by(mut self, fusion: Fusion) -> HybridSearch {
        self.fusion = fusion;
        self
    }

    /// Replaces the description built from the legs (one store serving both).
    pub fn described_as(mut self, description: impl Into<String>) -> HybridSearch {
        self.description = Some(description.into());
        self
    }
}

impl HybridSearch {
    /// Both legs at once: the keyword leg starts at once, the vector leg
    /// when `vector` (the query's embedding) is ready. With `early`, a
    /// hybrid search reports the keyword leg's own ranking when it is done.
    async fn run(
        &self,
        req: &SearchRequest,
        vector: impl std::future::Future<Output = Result<Option<Arc<Vec<f32>>>, String>>,
        early: Option<EarlyHits<'_>>,
    ) -> Result<SearchResponse, String> {
        let started = Instant::now();
        // The same depth for every top_k up to it: the fusion's normalisation
        // and floors depend on it, and were chosen at this depth.
        let n = req.top_k.max(MIN_CANDIDATES);
        let want_kw = matches!(req.mode, SearchMode::Hybrid | SearchMode::Keyword);
        let want_vec = matches!(req.mode, SearchMode::Hybrid | SearchMode::Vector);
        let keyword = async {
            let leg = match (&self.keyword, want_kw) {
                (Some((leg, d)), true) => {
                    let name = format!("keyword ({})", leg.store_kind());
                    let span = tracing::info_span!("keyword_leg", candidates = n);
                    with_deadline(
                        &name,
                        *d,
                        leg.keyword_search(&req.query, n, &req.filters, &req.access),
                    )
                    .instrument(span)
                    .await
                }
                (None, true) if req.mode == SearchMode::Keyword => Leg::Failed(
                    "keyword search needs an `elasticsearch` sink in this pipeline".into(),
                ),
                _ => Leg::Skipped,
            };
            if let (Some(early), Leg::Done(chunks), SearchMode::Hybrid) = (early, &leg, req.mode) {
                let first = self
                    .answer(
                        req,
                        SearchMode::Keyword,
                        Some(collapse(chunks.clone())),
                        None,
                    )
                    .await;
                early(SearchResponse {
                    hits: first,
                    mode: SearchMode::Keyword,
                    took_ms: started.elapsed().as_secs_f64() * 1e3,
                    partial: false,
                    warnings: Vec::new(),
                });
            }
            leg
        };
        let vector = async {
            let Some((leg, d)) = self.vector.as_ref().filter(|_| want_vec) else {
                return match (&self.vector, want_vec) {
                    (None, true) if req.mode == SearchMode::Vector => {
                        Leg::Failed("vector search needs a `qdrant` sink in this pipeline".into())
                    }
                    _ => Leg::Skipped,
                };
            };
            let v = match vector.await {
                Ok(Some(v)) => v,
                Ok(None) => return Leg::Failed("vector leg needs a query embedding".into()),
                Err(e) => return Leg::Failed(format!("embedding the query failed: {e}")),
            };
            let name = format!("vector ({})", leg.store_kind());
            let span = tracing::info_span!("vector_leg", candidates = n);
            with_deadline(
                &name,
                *d,
                leg.vector_search(&v, n, &req.filters, &req.access),
            )
            .instrument(span)
            .await
        };
        let (kw, vec) = tokio::join!(keyword, vector);
        let mut warnings = Vec::new();
        let mut legs_failed = 0;
        let mut take = |leg: Leg<Vec<LegChunk>>| match leg {
            Leg::Done(v) => Some(collapse(v)),
            Leg::Skipped => None,
            Leg::Failed(w) => {
                tracing::warn!(warning = %w, "search leg failed");
                // Warnings reach API callers: no backend URL credentials.
                warnings.push(sluice_core::redact::text(&w));
                legs_failed += 1;
                None
            }
        };
        let (kw, vec) = (take(kw), take(vec));
        if kw.is_none() && vec.is_none() && legs_failed > 0 {
            return Err(warnings.join("; "));
        }
        let hits = self.answer(req, req.mode, kw, vec).await;
        Ok(SearchResponse {
            hits,
            mode: req.mode,
            took_ms: started.elapsed().as_secs_f64() * 1e3,
            partial: legs_failed > 0,
            warnings,
        })
    }

    /// The top hits of the legs' (collapsed) chunks, fused for `mode`.
    async fn answer(
        &self,
        req: &SearchRequest,
        mode: SearchMode,
        kw: Option<Vec<LegChunk>>,
        vec: Option<Vec<LegChunk>>,
    ) -> Vec<Hit> {
        let ranked = fuse(self.fusion, mode, kw.as_deref(), vec.as_deref());
        let top: Vec<Ranked> = ranked.into_iter().take(req.top_k).collect();
        let kw = kw.unwrap_or_default();
        let vec = vec.unwrap_or_default();
        let chunk_of = |r: &Ranked| -> &LegChunk {
            match r.from {
                FromLeg::Keyword(i) => &kw[i],
                FromLeg::Vector(i) => &vec[i],
            }
        };
        // A hit shown with a chunk that has no highlight (the vector leg's)
        // gets one from the keyword leg when it can highlight any text (the
        // embedded index); else the keyword leg's own highlight of the
        // document, when it found it too (Elasticsearch); else plain text.
        let need_snippets: Vec<String> = top
            .iter()
            .filter(|r| chunk_of(r).snippet.is_none())
            .map(|r| chunk_of(r).chunk.text.clone())
            .collect();
        let mut made = match (&self.keyword, need_snippets.is_empty()) {
            (Some((leg, _)), false) => leg
                .snippets(&req.query, &need_snippets)
                .await
                .filter(|s| s.len() == need_snippets.len()),
            _ => None,
        }
        .map(|v| v.into_iter());
        top.iter()
            .map(|r| {
                let c = chunk_of(r);
                let keyword_highlight = || {
                    r.keyword_rank
                        .and_then(|k| kw.get(k - 1))
                        .and_then(|k| k.snippet.clone())
                };
                let snippet = match &c.snippet {
                    Some(s) => s.clone(),
                    None => made
                        .as_mut()
                        .and_then(|m| m.next())
                        .or_else(keyword_highlight)
                        .unwrap_or_else(|| plain_snippet(&c.chunk.text)),
                };
                hit(&c.chunk, snippet, r)
            })
            .collect()
    }
}

#[async_trait]
impl SearchBackend for HybridSearch {
    fn describe(&self) -> String {
        if let Some(d) = &self.description {
            return d.clone();
        }
        let mut parts = Vec::new();
        if let Some((k, _)) = &self.keyword {
            parts.push(k.describe());
        }
        if let Some((v, _)) = &self.vector {
            parts.push(v.describe());
        }
        parts.join(" + ")
    }

    async fn search(
        &self,
        req: &SearchRequest,
        query_vector: Option<&[f32]>,
    ) -> Result<SearchResponse, String> {
        let v = query_vector.map(|v| Arc::new(v.to_vec()));
        self.run(req, async move { Ok(v) }, None).await
    }

    async fn search_staged(
        &self,
        req: &SearchRequest,
        vector: QueryVector,
        early: EarlyHits<'_>,
    ) -> Result<SearchResponse, String> {
        self.run(req, async move { vector.await.map(Some) }, Some(early))
            .await
    }

    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        if let Some((k, _)) = &self.keyword {
            match k.document_chunks(doc_id).await {
                Ok(c) if !c.is_empty() => return Ok(c),
                Ok(_) => {}
                Err(e) if self.vector.is_none() => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, store = %k.describe(), "document lookup on the keyword store failed; trying the vector store")
                }
            }
        }
        match &self.vector {
            Some((v, _)) => v.document_chunks(doc_id).await,
            None => Ok(Vec::new()),
        }
    }

    async fn chunk_count(&self) -> Option<u64> {
        if let Some((v, _)) = &self.vector {
            return v.chunk_count().await.ok();
        }
        match &self.keyword {
            Some((k, _)) => k.chunk_count().await.ok(),
            None => None,
        }
    }

    /// From the links on each document's first chunk: the keyword store's,
    /// else (absent, keeping no links, or failing) the vector store's.
    async fn related(
        &self,
        ids: &[Uuid],
        access: &sluice_core::search::Access,
        per_doc: usize,
    ) -> Result<std::collections::HashMap<Uuid, Vec<sluice_core::search::Related>>, String> {
        if ids.is_empty() || per_doc == 0 {
            return Ok(Default::default());
        }
        // Two requests in turn (more when a hub fills the cap): each within
        // the leg's deadline, the whole within twice it.
        if let Some((k, d)) = &self.keyword {
            let got = bounded(
                *d,
                links::related_through(
                    |l, n| async move { k.link_lookup(&l, access, n).await },
                    ids,
                    per_doc,
                ),
            )
            .await;
            match got {
                Some(Ok(r)) => return Ok(r),
                Some(Err(e)) if self.vector.is_none() => return Err(e),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, store = %k.describe(), "related on the keyword store failed; trying the vector store")
                }
                None => {}
            }
        }
        if let Some((v, d)) = &self.vector {
            let got = bounded(
                *d,
                links::related_through(
                    |l, n| async move { v.link_lookup(&l, access, n).await },
                    ids,
                    per_doc,
                ),
            )
            .await;
            if let Some(r) = got {
                return r;
            }
        }
        Ok(Default::default())
    }
}

/// `f` within twice the leg's deadline (related makes two requests in turn).
async fn bounded<T>(
    d: Option<Duration>,
    f: impl std::future::Future<Output = Option<Result<T, String>>>,
) -> Option<Result<T, String>> {
    match d {
        Some(d) => tokio::time::timeout(d * 2, f).await.unwrap_or_else(|_| {
            Some(Err(format!(
                "related timed out after {} ms",
                (d * 2).as_millis()
            )))
        }),
        None => f.await,
    }
}

/// Where a fused document's chunk comes from (index into that leg's list).
#[derive(Debug, Clone, Copy, PartialEq)]
enum FromLeg {
    Keyword(usize),
    Vector(usize),
}

#[derive(Debug, Clone, PartialEq)]
struct Ranked {
    score: f32,
    keyword_rank: Option<usize>,
    vector_rank: Option<usize>,
    from: FromLeg,
}

/// Fuses per-document leg results (each collapsed to one chunk per
/// document). Hybrid with both legs answering: `fusion`, and the chunk
/// from the leg where the document ranked higher. One leg only (the mode
/// asked for one, or the other failed): that leg's order and scores.
fn fuse(
    fusion: Fusion,
    mode: SearchMode,
    kw: Option<&[LegChunk]>,
    vec: Option<&[LegChunk]>,
) -> Vec<Ranked> {
    let single_kw = |kw: &[LegChunk]| {
        kw.iter()
            .enumerate()
            .map(|(i, c)| Ranked {
                score: c.score,
                keyword_rank: Some(i + 1),
                vector_rank: None,
                from: FromLeg::Keyword(i),
            })
            .collect()
    };
    let single_vec = |vec: &[LegChunk]| {
        vec.iter()
            .enumerate()
            .map(|(i, c)| Ranked {
                score: c.score,
                keyword_rank: None,
                vector_rank: Some(i + 1),
                from: FromLeg::Vector(i),
            })
            .collect()
    };
    match (mode, kw, vec) {
        (SearchMode::Keyword, Some(kw), _) | (SearchMode::Hybrid, Some(kw), None) => single_kw(kw),
        (SearchMode::Vector, _, Some(vec)) | (SearchMode::Hybrid, None, Some(vec)) => {
            single_vec(vec)
        }
        (SearchMode::Hybrid, Some(kw), Some(vec)) => {
            let fused = match fusion {
                Fusion::Rrf { k, keyword_weight } => {
                    let legs = vec![
                        kw.iter().map(|c| c.chunk.doc_id).collect(),
                        vec.iter().map(|c| c.chunk.doc_id).collect(),
                    ];
                    rrf_fuse_weighted(&legs, &[keyword_weight, 1.0], k)
                }
                Fusion::Convex {
                    keyword_weight,
                    normalise,
                } => {
                    let legs = vec![
                        kw.iter().map(|c| (c.chunk.doc_id, c.score)).collect(),
                        vec.iter().map(|c| (c.chunk.doc_id, c.score)).collect(),
                    ];
                    convex_fuse(&legs, &[keyword_weight, 1.0 - keyword_weight], normalise)
                }
                Fusion::Calibrated {
                    keyword_weight,
                    keyword,
                    vector,
                } => {
                    let legs = vec![
                        kw.iter().map(|c| (c.chunk.doc_id, c.score)).collect(),
                        vec.iter().map(|c| (c.chunk.doc_id, c.score)).collect(),
                    ];
                    convex_fuse_each(
                        &legs,
                        &[keyword_weight, 1.0 - keyword_weight],
                        &[Normalise::LogOdds(keyword), Normalise::LogOdds(vector)],
                    )
                }
            };
            fused
                .into_iter()
                .filter_map(|(_, score, ranks)| {
                    let (kr, vr) = (ranks[0], ranks[1]);
                    let from = match (kr, vr) {
                        (Some(k), Some(v)) if v < k => FromLeg::Vector(v - 1),
                        (Some(k), _) => FromLeg::Keyword(k - 1),
                        (None, Some(v)) => FromLeg::Vector(v - 1),
                        // Every fused document came from a leg.
                        (None, None) => return None,
                    };
                    Some(Ranked {
                        score,
                        keyword_rank: kr,
                        vector_rank: vr,
                        from,
                    })
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn hit(p: &ChunkPayload, snippet: String, r: &Ranked) -> Hit {
    Hit {
        doc_id: p.doc_id,
        chunk_id: p.chunk_id,
        external_id: p.external_id.clone(),
        title: p.title.clone(),
        url: p.url.clone(),
        source: p.source.clone(),
        kind: p.kind.clone(),
        labels: p.labels.clone(),
        snippet,
        score: r.score,
        updated_at: p
            .updated_at
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| t.to_rfc3339()),
        keyword_rank: r.keyword_rank,
        vector_rank: r.vector_rank,
    }
}

fn mode_name(m: SearchMode) -> &'static str {
    match m {
        SearchMode::Hybrid => "hybrid",
        SearchMode::Keyword => "keyword",
        SearchMode::Vector => "vector",
    }
}

/// Embeds the query once when the mode needs it, searches each backend and
/// merges the hits by score (fused scores are normalised per query and
/// leg, so they compare across backends).
pub async fn search_many(
    backends: &[Arc<dyn SearchBackend>],
    embedder: Arc<dyn TextEmbedder>,
    req: &SearchRequest,
) -> Result<SearchResponse, String> {
    let started = Instant::now();
    let span = tracing::info_span!(
        "search",
        mode = mode_name(req.mode),
        indexes = backends.len(),
        top_k = req.top_k
    );
    let qv = match req.mode {
        SearchMode::Keyword => None,
        _ => {
            let (query, span) = (req.query.clone(), span.clone());
            let embedded = tokio::task::spawn_blocking(move || {
                span.in_scope(|| {
                    tracing::info_span!("embed_query")
                        .in_scope(|| embedder.embed(&[query.as_str()]))
                })
            })
            .await
            .map_err(|e| format!("embedding task failed: {e}"))?;
            Some(embedded.map_err(|e| e.to_string())?.remove(0))
        }
    };
    let results = futures::future::join_all(backends.iter().map(|b| b.search(req, qv.as_deref())))
        .instrument(span)
        .await;
    merge(results, req, started)
}

/// The query's embedding as a shared future, awaited by every backend's
/// vector leg. It starts now, on a blocking thread, so it runs beside the
/// keyword legs rather than after them.
pub fn query_vector(embedder: Arc<dyn TextEmbedder>, query: &str) -> QueryVector {
    use futures::FutureExt;
    let query = query.to_string();
    let task = tokio::task::spawn_blocking(move || {
        tracing::info_span!("embed_query").in_scope(|| embedder.embed(&[query.as_str()]))
    });
    async move {
        let embedded = task
            .await
            .map_err(|e| format!("embedding task failed: {e}"))?;
        let mut v = embedded.map_err(|e| e.to_string())?;
        if v.is_empty() {
            return Err("the embedder returned no vector".into());
        }
        Ok(Arc::new(v.remove(0)))
    }
    .boxed()
    .shared()
}

/// Like [`search_many`], in stages: for a hybrid search `early` gets the
/// keyword legs' merged ranking as soon as every backend's keyword leg is
/// done — before the query is embedded — and the fused answer is returned
/// when the vector legs complete. Dropping the future stops it: a leg not
/// yet started never starts.
pub async fn search_many_staged(
    backends: &[Arc<dyn SearchBackend>],
    embedder: Arc<dyn TextEmbedder>,
    req: &SearchRequest,
    early: EarlyHits<'_>,
) -> Result<SearchResponse, String> {
    let started = Instant::now();
    let span = tracing::info_span!(
        "search",
        mode = mode_name(req.mode),
        indexes = backends.len(),
        top_k = req.top_k,
        staged = true
    );
    let vector = match req.mode {
        SearchMode::Keyword => {
            use futures::FutureExt;
            futures::future::ready(Err("a keyword search embeds no query".to_string()))
                .boxed()
                .shared()
        }
        _ => query_vector(embedder, &req.query),
    };
    // Each backend's early ranking; merged once all have reported.
    let firsts: std::sync::Mutex<Vec<SearchResponse>> = std::sync::Mutex::new(Vec::new());
    let collect = |r: SearchResponse| {
        let mut got = firsts.lock().unwrap_or_else(|p| p.into_inner());
        got.push(r);
        if got.len() == backends.len() {
            let mut hits: Vec<Hit> = got.drain(..).flat_map(|r| r.hits).collect();
            hits.sort_by(|a, b| b.score.total_cmp(&a.score));
            hits.truncate(req.top_k);
            early(SearchResponse {
                hits,
                mode: SearchMode::Keyword,
                took_ms: started.elapsed().as_secs_f64() * 1e3,
                partial: false,
                warnings: Vec::new(),
            });
        }
    };
    let results = futures::future::join_all(
        backends
            .iter()
            .map(|b| b.search_staged(req, vector.clone(), &collect)),
    )
    .instrument(span)
    .await;
    merge(results, req, started)
}

fn merge(
    results: Vec<Result<SearchResponse, String>>,
    req: &SearchRequest,
    started: Instant,
) -> Result<SearchResponse, String> {
    let (mut hits, mut partial, mut warnings) = (Vec::new(), false, Vec::new());
    for r in results {
        let r = r?;
        hits.extend(r.hits);
        partial |= r.partial;
        warnings.extend(r.warnings);
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    hits.truncate(req.top_k);
    Ok(SearchResponse {
        hits,
        mode: req.mode,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
        partial,
        warnings,
    })
}

/// For each of `ids`, up to `per_doc` linked documents `access` may read,
/// from every backend (a document lives in one of them).
pub async fn related_many(
    backends: &[Arc<dyn SearchBackend>],
    ids: &[Uuid],
    access: &sluice_core::search::Access,
    per_doc: usize,
) -> Result<std::collections::HashMap<Uuid, Vec<sluice_core::search::Related>>, String> {
    let mut out: std::collections::HashMap<Uuid, Vec<sluice_core::search::Related>> =
        std::collections::HashMap::new();
    for b in backends {
        for (id, mut related) in b.related(ids, access, per_doc).await? {
            let list = out.entry(id).or_default();
            related.retain(|r| !list.iter().any(|x| x.doc_id == r.doc_id));
            list.extend(related);
            list.truncate(per_doc);
        }
    }
    Ok(out)
}

/// A document reached from the start of a traversal.
#[derive(Debug, Clone, PartialEq)]
pub struct Reached {
    pub doc: sluice_core::search::Related,
    /// 1: linked to the start; 2: linked to a document at depth 1.
    pub depth: usize,
    /// The document it was reached from.
    pub via: Uuid,
}

/// Deepest traversal `GET /v1/documents/{id}/related` and `sluice related` allow.
pub const MAX_DEPTH: usize = 2;

/// The documents linked to `start`, and with `depth` 2 those linked to
/// them, that `access` may read; `None` when `start` itself is not
/// readable (or unknown). Only readable documents are walked through: a
/// hidden document never connects two visible ones.
pub async fn traverse(
    backends: &[Arc<dyn SearchBackend>],
    start: Uuid,
    access: &sluice_core::search::Access,
    depth: usize,
    per_doc: usize,
) -> Result<Option<Vec<Reached>>, String> {
    let mut readable = false;
    for b in backends {
        if b.readable(&start, access).await? {
            readable = true;
            break;
        }
    }
    if !readable {
        return Ok(None);
    }
    let mut seen: std::collections::HashSet<Uuid> = [start].into();
    let mut frontier = vec![start];
    let mut out = Vec::new();
    for level in 1..=depth.clamp(1, MAX_DEPTH) {
        let found = related_many(backends, &frontier, access, per_doc).await?;
        let mut next = Vec::new();
        for from in &frontier {
            for r in found.get(from).into_iter().flatten() {
                if seen.insert(r.doc_id) {
                    next.push(r.doc_id);
                    out.push(Reached {
                        doc: r.clone(),
                        depth: level,
                        via: *from,
                    });
                }
            }
        }
        frontier = next;
        if frontier.is_empty() {
            break;
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests;
