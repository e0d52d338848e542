//! Streaming search on the demo index (real model), each figure beside its
//! baseline from the same run: for each of the sample's queries, a staged
//! hybrid search (`sluice_search::search_many_staged`, what
//! `POST /v1/search/stream` runs) timed to its first stage (the keyword
//! legs' hits) and to its full answer, interleaved with the same search
//! unstaged (`search_many`, what `POST /v1/search` runs). The query
//! embedding is never cached here (the API's query cache would hide it).
//! Run: `cargo run --release -p sluice-bench-stream` (or without
//! `--release`: the demo's own build).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use sluice_core::search::{Access, SearchFilters, SearchMode, SearchRequest};
use sluice_embed::{OnnxEmbedder, OnnxEmbedderConfig, TextEmbedder, default_model_dir};
use sluice_engine::{Pipeline, RunOptions};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "pipelines/demo.yaml")]
    pipeline: PathBuf,
    /// Rounds over the sample's queries.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let loaded = sluice_spec::load_pipeline(&args.pipeline).map_err(|d| {
        anyhow!(
            "{}",
            d.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    let cfg = OnnxEmbedderConfig::new(default_model_dir("all-MiniLM-L6-v2"));
    let embedder: Arc<dyn TextEmbedder> =
        Arc::new(OnnxEmbedder::load(&cfg).context("run scripts/setup.sh first")?);
    let data = tempfile::tempdir()?;
    let reg = sluice_catalog::registry();
    let sources = sluice_engine::build_sources(&reg, &loaded).map_err(|d| anyhow!("{d:?}"))?;
    let queries_file = loaded.base_dir.join("data/sample/queries.tsv");
    let p = Pipeline::open(&reg, loaded, data.path(), Some(embedder.clone()))
        .await
        .map_err(|e| anyhow!(e))?;
    let report = p.run(sources, &RunOptions::default()).await;
    if report.failed() {
        return Err(anyhow!("the sync failed: {:#?}", report.sources));
    }
    let queries: Vec<String> = std::fs::read_to_string(&queries_file)?
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .collect();
    let backends = [p
        .search_backend()
        .ok_or_else(|| anyhow!("no search backend"))?];
    let (mut first, mut full, mut plain) = (Vec::new(), Vec::new(), Vec::new());
    let mut same_top = 0usize;
    for round in 0..=args.rounds {
        for q in &queries {
            let req = SearchRequest {
                query: q.clone(),
                top_k: 10,
                mode: SearchMode::Hybrid,
                filters: SearchFilters::default(),
                access: Access::public_only(),
            };
            let t = Instant::now();
            let plain_answer = sluice_search::search_many(&backends, embedder.clone(), &req)
                .await
                .map_err(|e| anyhow!(e))?;
            let plain_ms = t.elapsed().as_secs_f64() * 1e3;
            let early_at: Mutex<Option<f64>> = Mutex::new(None);
            let t = Instant::now();
            let early = |_r: sluice_core::search::SearchResponse| {
                *early_at.lock().unwrap() = Some(t.elapsed().as_secs_f64() * 1e3);
            };
            let staged =
                sluice_search::search_many_staged(&backends, embedder.clone(), &req, &early)
                    .await
                    .map_err(|e| anyhow!(e))?;
            let full_ms = t.elapsed().as_secs_f64() * 1e3;
            let first_ms = early_at
                .lock()
                .unwrap()
                .ok_or_else(|| anyhow!("no keyword stage for {q:?}"))?;
            // Round 0 warms caches (pages, allocator): not counted.
            if round > 0 {
                first.push(first_ms);
                full.push(full_ms);
                plain.push(plain_ms);
                let ids = |r: &sluice_core::search::SearchResponse| {
                    r.hits.iter().map(|h| h.doc_id).collect::<Vec<_>>()
                };
                same_top += usize::from(ids(&staged) == ids(&plain_answer));
            }
        }
    }
    for v in [&mut first, &mut full, &mut plain] {
        v.sort_by(f64::total_cmp);
    }
    let n = first.len();
    println!(
        "hybrid search on the demo index, top 10, public caller, query embedded each time, {n} searches ({} distinct × {}):",
        queries.len(),
        args.rounds
    );
    println!(
        "  unstaged (POST /v1/search)    full answer  p50 {:.2} ms  p99 {:.2} ms (baseline)",
        pct(&plain, 0.5),
        pct(&plain, 0.99)
    );
    println!(
        "  staged (POST /v1/search/stream) first event  p50 {:.2} ms  p99 {:.2} ms = {:.2}× the baseline's p50",
        pct(&first, 0.5),
        pct(&first, 0.99),
        pct(&first, 0.5) / pct(&plain, 0.5)
    );
    println!(
        "  staged (POST /v1/search/stream) full answer  p50 {:.2} ms  p99 {:.2} ms = {:.2}× the baseline's p50",
        pct(&full, 0.5),
        pct(&full, 0.99),
        pct(&full, 0.5) / pct(&plain, 0.5)
    );
    println!("  same ranking staged and unstaged: {same_top} of {n}");
    Ok(())
}
