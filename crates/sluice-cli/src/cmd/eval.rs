//! `sluice eval`: ingest a BEIR-style corpus through the real pipeline into
//! an embedded index, then score keyword, vector and hybrid retrieval.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use clap::Args;
use sluice_engine::RunOptions;
use sluice_core::search::{Access, SearchFilters, SearchMode, SearchRequest};
use sluice_spec::load_pipeline_str;

use crate::ModelArgs;
use crate::common::{load_embedder, registry, run_with_progress};
use crate::error::Failure;

#[derive(Args)]
pub struct EvalArgs {
    /// corpus.jsonl (`_id`, `title`, `text`).
    #[arg(long)]
    corpus: PathBuf,
    /// queries.jsonl (`_id`, `text`).
    #[arg(long)]
    queries: PathBuf,
    /// qrels TSV: header line, then query-id, corpus-id, score.
    #[arg(long)]
    qrels: PathBuf,
    /// Where to build the index (reused across runs: unchanged documents are not re-embedded).
    #[arg(long, default_value = ".sluice-data/eval")]
    data_dir: PathBuf,
    /// Evaluate only the first N judged queries.
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long)]
    json: bool,
}

pub fn read_queries(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        let id = v.get("_id").map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string()));
        let q = v.get("text").and_then(|x| x.as_str());
        match (id, q) {
            (Some(id), Some(q)) => out.push((id, q.to_string())),
            _ => return Err(format!("{}:{}: a query needs `_id` and `text`", path.display(), i + 1)),
        }
    }
    Ok(out)
}

pub fn read_qrels(path: &Path) -> Result<HashMap<String, HashMap<String, f64>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        if i == 0 && cols.first().is_some_and(|c| c.contains("query")) {
            continue;
        }
        if cols.len() < 3 {
            continue;
        }
        let score: f64 = cols[2].trim().parse().map_err(|_| format!("{}:{}: bad score `{}`", path.display(), i + 1, cols[2]))?;
        if score > 0.0 {
            out.entry(cols[0].to_string()).or_default().insert(cols[1].to_string(), score);
        }
    }
    Ok(out)
}

/// nDCG@k with graded gains (BEIR's definition: gain = relevance, log2 discount).
pub fn ndcg_at(ranked: &[String], rel: &HashMap<String, f64>, k: usize) -> f64 {
    let dcg: f64 = ranked.iter().take(k).enumerate().map(|(i, d)| rel.get(d).copied().unwrap_or(0.0) / ((i + 2) as f64).log2()).sum();
    let mut ideal: Vec<f64> = rel.values().copied().collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal.iter().take(k).enumerate().map(|(i, g)| g / ((i + 2) as f64).log2()).sum();
    if idcg == 0.0 { 0.0 } else { dcg / idcg }
}

pub fn recall_at(ranked: &[String], rel: &HashMap<String, f64>, k: usize) -> f64 {
    if rel.is_empty() {
        return 0.0;
    }
    let top: HashSet<&String> = ranked.iter().take(k).collect();
    rel.keys().filter(|d| top.contains(d)).count() as f64 / rel.len() as f64
}

pub async fn run(args: EvalArgs) -> Result<(), Failure> {
    let corpus = match std::path::absolute(&args.corpus) {
        Ok(p) if p.exists() => p,
        _ => return Err(Failure::Invalid(format!("corpus {} not found", args.corpus.display()))),
    };
    let queries = read_queries(&args.queries).map_err(Failure::Invalid)?;
    let qrels = read_qrels(&args.qrels).map_err(Failure::Invalid)?;
    let mut judged: Vec<(String, String)> = queries.into_iter().filter(|(id, _)| qrels.contains_key(id)).collect();
    if let Some(n) = args.limit {
        judged.truncate(n);
    }
    if judged.is_empty() {
        return Err(Failure::Invalid(format!("no query has relevance judgments in {}", args.qrels.display())));
    }
    // The corpus goes through the same engine as any pipeline. A benchmark
    // corpus is public by definition, and the search runs with full access.
    let yaml = format!(
        "name: eval\nsources:\n  - id: corpus\n    type: files\n    visibility: public\n    settings:\n      path: {}\n      format: jsonl\n",
        serde_json::to_string(&corpus.display().to_string()).unwrap_or_default()
    );
    let joined = |d: Vec<sluice_spec::Diagnostic>| Failure::Runtime(d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("; "));
    let loaded = load_pipeline_str(&yaml, "<eval>", Path::new("/")).map_err(joined)?;
    let embedder = load_embedder(&loaded.spec.embedding, Path::new("/"), Some(&args.model)).map_err(Failure::Runtime)?;
    let reg = registry();
    let sources = sluice_engine::build_sources(&reg, &loaded).map_err(joined)?;
    let (pipeline, report) = run_with_progress(&reg, loaded, &args.data_dir, Some(embedder.clone()), sources, &RunOptions::default(), !args.json).await.map_err(Failure::Runtime)?;
    if report.failed() {
        return Err(Failure::Runtime(format!("ingest failed: {:?}", report.sources.iter().map(|s| &s.status).collect::<Vec<_>>())));
    }
    let index = pipeline.search_backend().ok_or_else(|| Failure::Runtime("eval needs a searchable index".into()))?;
    let ingest_seconds = report.seconds;

    let mut results = Vec::new();
    let texts: Vec<&str> = judged.iter().map(|(_, q)| q.as_str()).collect();
    let qvecs = embedder.embed(&texts).map_err(Failure::runtime)?;
    for mode in [SearchMode::Keyword, SearchMode::Vector, SearchMode::Hybrid] {
        let (mut ndcg, mut recall) = (0.0, 0.0);
        let started = std::time::Instant::now();
        for ((qid, q), qv) in judged.iter().zip(&qvecs) {
            let req = SearchRequest { query: q.clone(), top_k: 100, mode, filters: SearchFilters::default(), access: Access::All };
            let resp = index.search(&req, Some(qv)).await.map_err(|e| Failure::Runtime(format!("search failed for query {qid}: {e}")))?;
            let ranked: Vec<String> = resp.hits.into_iter().map(|h| h.external_id).collect();
            let rel = &qrels[qid];
            ndcg += ndcg_at(&ranked, rel, 10);
            recall += recall_at(&ranked, rel, 100);
        }
        let n = judged.len() as f64;
        results.push(serde_json::json!({
            "mode": format!("{mode:?}").to_lowercase(),
            "ndcg@10": ndcg / n,
            "recall@100": recall / n,
            "ms_per_query": started.elapsed().as_secs_f64() * 1e3 / n,
        }));
    }
    let out = serde_json::json!({
        "queries": judged.len(),
        "documents_seen": report.sources.iter().map(|s| s.docs_seen).sum::<u64>(),
        "chunks_embedded": report.chunks_embedded(),
        "ingest_seconds": ingest_seconds,
        "results": results,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!("{} judged queries, {} documents (ingest {:.1}s, {} chunks embedded)", judged.len(), out["documents_seen"], ingest_seconds, report.chunks_embedded());
        println!("{:<8} {:>8} {:>11} {:>9}", "mode", "nDCG@10", "Recall@100", "ms/query");
        for r in &results {
            println!("{:<8} {:>8.4} {:>11.4} {:>9.2}", r["mode"].as_str().unwrap_or(""), r["ndcg@10"].as_f64().unwrap_or(0.0), r["recall@100"].as_f64().unwrap_or(0.0), r["ms_per_query"].as_f64().unwrap_or(0.0));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
        pairs.iter().map(|(d, s)| (d.to_string(), *s)).collect()
    }

    fn ranked(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ndcg_perfect_and_partial() {
        let r = rel(&[("a", 1.0), ("b", 1.0)]);
        assert!((ndcg_at(&ranked(&["a", "b", "c"]), &r, 10) - 1.0).abs() < 1e-12);
        // Relevant doc at rank 2 only: (1/log2(3)) / (1 + 1/log2(3)).
        let expected = (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at(&ranked(&["x", "a"]), &r, 10) - expected).abs() < 1e-12);
        assert_eq!(ndcg_at(&ranked(&["x"]), &r, 10), 0.0);
        // Cut-off applies.
        assert_eq!(ndcg_at(&ranked(&["x", "a"]), &r, 1), 0.0);
    }

    #[test]
    fn recall_counts_found_relevant() {
        let r = rel(&[("a", 1.0), ("b", 2.0)]);
        assert_eq!(recall_at(&ranked(&["b", "z"]), &r, 100), 0.5);
        assert_eq!(recall_at(&ranked(&["z", "b"]), &r, 1), 0.0);
    }
}
