//! `sluice run`: one sync of a pipeline's sources (in-process, or
//! publishing to its transport).

use std::path::Path;

use sluice_engine::RunOptions;

use crate::common::{load_embedder, load_pipeline, registry, run_with_progress};
use crate::error::Failure;
use crate::output;

pub async fn run(
    path: &Path,
    data_dir: &Path,
    opts: RunOptions,
    json: bool,
) -> Result<(), Failure> {
    let reg = registry();
    let loaded = load_pipeline(path)?;
    let mut diags = sluice_engine::validate_pipeline(&reg, &loaded, true).await;
    for s in &opts.only_sources {
        if !loaded.spec.sources.iter().any(|x| &x.id == s) {
            diags.push(loaded.diagnostic(
                "sources",
                format!("--source {s}: no such source in this pipeline"),
                None,
            ));
        }
    }
    if !diags.is_empty() {
        return Err(Failure::Diagnostics(diags));
    }
    let sources = sluice_engine::build_sources(&reg, &loaded).map_err(Failure::Diagnostics)?;
    // With a transport, `run` only publishes; the workers embed.
    let embedder = match &loaded.spec.transport {
        sluice_spec::TransportSpec::InProcess { .. } => Some(
            load_embedder(&loaded.spec.embedding, &loaded.base_dir, None)
                .map_err(Failure::Runtime)?,
        ),
        _ => None,
    };
    let (_, report) = run_with_progress(&reg, loaded, data_dir, embedder, sources, &opts, !json)
        .await
        .map_err(Failure::Runtime)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        output::print_report(&report, data_dir);
    }
    if report.failed() {
        Err(Failure::SourceFailed)
    } else if report.dead_letters() > 0 {
        Err(Failure::DeadLetters)
    } else {
        Ok(())
    }
}
