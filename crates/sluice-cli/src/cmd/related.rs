//! `sluice related`: the documents linked to one, as the caller may see them.

use std::path::PathBuf;

use crate::ModelArgs;
use crate::cmd::search::access_of;
use crate::common::open_backend;
use crate::error::Failure;
use crate::output;

pub struct Args {
    /// A document id (UUID, the `id` of a hit) or `source:external_id`.
    pub doc: String,
    pub pipeline: Option<PathBuf>,
    pub depth: usize,
    pub limit: usize,
    pub principals: Option<String>,
    pub all_access: bool,
    pub json: bool,
}

pub async fn run(args: Args, data_dir: &std::path::Path, model: &ModelArgs) -> Result<(), Failure> {
    let start = match uuid::Uuid::parse_str(&args.doc) {
        Ok(id) => id,
        Err(_) => match args.doc.split_once(':') {
            Some((source, external)) if !source.is_empty() && !external.is_empty() => {
                sluice_core::doc_id(source, external)
            }
            _ => {
                return Err(Failure::Invalid(format!(
                    "`{}` is neither a document id (UUID) nor `source:external_id` (e.g. `jira:PAY-1432`)",
                    args.doc
                )));
            }
        },
    };
    if !(1..=sluice_search::MAX_DEPTH).contains(&args.depth) {
        return Err(Failure::Invalid(format!(
            "--depth must be 1 or {}",
            sluice_search::MAX_DEPTH
        )));
    }
    let access = access_of(args.all_access, args.principals);
    let (backend, _) =
        open_backend(args.pipeline.as_deref(), data_dir, model, false).map_err(Failure::Runtime)?;
    let reached = sluice_search::traverse(
        std::slice::from_ref(&backend),
        start,
        &access,
        args.depth,
        args.limit.clamp(1, 50),
    )
    .await
    .map_err(|e| Failure::Runtime(format!("related documents: {e}")))?;
    let Some(reached) = reached else {
        return Err(Failure::Runtime(format!(
            "no document `{}` that these principals may read (see --as, --all-access)",
            args.doc
        )));
    };
    if args.json {
        let list: Vec<_> = reached
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(&r.doc).unwrap_or_default();
                v["depth"] = r.depth.into();
                v["via"] = r.via.to_string().into();
                v
            })
            .collect();
        let out = serde_json::json!({"id": start.to_string(), "related": list});
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(());
    }
    if reached.is_empty() {
        println!("no linked documents that these principals may read");
    }
    for r in reached.iter().filter(|r| r.depth == 1) {
        println!("{}", output::related_line(&r.doc));
        for next in reached
            .iter()
            .filter(|n| n.depth == 2 && n.via == r.doc.doc_id)
        {
            println!("    {}", output::related_line(&next.doc));
        }
    }
    Ok(())
}
