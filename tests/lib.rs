//! Helpers shared by the end-to-end tests: a real embedder (loaded once per
//! test binary) and small pipelines over temporary files.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use sluice_core::search::{Access, Hit, SearchFilters, SearchMode, SearchRequest};
use sluice_embed::{OnnxEmbedder, OnnxEmbedderConfig, TextEmbedder, default_model_dir};
use sluice_engine::{Pipeline, RunOptions, RunReport};
use sluice_spec::load_pipeline_str;

/// The real all-MiniLM-L6-v2 through ONNX Runtime (`scripts/setup.sh`).
pub fn embedder() -> Arc<dyn TextEmbedder> {
    static E: OnceLock<Arc<OnnxEmbedder>> = OnceLock::new();
    E.get_or_init(|| {
        let mut cfg = OnnxEmbedderConfig::new(default_model_dir("all-MiniLM-L6-v2"));
        cfg.threads = Some(2);
        Arc::new(
            OnnxEmbedder::load(&cfg)
                .unwrap_or_else(|e| panic!("{e}\n(run `bash scripts/setup.sh` first)")),
        )
    })
    .clone()
}

/// Opens a pipeline from YAML text whose relative paths resolve in `dir`.
pub async fn pipeline(yaml: &str, dir: &Path, data_dir: &Path) -> Pipeline {
    pipeline_with(yaml, dir, data_dir, embedder()).await
}

/// [`pipeline`] with another embedder (the stand-in [`ByteEmbedder`]).
pub async fn pipeline_with(
    yaml: &str,
    dir: &Path,
    data_dir: &Path,
    embedder: Arc<dyn TextEmbedder>,
) -> Pipeline {
    let loaded = load_pipeline_str(yaml, "test.yaml", dir).unwrap_or_else(|d| panic!("{d:#?}"));
    Pipeline::open(
        &sluice_catalog::registry(),
        loaded,
        data_dir,
        Some(embedder),
    )
    .await
    .unwrap()
}

/// [`run`], failing the test when a source failed.
pub async fn run_ok(p: &Pipeline, yaml: &str, dir: &Path, full: bool) -> RunReport {
    let r = run(p, yaml, dir, full).await;
    assert!(!r.failed(), "{:#?}", r.sources);
    r
}

pub async fn run(p: &Pipeline, yaml: &str, dir: &Path, full: bool) -> RunReport {
    let loaded = load_pipeline_str(yaml, "test.yaml", dir).unwrap();
    let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &loaded)
        .unwrap_or_else(|d| panic!("{d:#?}"));
    p.run(
        sources,
        &RunOptions {
            full,
            ..Default::default()
        },
    )
    .await
}

pub async fn search(
    p: &Pipeline,
    q: &str,
    mode: SearchMode,
    access: Access,
    filters: SearchFilters,
) -> Vec<Hit> {
    let e = embedder();
    let qv = e.embed(&[q]).unwrap().remove(0);
    let req = SearchRequest {
        query: q.into(),
        top_k: 10,
        mode,
        filters,
        access,
    };
    p.search_backend()
        .expect("a searchable store")
        .search(&req, Some(&qv))
        .await
        .unwrap()
        .hits
}

/// The pipeline's embedded index.
pub fn index(p: &Pipeline) -> Arc<sluice_index::EmbeddedIndex> {
    p.store::<sluice_index::EmbeddedIndex>()
        .expect("the pipeline writes the embedded index")
}

pub fn write_jsonl(path: &Path, rows: &[serde_json::Value]) {
    let text: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    std::fs::write(path, text.join("\n") + "\n").unwrap();
}

/// Five small pages (runbook, config, an HR-only policy, a service note, a
/// sectioned how-to) for end-to-end tests.
pub fn corpus() -> Vec<serde_json::Value> {
    vec![
        serde_json::json!({"id": "kafka-lag", "title": "Kafka consumer lag runbook", "text": "When the consumer lag alert fires at 50k messages, scale the ingest consumers to six replicas and check the broker disk.", "labels": ["runbook"], "updated_at": "2025-05-01T10:00:00Z"}),
        serde_json::json!({"id": "pgbouncer", "title": "PgBouncer pooling", "text": "PgBouncer runs in transaction mode with a pool size of 400 connections per database.", "labels": ["postgres"], "updated_at": "2025-06-01T10:00:00Z"}),
        serde_json::json!({"id": "vacation", "title": "Vacation policy", "text": "Employees get 28 days of paid leave per year. Requests go through the HR portal two weeks ahead.", "acl": ["group:hr"], "updated_at": "2025-02-01T10:00:00Z"}),
        serde_json::json!({"id": "refunds", "title": "Refund service retries", "text": "The refund service retries failed card refunds three times with exponential backoff before paging payments on-call.", "updated_at": "2025-07-01T10:00:00Z"}),
        serde_json::json!({"id": "laptop", "title": "New hire laptop setup", "text": "## Hardware\n\nEngineers receive a 16-inch laptop.\n\n## Accounts\n\nRequest GitLab and VPN access on day one.", "updated_at": "2025-01-15T10:00:00Z"}),
    ]
}

/// Vectors from the text's bytes: enough for an index, and no model, so a
/// big tree's first sync takes seconds and the test is about the source.
pub struct ByteEmbedder;

impl sluice_core::TextEmbedder for ByteEmbedder {
    fn dim(&self) -> usize {
        4
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, sluice_core::EmbedError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = [1.0f32; 4];
                for (i, b) in t.bytes().enumerate() {
                    v[i % 4] += b as f32;
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / n).collect()
            })
            .collect())
    }
    fn count_tokens(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
    fn max_length(&self) -> usize {
        256
    }
}
