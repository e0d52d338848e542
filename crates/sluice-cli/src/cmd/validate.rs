//! `sluice validate`: every problem of a pipeline file, with file:line:column.

use std::path::Path;

use crate::common::registry;
use crate::error::Failure;

pub async fn run(path: &Path, check_env: bool) -> Result<(), Failure> {
    let (loaded, mut diags) =
        sluice_spec::load_pipeline_lenient(path).map_err(Failure::Diagnostics)?;
    diags.extend(sluice_engine::validate_pipeline(&registry(), &loaded, check_env).await);
    if !diags.is_empty() {
        return Err(Failure::Diagnostics(diags));
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let (sources, sinks) = (loaded.spec.sources.len(), loaded.spec.sinks.len());
    println!(
        "{}: ok ({sources} source{}, {sinks} sink{})",
        path.display(),
        plural(sources),
        plural(sinks)
    );
    // Who may read what is the first thing a security reviewer asks.
    for s in &loaded.spec.sources {
        let access = match s.visibility {
            sluice_spec::Visibility::Public => {
                "PUBLIC: every record is readable by every caller (visibility: public)".to_string()
            }
            sluice_spec::Visibility::Restricted => format!(
                "restricted: the permissions `{}` reads; records without them are not indexed",
                s.source_type
            ),
        };
        println!("  source {}: {access}", s.id);
    }
    Ok(())
}
