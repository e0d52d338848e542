//! `sluice serve`: the HTTP search API over one pipeline's stores or a
//! data directory's index. Also who may call the API (shared with `daemon`).

use std::path::{Path, PathBuf};

use sluice_core::search::Access;

use crate::ModelArgs;
use crate::common::open_backend;
use crate::error::Failure;

/// Who may call the HTTP API (`serve` and `daemon`).
#[derive(clap::Args, Debug)]
pub struct ApiArgs {
    /// API key file (from `sluice keygen`; may also configure JWTs): every
    /// request then needs a key or token, and its principals decide what it may read.
    #[arg(long, env = "SLUICE_API_KEYS")]
    pub api_keys: Option<PathBuf>,
    /// With --no-auth: return ACL-restricted documents to every caller (trusted networks only).
    #[arg(long, requires = "no_auth")]
    pub all_access: bool,
    /// Serve without authentication: every caller gets public documents
    /// only (or everything with --all-access). Required when no key file is given.
    #[arg(long, conflicts_with = "api_keys")]
    pub no_auth: bool,
    /// Browser origin allowed to call the API (repeatable), e.g. https://intranet.example.
    #[arg(long = "cors-origin")]
    pub cors_origins: Vec<String>,
}

/// The access and keys the API runs with.
pub async fn api_access(args: &ApiArgs, addr: &str) -> Result<(Access, Option<sluice_api::ApiKeys>), Failure> {
    if let Some(path) = &args.api_keys {
        let keys = sluice_api::ApiKeys::load(path).map_err(|e| Failure::Invalid(format!("API key file {e}")))?;
        eprintln!("API keys: {} loaded from {}{}", keys.len(), path.display(), if keys.accepts_jwt() { " (JWTs accepted)" } else { "" });
        match keys.fetch_jwks().await {
            Ok(0) => {}
            Ok(n) => eprintln!("JWK Set: {n} signing keys fetched"),
            // The provider may be down for a moment; tokens are checked again later.
            Err(e) => eprintln!("warning: {e}; RS256 tokens fail until it can be fetched"),
        }
        return Ok((Access::public_only(), Some(keys)));
    }
    if !args.no_auth {
        return Err(Failure::Invalid(format!(
            "the API on {addr} needs --api-keys FILE (see `sluice keygen`); to serve without authentication, say so with --no-auth (public documents only, unless --all-access)"
        )));
    }
    Ok((if args.all_access { Access::All } else { Access::public_only() }, None))
}

pub async fn run(pipeline: Option<&Path>, data_dir: &Path, model: &ModelArgs, addr: &str, api: &ApiArgs) -> Result<(), Failure> {
    let (backend, embedder) = match open_backend(pipeline, data_dir, model, true).map_err(Failure::Runtime)? {
        (b, Some(e)) => (b, e),
        (_, None) => return Err(Failure::Runtime("no embedding model loaded".into())),
    };
    let (access, keys) = api_access(api, addr).await?;
    let state = sluice_api::ApiState::over_backend(backend, embedder, access, keys);
    let app = sluice_api::router_with_cors(state, &api.cors_origins).map_err(Failure::Invalid)?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| Failure::Runtime(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.to_string());
    tracing::info!(addr = %local, "serving the search API");
    eprintln!("listening on http://{local}  (POST /v1/search, GET /healthz, /metrics, /openapi.json)");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await.map_err(|e| Failure::Runtime(format!("server failed: {e}")))
}
