//! The int8 model may replace the fp32 one only while retrieval stays as
//! good: a fixed SciFact subset (the first 60 train queries that have
//! judgements, their relevant abstracts and the first 400 others) is
//! indexed once per precision through the real pipeline (chunking,
//! embedded index), and nDCG@10 of vector and hybrid search must stay
//! within 0.005. The full train split's figure is the bench's
//! (`scripts/bench-embed.sh`) and `sluice eval --precision`'s.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use sluice_core::TextEmbedder;
use sluice_core::search::{Access, SearchFilters, SearchMode, SearchRequest};
use sluice_embed::{OnnxEmbedder, OnnxEmbedderConfig, Precision, default_model_dir};
use sluice_engine::Pipeline;
use sluice_spec::load_pipeline_str;

const QUERIES: usize = 60;
const DISTRACTORS: usize = 400;

/// `../shared/data/scifact-train` beside the checkout (here and in CI), or `$SLUICE_SCIFACT`.
fn scifact() -> PathBuf {
    if let Some(p) = std::env::var_os("SLUICE_SCIFACT") {
        return PathBuf::from(p);
    }
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo test"))
        .join("../../shared/data/scifact-train")
}

fn jsonl(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

struct Subset {
    corpus: Vec<serde_json::Value>,
    queries: Vec<(String, String)>,
    qrels: HashMap<String, HashMap<String, f64>>,
}

fn subset() -> Subset {
    let dir = scifact();
    let mut qrels: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for line in std::fs::read_to_string(dir.join("qrels/train.tsv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = line.split('\t').collect();
        qrels
            .entry(f[0].to_string())
            .or_default()
            .insert(f[1].to_string(), f[2].trim().parse().unwrap());
    }
    let queries: Vec<(String, String)> = jsonl(&dir.join("queries.jsonl"))
        .iter()
        .map(|q| {
            (
                q["_id"].as_str().unwrap().to_string(),
                q["text"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(id, _)| qrels.contains_key(id))
        .take(QUERIES)
        .collect();
    let relevant: BTreeSet<&String> = queries
        .iter()
        .flat_map(|(id, _)| qrels[id].keys())
        .collect();
    let all = jsonl(&dir.join("corpus.jsonl"));
    let mut others = 0;
    let corpus: Vec<serde_json::Value> = all
        .into_iter()
        .filter(|d| {
            let id = d["_id"].as_str().unwrap().to_string();
            relevant.contains(&id) || {
                others += 1;
                others <= DISTRACTORS
            }
        })
        .collect();
    let qrels = queries
        .iter()
        .map(|(id, _)| (id.clone(), qrels[id].clone()))
        .collect();
    Subset {
        corpus,
        queries,
        qrels,
    }
}

/// nDCG@10 of vector and hybrid search over the subset indexed with `precision`.
async fn ndcg(s: &Subset, precision: Precision) -> (f64, f64) {
    let mut cfg = OnnxEmbedderConfig::new(default_model_dir("all-MiniLM-L6-v2"));
    cfg.threads = Some(2);
    cfg.precision = precision;
    let embedder: Arc<dyn TextEmbedder> = Arc::new(
        OnnxEmbedder::load(&cfg)
            .unwrap_or_else(|e| panic!("{e}\n(run `bash scripts/setup.sh` first)")),
    );
    let dir = tempfile::tempdir().unwrap();
    sluice_tests::write_jsonl(&dir.path().join("corpus.jsonl"), &s.corpus);
    let yaml = "name: q\nsources:\n  - id: scifact\n    type: files\n    visibility: public\n    settings:\n      path: corpus.jsonl\nsinks:\n  - type: embedded\n";
    let loaded =
        load_pipeline_str(yaml, "test.yaml", dir.path()).unwrap_or_else(|d| panic!("{d:#?}"));
    let p = Pipeline::open(
        &sluice_catalog::registry(),
        loaded,
        &dir.path().join("data"),
        Some(embedder.clone()),
    )
    .await
    .unwrap();
    let r = sluice_tests::run(&p, yaml, dir.path(), false).await;
    assert!(!r.failed() && r.dead_letters() == 0, "{:#?}", r.sources);
    let texts: Vec<&str> = s.queries.iter().map(|(_, t)| t.as_str()).collect();
    let vectors = embedder.embed(&texts).unwrap();
    let backend = p.search_backend().unwrap();
    let mut out = [0.0; 2];
    for (slot, mode) in [SearchMode::Vector, SearchMode::Hybrid]
        .into_iter()
        .enumerate()
    {
        for ((qid, q), qv) in s.queries.iter().zip(&vectors) {
            let req = SearchRequest {
                query: q.clone(),
                top_k: 10,
                mode,
                filters: SearchFilters::default(),
                access: Access::public_only(),
            };
            let hits = backend.search(&req, Some(qv)).await.unwrap().hits;
            let rel = &s.qrels[qid];
            let mut seen = BTreeSet::new();
            let ranked: Vec<&String> = hits
                .iter()
                .map(|h| &h.external_id)
                .filter(|id| seen.insert(*id))
                .take(10)
                .collect();
            let dcg: f64 = ranked
                .iter()
                .enumerate()
                .map(|(r, id)| rel.get(*id).copied().unwrap_or(0.0) / ((r + 2) as f64).log2())
                .sum();
            let mut ideal: Vec<f64> = rel.values().copied().collect();
            ideal.sort_by(|a, b| b.total_cmp(a));
            let idcg: f64 = ideal
                .iter()
                .take(10)
                .enumerate()
                .map(|(r, g)| g / ((r + 2) as f64).log2())
                .sum();
            out[slot] += dcg / idcg;
        }
        out[slot] /= s.queries.len() as f64;
    }
    (out[0], out[1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_int8_model_ranks_within_half_a_point_of_fp32() {
    let s = subset();
    assert_eq!(s.queries.len(), QUERIES);
    let (fp32_vector, fp32_hybrid) = ndcg(&s, Precision::Fp32).await;
    let (int8_vector, int8_hybrid) = ndcg(&s, Precision::Int8).await;
    eprintln!(
        "nDCG@10 on {} abstracts, {} queries: vector fp32 {fp32_vector:.4} int8 {int8_vector:.4}; hybrid fp32 {fp32_hybrid:.4} int8 {int8_hybrid:.4}",
        s.corpus.len(),
        s.queries.len()
    );
    // The subset is easy (few distractors), so a broken model shows as a collapse here.
    assert!(
        fp32_vector > 0.6 && fp32_hybrid > 0.6,
        "fp32 baseline too low: vector {fp32_vector:.4}, hybrid {fp32_hybrid:.4}"
    );
    assert!(
        (int8_vector - fp32_vector).abs() <= 0.005,
        "vector nDCG@10: int8 {int8_vector:.4} vs fp32 {fp32_vector:.4}"
    );
    assert!(
        (int8_hybrid - fp32_hybrid).abs() <= 0.005,
        "hybrid nDCG@10: int8 {int8_hybrid:.4} vs fp32 {fp32_hybrid:.4}"
    );
}
