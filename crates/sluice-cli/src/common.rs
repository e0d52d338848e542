//! What several commands share: the registry of shipped components, loading
//! pipelines and the model, opening what a search reads, signals.

use std::path::Path;
use std::sync::Arc;

use sluice_core::search::{SearchBackend, SearchFilters};
use sluice_core::{Registry, TextEmbedder};
use sluice_embed::OnnxEmbedder;
use sluice_engine::{Pipeline, RunOptions, RunReport};
use sluice_spec::{EmbeddingSpec, LoadedPipeline};

use crate::ModelArgs;
use crate::error::Failure;
use crate::output;

/// The sources, stores and transports compiled into this binary.
pub fn registry() -> Registry {
    sluice_catalog::registry()
}

/// Loads a pipeline file; every problem as a diagnostic.
pub fn load_pipeline(path: &Path) -> Result<LoadedPipeline, Failure> {
    sluice_spec::load_pipeline(path).map_err(Failure::Diagnostics)
}

pub fn load_embedder(
    spec: &EmbeddingSpec,
    base_dir: &Path,
    model: Option<&ModelArgs>,
) -> Result<Arc<dyn TextEmbedder>, String> {
    let mut cfg = sluice_engine::embedder_config(spec, base_dir);
    if let Some(m) = model {
        if let Some(d) = &m.model_dir {
            cfg.model_dir = d.clone();
        }
        if m.threads.is_some() {
            cfg.threads = m.threads;
        }
        match m.precision.as_deref() {
            Some("int8") => cfg.precision = sluice_embed::Precision::Int8,
            Some("fp32") => cfg.precision = sluice_embed::Precision::Fp32,
            _ => {}
        }
    }
    let e = OnnxEmbedder::load(&cfg).map_err(|e| e.to_string())?;
    Ok(Arc::new(e))
}

/// Opens the pipeline and runs `sources` with a progress display.
pub async fn run_with_progress(
    reg: &Registry,
    loaded: LoadedPipeline,
    data_dir: &Path,
    embedder: Option<Arc<dyn TextEmbedder>>,
    sources: Vec<Box<dyn sluice_core::Source>>,
    opts: &RunOptions,
    show_progress: bool,
) -> Result<(Pipeline, RunReport), String> {
    let progress = output::RunProgress::new(show_progress);
    let observer = progress.clone();
    let pipeline = Pipeline::open(reg, loaded, data_dir, embedder)
        .await?
        .with_observer(move |e| observer.event(e));
    let report = pipeline.run(sources, opts).await;
    progress.finish();
    Ok((pipeline, report))
}

/// Parses `--filter key=value` options.
pub fn parse_filters(raw: &[String]) -> Result<SearchFilters, String> {
    let mut f = SearchFilters::default();
    for item in raw {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("--filter `{item}`: use key=value, e.g. source=jira"))?;
        let time = |v: &str| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_micros())
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map(|d| {
                        d.and_hms_opt(0, 0, 0)
                            .unwrap_or_default()
                            .and_utc()
                            .timestamp_micros()
                    })
                })
                .map_err(|_| format!("--filter {k}={v}: not a date (use 2025-01-31 or RFC 3339)"))
        };
        match k {
            "source" => f.sources.push(v.to_string()),
            "kind" => f.kinds.push(v.to_string()),
            "label" => f.labels.push(v.to_string()),
            "after" => f.updated_after = Some(time(v)?),
            "before" => f.updated_before = Some(time(v)?),
            _ => {
                return Err(format!(
                    "--filter `{k}`: unknown key; use source, kind, label, after or before"
                ));
            }
        }
    }
    Ok(f)
}

/// The store a search reads and the embedder for its queries.
pub fn open_backend(
    pipeline: Option<&Path>,
    data_dir: &Path,
    model: &ModelArgs,
    need_embedder: bool,
) -> Result<(Arc<dyn SearchBackend>, Option<Arc<dyn TextEmbedder>>), String> {
    let reg = registry();
    match pipeline {
        Some(path) => {
            let loaded = sluice_spec::load_pipeline(path).map_err(|d| {
                d.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            // A vector store needs the model's dimension even for keyword-only queries.
            let needs_model = need_embedder
                || loaded
                    .spec
                    .sinks
                    .iter()
                    .any(|s| !matches!(s, sluice_spec::SinkSpec::Embedded(_)));
            let embedder = if needs_model {
                Some(load_embedder(
                    &loaded.spec.embedding,
                    &loaded.base_dir,
                    Some(model),
                )?)
            } else {
                None
            };
            let backend = sluice_engine::open_search_backend(
                &reg,
                &loaded,
                data_dir,
                embedder.as_ref().map_or(0, |e| e.dim()),
            )?;
            Ok((backend, embedder))
        }
        None => {
            let index_dir = sluice_engine::index_dir(data_dir);
            if !index_dir.join("vectors.sqlite").exists() {
                return Err(format!(
                    "no index at {}; run a pipeline first (e.g. `sluice run pipelines/demo.yaml`)",
                    index_dir.display()
                ));
            }
            let backend = sluice_engine::open_data_dir_search(&reg, data_dir)?;
            let embedder = if need_embedder {
                Some(load_embedder(
                    &EmbeddingSpec::default(),
                    Path::new("."),
                    Some(model),
                )?)
            } else {
                None
            };
            Ok((backend, embedder))
        }
    }
}

/// SIGTERM or SIGINT.
pub async fn terminate_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The state a command reads: the shared one when `shared` names it, else
/// the data directory's (which must exist: reading never creates one).
pub fn open_state(data_dir: &Path, shared: Option<&str>) -> Result<sluice_state::StateStore, Failure> {
    if let Some(url) = shared {
        return sluice_state::StateStore::open_shared_existing(url).map_err(Failure::runtime);
    }
    let state_path = sluice_engine::state_path(data_dir);
    if !state_path.exists() {
        return Err(Failure::Runtime(format!(
            "no state at {}; the pipeline has not run with this data dir",
            state_path.display()
        )));
    }
    sluice_state::StateStore::open(&state_path).map_err(Failure::runtime)
}
