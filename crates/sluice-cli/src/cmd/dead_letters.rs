//! `sluice dead-letters list|retry|purge`: the records a pipeline could not
//! index (and notes on those it indexed in part), re-reading them through
//! their source, and clearing the record.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::{DataDir, SharedStateArg};
use crate::common::load_pipeline;
use crate::error::Failure;

#[derive(Subcommand)]
pub enum Action {
    /// Newest first: kind (failed, or partial: indexed in part), when,
    /// attempts, source, where, record id and reason.
    List {
        pipeline: PathBuf,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        shared: SharedStateArg,
        #[arg(long)]
        source: Option<String>,
        #[arg(long, value_parser = ["failed", "partial"])]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Re-read each failed record by its id through its source and index
    /// what comes back; records that now index leave the record, records
    /// gone at the source are deleted. Sources that cannot read single
    /// records say so (a full run re-reads them).
    Retry {
        pipeline: PathBuf,
        #[command(flatten)]
        data: DataDir,
        /// Only this source (repeatable).
        #[arg(long = "source")]
        sources: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove entries: all, or of one source, kind, or older than N days.
    Purge {
        pipeline: PathBuf,
        #[command(flatten)]
        data: DataDir,
        #[command(flatten)]
        shared: SharedStateArg,
        #[arg(long)]
        source: Option<String>,
        #[arg(long, value_parser = ["failed", "partial"])]
        kind: Option<String>,
        #[arg(long)]
        older_than_days: Option<u32>,
    },
}

fn open_state(
    path: &Path,
    data_dir: &Path,
    shared: Option<&str>,
) -> Result<(String, sluice_state::StateStore), Failure> {
    let loaded = load_pipeline(path)?;
    let state = crate::common::open_state(data_dir, shared)?;
    Ok((loaded.spec.name, state))
}

pub async fn run(action: Action) -> Result<(), Failure> {
    match action {
        Action::List {
            pipeline,
            data,
            shared,
            source,
            kind,
            limit,
            json,
        } => {
            let (name, state) = open_state(&pipeline, &data.data_dir, shared.shared_state.as_deref())?;
            let entries = state
                .dead_letter_entries(&name, source.as_deref(), kind.as_deref(), limit)
                .map_err(Failure::runtime)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&entries).unwrap_or_default()
                );
            } else if entries.is_empty() {
                println!("no dead letters for pipeline {name}");
            } else {
                for e in &entries {
                    let l = &e.letter;
                    println!(
                        "{:<7} {} x{} [{}] {} id={}: {}",
                        e.kind,
                        e.at,
                        e.attempts,
                        l.source,
                        l.location,
                        l.external_id.as_deref().unwrap_or("-"),
                        l.error
                    );
                }
            }
            Ok(())
        }
        Action::Retry {
            pipeline,
            data,
            sources,
            json,
        } => {
            let opts = sluice_engine::RunOptions {
                retry_dead_letters: true,
                only_sources: sources,
                ..Default::default()
            };
            crate::cmd::run::run(&pipeline, &data.data_dir, opts, json).await
        }
        Action::Purge {
            pipeline,
            data,
            shared,
            source,
            kind,
            older_than_days,
        } => {
            let (name, state) = open_state(&pipeline, &data.data_dir, shared.shared_state.as_deref())?;
            let before = older_than_days.map(|d| {
                (chrono::Utc::now() - chrono::Duration::days(d.into()))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            });
            let n = state
                .purge_dead_letters(&name, source.as_deref(), kind.as_deref(), before.as_deref())
                .map_err(Failure::runtime)?;
            println!(
                "removed {n} dead-letter entr{} from pipeline {name}",
                if n == 1 { "y" } else { "ies" }
            );
            Ok(())
        }
    }
}
