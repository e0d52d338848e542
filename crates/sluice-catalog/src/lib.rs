//! What this build of Sluice ships: the one place that names every source,
//! store and transport. The CLI and the daemon build pipelines through
//! [`registry()`]; the engine sees only the factories' traits.
//!
//! Adding a source: implement `sluice_core::SourceFactory` in its crate,
//! add one `add_source` line below and the crate to `Cargo.toml`, then
//! regenerate `schemas/sources/` (see CONTRIBUTING.md).
//!
//! Remote stores and the Kafka transport are cargo features (all on by
//! default); a build without one still knows its name, so a pipeline that
//! uses it gets an error naming the feature to enable.

use std::collections::BTreeMap;

use serde_json::Value;
#[allow(unused_imports)]
use sluice_core::ComponentKind;
use sluice_core::Registry;

/// Every component compiled into this build.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    r.add_source(sluice_files::FilesSourceType)
        .add_source(sluice_confluence::ConfluenceSourceType)
        .add_source(sluice_jira::JiraSourceType)
        .add_source(sluice_gitlab::GitlabSourceType)
        .add_source(sluice_slack::SlackSourceType)
        .add_source(sluice_slack::SlackExportSourceType);

    r.add_store(sluice_index::EmbeddedStoreType);
    #[cfg(feature = "qdrant")]
    r.add_store(sluice_qdrant::QdrantStoreType);
    #[cfg(not(feature = "qdrant"))]
    r.add_absent(ComponentKind::Store, "qdrant", "qdrant");
    #[cfg(feature = "elasticsearch")]
    r.add_store(sluice_elastic::ElasticStoreType);
    #[cfg(not(feature = "elasticsearch"))]
    r.add_absent(ComponentKind::Store, "elasticsearch", "elasticsearch");

    #[cfg(feature = "kafka")]
    r.add_transport(sluice_kafka::KafkaTransportType);
    #[cfg(not(feature = "kafka"))]
    r.add_absent(ComponentKind::Transport, "kafka", "kafka");
    r
}

/// The optional components and whether this build has them, for `sluice --version`-style reports.
pub fn features() -> Vec<(&'static str, bool)> {
    vec![
        ("kafka", cfg!(feature = "kafka")),
        ("qdrant", cfg!(feature = "qdrant")),
        ("elasticsearch", cfg!(feature = "elasticsearch")),
    ]
}

/// The JSON Schema of each source type's `settings:`, as checked in under
/// `schemas/sources/<type>.schema.json` (keys sorted, so every build
/// writes the same bytes).
pub fn source_settings_schemas() -> BTreeMap<&'static str, String> {
    registry()
        .source_factories()
        .map(|f| {
            let mut s =
                serde_json::to_string_pretty(&sorted_keys(f.settings_schema())).unwrap_or_default();
            s.push('\n');
            (f.type_name(), s)
        })
        .collect()
}

fn sorted_keys(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted_keys(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted_keys).collect()),
        other => other,
    }
}
