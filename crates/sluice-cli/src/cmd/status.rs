//! `sluice status`: what a pipeline has indexed and how its last runs went.

use std::path::Path;

use crate::common::load_pipeline;
use crate::error::Failure;
use crate::output;

pub fn run(path: &Path, data_dir: &Path, shared: Option<&str>, json: bool) -> Result<(), Failure> {
    let loaded = load_pipeline(path)?;
    let state = crate::common::open_state(data_dir, shared)?;
    let name = &loaded.spec.name;
    let counts = state.count_documents(name).map_err(Failure::runtime)?;
    let runs = state.last_runs(name).map_err(Failure::runtime)?;
    let dead = state
        .dead_letter_entries(name, None, None, 10)
        .map_err(Failure::runtime)?;
    let failed = state
        .dead_letter_entries(
            name,
            None,
            Some("failed"),
            sluice_state::MAX_DEAD_LETTERS as usize,
        )
        .map_err(Failure::runtime)?
        .len();
    let partial = state
        .dead_letter_entries(
            name,
            None,
            Some("partial"),
            sluice_state::MAX_DEAD_LETTERS as usize,
        )
        .map_err(Failure::runtime)?
        .len();
    let (edges, names) = state.graph_size(name).map_err(Failure::runtime)?;
    let resolved = state.resolved_edges(name).map_err(Failure::runtime)?;
    if json {
        let v = serde_json::json!({
            "links": {"edges": edges, "resolved": resolved, "names": names},
            "pipeline": name,
            "sources": counts.iter().map(|(s, d, c)| serde_json::json!({"source": s, "documents": d, "chunks": c})).collect::<Vec<_>>(),
            "last_runs": runs,
            "dead_letters": {"failed": failed, "partial": partial},
            "recent_dead_letters": dead,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        output::print_status(name, &counts, &runs, &dead, failed, partial);
        println!(
            "\nlink graph: {edges} references stored, {resolved} resolve to indexed documents (see `sluice related`)"
        );
    }
    Ok(())
}
