//! Pipeline YAML: the types (serde + JSON Schema), loading with
//! line:column diagnostics, and structural checks.

pub mod positions;
pub mod secrets;
mod stores;
mod types;
pub mod validate;

pub use positions::{Position, PositionIndex};
pub use secrets::{Secret, SecretRef};
pub use stores::*;
pub use types::*;
pub use validate::{Diagnostic, LoadedPipeline, load_pipeline, load_pipeline_lenient, load_pipeline_str, parse_cron};

/// The JSON Schema of pipeline files, as checked in under `schemas/`.
pub fn pipeline_json_schema() -> String {
    let schema = schemars::schema_for!(PipelineSpec);
    let mut s = serde_json::to_string_pretty(&schema).expect("schema serializes");
    s.push('\n');
    s
}
