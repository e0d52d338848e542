//! Builds connectors and the embedder from the pipeline spec, and checks
//! everything `sluice validate` can check without running anything.

use std::path::Path;

use std::collections::BTreeMap;

use sluice_confluence::{ConfluenceSettings, ConfluenceSource};
use sluice_core::{SettingsError, Source};
use sluice_embed::{DeviceChoice, OnnxEmbedderConfig, default_model_dir};
use sluice_files::{FilesSettings, FilesSource};
use sluice_gitlab::{GitlabSettings, GitlabSource};
use sluice_jira::{JiraSettings, JiraSource};
use sluice_slack::{SlackExportSettings, SlackExportSource, SlackSettings, SlackSource};
use sluice_spec::{Device, Diagnostic, ElasticsearchAuth, EmbeddingSpec, LoadedPipeline, SinkSpec};

use crate::transform::SqlTransform;

/// Source types this build knows.
pub const SOURCE_TYPES: [&str; 6] = ["files", "confluence", "jira", "gitlab", "slack", "slack_export"];

fn to_diagnostics(p: &LoadedPipeline, i: usize, errs: Vec<SettingsError>) -> Vec<Diagnostic> {
    errs.into_iter()
        .map(|e| {
            let path = if e.path.is_empty() { format!("sources[{i}].settings") } else { format!("sources[{i}].settings.{}", e.path) };
            p.diagnostic(&path, e.message, e.hint)
        })
        .collect()
}

/// Every credential a connector needs must be configured (as `${ENV}`).
fn credential_diagnostics(p: &LoadedPipeline, i: usize, needed: &[&str]) -> Vec<Diagnostic> {
    let src = &p.spec.sources[i];
    let mut d = Vec::new();
    for name in needed {
        if !src.credentials.contains_key(*name) {
            d.push(p.diagnostic(
                &format!("sources[{i}].credentials"),
                format!("a `{}` source needs credential `{name}`", src.source_type),
                Some(format!("credentials: {{ {} }}", needed.iter().map(|n| format!("{n}: ${{{}}}", n.to_ascii_uppercase())).collect::<Vec<_>>().join(", "))),
            ));
        }
    }
    for name in src.credentials.keys() {
        if !needed.contains(&name.as_str()) {
            d.push(p.diagnostic(
                &format!("sources[{i}].credentials.{name}"),
                format!("a `{}` source does not use credential `{name}`", src.source_type),
                Some(format!("expected: {}", needed.join(", "))),
            ));
        }
    }
    d
}

fn settings_diagnostics(p: &LoadedPipeline, i: usize) -> Vec<Diagnostic> {
    let src = &p.spec.sources[i];
    match src.source_type.as_str() {
        "files" => match FilesSettings::parse(&src.settings) {
            Ok(_) => Vec::new(),
            Err(errs) => to_diagnostics(p, i, errs),
        },
        "confluence" => match ConfluenceSettings::parse(&src.settings) {
            Ok(s) => credential_diagnostics(p, i, s.credential_names()),
            Err(errs) => to_diagnostics(p, i, errs),
        },
        "jira" => match JiraSettings::parse(&src.settings) {
            Ok(s) => credential_diagnostics(p, i, s.credential_names()),
            Err(errs) => to_diagnostics(p, i, errs),
        },
        "gitlab" => match GitlabSettings::parse(&src.settings) {
            Ok(_) => credential_diagnostics(p, i, &["token"]),
            Err(errs) => to_diagnostics(p, i, errs),
        },
        "slack" => match SlackSettings::parse(&src.settings) {
            Ok(_) => credential_diagnostics(p, i, &["token"]),
            Err(errs) => to_diagnostics(p, i, errs),
        },
        "slack_export" => match SlackExportSettings::parse(&src.settings) {
            Ok(s) => {
                let path = p.resolve_path(&s.path);
                if path.exists() {
                    credential_diagnostics(p, i, &[])
                } else {
                    vec![p.diagnostic(&format!("sources[{i}].settings.path"), format!("{} does not exist", path.display()), Some("the export's .zip or unpacked directory, relative to the pipeline file".into()))]
                }
            }
            Err(errs) => to_diagnostics(p, i, errs),
        },
        other => vec![p.diagnostic(
            &format!("sources[{i}].type"),
            format!("unknown source type `{other}`"),
            Some(format!("available types: {}", SOURCE_TYPES.join(", "))),
        )],
    }
}

/// Connector settings, credentials and SQL checks (structure was checked
/// when the file loaded). `check_env` also requires credential variables.
pub async fn validate_pipeline(p: &LoadedPipeline, check_env: bool) -> Vec<Diagnostic> {
    let mut d = Vec::new();
    for (i, src) in p.spec.sources.iter().enumerate() {
        d.extend(settings_diagnostics(p, i));
        if check_env {
            for (name, secret) in &src.credentials {
                if let Err(e) = secret.resolve() {
                    d.push(p.diagnostic(&format!("sources[{i}].credentials.{name}"), e, None));
                }
            }
        }
    }
    if check_env {
        // Store URLs and secrets are read at open time; say now what is missing.
        for (i, sink) in p.spec.sinks.iter().enumerate() {
            let (url, secrets): (&str, Vec<(&str, &sluice_spec::SecretRef)>) = match sink {
                SinkSpec::Embedded(_) => continue,
                SinkSpec::Qdrant(q) => (&q.url, q.api_key.iter().map(|k| ("api_key", k)).collect()),
                SinkSpec::Elasticsearch(e) => (
                    &e.url,
                    match &e.auth {
                        None => Vec::new(),
                        Some(ElasticsearchAuth::ApiKey { key }) => vec![("auth.key", key)],
                        Some(ElasticsearchAuth::Basic { password, .. }) => vec![("auth.password", password)],
                        Some(ElasticsearchAuth::Bearer { token }) => vec![("auth.token", token)],
                    },
                ),
            };
            if let Err(e) = sluice_spec::secrets::expand_env_refs(url) {
                d.push(p.diagnostic(&format!("sinks[{i}].url"), e, None));
            }
            for (field, secret) in secrets {
                if let Err(e) = secret.resolve() {
                    d.push(p.diagnostic(&format!("sinks[{i}].{field}"), e, None));
                }
            }
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

pub fn build_sources(p: &LoadedPipeline) -> Result<Vec<Box<dyn Source>>, Vec<Diagnostic>> {
    let mut out: Vec<Box<dyn Source>> = Vec::new();
    let mut errs = Vec::new();
    for (i, src) in p.spec.sources.iter().enumerate() {
        let diags = settings_diagnostics(p, i);
        if !diags.is_empty() {
            errs.extend(diags);
            continue;
        }
        match src.source_type.as_str() {
            "files" => {
                let settings = match FilesSettings::parse(&src.settings) {
                    Ok(s) => s,
                    Err(_) => continue, // reported above
                };
                match FilesSource::new(&src.id, settings, &p.base_dir) {
                    Ok(s) => out.push(Box::new(s)),
                    Err(e) => errs.push(p.diagnostic(&format!("sources[{i}].settings"), e, None)),
                }
            }
            "slack_export" => {
                if let Ok(s) = SlackExportSettings::parse(&src.settings) {
                    out.push(Box::new(SlackExportSource::new(&src.id, s, &p.base_dir)));
                }
            }
            "confluence" | "jira" | "gitlab" | "slack" => {
                let mut creds = BTreeMap::new();
                let mut missing = false;
                for (name, secret) in &src.credentials {
                    match secret.resolve() {
                        Ok(v) => {
                            creds.insert(name.clone(), v.expose().to_string());
                        }
                        Err(e) => {
                            errs.push(p.diagnostic(&format!("sources[{i}].credentials.{name}"), e, None));
                            missing = true;
                        }
                    }
                }
                if missing {
                    continue;
                }
                // Settings were checked above; a parse error cannot recur here.
                let built: Result<Box<dyn Source>, String> = match src.source_type.as_str() {
                    "confluence" => ConfluenceSettings::parse(&src.settings)
                        .map_err(|_| String::new())
                        .and_then(|s| ConfluenceSource::new(&src.id, s, &creds))
                        .map(|s| Box::new(s) as Box<dyn Source>),
                    "jira" => JiraSettings::parse(&src.settings)
                        .map_err(|_| String::new())
                        .and_then(|s| JiraSource::new(&src.id, s, &creds))
                        .map(|s| Box::new(s) as Box<dyn Source>),
                    "gitlab" => GitlabSettings::parse(&src.settings)
                        .map_err(|_| String::new())
                        .and_then(|s| GitlabSource::new(&src.id, s, &creds))
                        .map(|s| Box::new(s) as Box<dyn Source>),
                    _ => SlackSettings::parse(&src.settings)
                        .map_err(|_| String::new())
                        .and_then(|s| SlackSource::new(&src.id, s, &creds))
                        .map(|s| Box::new(s) as Box<dyn Source>),
                };
                match built {
                    Ok(s) => out.push(s),
                    Err(e) => errs.push(p.diagnostic(&format!("sources[{i}].settings"), e, None)),
                }
            }
            _ => {}
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
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
    cfg.batch_size = spec.batch_size;
    cfg.threads = spec.threads;
    cfg.max_length = spec.max_length;
    cfg
}
