//! Construction contracts and the table that holds them. Each source, store
//! and transport crate exports a factory: its type name (the `type:` in
//! pipeline YAML), the JSON Schema of its settings, the checks `sluice
//! validate` runs without touching the network, and how to build it. The
//! engine builds pipelines through a [`Registry`] only; the one crate that
//! names every shipped component fills it (`sluice-catalog`).

use std::any::Any;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::search::{KeywordLeg, SearchBackend, VectorLeg};
use crate::settings::SettingsError;
use crate::sink::Sink;
use crate::source::Source;
use crate::transport::Publisher;

/// Which credentials a source type takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialNeeds {
    /// Exactly these names must be configured (as `${ENV}` references), and no others.
    Exactly(Vec<String>),
    /// The source does not take part in credential checks (files read
    /// credentials for object stores from the environment themselves).
    Unchecked,
}

/// What building one source of a pipeline gets.
pub struct SourceContext<'a> {
    /// The source id from the pipeline YAML; part of every document id.
    pub source_id: &'a str,
    pub settings: &'a BTreeMap<String, Value>,
    /// Resolved credential values, by name.
    pub credentials: &'a BTreeMap<String, String>,
    /// The pipeline file's directory: relative paths resolve against it.
    pub base_dir: &'a Path,
}

pub trait SourceFactory: Send + Sync {
    /// The `type:` of a source in pipeline YAML.
    fn type_name(&self) -> &'static str;
    /// JSON Schema of the source's `settings:` map.
    fn settings_schema(&self) -> Value;
    /// Checks `settings:` without network access or credentials, naming the
    /// failing path inside `settings`, and says which credentials it needs.
    fn check(
        &self,
        settings: &BTreeMap<String, Value>,
        base_dir: &Path,
    ) -> Result<CredentialNeeds, Vec<SettingsError>>;
    /// Builds the source (after `check` passed and credentials resolved).
    fn build(&self, ctx: &SourceContext<'_>) -> Result<Box<dyn Source>, String>;
}

/// What opening one store (a `sinks:` entry) gets.
pub struct StoreContext<'a> {
    /// The `sinks:` entry as JSON, `type` included.
    pub config: &'a Value,
    /// The pipeline's name (default collection / index names derive from it).
    pub pipeline: &'a str,
    /// `file: sinks[i]`, to prefix messages with.
    pub place: &'a str,
    /// The pipeline's data directory (state and the embedded index).
    pub data_dir: &'a Path,
    /// The pipeline file's directory.
    pub base_dir: &'a Path,
    /// Vector size of the pipeline's model; 0 when no model is loaded (a
    /// keyword-only search).
    pub dim: usize,
    /// Open to write (a sync) or only to search.
    pub writable: bool,
}

/// How a store takes part in search.
pub enum StoreSearch {
    /// The store answers hybrid queries itself (the embedded index).
    Complete(Arc<dyn SearchBackend>),
    /// The keyword leg of a hybrid search, under its own deadline.
    Keyword(Arc<dyn KeywordLeg>, Duration),
    /// The vector leg of a hybrid search, under its own deadline.
    Vector(Arc<dyn VectorLeg>, Duration),
}

pub struct OpenedStore {
    pub sink: Arc<dyn Sink>,
    pub search: StoreSearch,
    /// The store as its concrete type, for callers that know it (tests,
    /// status): `Pipeline::store::<EmbeddedIndex>()`.
    pub handle: Arc<dyn Any + Send + Sync>,
}

pub trait StoreFactory: Send + Sync {
    /// The `type:` of a `sinks:` entry.
    fn type_name(&self) -> &'static str;
    /// Problems `validate --check-env` reports: unresolvable `${ENV}`
    /// references in URLs and secrets, as (field path inside the entry, message).
    fn check_env(&self, config: &Value) -> Vec<(String, String)>;
    fn open(&self, ctx: &StoreContext<'_>) -> Result<OpenedStore, String>;
}

/// What opening a transport gets.
pub struct TransportContext<'a> {
    /// The `transport:` block as JSON, `type` included.
    pub config: &'a Value,
    pub pipeline: &'a str,
    /// The pipeline file, to prefix messages with.
    pub file: &'a str,
}

#[async_trait]
pub trait TransportFactory: Send + Sync {
    /// The `type:` of the `transport:` block.
    fn type_name(&self) -> &'static str;
    /// The producing side: what `sluice run` and the daemon publish to.
    async fn open_publisher(
        &self,
        ctx: &TransportContext<'_>,
    ) -> Result<Arc<dyn Publisher>, String>;
}

/// A kind of component, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ComponentKind {
    Source,
    Store,
    Transport,
}

impl ComponentKind {
    fn noun(self) -> &'static str {
        match self {
            ComponentKind::Source => "source",
            ComponentKind::Store => "sink",
            ComponentKind::Transport => "transport",
        }
    }
}

/// A lookup that failed: the message names what exists, or the cargo
/// feature that would compile the component in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAvailable {
    pub message: String,
    pub hint: String,
}

/// The components one build of Sluice ships.
#[derive(Default, Clone)]
pub struct Registry {
    sources: BTreeMap<&'static str, Arc<dyn SourceFactory>>,
    stores: BTreeMap<&'static str, Arc<dyn StoreFactory>>,
    transports: BTreeMap<&'static str, Arc<dyn TransportFactory>>,
    /// Components this build leaves out, with the feature that adds them.
    absent: BTreeMap<(ComponentKind, &'static str), &'static str>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn add_source(&mut self, f: impl SourceFactory + 'static) -> &mut Self {
        self.sources.insert(f.type_name(), Arc::new(f));
        self
    }

    pub fn add_store(&mut self, f: impl StoreFactory + 'static) -> &mut Self {
        self.stores.insert(f.type_name(), Arc::new(f));
        self
    }

    pub fn add_transport(&mut self, f: impl TransportFactory + 'static) -> &mut Self {
        self.transports.insert(f.type_name(), Arc::new(f));
        self
    }

    /// Records a component this build was compiled without.
    pub fn add_absent(
        &mut self,
        kind: ComponentKind,
        type_name: &'static str,
        feature: &'static str,
    ) -> &mut Self {
        self.absent.insert((kind, type_name), feature);
        self
    }

    pub fn source_types(&self) -> Vec<&'static str> {
        self.sources.keys().copied().collect()
    }

    pub fn source_factories(&self) -> impl Iterator<Item = &Arc<dyn SourceFactory>> {
        self.sources.values()
    }

    pub fn source(&self, type_name: &str) -> Result<&Arc<dyn SourceFactory>, NotAvailable> {
        self.sources.get(type_name).ok_or_else(|| {
            self.not_available(ComponentKind::Source, type_name, self.sources.keys())
        })
    }

    pub fn store(&self, type_name: &str) -> Result<&Arc<dyn StoreFactory>, NotAvailable> {
        self.stores
            .get(type_name)
            .ok_or_else(|| self.not_available(ComponentKind::Store, type_name, self.stores.keys()))
    }

    pub fn transport(&self, type_name: &str) -> Result<&Arc<dyn TransportFactory>, NotAvailable> {
        self.transports.get(type_name).ok_or_else(|| {
            self.not_available(ComponentKind::Transport, type_name, self.transports.keys())
        })
    }

    fn not_available<'a>(
        &self,
        kind: ComponentKind,
        name: &str,
        known: impl Iterator<Item = &'a &'static str>,
    ) -> NotAvailable {
        match self
            .absent
            .iter()
            .find(|((k, n), _)| *k == kind && *n == name)
        {
            Some((_, feature)) => NotAvailable {
                message: format!(
                    "{} type `{name}` is not compiled into this build of sluice",
                    kind.noun()
                ),
                hint: format!(
                    "build with `cargo build -p sluice-cli --features {feature}` (or `--features full`)"
                ),
            },
            None => NotAvailable {
                message: format!("unknown {} type `{name}`", kind.noun()),
                hint: format!(
                    "available types: {}",
                    known.copied().collect::<Vec<_>>().join(", ")
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dummy;
    impl SourceFactory for Dummy {
        fn type_name(&self) -> &'static str {
            "dummy"
        }
        fn settings_schema(&self) -> Value {
            Value::Bool(true)
        }
        fn check(
            &self,
            _: &BTreeMap<String, Value>,
            _: &Path,
        ) -> Result<CredentialNeeds, Vec<SettingsError>> {
            Ok(CredentialNeeds::Unchecked)
        }
        fn build(&self, _: &SourceContext<'_>) -> Result<Box<dyn Source>, String> {
            Err("not buildable".into())
        }
    }

    #[test]
    fn lookups_name_what_exists_or_the_feature_to_enable() {
        let mut r = Registry::new();
        r.add_source(Dummy)
            .add_absent(ComponentKind::Store, "qdrant", "qdrant");
        assert_eq!(r.source_types(), vec!["dummy"]);
        assert!(r.source("dummy").is_ok());
        let e = r.source("nope").err().unwrap();
        assert_eq!(e.message, "unknown source type `nope`");
        assert_eq!(e.hint, "available types: dummy");
        let e = r.store("qdrant").err().unwrap();
        assert!(e.message.contains("not compiled into this build"), "{e:?}");
        assert!(e.hint.contains("--features qdrant"), "{e:?}");
        assert!(
            r.transport("kafka")
                .err()
                .unwrap()
                .message
                .contains("unknown transport type")
        );
    }
}
