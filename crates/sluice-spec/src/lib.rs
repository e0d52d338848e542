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
pub use validate::{
    Diagnostic, LoadedPipeline, load_pipeline, load_pipeline_lenient, load_pipeline_str, parse_cron,
};

/// The JSON Schema of pipeline files, as checked in under `schemas/`.
pub fn pipeline_json_schema() -> String {
    let schema = schemars::schema_for!(PipelineSpec);
    let value = sorted_keys(serde_json::to_value(&schema).expect("schema serializes"));
    let mut s = serde_json::to_string_pretty(&value).expect("schema serializes");
    s.push('\n');
    s
}

/// Objects with their keys in sorted order, whatever `serde_json`'s map
/// type is in this build (another crate in the graph may turn on
/// `preserve_order`), so the checked-in schema is the same for every build.
fn sorted_keys(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let sorted: std::collections::BTreeMap<String, serde_json::Value> =
                map.into_iter().map(|(k, v)| (k, sorted_keys(v))).collect();
            serde_json::Value::Object(sorted.into_iter().collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted_keys).collect())
        }
        other => other,
    }
}
