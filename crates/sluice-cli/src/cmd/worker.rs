//! `sluice worker`: index a pipeline that publishes to Kafka, as one member
//! of its consumer group.

use std::path::Path;
use std::time::Duration;

use crate::ModelArgs;
use crate::error::Failure;

#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub struct Options {
    pub group: Option<String>,
    pub instance_id: Option<String>,
    pub exit_when_idle: Option<Duration>,
    pub metrics_addr: Option<String>,
    pub json: bool,
}

#[cfg(not(feature = "kafka"))]
pub async fn run(
    _path: &Path,
    _data_dir: &Path,
    _model: &ModelArgs,
    _opts: Options,
) -> Result<(), Failure> {
    Err(Failure::Invalid("`sluice worker` needs the Kafka transport, which this build leaves out; build with `cargo build -p sluice-cli --features kafka`".into()))
}

#[cfg(feature = "kafka")]
pub async fn run(
    path: &Path,
    data_dir: &Path,
    model: &ModelArgs,
    opts: Options,
) -> Result<(), Failure> {
    use sluice_engine::Pipeline;
    use sluice_kafka::{IndexWorker, WorkerMetrics, WorkerOptions};

    use crate::common::{load_embedder, load_pipeline, registry, terminate_signal};

    let reg = registry();
    let loaded = load_pipeline(path)?;
    let diags = sluice_engine::validate_pipeline(&reg, &loaded, false).await;
    if !diags.is_empty() {
        return Err(Failure::Diagnostics(diags));
    }
    if !matches!(loaded.spec.transport, sluice_spec::TransportSpec::Kafka(_)) {
        return Err(Failure::Invalid(format!(
            "{}: transport: `sluice worker` indexes Kafka pipelines; this one runs in-process (use `sluice run`)",
            loaded.file
        )));
    }
    let embedder = load_embedder(&loaded.spec.embedding, &loaded.base_dir, Some(model))
        .map_err(Failure::Runtime)?;
    let name = loaded.spec.name.clone();
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Failure::Runtime(format!("data directory {}: {e}", data_dir.display())))?;
    let pipeline = Pipeline::open_indexer(&reg, loaded, data_dir, embedder)
        .await
        .map_err(Failure::Runtime)?;
    let worker_opts = WorkerOptions {
        group: opts.group,
        instance_id: opts.instance_id,
        exit_when_idle: opts.exit_when_idle,
        ..Default::default()
    };
    let mut worker = IndexWorker::new(pipeline, worker_opts)
        .await
        .map_err(Failure::Runtime)?;
    if let Some(addr) = opts.metrics_addr {
        let registry = prometheus::Registry::new();
        let metrics = WorkerMetrics::register(&registry, &name)
            .map_err(|e| Failure::Runtime(format!("metrics: {e}")))?;
        worker = worker.with_metrics(metrics);
        crate::telemetry::serve_metrics(&addr, registry)
            .await
            .map_err(|e| Failure::Runtime(format!("--metrics-addr {addr}: {e}")))?;
        eprintln!("metrics on http://{addr}/metrics");
    }
    eprintln!(
        "worker for pipeline `{name}` started; stop with Ctrl-C or SIGTERM (the batch in hand is finished first)"
    );
    let report = worker
        .run(terminate_signal())
        .await
        .map_err(Failure::Runtime)?;
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        eprintln!(
            "worker stopped: {} records in {} batches; {} documents written, {} unchanged, {} deleted; {} chunks embedded; {} dead-lettered",
            report.records,
            report.batches,
            report.documents_written,
            report.documents_unchanged,
            report.documents_deleted,
            report.chunks_embedded,
            report.dead_lettered
        );
    }
    Ok(())
}
