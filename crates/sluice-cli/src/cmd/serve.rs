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
    /// Serve /metrics without a key even when keys are configured (a
    /// Prometheus scraper on a trusted network).
    #[arg(long)]
    pub public_metrics: bool,
    /// Host names the server answers for (repeatable; the `Host` header,
    /// any port). Default on loopback: localhost, 127.0.0.1 and [::1].
    #[arg(long = "allowed-host")]
    pub allowed_hosts: Vec<String>,
    /// Serve without authentication on an address other hosts can reach.
    /// Every caller on the network then reads what --no-auth allows
    /// (everything with --all-access). Refused without this flag.
    #[arg(long, requires = "no_auth")]
    pub dangerously_serve_network_without_auth: bool,
}

/// Whether `addr` (`host:port`) only accepts connections from this machine.
pub fn is_loopback(addr: &str) -> bool {
    if let Ok(a) = addr.parse::<std::net::SocketAddr>() {
        return a.ip().is_loopback();
    }
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(h, _)| h)
        .trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The host names to answer for: the configured ones; on loopback, the
/// loopback names by default (DNS rebinding); elsewhere, any.
pub fn allowed_hosts(args: &ApiArgs, addr: &str) -> Vec<String> {
    if !args.allowed_hosts.is_empty() {
        return args.allowed_hosts.clone();
    }
    if is_loopback(addr) {
        vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()]
    } else {
        Vec::new()
    }
}

/// The access and keys the API runs with.
pub async fn api_access(
    args: &ApiArgs,
    addr: &str,
) -> Result<(Access, Option<sluice_api::ApiKeys>), Failure> {
    if let Some(path) = &args.api_keys {
        let keys = sluice_api::ApiKeys::load(path)
            .map_err(|e| Failure::Invalid(format!("API key file {e}")))?;
        eprintln!(
            "API keys: {} loaded from {}{}",
            keys.len(),
            path.display(),
            if keys.accepts_jwt() {
                " (JWTs accepted)"
            } else {
                ""
            }
        );
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
    if !is_loopback(addr) && !args.dangerously_serve_network_without_auth {
        let what = if args.all_access {
            "every document, restricted ones included,"
        } else {
            "every public document"
        };
        return Err(Failure::Invalid(format!(
            "--no-auth on {addr} would serve {what} to anyone who can reach this address; bind 127.0.0.1, use --api-keys FILE, or say --dangerously-serve-network-without-auth"
        )));
    }
    if !is_loopback(addr) {
        eprintln!(
            "warning: serving {addr} without authentication (--dangerously-serve-network-without-auth)"
        );
    }
    Ok((
        if args.all_access {
            Access::All
        } else {
            Access::public_only()
        },
        None,
    ))
}

pub async fn run(
    pipeline: Option<&Path>,
    data_dir: &Path,
    model: &ModelArgs,
    addr: &str,
    api: &ApiArgs,
) -> Result<(), Failure> {
    // Exposure is checked before anything is opened.
    let (access, keys) = api_access(api, addr).await?;
    let (backend, embedder) =
        match open_backend(pipeline, data_dir, model, true).map_err(Failure::Runtime)? {
            (b, Some(e)) => (b, e),
            (_, None) => return Err(Failure::Runtime("no embedding model loaded".into())),
        };
    let state = sluice_api::ApiState::over_backend(backend, embedder, access, keys);
    state.set_public_metrics(api.public_metrics);
    let app = sluice_api::router_with_cors(state, &api.cors_origins).map_err(Failure::Invalid)?;
    let app = sluice_api::host_guard(app, allowed_hosts(api, addr));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Runtime(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| addr.to_string());
    tracing::info!(addr = %local, "serving the search API");
    eprintln!(
        "listening on http://{local}  (POST /v1/search, GET /healthz, /metrics, /openapi.json)"
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Failure::Runtime(format!("server failed: {e}")))
}
