//! The link graph's cost, each figure beside its baseline from the same run:
//!   * edge extraction as a share of the demo corpus's first sync (real
//!     model), against the embedding share;
//!   * `related` per query: hybrid searches over the sample's queries with
//!     and without `related`, interleaved, p50 and p99 of each and of the
//!     `related` step alone.
//! Run: `cargo run --release -p sluice-bench-graph` (or without `--release`:
//! the demo's own build).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use sluice_core::search::{Access, RELATED_PER_HIT, SearchFilters, SearchMode, SearchRequest};
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

    let started = Instant::now();
    let report = p.run(sources, &RunOptions::default()).await;
    let wall = started.elapsed().as_secs_f64();
    if report.failed() {
        return Err(anyhow!("the sync failed: {:#?}", report.sources));
    }
    let link: f64 = report.sources.iter().map(|s| s.link_seconds).sum();
    let embed: f64 = report.sources.iter().map(|s| s.embed_seconds).sum();
    let (edges, names) = p.state().graph_size(p.name()).map_err(|e| anyhow!("{e}"))?;
    println!("first sync of the demo corpus: {wall:.2} s");
    println!(
        "  embedding  {embed:.2} s = {:.1} % (baseline share)",
        100.0 * embed / wall
    );
    println!(
        "  link graph {link:.3} s = {:.2} % of the sync (target ≤ 3 %); {edges} edges, {names} names stored",
        100.0 * link / wall
    );

    let queries: Vec<String> = std::fs::read_to_string(&queries_file)?
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .collect();
    let backend = p
        .search_backend()
        .ok_or_else(|| anyhow!("no search backend"))?;
    let backends = [backend];
    let (mut plain, mut with, mut step, mut shown) = (Vec::new(), Vec::new(), Vec::new(), 0usize);
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
            let r = sluice_search::search_many(&backends, embedder.clone(), &req)
                .await
                .map_err(|e| anyhow!(e))?;
            let searched = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let ids: Vec<_> = r.hits.iter().map(|h| h.doc_id).collect();
            let related =
                sluice_search::related_many(&backends, &ids, &req.access, RELATED_PER_HIT)
                    .await
                    .map_err(|e| anyhow!(e))?;
            let rel = t.elapsed().as_secs_f64() * 1e3;
            // Round 0 warms caches (query vectors, pages): not counted.
            if round > 0 {
                plain.push(searched);
                with.push(searched + rel);
                step.push(rel);
                shown += related.values().map(Vec::len).sum::<usize>();
            }
        }
    }
    for v in [&mut plain, &mut with, &mut step] {
        v.sort_by(f64::total_cmp);
    }
    let n = plain.len();
    println!(
        "hybrid search, top 10, public caller, {n} queries ({} distinct × {}):",
        queries.len(),
        args.rounds
    );
    println!(
        "  without related  p50 {:.2} ms  p99 {:.2} ms (baseline)",
        pct(&plain, 0.5),
        pct(&plain, 0.99)
    );
    println!(
        "  with related     p50 {:.2} ms  p99 {:.2} ms",
        pct(&with, 0.5),
        pct(&with, 0.99)
    );
    println!(
        "  related alone    p50 {:.3} ms  p99 {:.3} ms (target p50 ≤ 2 ms); {:.1} related documents per query",
        pct(&step, 0.5),
        pct(&step, 0.99),
        shown as f64 / n as f64
    );
    Ok(())
}
