//! Builds a pipeline's components through the [`Registry`] (sources, stores,
//! the transport) and checks everything `sluice validate` can check without
//! running anything. Nothing here names a concrete connector or store.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use sluice_core::search::{KeywordLeg, SearchBackend, VectorLeg};
use sluice_core::{
    CredentialNeeds, Publisher, Registry, SettingsError, Sink, Source, SourceContext, StoreContext,
    StoreSearch, TransportContext,
};
use sluice_embed::{DeviceChoice, OnnxEmbedderConfig, default_model_dir};
use sluice_search::HybridSearch;
use sluice_spec::{Device, Diagnostic, EmbeddingSpec, LoadedPipeline, TransportSpec};

use crate::transform::SqlTransform;

fn to_diagnostics(p: &LoadedPipeline, i: usize, errs: Vec<SettingsError>) -> Vec<Diagnostic> {
    errs.into_iter()
        .map(|e| {
            let path = if e.path.is_empty() {
                format!("sources[{i}].settings")
            } else {
                format!("sources[{i}].settings.{}", e.path)
            };
            p.diagnostic(&path, e.message, e.hint)
        })
        .collect()
}

/// Every credential a connector needs must be configured (as `${ENV}`).
fn credential_diagnostics(p: &LoadedPipeline, i: usize, needed: &[String]) -> Vec<Diagnostic> {
    let src = &p.spec.sources[i];
    let mut d = Vec::new();
    for name in needed {
        if !src.credentials.contains_key(name) {
            d.push(p.diagnostic(
                &format!("sources[{i}].credentials"),
                format!("a `{}` source needs credential `{name}`", src.source_type),
                Some(format!(
                        "credentials: {{ {} }}",
                        needed
                            .iter()
                            .map(|n| format!("{n}: ${{{}}}", n.to_ascii_uppercase()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
            ));
        }
    }
    for name in src.credentials.keys() {
        if !needed.contains(name) {
            d.push(p.diagnostic(
                &format!("sources[{i}].credentials.{name}"),
                format!(
                    "a `{}` source does not use credential `{name}`",
                    src.source_type
                ),
                Some(format!("expected: {}", needed.join(", "))),
            ));
        }
    }
    d
}

/// Settings and credential-name checks of source `i`; `Ok` says which
/// credentials it takes.
fn check_source(
    reg: &Registry,
    p: &LoadedPipeline,
    i: usize,
) -> Result<CredentialNeeds, Vec<Diagnostic>> {
    let src = &p.spec.sources[i];
    let factory = reg
        .source(&src.source_type)
        .map_err(|e| vec![p.diagnostic(&format!("sources[{i}].type"), e.message, Some(e.hint))])?;
    let needs = factory
        .check(&src.settings, &p.base_dir)
        .map_err(|errs| to_diagnostics(p, i, errs))?;
    if let CredentialNeeds::Exactly(names) = &needs {
        let d = credential_diagnostics(p, i, names);
        if !d.is_empty() {
            return Err(d);
        }
    }
    Ok(needs)
}

fn sink_config(p: &LoadedPipeline, i: usize) -> Value {
    serde_json::to_value(&p.spec.sinks[i]).unwrap_or(Value::Null)
}

/// The `type:` of a `sinks:` entry or the `transport:` block.
fn type_of(config: &Value) -> &str {
    config["type"].as_str().unwrap_or("")
}

/// Connector settings, credentials, sink types and SQL checks (structure
/// was checked when the file loaded). `check_env` also requires every
/// `${ENV}` reference of credentials and stores to resolve.
pub async fn validate_pipeline(
    reg: &Registry,
    p: &LoadedPipeline,
    check_env: bool,
) -> Vec<Diagnostic> {
    let mut d = Vec::new();
    for (i, src) in p.spec.sources.iter().enumerate() {
        if let Err(errs) = check_source(reg, p, i) {
            d.extend(errs);
        }
        if check_env {
            for (name, secret) in &src.credentials {
                if let Err(e) = secret.resolve() {
                    d.push(p.diagnostic(&format!("sources[{i}].credentials.{name}"), e, None));
                }
            }
        }
    }
    for i in 0..p.spec.sinks.len() {
        let config = sink_config(p, i);
        match reg.store(type_of(&config)) {
            Err(e) => d.push(p.diagnostic(&format!("sinks[{i}].type"), e.message, Some(e.hint))),
            Ok(store) if check_env => {
                // Store URLs and secrets are read at open time; say now what is missing.
                for (field, message) in store.check_env(&config) {
                    d.push(p.diagnostic(&format!("sinks[{i}].{field}"), message, None));
                }
            }
            Ok(_) => {}
        }
    }
    if let Some(t) = transport_config(p) {
        if let Err(e) = reg.transport(type_of(&t)) {
            d.push(p.diagnostic("transport.type", e.message, Some(e.hint)));
        }
    }
    if let Some(t) = &p.spec.transform {
        if let Err(e) = SqlTransform::new(&t.sql).await {
            d.push(p.diagnostic(
                "transform.sql",
                e,
                Some("the table is `records` with columns doc_id, source, external_id, kind, title, body, url, author, created_at, updated_at, parent_id, thread_id, breadcrumb, labels, metadata, acl".into()),
            ));
        }
    }
    d
}

/// Builds every source of the pipeline (credentials resolved from the environment).
pub fn build_sources(
    reg: &Registry,
    p: &LoadedPipeline,
) -> Result<Vec<Box<dyn Source>>, Vec<Diagnostic>> {
    let mut out: Vec<Box<dyn Source>> = Vec::new();
    let mut errs = Vec::new();
    for (i, src) in p.spec.sources.iter().enumerate() {
        let needs = match check_source(reg, p, i) {
            Ok(n) => n,
            Err(d) => {
                errs.extend(d);
                continue;
            }
        };
        let mut creds = BTreeMap::new();
        if matches!(needs, CredentialNeeds::Exactly(_)) {
            let mut missing = false;
            for (name, secret) in &src.credentials {
                match secret.resolve() {
                    Ok(v) => {
                        creds.insert(name.clone(), v.expose().to_string());
                    }
                    Err(e) => {
                        errs.push(p.diagnostic(
                            &format!("sources[{i}].credentials.{name}"),
                            e,
                            None,
                        ));
                        missing = true;
                    }
                }
            }
            if missing {
                continue;
            }
        }
        let Ok(factory) = reg.source(&src.source_type) else {
            continue;
        }; // reported by check_source
        let ctx = SourceContext {
            source_id: &src.id,
            settings: &src.settings,
            credentials: &creds,
            base_dir: &p.base_dir,
        };
        match factory.build(&ctx) {
            Ok(s) => out.push(s),
            Err(e) => errs.push(p.diagnostic(&format!("sources[{i}].settings"), e, None)),
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// A pipeline's opened stores: what a sync writes to and what search reads.
pub struct Stores {
    pub sinks: Vec<Arc<dyn Sink>>,
    /// Hybrid over the stores' legs, or the store that searches by itself
    /// (the embedded index); `None` when no store can search.
    pub search: Option<Arc<dyn SearchBackend>>,
    /// `search` runs on remote stores, which keep each document's links on
    /// its first chunk and answer `related` themselves; otherwise the
    /// state store's graph serves it.
    pub links_in_stores: bool,
    /// The stores as their concrete types (see `Pipeline::store`).
    pub handles: Vec<Arc<dyn std::any::Any + Send + Sync>>,
    /// Where a store indexes on this machine (the embedded index), its
    /// place in the pipeline file: it has one writer, so replicas sharing
    /// the state cannot use it.
    pub local_index: Option<String>,
}

/// Opens every `sinks:` entry. `dim` is the model's vector size (0 when no
/// model is loaded); `writable` opens them for a sync rather than for search.
pub fn open_stores(
    reg: &Registry,
    p: &LoadedPipeline,
    data_dir: &Path,
    dim: usize,
    writable: bool,
) -> Result<Stores, String> {
    let mut sinks = Vec::new();
    let mut handles = Vec::new();
    let mut complete: Option<Arc<dyn SearchBackend>> = None;
    let mut keyword: Option<(Arc<dyn KeywordLeg>, Option<std::time::Duration>)> = None;
    let mut vector: Option<(Arc<dyn VectorLeg>, Option<std::time::Duration>)> = None;
    let mut local_index = None;
    for i in 0..p.spec.sinks.len() {
        let config = sink_config(p, i);
        let place = format!("{}: sinks[{i}]", p.file);
        let store = reg
            .store(type_of(&config))
            .map_err(|e| format!("{place}.type: {}; {}", e.message, e.hint))?;
        let ctx = StoreContext {
            config: &config,
            pipeline: &p.spec.name,
            place: &place,
            data_dir,
            base_dir: &p.base_dir,
            dim,
            writable,
        };
        let opened = store.open(&ctx)?;
        sinks.push(opened.sink);
        handles.push(opened.handle);
        match opened.search {
            StoreSearch::Complete(b) => {
                complete = Some(b);
                local_index = Some(place.clone());
            }
            StoreSearch::Keyword(leg, d) => keyword = Some((leg, Some(d))),
            StoreSearch::Vector(leg, d) => vector = Some((leg, Some(d))),
        }
    }
    // Remote legs win over an embedded index written alongside them.
    let links_in_stores = keyword.is_some() || vector.is_some();
    let search = if links_in_stores {
        Some(Arc::new(HybridSearch::new(keyword, vector)) as Arc<dyn SearchBackend>)
    } else {
        complete
    };
    Ok(Stores {
        sinks,
        search,
        links_in_stores,
        handles,
        local_index,
    })
}

/// What `sluice search --pipeline` / `sluice serve --pipeline` read.
pub fn open_search_backend(
    reg: &Registry,
    p: &LoadedPipeline,
    data_dir: &Path,
    dim: usize,
) -> Result<Arc<dyn SearchBackend>, String> {
    let stores = open_stores(reg, p, data_dir, dim, false)?;
    let search = stores
        .search
        .ok_or_else(|| format!("{}: the pipeline has no sink to search", p.file))?;
    if stores.links_in_stores {
        return Ok(search);
    }
    // With a transport the workers index, and their state holds the graph.
    let state = match transport_config(p) {
        Some(_) => crate::worker_state_path(data_dir),
        None => crate::state_path(data_dir),
    };
    with_links(search, &state, Some(&p.spec.name))
}

/// The backend with the link graph the state at `path` holds
/// (`related`); as it is when there is no state there (searching remote
/// stores from another machine).
fn with_links(
    search: Arc<dyn SearchBackend>,
    path: &Path,
    pipeline: Option<&str>,
) -> Result<Arc<dyn SearchBackend>, String> {
    // A search never migrates or writes the state: one from before the
    // graph (or unreadable) serves without `related` until a run upgrades it.
    if !path.exists() || sluice_state::stored_version(path) != Some(sluice_state::STATE_VERSION) {
        return Ok(search);
    }
    let state = match sluice_state::StateStore::open(path) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "the link graph is unavailable: related documents are not served");
            return Ok(search);
        }
    };
    Ok(crate::related::LinkedBackend::new(
        search,
        Arc::new(state),
        pipeline.map(str::to_string),
    ))
}

/// The `transport:` block as JSON, or `None` in-process.
fn transport_config(p: &LoadedPipeline) -> Option<Value> {
    match &p.spec.transport {
        TransportSpec::InProcess { .. } => None,
        t => serde_json::to_value(t).ok(),
    }
}

/// The producing side of the pipeline's transport, or `None` in-process.
pub async fn open_publisher(
    reg: &Registry,
    p: &LoadedPipeline,
) -> Result<Option<Arc<dyn Publisher>>, String> {
    let Some(config) = transport_config(p) else {
        return Ok(None);
    };
    let t = reg
        .transport(type_of(&config))
        .map_err(|e| format!("{}: transport.type: {}; {}", p.file, e.message, e.hint))?;
    let ctx = TransportContext {
        config: &config,
        pipeline: &p.spec.name,
        file: &p.file,
    };
    t.open_publisher(&ctx).await.map(Some)
}

pub fn embedder_config(spec: &EmbeddingSpec, base_dir: &Path) -> OnnxEmbedderConfig {
    let model_dir = match &spec.model_dir {
        Some(d) if Path::new(d).is_absolute() => Path::new(d).to_path_buf(),
        Some(d) => base_dir.join(d),
        None => default_model_dir(&spec.model),
    };
    let mut cfg = OnnxEmbedderConfig::new(model_dir);
    cfg.device = match spec.device {
        Device::Auto => DeviceChoice::Auto,
        Device::Cpu => DeviceChoice::Cpu,
        Device::Cuda => DeviceChoice::Cuda,
    };
    cfg.precision = match spec.precision {
        sluice_spec::Precision::Int8 => sluice_embed::Precision::Int8,
        sluice_spec::Precision::Fp32 => sluice_embed::Precision::Fp32,
    };
    cfg.batch_size = spec.batch_size;
    cfg.threads = spec.threads;
    cfg.max_length = spec.max_length;
    cfg
}

/// Search over the embedded index of a data directory, with no pipeline
/// file: what `sluice search` and `sluice serve` read by default.
pub fn open_data_dir_search(
    reg: &Registry,
    data_dir: &Path,
) -> Result<Arc<dyn SearchBackend>, String> {
    let config = serde_json::json!({"type": "embedded"});
    let place = format!("{}", data_dir.display());
    let store = reg
        .store("embedded")
        .map_err(|e| format!("{}; {}", e.message, e.hint))?;
    let ctx = StoreContext {
        config: &config,
        pipeline: "",
        place: &place,
        data_dir,
        base_dir: data_dir,
        dim: 0,
        writable: false,
    };
    match store.open(&ctx)?.search {
        StoreSearch::Complete(b) => with_links(b, &crate::state_path(data_dir), None),
        _ => Err("the embedded store does not search by itself".into()),
    }
}
