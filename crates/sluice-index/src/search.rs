//! Search requests and hybrid fusion.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
            _ => Err(format!("unknown search mode `{s}`; use hybrid, keyword or vector")),
        }
    }
}

/// Who is asking. Search never returns a document to a caller outside its
/// ACL; `All` is for trusted local use (operators on the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    All,
    /// `user:…` / `group:…` principals; public documents are always visible.
    Principals(Vec<String>),
}

impl Access {
    pub fn public_only() -> Access {
        Access::Principals(Vec::new())
    }

    pub fn allows(&self, acl: &[String]) -> bool {
        match self {
            Access::All => true,
            Access::Principals(p) => acl.is_empty() || acl.iter().any(|a| p.contains(a)),
        }
    }
}

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
    pub fn matches(&self, p: &crate::ChunkPayload) -> bool {
        (self.sources.is_empty() || self.sources.contains(&p.source))
            && (self.kinds.is_empty() || self.kinds.contains(&p.kind))
            && (self.labels.is_empty() || p.labels.iter().any(|l| self.labels.contains(l)))
            && self.updated_after.is_none_or(|t| p.updated_at.is_some_and(|u| u >= t))
            && self.updated_before.is_none_or(|t| p.updated_at.is_some_and(|u| u < t))
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

/// Collapses ranked chunks to ranked documents (best chunk per document).
pub(crate) fn collapse(chunks: &[(f32, Uuid, Uuid)]) -> Vec<(Uuid, Uuid, f32)> {
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for &(score, chunk, doc) in chunks {
        if seen.insert(doc, ()).is_none() {
            out.push((doc, chunk, score));
        }
    }
    out
}

/// Reciprocal-rank fusion: score(d) = Σ 1 / (k + rank(d)) over the legs.
/// Returns (doc, score, rank per leg) best first; ties keep first-leg order.
pub fn rrf_fuse(legs: &[Vec<Uuid>], k: f32) -> Vec<(Uuid, f32, Vec<Option<usize>>)> {
    rrf_fuse_weighted(legs, &vec![1.0; legs.len()], k)
}

/// RRF with a weight per leg: score(d) = Σ w_leg / (k + rank).
pub fn rrf_fuse_weighted(legs: &[Vec<Uuid>], weights: &[f32], k: f32) -> Vec<(Uuid, f32, Vec<Option<usize>>)> {
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
    out.into_iter().map(|(d, (s, ranks, _))| (d, s, ranks)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn collapse_keeps_best_chunk_per_doc() {
        let chunks = vec![(0.9, id(10), id(1)), (0.8, id(11), id(1)), (0.7, id(20), id(2))];
        assert_eq!(collapse(&chunks), vec![(id(1), id(10), 0.9), (id(2), id(20), 0.7)]);
    }

    #[test]
    fn access_rules() {
        assert!(Access::public_only().allows(&[]));
        assert!(!Access::public_only().allows(&["group:hr".into()]));
        assert!(Access::All.allows(&["group:hr".into()]));
        assert!(Access::Principals(vec!["group:hr".into()]).allows(&["group:hr".into()]));
    }
}
