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
    /// Show each hit's linked documents (those the caller may read).
    pub related: bool,
}

pub async fn run(args: Args, data_dir: &std::path::Path, model: &ModelArgs) -> Result<(), Failure> {
    let filters = parse_filters(&args.filters).map_err(Failure::Invalid)?;
    let mode: SearchMode = args.mode.parse().unwrap_or_default();
    let access = access_of(args.all_access, args.principals);
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
        Some(e) => sluice_search::search_many(std::slice::from_ref(&backend), e, &req).await,
        None => backend.search(&req, None).await,
    };
    let resp = result.map_err(|e| Failure::Runtime(format!("search failed: {e}")))?;
    let related = if args.related {
        let ids: Vec<_> = resp.hits.iter().map(|h| h.doc_id).collect();
        Some(
            sluice_search::related_many(
                std::slice::from_ref(&backend),
                &ids,
                &req.access,
                sluice_core::search::RELATED_PER_HIT,
            )
            .await
            .map_err(|e| Failure::Runtime(format!("related documents: {e}")))?,
        )
    } else {
        None
    };
    if args.json {
        let mut value = serde_json::to_value(&resp).unwrap_or_default();
        if let (Some(related), Some(hits)) = (&related, value["hits"].as_array_mut()) {
            for (hit, h) in hits.iter_mut().zip(&resp.hits) {
                hit["related"] =
                    serde_json::to_value(related.get(&h.doc_id).cloned().unwrap_or_default())
                        .unwrap_or_default();
            }
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        output::print_hits(&resp, related.as_ref());
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

/// `--all-access`, or `--as` principals (public documents only without).
pub fn access_of(all_access: bool, principals: Option<String>) -> Access {
    if all_access {
        return Access::All;
    }
    Access::Principals(
        principals
            .map(|p| {
                p.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    )
}
