//! `sluice`: run pipelines, validate them, search, serve the API, report
//! status and evaluate retrieval. One module per command under `cmd/`;
//! every command returns `Result<(), Failure>`, and [`error`] maps that to
//! the documented exit codes in one place.

mod cmd;
mod common;
mod error;
mod output;
mod telemetry;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::{EXIT_RUNTIME, Failure};

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Keeps company knowledge searchable: sync sources into a hybrid search index"
)]
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

/// Reading the state several daemon replicas share.
#[derive(Args, Clone)]
pub struct SharedStateArg {
    /// PostgreSQL URL of the state daemon replicas share (their
    /// `--shared-state`); read instead of the data directory's.
    #[arg(long, env = "SLUICE_SHARED_STATE_URL")]
    pub shared_state: Option<String>,
}

#[derive(Args, Clone)]
pub struct ModelArgs {
    /// Directory with model.onnx + tokenizer.json (default: $SLUICE_HOME/models/all-MiniLM-L6-v2).
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// ONNX Runtime intra-op threads (default: the physical cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Model weights: `int8` (model-int8.onnx) or `fp32` (model.onnx);
    /// default: the pipeline's `embedding.precision` (int8).
    #[arg(long, value_parser = ["int8", "fp32"])]
    pub precision: Option<String>,
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
        #[arg(long, conflicts_with = "permissions")]
        prune: bool,
        /// Permission sync pass: list each record's access only and update
        /// it in place in every store (no content read where the source can
        /// avoid it, nothing embedded, checkpoints untouched).
        #[arg(long, conflicts_with = "full")]
        permissions: bool,
        /// Let a prune delete more than `prune.max_delete_percent` of a
        /// source's documents, or act on an empty listing (the guard stops
        /// such a prune otherwise).
        #[arg(long)]
        allow_mass_delete: bool,
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
        /// Search as these principals, as stored (comma-separated, e.g. `confluence:wiki:group:hr,group:eng`); default: public documents only.
        #[arg(long = "as")]
        principals: Option<String>,
        /// Ignore document ACLs (trusted local use).
        #[arg(long, conflicts_with = "principals")]
        all_access: bool,
        #[arg(long)]
        json: bool,
        /// Show under each hit the documents it is linked to (that you may read).
        #[arg(long)]
        related: bool,
    },
    /// Documents linked to one (issue keys, GitLab references, page links, URLs, parents), each one the principals may read.
    Related {
        /// A document id (the `id` of a hit) or `source:external_id`, e.g. `jira:PAY-1432`.
        doc: String,
        /// Read this pipeline's stores instead of the data directory's index.
        #[arg(long)]
        pipeline: Option<PathBuf>,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        model: ModelArgs,
        /// 1: linked documents; 2: also the documents linked to those.
        #[arg(long, default_value_t = 1)]
        depth: usize,
        /// Linked documents shown per document.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// As these principals, as stored (comma-separated); default: public documents only.
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
        api: cmd::serve::ApiArgs,
    },
    /// Make an API key for `serve --api-keys`: prints the key once and the
    /// entry (with only its hash) to add to the key file.
    Keygen {
        /// A name for logs and metrics, e.g. intranet-search.
        #[arg(long)]
        name: String,
        /// Principals the key searches as, as stored (`confluence:wiki:group:hr`; repeatable).
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
        api: cmd::serve::ApiArgs,
        /// Seconds between checks for changed pipeline files.
        #[arg(long, default_value_t = 2)]
        reload_secs: u64,
        /// Seconds shutdown waits for in-flight runs before abandoning them.
        #[arg(long, default_value_t = 30)]
        shutdown_grace_secs: u64,
        #[command(flatten)]
        replicas: cmd::daemon::ReplicaArgs,
    },
    /// Show what a pipeline has indexed and how its last runs went.
    Status {
        pipeline: PathBuf,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        shared: SharedStateArg,
        #[arg(long)]
        json: bool,
    },
    /// Retrieval quality on a BEIR-style dataset: nDCG@10 and Recall@100 per mode.
    Eval(cmd::eval::EvalArgs),
    /// The dead-letter record: records that failed (and notes on records
    /// indexed in part). It keeps where, which id and why, never content.
    #[command(name = "dead-letters", subcommand)]
    DeadLetters(cmd::dead_letters::Action),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Deployment files are checked by parsing their command lines without
    // running them (see crates/sluice-cli/tests/deploy.rs).
    if std::env::var_os("SLUICE_CHECK_ARGS").is_some() {
        println!("arguments ok");
        return ExitCode::SUCCESS;
    }
    let traces = telemetry::init_logs(&cli.log_format, cli.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let outcome = rt.block_on(dispatch(cli.command));
    drop(rt);
    // Flush spans still in the batch queue.
    if let Some(p) = traces {
        if let Err(e) = p.shutdown() {
            eprintln!("warning: exporting the last traces failed: {e}");
        }
    }
    ExitCode::from(error::exit_code(outcome))
}

async fn dispatch(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Daemon {
            dir,
            data_dir,
            model,
            listen,
            api,
            reload_secs,
            shutdown_grace_secs,
            replicas,
        } => {
            cmd::daemon::run(
                dir,
                data_dir,
                &model,
                &listen,
                &api,
                reload_secs,
                shutdown_grace_secs,
                &replicas,
            )
            .await
        }
        Command::Run {
            pipeline,
            data,
            full,
            prune,
            permissions,
            allow_mass_delete,
            sources,
            json,
        } => {
            let opts = sluice_engine::RunOptions {
                full,
                prune,
                permissions,
                allow_mass_delete,
                only_sources: sources,
                ..Default::default()
            };
            cmd::run::run(&pipeline, &data.data_dir, opts, json).await
        }
        Command::Worker {
            pipeline,
            data,
            model,
            group,
            instance_id,
            metrics_addr,
            exit_when_idle,
            json,
        } => {
            let opts = cmd::worker::Options {
                group,
                instance_id,
                exit_when_idle: exit_when_idle.map(std::time::Duration::from_secs),
                metrics_addr,
                json,
            };
            cmd::worker::run(&pipeline, &data.data_dir, &model, opts).await
        }
        Command::Validate {
            pipeline,
            check_env,
        } => cmd::validate::run(&pipeline, check_env).await,
        Command::Search {
            query,
            pipeline,
            data,
            model,
            mode,
            top_k,
            filters,
            principals,
            all_access,
            json,
            related,
        } => {
            let args = cmd::search::Args {
                query,
                pipeline,
                mode,
                top_k,
                filters,
                principals,
                all_access,
                json,
                related,
            };
            cmd::search::run(args, &data.data_dir, &model).await
        }
        Command::Related {
            doc,
            pipeline,
            data,
            model,
            depth,
            limit,
            principals,
            all_access,
            json,
        } => {
            let args = cmd::related::Args {
                doc,
                pipeline,
                depth,
                limit,
                principals,
                all_access,
                json,
            };
            cmd::related::run(args, &data.data_dir, &model).await
        }
        Command::Serve {
            pipeline,
            data,
            model,
            addr,
            api,
        } => cmd::serve::run(pipeline.as_deref(), &data.data_dir, &model, &addr, &api).await,
        Command::Keygen {
            name,
            principals,
            requests_per_minute,
        } => cmd::keygen::run(&name, &principals, requests_per_minute),
        Command::Status {
            pipeline,
            data,
            shared,
            json,
        } => cmd::status::run(&pipeline, &data.data_dir, shared.shared_state.as_deref(), json),
        Command::Eval(args) => cmd::eval::run(args).await,
        Command::DeadLetters(action) => cmd::dead_letters::run(action).await,
    }
}
