//! `sluice daemon`: every pipeline in a directory on its schedule, the
//! pipeline API and the search API over all of them, one metrics registry.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_spec::EmbeddingSpec;

use crate::ModelArgs;
use crate::cmd::serve::{ApiArgs, allowed_hosts, api_access};
use crate::common::{load_embedder, registry, terminate_signal};
use crate::error::Failure;

/// Several daemons over the same pipelines: state and job leases in PostgreSQL.
#[derive(clap::Args, Debug)]
pub struct ReplicaArgs {
    /// PostgreSQL URL (`postgres://user:password@host/db`) of the state the
    /// replicas share: checkpoints, document hashes, dead letters, runs and
    /// job leases. Each source's job runs on one replica at a time and its
    /// commits are fenced by its lease. Stores must be Qdrant/Elasticsearch.
    /// Unset: this daemon keeps its state in its data directory (one replica).
    #[arg(long, env = "SLUICE_SHARED_STATE_URL")]
    pub shared_state: Option<String>,
    /// This replica's name in the leases (default: host name and process id).
    #[arg(long, env = "SLUICE_REPLICA_ID")]
    pub replica_id: Option<String>,
    /// Seconds a lease lasts without renewal: a killed replica's jobs move
    /// to another after at most about 1.5 × this.
    #[arg(long, default_value_t = 30)]
    pub lease_ttl_secs: u64,
}

async fn coordination(r: &ReplicaArgs) -> Result<Option<sluice_daemon::Coordination>, Failure> {
    let Some(url) = &r.shared_state else {
        return Ok(None);
    };
    if r.lease_ttl_secs < 2 {
        return Err(Failure::Invalid("--lease-ttl-secs must be at least 2".into()));
    }
    let leases = sluice_coord::Leases::connect(url)
        .await
        .map_err(|e| Failure::Runtime(format!("--shared-state: {}", sluice_core::redact::text(&e.to_string()))))?;
    let u = url.clone();
    let state = tokio::task::spawn_blocking(move || sluice_state::StateStore::open_shared(&u))
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))?
        .map_err(|e| Failure::Runtime(format!("--shared-state: {e}")))?;
    let replica = r.replica_id.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        format!("{host}-{}", std::process::id())
    });
    tracing::info!(replica = %replica, ttl_secs = r.lease_ttl_secs, "jobs run under leases shared with other replicas");
    Ok(Some(sluice_daemon::Coordination {
        leases: Arc::new(leases),
        state: Arc::new(state),
        replica,
        ttl: std::time::Duration::from_secs(r.lease_ttl_secs),
    }))
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    dir: PathBuf,
    data_dir: PathBuf,
    model: &ModelArgs,
    listen: &str,
    api: &ApiArgs,
    reload_secs: u64,
    grace_secs: u64,
    replicas: &ReplicaArgs,
) -> Result<(), Failure> {
    if !dir.is_dir() {
        return Err(Failure::Invalid(format!(
            "{} is not a directory of pipeline files",
            dir.display()
        )));
    }
    let embedder = load_embedder(&EmbeddingSpec::default(), Path::new("."), Some(model))
        .map_err(Failure::Runtime)?;
    let cfg = sluice_daemon::DaemonConfig {
        registry: Arc::new(registry()),
        dir,
        data_root: data_dir,
        reload_every: std::time::Duration::from_secs(reload_secs.max(1)),
        shutdown_grace: std::time::Duration::from_secs(grace_secs),
        coordination: coordination(replicas).await?,
    };
    let (access, keys) = api_access(api, listen).await?;
    // One registry: the daemon's sync metrics and the API's search metrics.
    let metrics_registry = prometheus::Registry::new();
    let metrics = sluice_daemon::SyncMetrics::register(&metrics_registry)
        .map_err(|e| Failure::Runtime(format!("metrics: {e}")))?;
    // The daemon is both the scheduler and the index set the API searches.
    let daemon = sluice_daemon::Daemon::with_metrics(cfg, embedder.clone(), Some(metrics));
    let state =
        sluice_api::ApiState::over_in(daemon.clone(), embedder, access, keys, metrics_registry);
    state.set_public_metrics(api.public_metrics);
    let app = sluice_api::with_cors(
        sluice_daemon::api::full_router(daemon.clone(), state),
        &api.cors_origins,
    )
    .map_err(Failure::Invalid)?;
    let app = sluice_api::host_guard(app, allowed_hosts(api, listen));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::Runtime(format!("cannot listen on {listen}: {e}")))?;
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| listen.to_string());
    eprintln!(
        "daemon listening on http://{local}  (search page at /, POST /v1/search, GET /v1/pipelines, POST /v1/pipelines/{{name}}/sync, /metrics, /healthz, /readyz)"
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut api_stop = stop_rx.clone();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = api_stop.wait_for(|s| *s).await;
            })
            .await;
    });
    daemon
        .run(async move {
            terminate_signal().await;
            tracing::info!("signal received");
        })
        .await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    eprintln!("daemon stopped");
    Ok(())
}
