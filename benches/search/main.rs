//! Retrieval latency on an index `sluice eval` built (SciFact by default):
//! today's hybrid search (document-level BM25, calibrated fusion) against
//! the search of before issue 20 (chunk-level BM25, weighted RRF) over the
//! same index, in one process, rounds alternating so machine noise hits
//! both alike. Query vectors are embedded before the clock starts: this
//! times retrieval and fusion, not the model. Per mode, p50 and p99 with
//! the ratio now / before.
//!
//! Run: `bash scripts/bench-search.sh` (release build; it builds the eval
//! index first when missing).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use sluice_core::TextEmbedder;
use sluice_core::search::{Access, SearchBackend, SearchFilters, SearchMode, SearchRequest};
use sluice_embed::{OnnxEmbedder, OnnxEmbedderConfig, default_model_dir};

#[derive(Parser)]
struct Args {
    /// The index directory of a `sluice eval --data-dir` (its `index/`).
    #[arg(long, default_value = ".sluice-data/eval/index")]
    index: PathBuf,
    /// BEIR queries.jsonl.
    #[arg(long, default_value = "../shared/data/scifact-train/queries.jsonl")]
    queries: PathBuf,
    /// Queries to time (the first N).
    #[arg(long, default_value_t = 200)]
    limit: usize,
    /// Timed rounds over the queries, per setting.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Hits per request (the API's default is 10).
    #[arg(long, default_value_t = 10)]
    top_k: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.queries).with_context(|| format!("{}", args.queries.display()))?;
    let queries: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?.get("text")?.as_str().map(str::to_string))
        .take(args.limit)
        .collect();
    anyhow::ensure!(!queries.is_empty(), "no queries in {}", args.queries.display());
    let index = Arc::new(sluice_index::EmbeddedIndex::open(&args.index, false).map_err(|e| anyhow!("{e}; build it with `sluice eval --data-dir …`"))?);
    let (chunks, _) = index.counts().map_err(|e| anyhow!(e))?;
    let embedder = OnnxEmbedder::load(&OnnxEmbedderConfig::new(default_model_dir("all-MiniLM-L6-v2"))).map_err(|e| anyhow!("{e}"))?;
    let refs: Vec<&str> = queries.iter().map(String::as_str).collect();
    let vectors = embedder.embed(&refs).map_err(|e| anyhow!("{e}"))?;
    let now: Arc<dyn SearchBackend> = Arc::new(sluice_index::EmbeddedSearch::new(index.clone()));
    let before: Arc<dyn SearchBackend> = Arc::new(sluice_index::EmbeddedSearch::chunk_level_baseline(index));
    println!("== retrieval latency ({} chunks; {} queries x {} rounds per setting; top {}; query embedding excluded)", chunks, queries.len(), args.rounds, args.top_k);
    for mode in [SearchMode::Keyword, SearchMode::Hybrid] {
        let mut lat: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        // Round 0 warms caches and is not counted.
        for round in 0..=args.rounds {
            for (i, backend) in [&before, &now].into_iter().enumerate() {
                for (q, v) in queries.iter().zip(&vectors) {
                    let req = SearchRequest { query: q.clone(), top_k: args.top_k, mode, filters: SearchFilters::default(), access: Access::All };
                    let t = Instant::now();
                    backend.search(&req, Some(v)).await.map_err(|e| anyhow!(e))?;
                    if round > 0 {
                        lat[i].push(t.elapsed());
                    }
                }
            }
        }
        let mut base = (0.0, 0.0);
        for (i, name) in ["before (chunks, RRF)", "now (documents, calibrated)"].into_iter().enumerate() {
            lat[i].sort();
            let pct = |p: f64| lat[i][((lat[i].len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
            let (p50, p99) = (pct(0.5), pct(0.99));
            let label = format!("{} {name}", format!("{mode:?}").to_lowercase());
            if i == 0 {
                base = (p50, p99);
                println!("{label:<36} p50 {p50:>7.3} ms   p99 {p99:>7.3} ms");
            } else {
                println!("{label:<36} p50 {p50:>7.3} ms   p99 {p99:>7.3} ms   now/before: p50 {:.2}x  p99 {:.2}x", p50 / base.0, p99 / base.1);
            }
        }
    }
    Ok(())
}
