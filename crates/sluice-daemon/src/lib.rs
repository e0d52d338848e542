//! The scheduled sync daemon (`sluice daemon`).

pub mod api;
pub mod daemon;
pub mod metrics;
pub mod schedule;

pub use daemon::{Coordination, Daemon, DaemonConfig, HealthBody, PipelineStatusBody};
pub use metrics::SyncMetrics;
pub use schedule::{Job, RunKind, Scheduler, SlotStatus, SourceSchedule};
