//! The Sluice runtime: sources → Arrow batches → DataFusion SQL → chunking
//! → embedding → sinks, with checkpoints committed only after every sink
//! acknowledged a page.

pub mod chunker;
pub mod kafka;
pub mod registry;
pub mod runner;
pub mod stores;
pub mod transform;

pub use chunker::{ChunkText, Chunker};
pub use registry::{build_sources, embedder_config, validate_pipeline};
pub use kafka::{IndexWorker, WorkerMetrics, WorkerOptions, WorkerReport, kafka_config};
pub use runner::{IndexFailure, Indexed, Pipeline, ProgressEvent, RunOptions, RunReport, SourceReport, SourceStatus};
pub use stores::StoreSearch;
pub use transform::SqlTransform;

use std::path::{Path, PathBuf};

/// Default data directory: `$SLUICE_DATA_DIR`, else `./.sluice-data`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("SLUICE_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".sluice-data"))
}

pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("state.sqlite")
}

/// A Kafka worker's record of what it indexed (apart from the publisher's
/// `state.sqlite`, so both may share a data directory).
pub fn worker_state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("worker-state.sqlite")
}

pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("index")
}
