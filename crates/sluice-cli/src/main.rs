//! `sluice`: run pipelines, validate them, search, serve the API, report
//! status and evaluate retrieval.
//!
//! Exit codes: 0 ok · 1 runtime/setup error · 2 invalid pipeline or usage ·
//! 3 a source failed (its checkpoint did not advance) · 4 finished, but some
//! records went to the dead-letter record.

mod eval;
mod output;
mod telemetry;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use sluice_embed::{OnnxEmbedder, TextEmbedder};
use sluice_engine::{Pipeline, RunOptions, WorkerOptions};
use sluice_index::{Access, EmbeddedIndex, SearchFilters, SearchMode, SearchRequest};
use sluice_spec::{EmbeddingSpec, load_pipeline};

pub const EXIT_RUNTIME: u8 = 1;
pub const EXIT_INVALID: u8 = 2;
pub const EXIT_SOURCE_FAILED: u8 = 3;
pub const EXIT_DEAD_LETTERS: u8 = 4;

#[derive(Parser)]
#[command(name = "sluice", version, about = "Keeps company knowledge searchable: sync sources into a hybrid search index")]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// More logs (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub struct DataDir {
    /// Data directory (state + embedded index); env SLUICE_DATA_DIR, default ./.sluice-data.
    #[arg(long, env = "SLUICE_DATA_DIR", default_value = ".sluice-data")]
    pub data_dir: PathBuf,
}

#[derive(Args, Clone)]
pub struct ModelArgs {
    /// Directory with model.onnx + tokenizer.json (default: $SLUICE_HOME/models/all-MiniLM-L6-v2).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// ONNX Runtime intra-op threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Subcommand)]
enum Command {
    /// Sync a pipeline's sources into its sinks.
    Run {
        pipeline: PathBuf,
        #[command(flatten)]
        data: DataDir,
        /// Full sync: re-list every record and prune the ones gone at the source.
        #[arg(long, conflicts_with = "prune")]
        full: bool,
        /// Prune pass: list ids only (no content) and delete records gone at
        /// the source; cheaper than --full for sources that support it.
        #[arg(long)]
        prune: bool,
        /// Only this source id (repeatable).
        #[arg(long = "source")]
        sources: Vec<String>,
        /// Print the run report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Index a `transport: kafka` pipeline: join its consumer group and run
    /// transform → chunk → embed → sinks on what `sluice run` publishes.
    /// More workers in one group share the topic's partitions.
    Worker {
        pipeline: PathBuf,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        model: ModelArgs,
        /// Consumer group (default: the pipeline's `transport.group`, else `sluice-<name>`).
        #[arg(long)]
        group: Option<String>,
        /// A stable name for this worker (e.g. the pod name): static group
        /// membership, so a restarted worker takes its partitions back at once.
        #[arg(long, env = "SLUICE_WORKER_ID")]
        instance_id: Option<String>,
        /// Serve Prometheus metrics (lag per partition, batch sizes, dead
        /// letters) on this address at /metrics, and liveness at /healthz.
        #[arg(long)]
        metrics_addr: Option<String>,
        /// Exit once nothing arrived for this many seconds and the group has
        /// committed every partition to its end (one-shot jobs).
        #[arg(long)]
        exit_when_idle: Option<u64>,
        /// Print the worker's totals as JSON on stdout when it stops.
        #[arg(long)]
        json: bool,
    },
    /// Check a pipeline file and report every problem with line:column.
    Validate {
        pipeline: PathBuf,
        /// Also require credential environment variables to be set.
        #[arg(long)]
        check_env: bool,
    },
    /// Search the embedded index.
    Search {
        query: String,
        /// Search this pipeline's stores (its Qdrant + Elasticsearch sinks, or
        /// its embedded index) instead of the data directory's index.
        #[arg(long)]
        pipeline: Option<PathBuf>,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, default_value = "hybrid", value_parser = ["hybrid", "keyword", "vector"])]
        mode: String,
        #[arg(long, short = 'k', default_value_t = 10)]
        top_k: usize,
        /// Filter `key=value`: source, kind, label, after, before (RFC 3339). Repeatable.
        #[arg(long = "filter", short = 'f')]
        filters: Vec<String>,
        /// Search as these principals (comma-separated `user:…`/`group:…`); default: public documents only.
        #[arg(long = "as")]
        principals: Option<String>,
        /// Ignore document ACLs (trusted local use).
        #[arg(long, conflicts_with = "principals")]
        all_access: bool,
        #[arg(long)]
        json: bool,
    },
    /// Serve the HTTP search API.
    Serve {
        /// Serve this pipeline's stores (its Qdrant + Elasticsearch sinks, or
        /// its embedded index) instead of the data directory's index.
        #[arg(long)]
        pipeline: Option<PathBuf>,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, default_value = "127.0.0.1:7700")]
        addr: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Make an API key for `serve --api-keys`: prints the key once and the
    /// entry (with only its hash) to add to the key file.
    Keygen {
        /// A name for logs and metrics, e.g. intranet-search.
        #[arg(long)]
        name: String,
        /// `user:…` / `group:…` principals the key searches as (repeatable).
        #[arg(long = "principal")]
        principals: Vec<String>,
        #[arg(long, default_value_t = 600)]
        requests_per_minute: u32,
    },
    /// Run every pipeline in a directory on its schedule, with hot reload and
    /// the pipeline API (GET /v1/pipelines, POST /v1/pipelines/{name}/sync).
    Daemon {
        /// Directory of pipeline YAML files.
        dir: PathBuf,
        /// Data root: each pipeline keeps `<data-dir>/<name>`.
        #[arg(long, env = "SLUICE_DATA_DIR", default_value = ".sluice-data")]
        data_dir: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, default_value = "127.0.0.1:7701")]
        listen: String,
        #[command(flatten)]
        api: ApiArgs,
        /// Seconds between checks for changed pipeline files.
        #[arg(long, default_value_t = 2)]
        reload_secs: u64,
        /// Seconds shutdown waits for in-flight runs before abandoning them.
        #[arg(long, default_value_t = 30)]
        shutdown_grace_secs: u64,
    },
    /// Show what a pipeline has indexed and how its last runs went.
    Status {
        pipeline: PathBuf,
        #[command(flatten)]
        data: DataDir,
        #[arg(long)]
        json: bool,
    },
    /// Retrieval quality on a BEIR-style dataset: nDCG@10 and Recall@100 per mode.
    Eval(eval::EvalArgs),
}

/// Who may call the HTTP API (`serve` and `daemon`).
#[derive(clap::Args, Debug)]
struct ApiArgs {
    /// API key file (from `sluice keygen`; may also configure JWTs): every
    /// request then needs a key or token, and its principals decide what it may read.
    #[arg(long, env = "SLUICE_API_KEYS")]
    api_keys: Option<PathBuf>,
    /// With --no-auth: return ACL-restricted documents to every caller (trusted networks only).
    #[arg(long, requires = "no_auth")]
    all_access: bool,
    /// Serve without authentication: every caller gets public documents
    /// only (or everything with --all-access). Required when no key file is given.
    #[arg(long, conflicts_with = "api_keys")]
    no_auth: bool,
    /// Browser origin allowed to call the API (repeatable), e.g. https://intranet.example.
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
}

/// The access and keys the API runs with, or an exit code after printing why.
async fn api_access(args: &ApiArgs, addr: &str) -> Result<(Access, Option<sluice_api::ApiKeys>), u8> {
    if let Some(path) = &args.api_keys {
        let keys = sluice_api::ApiKeys::load(path).map_err(|e| {
            eprintln!("error: API key file {e}");
            EXIT_INVALID
        })?;
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
        eprintln!("error: the API on {addr} needs --api-keys FILE (see `sluice keygen`); to serve without authentication, say so with --no-auth (public documents only, unless --all-access)");
        return Err(EXIT_INVALID);
    }
    Ok((if args.all_access { Access::All } else { Access::public_only() }, None))
}

fn init_logs(format: &str, verbose: u8) -> Option<opentelemetry_sdk::trace::SdkTracerProvider> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;
    use tracing_subscriber::util::SubscriberInitExt;
    let default = match verbose {
        0 => "warn,sluice_engine=info,sluice_cli=info",
        1 => "info",
        _ => "debug,tantivy=info,datafusion=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let (tracer, otel_error) = match telemetry::tracer_from_env() {
        Ok(t) => (t, None),
        Err(e) => (None, Some(e)),
    };
    // Spans go to OTLP at info level whatever the log filter says.
    let otel = tracer.as_ref().map(|(_, t)| {
        tracing_opentelemetry::layer().with_tracer(t.clone()).with_filter(tracing_subscriber::filter::Targets::new().with_target("sluice", tracing::Level::INFO))
    });
    let registry = tracing_subscriber::registry().with(otel);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    if format == "json" {
        registry.with(fmt.json().with_filter(filter)).init();
    } else {
        registry.with(fmt.with_target(false).compact().with_filter(filter)).init();
    }
    if let Some(e) = otel_error {
        tracing::warn!("{e}; traces are not exported");
    }
    tracer.map(|(p, _)| p)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Deployment files are checked by parsing their command lines without
    // running them (see crates/sluice-cli/tests/deploy.rs).
    if std::env::var_os("SLUICE_CHECK_ARGS").is_some() {
        println!("arguments ok");
        return ExitCode::SUCCESS;
    }
    let traces = init_logs(&cli.log_format, cli.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let code = rt.block_on(dispatch(cli.command));
    drop(rt);
    // Flush spans still in the batch queue.
    if let Some(p) = traces {
        if let Err(e) = p.shutdown() {
            eprintln!("warning: exporting the last traces failed: {e}");
        }
    }
    ExitCode::from(code)
}

async fn dispatch(cmd: Command) -> u8 {
    match cmd {
        Command::Daemon { dir, data_dir, model, listen, api, reload_secs, shutdown_grace_secs } => {
            cmd_daemon(dir, data_dir, &model, &listen, &api, reload_secs, shutdown_grace_secs).await
        }
        Command::Run { pipeline, data, full, prune, sources, json } => cmd_run(&pipeline, &data.data_dir, full, prune, sources, json).await,
        Command::Worker { pipeline, data, model, group, instance_id, metrics_addr, exit_when_idle, json } => {
            cmd_worker(&pipeline, &data.data_dir, &model, WorkerOptions { group, instance_id, exit_when_idle: exit_when_idle.map(std::time::Duration::from_secs), ..Default::default() }, metrics_addr, json).await
        }
        Command::Validate { pipeline, check_env } => cmd_validate(&pipeline, check_env).await,
        Command::Search { query, pipeline, data, model, mode, top_k, filters, principals, all_access, json } => {
            cmd_search(query, pipeline.as_deref(), &data.data_dir, &model, &mode, top_k, &filters, principals, all_access, json).await
        }
        Command::Serve { pipeline, data, model, addr, api } => cmd_serve(pipeline.as_deref(), &data.data_dir, &model, &addr, &api).await,
        Command::Keygen { name, principals, requests_per_minute } => cmd_keygen(&name, &principals, requests_per_minute),
        Command::Status { pipeline, data, json } => cmd_status(&pipeline, &data.data_dir, json),
        Command::Eval(args) => eval::run(args).await,
    }
}

fn print_diagnostics(diags: &[sluice_spec::Diagnostic]) {
    for d in diags {
        eprintln!("error: {d}");
    }
    eprintln!("{} problem{} found", diags.len(), if diags.len() == 1 { "" } else { "s" });
}

pub fn load_embedder(spec: &EmbeddingSpec, base_dir: &Path, model: Option<&ModelArgs>) -> Result<Arc<dyn TextEmbedder>, String> {
    let mut cfg = sluice_engine::embedder_config(spec, base_dir);
    if let Some(m) = model {
        if let Some(d) = &m.model_dir {
            cfg.model_dir = d.clone();
        }
        if m.threads.is_some() {
            cfg.threads = m.threads;
        }
    }
    let e = OnnxEmbedder::load(&cfg).map_err(|e| e.to_string())?;
    Ok(Arc::new(e))
}

async fn cmd_validate(path: &Path, check_env: bool) -> u8 {
    let (loaded, mut diags) = match sluice_spec::load_pipeline_lenient(path) {
        Ok(l) => l,
        Err(diags) => {
            print_diagnostics(&diags);
            return EXIT_INVALID;
        }
    };
    diags.extend(sluice_engine::validate_pipeline(&loaded, check_env).await);
    if !diags.is_empty() {
        print_diagnostics(&diags);
        return EXIT_INVALID;
    }
    println!("{}: ok ({} source{}, {} sink{})", path.display(), loaded.spec.sources.len(),
        if loaded.spec.sources.len() == 1 { "" } else { "s" }, loaded.spec.sinks.len(), if loaded.spec.sinks.len() == 1 { "" } else { "s" });
    0
}

async fn cmd_run(path: &Path, data_dir: &Path, full: bool, prune: bool, only: Vec<String>, json: bool) -> u8 {
    let loaded = match load_pipeline(path) {
        Ok(l) => l,
        Err(diags) => {
            print_diagnostics(&diags);
            return EXIT_INVALID;
        }
    };
    let mut diags = sluice_engine::validate_pipeline(&loaded, true).await;
    for s in &only {
        if !loaded.spec.sources.iter().any(|x| &x.id == s) {
            diags.push(loaded.diagnostic("sources", format!("--source {s}: no such source in this pipeline"), None));
        }
    }
    if !diags.is_empty() {
        print_diagnostics(&diags);
        return EXIT_INVALID;
    }
    let sources = match sluice_engine::build_sources(&loaded) {
        Ok(s) => s,
        Err(diags) => {
            print_diagnostics(&diags);
            return EXIT_INVALID;
        }
    };
    // With Kafka, `run` only publishes; the workers embed.
    let embedder = match &loaded.spec.transport {
        sluice_spec::TransportSpec::Kafka(_) => None,
        sluice_spec::TransportSpec::InProcess { .. } => match load_embedder(&loaded.spec.embedding, &loaded.base_dir, None) {
            Ok(e) => Some(e),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_RUNTIME;
            }
        },
    };
    let opts = RunOptions { full, prune, only_sources: only };
    let report = match run_with_progress(loaded, data_dir, embedder, sources, &opts, !json).await {
        Ok((_, r)) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        output::print_report(&report, data_dir);
    }
    if report.failed() {
        EXIT_SOURCE_FAILED
    } else if report.dead_letters() > 0 {
        EXIT_DEAD_LETTERS
    } else {
        0
    }
}

/// Opens the pipeline and runs `sources` with a progress display.
pub async fn run_with_progress(
    loaded: sluice_spec::LoadedPipeline,
    data_dir: &Path,
    embedder: Option<Arc<dyn TextEmbedder>>,
    sources: Vec<Box<dyn sluice_core::Source>>,
    opts: &RunOptions,
    show_progress: bool,
) -> Result<(Pipeline, sluice_engine::RunReport), String> {
    let progress = output::RunProgress::new(show_progress);
    let observer = progress.clone();
    let pipeline = Pipeline::open(loaded, data_dir, embedder).await?.with_observer(move |e| observer.event(e));
    let report = pipeline.run(sources, opts).await;
    progress.finish();
    Ok((pipeline, report))
}

/// Parses `--filter key=value` options.
pub fn parse_filters(raw: &[String]) -> Result<SearchFilters, String> {
    let mut f = SearchFilters::default();
    for item in raw {
        let (k, v) = item.split_once('=').ok_or_else(|| format!("--filter `{item}`: use key=value, e.g. source=jira"))?;
        let time = |v: &str| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_micros())
                .or_else(|_| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_micros()))
                .map_err(|_| format!("--filter {k}={v}: not a date (use 2025-01-31 or RFC 3339)"))
        };
        match k {
            "source" => f.sources.push(v.to_string()),
            "kind" => f.kinds.push(v.to_string()),
            "label" => f.labels.push(v.to_string()),
            "after" => f.updated_after = Some(time(v)?),
            "before" => f.updated_before = Some(time(v)?),
            _ => return Err(format!("--filter `{k}`: unknown key; use source, kind, label, after or before")),
        }
    }
    Ok(f)
}

/// The store a search reads and the embedder for its queries.
fn open_backend(pipeline: Option<&Path>, data_dir: &Path, model: &ModelArgs, need_embedder: bool) -> Result<(Arc<dyn sluice_index::SearchBackend>, Option<Arc<dyn TextEmbedder>>), String> {
    match pipeline {
        Some(path) => {
            let loaded = load_pipeline(path).map_err(|d| d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("\n"))?;
            // Qdrant needs the model's dimension even for keyword-only queries.
            let needs_model = need_embedder || sluice_engine::stores::has_remote_stores(&loaded);
            let embedder = if needs_model { Some(load_embedder(&loaded.spec.embedding, &loaded.base_dir, Some(model))?) } else { None };
            let backend = sluice_engine::stores::open_search_backend(&loaded, data_dir, embedder.as_ref().map_or(0, |e| e.dim()))?;
            Ok((backend, embedder))
        }
        None => {
            let index_dir = sluice_engine::index_dir(data_dir);
            if !index_dir.join("vectors.sqlite").exists() {
                return Err(format!("no index at {}; run a pipeline first (e.g. `sluice run pipelines/demo.yaml`)", index_dir.display()));
            }
            let index = EmbeddedIndex::open(&index_dir, false).map_err(|e| e.to_string())?;
            let embedder = if need_embedder { Some(load_embedder(&EmbeddingSpec::default(), Path::new("."), Some(model))?) } else { None };
            Ok((Arc::new(sluice_index::EmbeddedSearch(Arc::new(index))), embedder))
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn cmd_search(query: String, pipeline: Option<&Path>, data_dir: &Path, model: &ModelArgs, mode: &str, top_k: usize, filters: &[String], principals: Option<String>, all_access: bool, json: bool) -> u8 {
    let filters = match parse_filters(filters) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    let mode: SearchMode = mode.parse().unwrap_or_default();
    let access = if all_access {
        Access::All
    } else {
        Access::Principals(principals.map(|p| p.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()).unwrap_or_default())
    };
    let (backend, embedder) = match open_backend(pipeline, data_dir, model, mode != SearchMode::Keyword) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    let req = SearchRequest { query, top_k: top_k.clamp(1, 1000), mode, filters, access };
    let result = match embedder {
        Some(e) => sluice_api::run_search(&[backend], e, &req).await,
        None => backend.search(&req, None).await,
    };
    match result {
        Ok(resp) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&resp).unwrap_or_default());
            } else {
                output::print_hits(&resp);
                for w in &resp.warnings {
                    println!("(partial results: {w})");
                }
                if resp.hits.is_empty() && matches!(&req.access, Access::Principals(p) if p.is_empty()) {
                    println!("(searched public documents only: documents with an ACL need --as user:…,group:… or --all-access)");
                }
            }
            0
        }
        Err(e) => {
            eprintln!("error: search failed: {e}");
            EXIT_RUNTIME
        }
    }
}

fn cmd_keygen(name: &str, principals: &[String], rpm: u32) -> u8 {
    if let Some(bad) = principals.iter().find(|p| !p.contains(':')) {
        eprintln!("error: --principal {bad}: use user:<id> or group:<name>");
        return EXIT_INVALID;
    }
    let key = format!("slk_{}", uuid::Uuid::new_v4().simple());
    println!("key (store it now, it is not kept anywhere): {key}");
    println!("entry for the key file:");
    println!("  - name: {name}");
    println!("    sha256: {}", sluice_api::hash_key(&key));
    println!("    principals: [{}]", principals.join(", "));
    println!("    requests_per_minute: {rpm}");
    0
}

async fn cmd_serve(pipeline: Option<&Path>, data_dir: &Path, model: &ModelArgs, addr: &str, api: &ApiArgs) -> u8 {
    let (backend, embedder) = match open_backend(pipeline, data_dir, model, true) {
        Ok((b, Some(e))) => (b, e),
        Ok((_, None)) => {
            eprintln!("error: no embedding model loaded");
            return EXIT_RUNTIME;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    let (access, keys) = match api_access(api, addr).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    let state = sluice_api::ApiState::over_backend(backend, embedder, access, keys);
    let app = match sluice_api::router_with_cors(state, &api.cors_origins) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return EXIT_RUNTIME;
        }
    };
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.to_string());
    tracing::info!(addr = %local, "serving the search API");
    eprintln!("listening on http://{local}  (POST /v1/search, GET /healthz, /metrics, /openapi.json)");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: server failed: {e}");
            EXIT_RUNTIME
        }
    }
}

async fn cmd_worker(path: &Path, data_dir: &Path, model: &ModelArgs, opts: WorkerOptions, metrics_addr: Option<String>, json: bool) -> u8 {
    let loaded = match load_pipeline(path) {
        Ok(l) => l,
        Err(diags) => {
            print_diagnostics(&diags);
            return EXIT_INVALID;
        }
    };
    let diags = sluice_engine::validate_pipeline(&loaded, false).await;
    if !diags.is_empty() {
        print_diagnostics(&diags);
        return EXIT_INVALID;
    }
    if !matches!(loaded.spec.transport, sluice_spec::TransportSpec::Kafka(_)) {
        eprintln!("error: {}: transport: `sluice worker` indexes Kafka pipelines; this one runs in-process (use `sluice run`)", loaded.file);
        return EXIT_INVALID;
    }
    let embedder = match load_embedder(&loaded.spec.embedding, &loaded.base_dir, Some(model)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    let name = loaded.spec.name.clone();
    if let Err(e) = std::fs::create_dir_all(data_dir) {
        eprintln!("error: data directory {}: {e}", data_dir.display());
        return EXIT_RUNTIME;
    }
    let pipeline = match Pipeline::open_indexer(loaded, data_dir, embedder).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    let mut worker = match sluice_engine::IndexWorker::new(pipeline, opts).await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    if let Some(addr) = metrics_addr {
        let registry = prometheus::Registry::new();
        match sluice_engine::WorkerMetrics::register(&registry, &name) {
            Ok(m) => worker = worker.with_metrics(m),
            Err(e) => {
                eprintln!("error: metrics: {e}");
                return EXIT_RUNTIME;
            }
        }
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: --metrics-addr {addr}: {e}");
                return EXIT_RUNTIME;
            }
        };
        let app = axum::Router::new()
            .route(
                "/metrics",
                axum::routing::get(move || {
                    let registry = registry.clone();
                    async move {
                        let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap_or_default();
                        ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
                    }
                }),
            )
            // Liveness for orchestrators: the process and its runtime answer.
            .route("/healthz", axum::routing::get(|| async { "ok" }));
        eprintln!("metrics on http://{addr}/metrics");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "metrics server failed");
            }
        });
    }
    eprintln!("worker for pipeline `{name}` started; stop with Ctrl-C or SIGTERM (the batch in hand is finished first)");
    match worker.run(terminate_signal()).await {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                eprintln!(
                    "worker stopped: {} records in {} batches; {} documents written, {} unchanged, {} deleted; {} chunks embedded; {} dead-lettered",
                    report.records, report.batches, report.documents_written, report.documents_unchanged, report.documents_deleted, report.chunks_embedded, report.dead_lettered
                );
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_RUNTIME
        }
    }
}

/// SIGTERM or SIGINT.
async fn terminate_signal() {
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

async fn cmd_daemon(dir: PathBuf, data_dir: PathBuf, model: &ModelArgs, listen: &str, api: &ApiArgs, reload_secs: u64, grace_secs: u64) -> u8 {
    if !dir.is_dir() {
        eprintln!("error: {} is not a directory of pipeline files", dir.display());
        return EXIT_INVALID;
    }
    let embedder = match load_embedder(&EmbeddingSpec::default(), Path::new("."), Some(model)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    let cfg = sluice_daemon::DaemonConfig {
        dir,
        data_root: data_dir,
        reload_every: std::time::Duration::from_secs(reload_secs.max(1)),
        shutdown_grace: std::time::Duration::from_secs(grace_secs),
    };
    let (access, keys) = match api_access(api, listen).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    // The daemon is both the scheduler and the index set the API searches.
    let daemon_cell: Arc<std::sync::OnceLock<Arc<sluice_daemon::Daemon>>> = Arc::default();
    let indexes: Arc<dyn sluice_api::IndexSet> = Arc::new(LateIndexSet(daemon_cell.clone()));
    let state = sluice_api::ApiState::over(indexes, embedder.clone(), access, keys);
    let metrics = match sluice_daemon::SyncMetrics::register(state.registry()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: metrics: {e}");
            return EXIT_RUNTIME;
        }
    };
    let daemon = sluice_daemon::Daemon::with_metrics(cfg, embedder, Some(metrics));
    let _ = daemon_cell.set(daemon.clone());
    let app = match sluice_api::with_cors(sluice_daemon::api::full_router(daemon.clone(), state), &api.cors_origins) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID;
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return EXIT_RUNTIME;
        }
    };
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| listen.to_string());
    eprintln!("daemon listening on http://{local}  (search page at /, POST /v1/search, GET /v1/pipelines, POST /v1/pipelines/{{name}}/sync, /metrics, /healthz, /readyz)");
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
    0
}

/// The daemon's indexes, once the daemon exists (the API state is built first
/// because the daemon's metrics register on its registry).
struct LateIndexSet(Arc<std::sync::OnceLock<Arc<sluice_daemon::Daemon>>>);

impl sluice_api::IndexSet for LateIndexSet {
    fn indexes(&self) -> Vec<Arc<dyn sluice_index::SearchBackend>> {
        self.0.get().map(|d| sluice_api::IndexSet::indexes(d.as_ref())).unwrap_or_default()
    }
}

fn cmd_status(path: &Path, data_dir: &Path, json: bool) -> u8 {
    let loaded = match load_pipeline(path) {
        Ok(l) => l,
        Err(diags) => {
            print_diagnostics(&diags);
            return EXIT_INVALID;
        }
    };
    let state_path = sluice_engine::state_path(data_dir);
    if !state_path.exists() {
        eprintln!("error: no state at {}; the pipeline has not run with this data dir", state_path.display());
        return EXIT_RUNTIME;
    }
    let state = match sluice_state::StateStore::open(&state_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    let name = &loaded.spec.name;
    let (counts, runs, dead) = match (state.count_documents(name), state.last_runs(name), state.dead_letters(name, 10)) {
        (Ok(c), Ok(r), Ok(d)) => (c, r, d),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            eprintln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    if json {
        let v = serde_json::json!({
            "pipeline": name,
            "sources": counts.iter().map(|(s, d, c)| serde_json::json!({"source": s, "documents": d, "chunks": c})).collect::<Vec<_>>(),
            "last_runs": runs,
            "recent_dead_letters": dead,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        output::print_status(name, &counts, &runs, &dead);
    }
    0
}
