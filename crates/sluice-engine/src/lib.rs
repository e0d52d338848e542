//! The Sluice runtime: sources → plan what changed → a destination (index
//! in-process: Arrow batches → DataFusion SQL → chunking → embedding →
//! stores; or publish to a transport) → checkpoints, committed only after
//! every store (or the broker) acknowledged a page.
//!
//! The engine knows the contracts of `sluice-core` only: concrete sources,
//! stores and transports come from the [`Registry`](sluice_core::Registry)
//! its caller passes in (`sluice-catalog` builds the shipped one).

pub mod chunker;
mod index;
mod plan;
mod publish;
pub mod registry;
pub mod related;
mod report;
pub mod runner;
pub mod transform;

pub use chunker::{ChunkText, Chunker};
pub use index::{IndexFailure, Indexed};
pub use registry::{
    Stores, build_sources, embedder_config, open_data_dir_search, open_publisher,
    open_search_backend, open_stores, validate_pipeline,
};
pub use report::{ProgressEvent, RunOptions, RunReport, SourceReport, SourceStatus};
pub use runner::Pipeline;
pub use transform::SqlTransform;

use std::path::{Path, PathBuf};

/// Default data directory: `$SLUICE_DATA_DIR`, else `./.sluice-data`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("SLUICE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".sluice-data"))
}

pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("state.sqlite")
}

/// A worker's record of what it indexed (apart from the publisher's
/// `state.sqlite`, so both may share a data directory).
pub fn worker_state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("worker-state.sqlite")
}

pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("index")
}
