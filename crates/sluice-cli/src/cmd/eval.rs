//! `sluice eval`: ingest a BEIR-style corpus through the real pipeline into
//! an embedded index, then score keyword, vector and hybrid retrieval
//! (nDCG@10, Recall@100, MRR@10, trec_eval's definitions), or score a TREC
//! run file (`--score-run`). `--out` writes per-query figures and each
//! mode's run file, so two versions can be diffed query by query.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use clap::Args;
use sluice_core::search::{Access, SearchFilters, SearchMode, SearchRequest};
use sluice_engine::RunOptions;
use sluice_spec::load_pipeline_str;

use crate::ModelArgs;
use crate::common::{load_embedder, registry, run_with_progress};
use crate::error::Failure;

#[derive(Args)]
pub struct EvalArgs {
    /// corpus.jsonl (`_id`, `title`, `text`).
    #[arg(long, required_unless_present = "score_run")]
    corpus: Option<PathBuf>,
    /// queries.jsonl (`_id`, `text`).
    #[arg(long, required_unless_present = "score_run")]
    queries: Option<PathBuf>,
    /// qrels TSV: header line, then query-id, corpus-id, score.
    #[arg(long)]
    qrels: PathBuf,
    /// Where to build the index (reused across runs: unchanged documents are not re-embedded).
    #[arg(long, default_value = ".sluice-data/eval")]
    data_dir: PathBuf,
    /// Evaluate only the first N judged queries.
    #[arg(long)]
    limit: Option<usize>,
    /// Write `per_query.jsonl` and `<mode>.run` (TREC format) into this directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Score this TREC run file (`qid Q0 docid rank score tag`) against
    /// `--qrels` instead of searching.
    #[arg(long, conflicts_with_all = ["corpus", "queries"])]
    score_run: Option<PathBuf>,
    /// Chunk size in model tokens (the pipeline default when unset), to
    /// measure chunking against nDCG; use a data dir per setting.
    #[arg(long)]
    chunk_tokens: Option<u32>,
    /// Tokens carried over between consecutive chunks.
    #[arg(long)]
    chunk_overlap: Option<u32>,
    /// After the ingest, count the model tokens embedded (special tokens
    /// included) against the tokens the corpus's text holds: what chunking
    /// costs beyond the text (titles per chunk, overlap).
    #[arg(long)]
    count_tokens: bool,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long)]
    json: bool,
}

pub fn read_queries(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        let id = v.get("_id").map(|x| {
            x.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| x.to_string())
        });
        let q = v.get("text").and_then(|x| x.as_str());
        match (id, q) {
            (Some(id), Some(q)) => out.push((id, q.to_string())),
            _ => {
                return Err(format!(
                    "{}:{}: a query needs `_id` and `text`",
                    path.display(),
                    i + 1
                ));
            }
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
        let score: f64 = cols[2]
            .trim()
            .parse()
            .map_err(|_| format!("{}:{}: bad score `{}`", path.display(), i + 1, cols[2]))?;
        if score > 0.0 {
            out.entry(cols[0].to_string())
                .or_default()
                .insert(cols[1].to_string(), score);
        }
    }
    Ok(out)
}

/// nDCG@k with graded gains (BEIR's definition: gain = relevance, log2 discount).
pub fn ndcg_at(ranked: &[String], rel: &HashMap<String, f64>, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| rel.get(d).copied().unwrap_or(0.0) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<f64> = rel.values().copied().collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| g / ((i + 2) as f64).log2())
        .sum();
    if idcg == 0.0 { 0.0 } else { dcg / idcg }
}

/// Reciprocal rank of the first relevant document within the top k.
pub fn mrr_at(ranked: &[String], rel: &HashMap<String, f64>, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|d| rel.contains_key(d))
        .map(|i| 1.0 / (i + 1) as f64)
        .unwrap_or(0.0)
}

/// A TREC run file: query id → documents, best first. Ordered as trec_eval
/// does: by score, descending; ties by document id, descending.
pub fn read_run(path: &Path) -> Result<HashMap<String, Vec<String>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut by_query: HashMap<String, Vec<(f64, String)>> = HashMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 6 {
            return Err(format!(
                "{}:{}: expected `qid Q0 docid rank score tag`",
                path.display(),
                i + 1
            ));
        }
        let score: f64 = cols[4]
            .parse()
            .map_err(|_| format!("{}:{}: bad score `{}`", path.display(), i + 1, cols[4]))?;
        by_query
            .entry(cols[0].to_string())
            .or_default()
            .push((score, cols[2].to_string()));
    }
    Ok(by_query
        .into_iter()
        .map(|(q, mut docs)| {
            docs.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
            (q, docs.into_iter().map(|(_, d)| d).collect())
        })
        .collect())
}

/// One query's figures.
struct Scored {
    ndcg: f64,
    recall: f64,
    mrr: f64,
}

fn score(ranked: &[String], rel: &HashMap<String, f64>) -> Scored {
    Scored {
        ndcg: ndcg_at(ranked, rel, 10),
        recall: recall_at(ranked, rel, 100),
        mrr: mrr_at(ranked, rel, 10),
    }
}

/// Mean figures over the judged queries (a query the run does not answer
/// scores 0, as trec_eval with `-c`).
fn means(per_query: &[Scored]) -> (f64, f64, f64) {
    let n = per_query.len().max(1) as f64;
    (
        per_query.iter().map(|s| s.ndcg).sum::<f64>() / n,
        per_query.iter().map(|s| s.recall).sum::<f64>() / n,
        per_query.iter().map(|s| s.mrr).sum::<f64>() / n,
    )
}

fn score_run(
    run: &Path,
    qrels: &HashMap<String, HashMap<String, f64>>,
    json: bool,
) -> Result<(), Failure> {
    let run = read_run(run).map_err(Failure::Invalid)?;
    let mut qids: Vec<&String> = qrels.keys().collect();
    qids.sort();
    let empty = Vec::new();
    let per_query: Vec<Scored> = qids
        .iter()
        .map(|q| score(run.get(*q).unwrap_or(&empty), &qrels[*q]))
        .collect();
    let (ndcg, recall, mrr) = means(&per_query);
    if json {
        println!(
            "{}",
            serde_json::json!({ "queries": qids.len(), "ndcg@10": ndcg, "recall@100": recall, "mrr@10": mrr })
        );
    } else {
        println!(
            "{} judged queries\nnDCG@10 {ndcg:.4}  Recall@100 {recall:.4}  MRR@10 {mrr:.4}",
            qids.len()
        );
    }
    Ok(())
}

pub fn recall_at(ranked: &[String], rel: &HashMap<String, f64>, k: usize) -> f64 {
    if rel.is_empty() {
        return 0.0;
    }
    let top: HashSet<&String> = ranked.iter().take(k).collect();
    rel.keys().filter(|d| top.contains(d)).count() as f64 / rel.len() as f64
}

pub async fn run(args: EvalArgs) -> Result<(), Failure> {
    let qrels = read_qrels(&args.qrels).map_err(Failure::Invalid)?;
    if let Some(run) = &args.score_run {
        return score_run(run, &qrels, args.json);
    }
    let (Some(corpus), Some(queries)) = (&args.corpus, &args.queries) else {
        return Err(Failure::Invalid(
            "--corpus and --queries are needed (or --score-run)".into(),
        ));
    };
    let corpus = match std::path::absolute(corpus) {
        Ok(p) if p.exists() => p,
        _ => {
            return Err(Failure::Invalid(format!(
                "corpus {} not found",
                corpus.display()
            )));
        }
    };
    let queries = read_queries(queries).map_err(Failure::Invalid)?;
    let mut judged: Vec<(String, String)> = queries
        .into_iter()
        .filter(|(id, _)| qrels.contains_key(id))
        .collect();
    if let Some(n) = args.limit {
        judged.truncate(n);
    }
    if judged.is_empty() {
        return Err(Failure::Invalid(format!(
            "no query has relevance judgments in {}",
            args.qrels.display()
        )));
    }
    // The corpus goes through the same engine as any pipeline. A benchmark
    // corpus is public by definition, and the search runs with full access.
    let mut yaml = format!(
        "name: eval\nsources:\n  - id: corpus\n    type: files\n    visibility: public\n    settings:\n      path: {}\n      format: jsonl\n",
        serde_json::to_string(&corpus.display().to_string()).unwrap_or_default()
    );
    if args.chunk_tokens.is_some() || args.chunk_overlap.is_some() {
        yaml.push_str("chunking:\n");
        if let Some(t) = args.chunk_tokens {
            yaml.push_str(&format!("  max_tokens: {t}\n"));
        }
        if let Some(o) = args.chunk_overlap {
            yaml.push_str(&format!("  overlap_tokens: {o}\n"));
        }
    }
    let joined = |d: Vec<sluice_spec::Diagnostic>| {
        Failure::Runtime(
            d.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    };
    let loaded = load_pipeline_str(&yaml, "<eval>", Path::new("/")).map_err(joined)?;
    let embedder = load_embedder(&loaded.spec.embedding, Path::new("/"), Some(&args.model))
        .map_err(Failure::Runtime)?;
    let reg = registry();
    let sources = sluice_engine::build_sources(&reg, &loaded).map_err(joined)?;
    let (pipeline, report) = run_with_progress(
        &reg,
        loaded,
        &args.data_dir,
        Some(embedder.clone()),
        sources,
        &RunOptions::default(),
        !args.json,
    )
    .await
    .map_err(Failure::Runtime)?;
    if report.failed() {
        return Err(Failure::Runtime(format!(
            "ingest failed: {:?}",
            report.sources.iter().map(|s| &s.status).collect::<Vec<_>>()
        )));
    }
    let index = pipeline
        .search_backend()
        .ok_or_else(|| Failure::Runtime("eval needs a searchable index".into()))?;
    let ingest_seconds = report.seconds;
    let token_counts = match args.count_tokens {
        true => Some(count_tokens(&pipeline, embedder.as_ref(), &corpus)?),
        false => None,
    };

    let mut results = Vec::new();
    let texts: Vec<&str> = judged.iter().map(|(_, q)| q.as_str()).collect();
    let qvecs = embedder.embed(&texts).map_err(Failure::runtime)?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Runtime(format!("{}: {e}", dir.display())))?;
    }
    let mut per_query_lines = Vec::new();
    for mode in [SearchMode::Keyword, SearchMode::Vector, SearchMode::Hybrid] {
        let name = format!("{mode:?}").to_lowercase();
        let mut per_query = Vec::new();
        let mut run_lines = Vec::new();
        let started = std::time::Instant::now();
        for ((qid, q), qv) in judged.iter().zip(&qvecs) {
            let req = SearchRequest {
                query: q.clone(),
                top_k: 100,
                mode,
                filters: SearchFilters::default(),
                access: Access::All,
            };
            let resp = index
                .search(&req, Some(qv))
                .await
                .map_err(|e| Failure::Runtime(format!("search failed for query {qid}: {e}")))?;
            for (rank, h) in resp.hits.iter().enumerate() {
                run_lines.push(format!(
                    "{qid} Q0 {} {} {} sluice-{name}",
                    h.external_id,
                    rank + 1,
                    h.score
                ));
            }
            let ranked: Vec<String> = resp.hits.into_iter().map(|h| h.external_id).collect();
            let s = score(&ranked, &qrels[qid]);
            per_query_lines.push(serde_json::json!({ "query": qid, "mode": name, "ndcg@10": s.ndcg, "recall@100": s.recall, "mrr@10": s.mrr, "top10": &ranked[..ranked.len().min(10)] }).to_string());
            per_query.push(s);
        }
        let (ndcg, recall, mrr) = means(&per_query);
        results.push(serde_json::json!({
            "mode": name,
            "ndcg@10": ndcg,
            "recall@100": recall,
            "mrr@10": mrr,
            "ms_per_query": started.elapsed().as_secs_f64() * 1e3 / judged.len() as f64,
        }));
        if let Some(dir) = &args.out {
            let path = dir.join(format!("{name}.run"));
            std::fs::write(&path, run_lines.join("\n") + "\n")
                .map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))?;
        }
    }
    if let Some(dir) = &args.out {
        let path = dir.join("per_query.jsonl");
        std::fs::write(&path, per_query_lines.join("\n") + "\n")
            .map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))?;
    }
    // The eval's index is the embedded one, which fuses by its calibration.
    let fusion = sluice_core::search::CALIBRATED_FUSION.describe();
    let out = serde_json::json!({
        "queries": judged.len(),
        "documents_seen": report.sources.iter().map(|s| s.docs_seen).sum::<u64>(),
        "chunks_embedded": report.chunks_embedded(),
        "ingest_seconds": ingest_seconds,
        "tokens_embedded": token_counts.map(|t| t.0),
        "text_tokens": token_counts.map(|t| t.1),
        "fusion": fusion,
        "results": results,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!(
            "{} judged queries, {} documents (ingest {:.1}s, {} chunks embedded)",
            judged.len(),
            out["documents_seen"],
            ingest_seconds,
            report.chunks_embedded()
        );
        if let Some((embedded, text)) = token_counts {
            println!(
                "tokens embedded: {embedded} (the corpus's title + text hold {text}: {:.2}x)",
                embedded as f64 / text.max(1) as f64
            );
        }
        println!("hybrid: {fusion}");
        println!(
            "{:<8} {:>8} {:>11} {:>8} {:>9}",
            "mode", "nDCG@10", "Recall@100", "MRR@10", "ms/query"
        );
        for r in &results {
            println!(
                "{:<8} {:>8.4} {:>11.4} {:>8.4} {:>9.2}",
                r["mode"].as_str().unwrap_or(""),
                r["ndcg@10"].as_f64().unwrap_or(0.0),
                r["recall@100"].as_f64().unwrap_or(0.0),
                r["mrr@10"].as_f64().unwrap_or(0.0),
                r["ms_per_query"].as_f64().unwrap_or(0.0)
            );
        }
    }
    Ok(())
}

/// (tokens embedded: every stored chunk with its special tokens, at most the
/// model's limit; tokens in the corpus's `title + " " + text`, without).
fn count_tokens(
    pipeline: &sluice_engine::Pipeline,
    embedder: &dyn sluice_core::TextEmbedder,
    corpus: &Path,
) -> Result<(u64, u64), Failure> {
    let index = pipeline
        .store::<sluice_index::EmbeddedIndex>()
        .ok_or_else(|| Failure::Runtime("--count-tokens needs the embedded index".into()))?;
    let chunks = index.payloads().map_err(Failure::Runtime)?;
    let embedded: u64 = chunks
        .iter()
        .map(|c| (embedder.count_tokens(&c.text) + 2).min(embedder.max_length()) as u64)
        .sum();
    let text = std::fs::read_to_string(corpus)
        .map_err(|e| Failure::Runtime(format!("{}: {e}", corpus.display())))?;
    let mut held = 0u64;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let d: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Failure::Runtime(format!("{}: {e}", corpus.display())))?;
        let s = |k: &str| {
            d.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        held += embedder.count_tokens(&format!("{} {}", s("title"), s("text"))) as u64;
    }
    Ok((embedded, held))
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
