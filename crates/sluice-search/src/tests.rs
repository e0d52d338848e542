use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sluice_core::search::{
    Access, ChunkPayload, KeywordLeg, LegChunk, SearchBackend, SearchFilters, SearchMode,
    SearchRequest, VectorLeg,
};
use uuid::Uuid;

use crate::HybridSearch;

fn payload(doc: u128, chunk: u128, text: &str) -> ChunkPayload {
    ChunkPayload {
        chunk_id: Uuid::from_u128(chunk),
        doc_id: Uuid::from_u128(doc),
        ordinal: 0,
        source: "wiki".into(),
        external_id: format!("d{doc}"),
        kind: "page".into(),
        title: format!("doc {doc}"),
        url: None,
        labels: Vec::new(),
        acl: Vec::new(),
        updated_at: None,
        text: text.into(),
    }
}

/// A leg that answers a fixed list (or fails, or stalls).
struct Fixed {
    hits: Vec<LegChunk>,
    fail: bool,
    stall: bool,
    highlights: bool,
}

impl Fixed {
    fn of(hits: &[(u128, u128, f32, Option<&str>)]) -> Fixed {
        let hits = hits
            .iter()
            .map(|(d, c, s, snip)| LegChunk {
                score: *s,
                chunk: payload(*d, *c, &format!("text of {c}")),
                snippet: snip.map(String::from),
            })
            .collect();
        Fixed {
            hits,
            fail: false,
            stall: false,
            highlights: false,
        }
    }
    async fn answer(&self) -> Result<Vec<LegChunk>, String> {
        if self.stall {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        if self.fail {
            Err("connection refused".into())
        } else {
            Ok(self.hits.clone())
        }
    }
}

#[async_trait]
impl KeywordLeg for Fixed {
    fn store_kind(&self) -> &'static str {
        "kw-store"
    }
    fn describe(&self) -> String {
        "kw-store at x".into()
    }
    async fn keyword_search(
        &self,
        _: &str,
        _: usize,
        _: &SearchFilters,
        _: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        self.answer().await
    }
    async fn snippets(&self, query: &str, texts: &[String]) -> Option<Vec<String>> {
        self.highlights.then(|| {
            texts
                .iter()
                .map(|t| format!("<mark>{query}</mark> {t}"))
                .collect()
        })
    }
    async fn document_chunks(&self, _: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        Ok(Vec::new())
    }
    async fn chunk_count(&self) -> Result<u64, String> {
        Ok(self.hits.len() as u64)
    }
}

#[async_trait]
impl VectorLeg for Fixed {
    fn store_kind(&self) -> &'static str {
        "vec-store"
    }
    fn describe(&self) -> String {
        "vec-store at y".into()
    }
    async fn vector_search(
        &self,
        _: &[f32],
        _: usize,
        _: &SearchFilters,
        _: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        self.answer().await
    }
    async fn document_chunks(&self, _: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        Ok(vec![payload(9, 90, "from the vector store")])
    }
    async fn chunk_count(&self) -> Result<u64, String> {
        Ok(7)
    }
}

fn req(mode: SearchMode) -> SearchRequest {
    SearchRequest {
        query: "q".into(),
        top_k: 10,
        mode,
        filters: SearchFilters::default(),
        access: Access::public_only(),
    }
}

fn kw_leg() -> Fixed {
    // doc 1 twice (best chunk 11 first), doc 2, doc 3
    Fixed::of(&[
        (1, 11, 9.0, Some("<mark>k</mark>11")),
        (1, 12, 8.0, None),
        (2, 21, 7.0, Some("k21")),
        (3, 31, 6.0, Some("k31")),
    ])
}

fn vec_leg() -> Fixed {
    Fixed::of(&[(3, 32, 0.9, None), (4, 41, 0.8, None), (1, 11, 0.7, None)])
}

fn both(kw: Fixed, vec: Fixed, deadline: Option<Duration>) -> HybridSearch {
    HybridSearch::new(
        Some((Arc::new(kw) as Arc<dyn KeywordLeg>, deadline)),
        Some((Arc::new(vec) as Arc<dyn VectorLeg>, deadline)),
    )
}

#[tokio::test]
async fn hybrid_fuses_normalised_scores_with_each_documents_best_chunk() {
    let s = both(kw_leg(), vec_leg(), None);
    let r = s
        .search(&req(SearchMode::Hybrid), Some(&[1.0]))
        .await
        .unwrap();
    let order: Vec<u128> = r.hits.iter().map(|h| h.doc_id.as_u128()).collect();
    // Per document: keyword 1→9, 2→7, 3→6; vector 3→0.9, 4→0.8, 1→0.7.
    // z-scores: keyword (mean 22/3, sd √(14/9)), vector (mean 0.8, sd √(0.02/3));
    // a document a leg missed takes that leg's lowest z. Fused: 0.55·kw + 0.45·vec:
    // doc 1: 0.55·1.336 − 0.45·1.225 = 0.184; doc 3: −0.55·1.069 + 0.45·1.225 = −0.037;
    // doc 4: −0.55·1.069 + 0 = −0.588; doc 2: −0.55·0.267 − 0.45·1.225 = −0.698.
    let z = |x: f64, mean: f64, sd: f64| (x - mean) / sd;
    let (km, ks) = (22.0 / 3.0, (14.0f64 / 9.0).sqrt());
    let (vm, vs) = (0.8, (0.02f64 / 3.0).sqrt());
    let fused = |k: f64, v: f64| 0.55 * z(k, km, ks) + 0.45 * z(v, vm, vs);
    let (d1, d2, d3, d4) = (
        fused(9.0, 0.7),
        fused(7.0, 0.7),
        fused(6.0, 0.9),
        fused(6.0, 0.8),
    );
    assert!(d1 > d3 && d3 > d4 && d4 > d2, "{d1} {d3} {d4} {d2}");
    assert!(
        (d1 - 0.184).abs() < 1e-3 && (d2 + 0.698).abs() < 1e-3,
        "{d1} {d2}"
    );
    assert_eq!(order, vec![1, 3, 4, 2]);
    assert!(
        (r.hits[0].score as f64 - d1).abs() < 1e-4,
        "{} vs {d1}",
        r.hits[0].score
    );
    // Doc 1 ranked higher in the keyword leg: its first (best) chunk and highlight.
    assert_eq!(
        (r.hits[0].chunk_id.as_u128(), r.hits[0].snippet.as_str()),
        (11, "<mark>k</mark>11")
    );
    let d3_hit = &r.hits[1];
    assert_eq!(
        (d3_hit.keyword_rank, d3_hit.vector_rank),
        (Some(3), Some(1))
    );
    // Doc 3 ranked higher in the vector leg: its chunk is the vector leg's.
    assert_eq!(d3_hit.chunk_id.as_u128(), 32);
    // A vector-only hit without highlights gets plain, escaped text.
    assert_eq!(r.hits[2].snippet, "text of 41");
    assert!(!r.partial && r.warnings.is_empty());
}

#[tokio::test]
async fn a_document_both_legs_found_keeps_the_keyword_highlight() {
    // Doc 3 ranks higher in the vector leg (its chunk 32 is shown), and the
    // keyword leg cannot highlight arbitrary text: its own highlight of doc 3 is used.
    let r = both(kw_leg(), vec_leg(), None)
        .search(&req(SearchMode::Hybrid), Some(&[1.0]))
        .await
        .unwrap();
    assert_eq!(
        (r.hits[1].chunk_id.as_u128(), r.hits[1].snippet.as_str()),
        (32, "k31")
    );
}

/// Calibrated fusion: each leg's raw score as log-odds (slope · s +
/// intercept), weighted; worked by hand with keyword 0.5 · s − 4, vector
/// 10 · s − 8, weights ½: keyword log-odds 1→0.5, 2→−0.5, 3→−1 (also the
/// floor); vector 3→1, 4→0, 1→−1 (floor). Fused: 3→0, 1→−0.25, 4→−0.5, 2→−0.75.
#[tokio::test]
async fn calibrated_fusion_adds_each_legs_log_odds() {
    use sluice_core::search::{Calibration, Fusion};
    let fusion = Fusion::Calibrated {
        keyword_weight: 0.5,
        keyword: Calibration {
            slope: 0.5,
            intercept: -4.0,
        },
        vector: Calibration {
            slope: 10.0,
            intercept: -8.0,
        },
    };
    let s = both(kw_leg(), vec_leg(), None).fused_by(fusion);
    let r = s
        .search(&req(SearchMode::Hybrid), Some(&[1.0]))
        .await
        .unwrap();
    let got: Vec<(u128, f32)> = r
        .hits
        .iter()
        .map(|h| (h.doc_id.as_u128(), h.score))
        .collect();
    let want = [(3, 0.0), (1, -0.25), (4, -0.5), (2, -0.75)];
    assert_eq!(got.len(), 4);
    for ((d, s), (wd, ws)) in got.iter().zip(want) {
        assert_eq!(*d, wd);
        assert!((s - ws).abs() < 1e-5, "{got:?}");
    }
}

#[tokio::test]
async fn vector_hits_are_highlighted_by_a_keyword_leg_that_can() {
    let mut kw = kw_leg();
    kw.highlights = true;
    let r = both(kw, vec_leg(), None)
        .search(&req(SearchMode::Hybrid), Some(&[1.0]))
        .await
        .unwrap();
    assert_eq!(r.hits[1].snippet, "<mark>q</mark> text of 32");
    assert_eq!(r.hits[0].snippet, "<mark>k</mark>11");
}

#[tokio::test]
async fn single_modes_keep_their_legs_order_and_scores() {
    let s = both(kw_leg(), vec_leg(), None);
    let r = s.search(&req(SearchMode::Keyword), None).await.unwrap();
    assert_eq!(
        r.hits
            .iter()
            .map(|h| (h.doc_id.as_u128(), h.score))
            .collect::<Vec<_>>(),
        vec![(1, 9.0), (2, 7.0), (3, 6.0)]
    );
    assert!(r.hits.iter().all(|h| h.vector_rank.is_none()));
    let r = s
        .search(&req(SearchMode::Vector), Some(&[1.0]))
        .await
        .unwrap();
    assert_eq!(
        r.hits
            .iter()
            .map(|h| h.doc_id.as_u128())
            .collect::<Vec<_>>(),
        vec![3, 4, 1]
    );
    assert!(
        s.search(&req(SearchMode::Vector), None).await.is_err(),
        "vector mode needs the query vector"
    );
}

#[tokio::test]
async fn a_failed_or_slow_leg_leaves_the_other_marked_partial() {
    let mut bad = vec_leg();
    bad.fail = true;
    let r = both(kw_leg(), bad, None)
        .search(&req(SearchMode::Hybrid), Some(&[1.0]))
        .await
        .unwrap();
    assert!(r.partial);
    assert_eq!(
        r.warnings,
        vec!["vector (vec-store) leg failed: connection refused".to_string()]
    );
    assert_eq!(
        r.hits
            .iter()
            .map(|h| h.doc_id.as_u128())
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );

    let mut slow = kw_leg();
    slow.stall = true;
    let r = both(slow, vec_leg(), Some(Duration::from_millis(50)))
        .search(&req(SearchMode::Hybrid), Some(&[1.0]))
        .await
        .unwrap();
    assert!(
        r.partial && r.warnings[0].contains("keyword (kw-store) leg timed out after 50 ms"),
        "{:?}",
        r.warnings
    );
    assert_eq!(r.hits.len(), 3);

    let (mut a, mut b) = (kw_leg(), vec_leg());
    a.fail = true;
    b.fail = true;
    let e = both(a, b, None)
        .search(&req(SearchMode::Hybrid), Some(&[1.0]))
        .await
        .unwrap_err();
    assert!(
        e.contains("keyword (kw-store) leg failed") && e.contains("vector (vec-store) leg failed"),
        "{e}"
    );
}

#[tokio::test]
async fn a_missing_leg_is_an_error_only_for_its_own_mode() {
    let kw_only = HybridSearch::new(
        Some((Arc::new(kw_leg()) as Arc<dyn KeywordLeg>, None)),
        None,
    );
    assert!(
        kw_only
            .search(&req(SearchMode::Vector), Some(&[1.0]))
            .await
            .unwrap_err()
            .contains("vector search needs")
    );
    let r = kw_only
        .search(&req(SearchMode::Hybrid), Some(&[1.0]))
        .await
        .unwrap();
    assert_eq!(r.hits.len(), 3);
    assert_eq!(kw_only.describe(), "kw-store at x");
    assert_eq!(
        both(kw_leg(), vec_leg(), None).describe(),
        "kw-store at x + vec-store at y"
    );
    // Documents: the keyword store knows none here, so the vector store answers.
    let chunks = both(kw_leg(), vec_leg(), None)
        .document_chunks(&Uuid::from_u128(9))
        .await
        .unwrap();
    assert_eq!(chunks[0].text, "from the vector store");
    assert_eq!(both(kw_leg(), vec_leg(), None).chunk_count().await, Some(7));
}
