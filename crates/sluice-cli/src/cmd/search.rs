//! `sluice search`: one query from the command line.

use std::path::PathBuf;

use sluice_core::search::{Access, SearchMode, SearchRequest};

use crate::ModelArgs;
use crate::common::{open_backend, parse_filters};
use crate::error::Failure;
use crate::output;

pub struct Args {
    pub query: String,
    pub pipeline: Option<PathBuf>,
    pub mode: String,
    pub top_k: usize,
    pub filters: Vec<String>,
    pub principals: Option<String>,
    pub all_access: bool,
    pub json: bool,
}

pub async fn run(args: Args, data_dir: &std::path::Path, model: &ModelArgs) -> Result<(), Failure> {
    let filters = parse_filters(&args.filters).map_err(Failure::Invalid)?;
    let mode: SearchMode = args.mode.parse().unwrap_or_default();
    let access = if args.all_access {
        Access::All
    } else {
        Access::Principals(
            args.principals
                .map(|p| {
                    p.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        )
    };
    let (backend, embedder) = open_backend(
        args.pipeline.as_deref(),
        data_dir,
        model,
        mode != SearchMode::Keyword,
    )
    .map_err(Failure::Runtime)?;
    let req = SearchRequest {
        query: args.query,
        top_k: args.top_k.clamp(1, 1000),
        mode,
        filters,
        access,
    };
    let result = match embedder {
        Some(e) => sluice_search::search_many(&[backend], e, &req).await,
        None => backend.search(&req, None).await,
    };
    let resp = result.map_err(|e| Failure::Runtime(format!("search failed: {e}")))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&resp).unwrap_or_default()
        );
    } else {
        output::print_hits(&resp);
        for w in &resp.warnings {
            println!("(partial results: {w})");
        }
        if resp.hits.is_empty() && matches!(&req.access, Access::Principals(p) if p.is_empty()) {
            println!(
                "(searched public documents only: restricted documents need --as <principals as stored, e.g. confluence:wiki:group:hr> or --all-access)"
            );
        }
    }
    Ok(())
}
