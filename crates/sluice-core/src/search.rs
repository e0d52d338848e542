//! The search contract every backend and caller shares: the request (query,
//! mode, typed filters, the caller's access), the hit, the per-chunk payload
//! stores keep, the two legs a hybrid search fuses, and the fusion itself.
//! The embedded index and the remote stores implement the legs; one
//! implementation (`sluice-search`) runs and fuses them.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Candidates per leg before fusion (more when a request asks for more
/// hits): enough that a document ranked low in one leg but high in the
/// other still makes the fused top-k. The fusion's settings were chosen on
/// legs of this depth.
pub const MIN_CANDIDATES: usize = 100;
/// Settings of the RRF alternative ([`Fusion::Rrf`]), the default before
/// [`FUSION`]: measured on SciFact train, equal weights with k = 60 gave
/// 0.673 nDCG@10 and keyword weight 0.5 with k = 20 gave 0.694 (with the
/// chunk-level keyword leg of the time).
pub const RRF_K: f32 = 20.0;
pub const KEYWORD_WEIGHT: f32 = 0.5;

/// How the hybrid combines its two legs (per document, each leg collapsed
/// to its best chunk).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Weighted reciprocal rank: Σ w / (k + rank); the vector leg weighs 1.
    Rrf { k: f32, keyword_weight: f32 },
    /// [`convex_fuse`]: w · keyword + (1 − w) · vector, scores normalised
    /// per query and leg.
    Convex {
        keyword_weight: f32,
        normalise: Normalise,
    },
    /// w · log-odds(keyword) + (1 − w) · log-odds(vector): each leg's raw
    /// score mapped to the log-odds that the document is relevant by a
    /// logistic fit on judged queries ([`Calibration`]). Unlike per-query
    /// normalisation it keeps how good a query's best match is, so a weak
    /// keyword leg (few or common words matched) moves the order less.
    Calibrated {
        keyword_weight: f32,
        keyword: Calibration,
        vector: Calibration,
    },
}

/// A leg's calibration: p(relevant | score s) = 1 / (1 + e^−(slope · s +
/// intercept)), fitted by logistic regression on a leg's candidates for
/// judged queries (`tools/eval/fusion_cv.py`). The scale of raw scores is
/// the leg's own: fitted for one keyword leg, it does not carry to another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    pub slope: f32,
    pub intercept: f32,
}

/// How a leg's scores are put on one scale before a convex combination.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Normalise {
    /// (s − min) / (max − min).
    MinMax,
    /// (s − mean) / standard deviation.
    ZScore,
    /// slope · s + intercept: a [`Calibration`]'s log-odds.
    LogOdds(Calibration),
}

/// The hybrid's fusion for any pair of legs, chosen by 5-fold
/// cross-validation on SciFact train (`tools/eval/fusion_cv.py` over
/// `sluice eval --out` runs; README, *Retrieval quality*). Per-query
/// normalisation needs no calibration, so it suits legs whose raw scores
/// were never fitted (Elasticsearch's chunk-level BM25).
pub const FUSION: Fusion = Fusion::Convex {
    keyword_weight: 0.55,
    normalise: Normalise::ZScore,
};

/// The embedded index's fusion: its document-level BM25 and cosine scores
/// calibrated on SciFact train (all 809 queries' top-100 candidates), the
/// weight chosen by 5-fold cross-validation (README, *Retrieval quality*:
/// CV nDCG@10 0.745 against 0.739 for [`FUSION`]'s z-scores).
pub const CALIBRATED_FUSION: Fusion = Fusion::Calibrated {
    keyword_weight: 0.6,
    keyword: Calibration {
        slope: 0.1876,
        intercept: -7.787,
    },
    vector: Calibration {
        slope: 17.890,
        intercept: -13.342,
    },
};

impl Fusion {
    pub fn describe(&self) -> String {
        match self {
            Fusion::Rrf { k, keyword_weight } => {
                format!("weighted RRF: k = {k}, keyword weight {keyword_weight}, vector weight 1")
            }
            Fusion::Convex {
                keyword_weight,
                normalise,
            } => {
                let n = match normalise {
                    Normalise::MinMax => "min-max",
                    Normalise::ZScore => "z-score",
                    Normalise::LogOdds(_) => "log-odds",
                };
                format!(
                    "convex combination of {n} normalised scores: keyword {keyword_weight}, vector {:.2}",
                    1.0 - keyword_weight
                )
            }
            Fusion::Calibrated {
                keyword_weight,
                keyword,
                vector,
            } => format!(
                "calibrated log-odds: keyword {keyword_weight} × ({} · BM25 {:+}), vector {:.2} × ({} · cosine {:+})",
                keyword.slope,
                keyword.intercept,
                1.0 - keyword_weight,
                vector.slope,
                vector.intercept
            ),
        }
    }
}
/// Longest snippet a hit carries, in characters.
pub const SNIPPET_CHARS: usize = 240;

/// What a hit shows and what filters look at, stored per chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkPayload {
    pub chunk_id: Uuid,
    pub doc_id: Uuid,
    pub ordinal: u32,
    pub source: String,
    pub external_id: String,
    pub kind: String,
    pub title: String,
    pub url: Option<String>,
    pub labels: Vec<String>,
    /// The document's access as `MAX_ACL_SETS` stored slots
    /// (`DocAccess::slots`); empty for a chunk stored before the access
    /// model, which only `Access::All` reads. `acl_sets` in JSON so an old
    /// payload's flat `acl` list is never read as one.
    #[serde(rename = "acl_sets", default)]
    pub acl: Vec<Vec<String>>,
    /// Microseconds since the epoch.
    pub updated_at: Option<i64>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    #[default]
    Hybrid,
    Keyword,
    Vector,
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hybrid" => Ok(SearchMode::Hybrid),
            "keyword" => Ok(SearchMode::Keyword),
            "vector" => Ok(SearchMode::Vector),
            _ => Err(format!(
                "unknown search mode `{s}`; use hybrid, keyword or vector"
            )),
        }
    }
}

pub use crate::access::Access;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchFilters {
    /// Any of these source ids.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Any of these kinds (page, issue, thread…).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Any of these labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Updated at or after (microseconds since the epoch).
    #[serde(default)]
    pub updated_after: Option<i64>,
    /// Updated before (microseconds since the epoch).
    #[serde(default)]
    pub updated_before: Option<i64>,
}

impl SearchFilters {
    pub fn matches(&self, p: &ChunkPayload) -> bool {
        (self.sources.is_empty() || self.sources.contains(&p.source))
            && (self.kinds.is_empty() || self.kinds.contains(&p.kind))
            && (self.labels.is_empty() || p.labels.iter().any(|l| self.labels.contains(l)))
            && self
                .updated_after
                .is_none_or(|t| p.updated_at.is_some_and(|u| u >= t))
            && self
                .updated_before
                .is_none_or(|t| p.updated_at.is_some_and(|u| u < t))
    }
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: String,
    pub top_k: usize,
    pub mode: SearchMode,
    pub filters: SearchFilters,
    pub access: Access,
}

/// One document in the results, represented by its best chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub doc_id: Uuid,
    pub chunk_id: Uuid,
    pub external_id: String,
    pub title: String,
    pub url: Option<String>,
    pub source: String,
    pub kind: String,
    pub labels: Vec<String>,
    /// Matched terms wrapped in `<mark>`; HTML-escaped.
    pub snippet: String,
    pub score: f32,
    /// RFC 3339.
    pub updated_at: Option<String>,
    /// 1-based rank of this document in each leg, when it appeared there.
    pub keyword_rank: Option<usize>,
    pub vector_rank: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResponse {
    pub hits: Vec<Hit>,
    pub mode: SearchMode,
    pub took_ms: f64,
    /// True when one leg of a hybrid search failed or timed out and the hits
    /// come from the other leg alone; `warnings` says which and why.
    #[serde(default)]
    pub partial: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A document linked to another (a hit, or the document `related` was
/// asked about) that the caller may read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Related {
    pub doc_id: Uuid,
    pub external_id: String,
    pub title: String,
    pub url: Option<String>,
    pub source: String,
    pub kind: String,
    /// The edge type (`mentions`, `closes`, `links_to`, `embeds`, `child_of`).
    pub edge: String,
    /// `out`: the document asked about refers to this one; `in`: this one
    /// refers to it.
    pub direction: String,
}

/// Related documents shown per hit unless the request asks otherwise.
pub const RELATED_PER_HIT: usize = 5;

/// One chunk a leg found, best first within the leg.
#[derive(Debug, Clone)]
pub struct LegChunk {
    pub score: f32,
    pub chunk: ChunkPayload,
    /// Highlighted fragment (`<mark>`, HTML-escaped) when the leg made one.
    pub snippet: Option<String>,
}

/// What `related` asks a remote store for; first chunks only, under the
/// caller's access (the same filter as a hit's).
#[derive(Debug, Clone, PartialEq)]
pub enum LinkLookup {
    /// These documents.
    Docs(Vec<Uuid>),
    /// Documents that answer to one of `names` (`link_names`) or refer to
    /// one of `targets` (`link_targets`).
    Touching {
        names: Vec<String>,
        targets: Vec<String>,
    },
}

/// Most documents one `LinkLookup::Touching` returns: a bound on the work
/// of one `related` call (documents past it are not shown).
pub const MAX_LINKED_DOCS: usize = 1000;

/// A document's first chunk and the links stored on it.
#[derive(Debug, Clone)]
pub struct LinkedChunk {
    pub chunk: ChunkPayload,
    pub links: crate::sink::LinkFields,
}

/// The keyword (BM25) leg of a store: the caller's filters and access are
/// applied by the store, before its top-n.
#[async_trait]
pub trait KeywordLeg: Send + Sync {
    /// The store, for messages: `elasticsearch`, `embedded`.
    fn store_kind(&self) -> &'static str;
    /// The store and where it is, for logs and `/v1/status`.
    fn describe(&self) -> String;
    /// Up to `n` best-matching chunks, best first.
    async fn keyword_search(
        &self,
        query: &str,
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<LegChunk>, String>;
    /// Highlighted snippets of `texts` for `query` (for hits the vector leg
    /// found); `None` when the store cannot make them for arbitrary text.
    async fn snippets(&self, _query: &str, _texts: &[String]) -> Option<Vec<String>> {
        None
    }
    /// The chunks of one document in order; empty when unknown.
    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String>;
    async fn chunk_count(&self) -> Result<u64, String>;
    /// The first chunks (with their links) `lookup` names that `access`
    /// may read, at most `limit`; `None` when the store keeps no links.
    async fn link_lookup(
        &self,
        _lookup: &LinkLookup,
        _access: &Access,
        _limit: usize,
    ) -> Option<Result<Vec<LinkedChunk>, String>> {
        None
    }
}

/// The vector (nearest-neighbour) leg of a store, filtered like the keyword leg.
#[async_trait]
pub trait VectorLeg: Send + Sync {
    /// The store, for messages: `qdrant`, `embedded`.
    fn store_kind(&self) -> &'static str;
    fn describe(&self) -> String;
    async fn vector_search(
        &self,
        vector: &[f32],
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<LegChunk>, String>;
    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String>;
    async fn chunk_count(&self) -> Result<u64, String>;
    /// As `KeywordLeg::link_lookup`.
    async fn link_lookup(
        &self,
        _lookup: &LinkLookup,
        _access: &Access,
        _limit: usize,
    ) -> Option<Result<Vec<LinkedChunk>, String>> {
        None
    }
}

/// A query's embedding, computed once and awaited by every backend of a
/// staged search (`SearchBackend::search_staged`).
pub type QueryVector = futures::future::Shared<
    futures::future::BoxFuture<'static, Result<std::sync::Arc<Vec<f32>>, String>>,
>;

/// Where a staged search reports its keyword leg's own ranking.
pub type EarlyHits<'a> = &'a (dyn Fn(SearchResponse) + Send + Sync);

/// What the search API needs from a pipeline's stores, so the same routes
/// serve the embedded index and the production stores.
#[async_trait]
pub trait SearchBackend: Send + Sync {
    /// Short description for logs and `/v1/status` (`embedded /path`, `qdrant+elasticsearch`).
    fn describe(&self) -> String;

    /// Runs a search; `query_vector` is the embedded query (vector and hybrid modes).
    async fn search(
        &self,
        req: &SearchRequest,
        query_vector: Option<&[f32]>,
    ) -> Result<SearchResponse, String>;

    /// The chunks of one document in order; empty when unknown.
    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String>;

    /// Chunks held, when the store can tell cheaply.
    async fn chunk_count(&self) -> Option<u64>;

    /// Runs `req` like [`SearchBackend::search`] with the embedding
    /// `vector` will yield, and, for a hybrid search, hands `early` the
    /// keyword leg's own ranking as soon as that leg is done (while the
    /// query is still embedded and the vector leg runs). Default: no early
    /// ranking.
    async fn search_staged(
        &self,
        req: &SearchRequest,
        vector: QueryVector,
        _early: EarlyHits<'_>,
    ) -> Result<SearchResponse, String> {
        let v = match req.mode {
            SearchMode::Keyword => None,
            _ => Some(vector.await?),
        };
        self.search(req, v.as_deref().map(Vec::as_slice)).await
    }

    /// For each of `ids`, up to `per_doc` linked documents that `access`
    /// may read, the strongest links first. A document the caller may not
    /// read is left out without a trace (no count, no placeholder). Empty
    /// when the backend keeps no link graph.
    async fn related(
        &self,
        _ids: &[Uuid],
        _access: &Access,
        _per_doc: usize,
    ) -> Result<std::collections::HashMap<Uuid, Vec<Related>>, String> {
        Ok(std::collections::HashMap::new())
    }

    /// Whether `access` may read document `id` (the start of a traversal);
    /// `false` when unknown.
    async fn readable(&self, id: &Uuid, access: &Access) -> Result<bool, String> {
        let chunks = self.document_chunks(id).await?;
        Ok(!chunks.is_empty() && chunks.iter().all(|c| access.allows(&c.acl)))
    }
}

/// Best chunk per document, in rank order.
pub fn collapse(chunks: Vec<LegChunk>) -> Vec<LegChunk> {
    let mut seen = std::collections::HashSet::new();
    chunks
        .into_iter()
        .filter(|c| seen.insert(c.chunk.doc_id))
        .collect()
}

pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// A plain snippet (no highlight): the first `SNIPPET_CHARS` characters, escaped.
pub fn plain_snippet(text: &str) -> String {
    let cut: String = text.chars().take(SNIPPET_CHARS).collect();
    escape_html(&cut)
}

/// Reciprocal-rank fusion: score(d) = Σ 1 / (k + rank(d)) over the legs.
/// Returns (doc, score, rank per leg) best first; ties keep first-leg order.
pub fn rrf_fuse(legs: &[Vec<Uuid>], k: f32) -> Vec<(Uuid, f32, Vec<Option<usize>>)> {
    rrf_fuse_weighted(legs, &vec![1.0; legs.len()], k)
}

/// RRF with a weight per leg: score(d) = Σ w_leg / (k + rank).
pub fn rrf_fuse_weighted(
    legs: &[Vec<Uuid>],
    weights: &[f32],
    k: f32,
) -> Vec<(Uuid, f32, Vec<Option<usize>>)> {
    let mut acc: HashMap<Uuid, (f32, Vec<Option<usize>>, usize)> = HashMap::new();
    let mut order = 0usize;
    for (leg_i, leg) in legs.iter().enumerate() {
        for (rank0, doc) in leg.iter().enumerate() {
            let e = acc.entry(*doc).or_insert_with(|| {
                order += 1;
                (0.0, vec![None; legs.len()], order)
            });
            if e.1[leg_i].is_none() {
                e.0 += weights.get(leg_i).copied().unwrap_or(1.0) / (k + rank0 as f32 + 1.0);
                e.1[leg_i] = Some(rank0 + 1);
            }
        }
    }
    let mut out: Vec<_> = acc.into_iter().collect();
    out.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then(a.1.2.cmp(&b.1.2)));
    out.into_iter()
        .map(|(d, (s, ranks, _))| (d, s, ranks))
        .collect()
}

/// Convex combination of normalised scores: score(d) = Σ w_leg · norm(s)
/// over the legs, where a document a leg did not return takes that leg's
/// lowest normalised score. A leg whose scores are all equal normalises to
/// 1 (min-max) or 0 (z-score). Uses the scores, not only the ranks, so a
/// clear keyword match lifts a document more than a marginal one. Returns
/// (doc, score, rank per leg) best first; ties keep first-leg order.
pub fn convex_fuse(
    legs: &[Vec<(Uuid, f32)>],
    weights: &[f32],
    normalise: Normalise,
) -> Vec<(Uuid, f32, Vec<Option<usize>>)> {
    convex_fuse_each(legs, weights, &vec![normalise; legs.len()])
}

/// [`convex_fuse`] with each leg's own normalisation (a [`Calibration`]
/// per leg).
pub fn convex_fuse_each(
    legs: &[Vec<(Uuid, f32)>],
    weights: &[f32],
    normalise: &[Normalise],
) -> Vec<(Uuid, f32, Vec<Option<usize>>)> {
    let mut acc: HashMap<Uuid, (f32, Vec<Option<usize>>, usize)> = HashMap::new();
    let mut order = 0usize;
    let mut floors = Vec::with_capacity(legs.len());
    for (leg_i, leg) in legs.iter().enumerate() {
        let scores: Vec<f32> = leg
            .iter()
            .map(|(_, s)| if s.is_finite() { *s } else { 0.0 })
            .collect();
        let norm: Box<dyn Fn(f32) -> f32> =
            match normalise.get(leg_i).copied().unwrap_or(Normalise::ZScore) {
                Normalise::LogOdds(c) => Box::new(move |s| c.slope * s + c.intercept),
                Normalise::MinMax => {
                    let lo = scores.iter().copied().fold(f32::INFINITY, f32::min);
                    let hi = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    Box::new(move |s| if hi > lo { (s - lo) / (hi - lo) } else { 1.0 })
                }
                Normalise::ZScore => {
                    let n = scores.len().max(1) as f32;
                    let mean = scores.iter().sum::<f32>() / n;
                    let sd =
                        (scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f32>() / n).sqrt();
                    Box::new(move |s| if sd > 0.0 { (s - mean) / sd } else { 0.0 })
                }
            };
        floors.push(
            scores
                .iter()
                .map(|s| norm(*s))
                .fold(f32::INFINITY, f32::min),
        );
        let w = weights.get(leg_i).copied().unwrap_or(1.0);
        for (rank0, (doc, _)) in leg.iter().enumerate() {
            let e = acc.entry(*doc).or_insert_with(|| {
                order += 1;
                (0.0, vec![None; legs.len()], order)
            });
            if e.1[leg_i].is_none() {
                e.0 += w * norm(scores[rank0]);
                e.1[leg_i] = Some(rank0 + 1);
            }
        }
    }
    // A document a leg did not return counts as that leg's lowest score.
    for e in acc.values_mut() {
        for (leg_i, rank) in e.1.iter().enumerate() {
            if rank.is_none() && !legs[leg_i].is_empty() {
                e.0 += weights.get(leg_i).copied().unwrap_or(1.0) * floors[leg_i];
            }
        }
    }
    let mut out: Vec<_> = acc.into_iter().collect();
    out.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then(a.1.2.cmp(&b.1.2)));
    out.into_iter()
        .map(|(d, (s, ranks, _))| (d, s, ranks))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convex_fusion_uses_scores_not_only_ranks() {
        // The keyword leg is sure about 1 and unsure about 2; the vector leg
        // ranks 2 just above 1. Ranks alone tie them; scores do not.
        let kw = vec![(id(1), 30.0), (id(2), 2.0), (id(3), 1.0)];
        let vec_leg = vec![(id(2), 0.80), (id(1), 0.79), (id(4), 0.10)];
        for n in [Normalise::MinMax, Normalise::ZScore] {
            let fused = convex_fuse(&[kw.clone(), vec_leg.clone()], &[0.5, 0.5], n);
            assert_eq!(fused[0].0, id(1), "{n:?}");
            assert_eq!(fused[0].2, vec![Some(1), Some(2)]);
            // All weight on the vector leg: its order.
            let v: Vec<Uuid> = convex_fuse(&[kw.clone(), vec_leg.clone()], &[0.0, 1.0], n)
                .into_iter()
                .take(3)
                .map(|x| x.0)
                .collect();
            assert_eq!(v[..2], [id(2), id(1)], "{n:?}");
            // A leg that returned nothing leaves the other's order.
            let only: Vec<Uuid> = convex_fuse(&[vec![], vec_leg.clone()], &[0.5, 0.5], n)
                .into_iter()
                .map(|x| x.0)
                .collect();
            assert_eq!(only, vec![id(2), id(1), id(4)], "{n:?}");
        }
        assert_eq!(
            convex_fuse(&[vec![(id(9), 3.0)]], &[1.0], Normalise::MinMax)[0].1,
            1.0
        );
        // Scores stay finite whatever the spread.
        let z = convex_fuse(
            &[kw.clone(), vec_leg.clone()],
            &[0.5, 0.5],
            Normalise::ZScore,
        );
        assert!(z.iter().all(|x| x.1.is_finite()));
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn rrf_rewards_agreement() {
        let kw = vec![id(1), id(2), id(3)];
        let vec_leg = vec![id(3), id(2), id(4)];
        let fused = rrf_fuse(&[kw, vec_leg], 60.0);
        // id(2) and id(3) appear in both legs and beat single-leg docs.
        let top2: Vec<Uuid> = fused.iter().take(2).map(|f| f.0).collect();
        assert!(top2.contains(&id(2)) && top2.contains(&id(3)), "{fused:?}");
        let d3 = fused.iter().find(|f| f.0 == id(3)).unwrap();
        assert_eq!(d3.2, vec![Some(3), Some(1)]);
        assert!((d3.1 - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert_eq!(fused.len(), 4);
    }

    #[test]
    fn weights_shift_the_fused_order() {
        // Leg 0 ranks a first, leg 1 ranks b first.
        let legs = vec![vec![id(1), id(2)], vec![id(2), id(1)]];
        assert_eq!(rrf_fuse_weighted(&legs, &[0.5, 1.0], 20.0)[0].0, id(2));
        assert_eq!(rrf_fuse_weighted(&legs, &[1.0, 0.5], 20.0)[0].0, id(1));
        let s = rrf_fuse_weighted(&legs, &[0.5, 1.0], 20.0)[0].1;
        assert!((s - (1.0 / 21.0 + 0.5 / 22.0)).abs() < 1e-6);
    }

    fn chunk(score: f32, chunk: u128, doc: u128) -> LegChunk {
        let chunk = ChunkPayload {
            chunk_id: id(chunk),
            doc_id: id(doc),
            ordinal: 0,
            source: "s".into(),
            external_id: "e".into(),
            kind: "page".into(),
            title: String::new(),
            url: None,
            labels: Vec::new(),
            acl: Vec::new(),
            updated_at: None,
            text: String::new(),
        };
        LegChunk {
            score,
            chunk,
            snippet: None,
        }
    }

    #[test]
    fn collapse_keeps_best_chunk_per_doc() {
        let chunks = vec![chunk(0.9, 10, 1), chunk(0.8, 11, 1), chunk(0.7, 20, 2)];
        let kept: Vec<(Uuid, Uuid, f32)> = collapse(chunks)
            .into_iter()
            .map(|c| (c.chunk.doc_id, c.chunk.chunk_id, c.score))
            .collect();
        assert_eq!(kept, vec![(id(1), id(10), 0.9), (id(2), id(20), 0.7)]);
    }

    #[test]
    fn snippets_are_escaped_and_bounded() {
        assert_eq!(
            plain_snippet("<b>\"a\" & 'b'</b>"),
            "&lt;b&gt;&quot;a&quot; &amp; &#x27;b&#x27;&lt;/b&gt;"
        );
        assert_eq!(
            plain_snippet(&"é".repeat(300)).chars().count(),
            SNIPPET_CHARS
        );
    }
}
