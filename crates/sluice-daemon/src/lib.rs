//! The scheduled sync daemon (`sluice daemon`).

pub mod api;
pub mod daemon;
pub mod schedule;

pub use daemon::{Daemon, DaemonConfig, PipelineStatusBody};
pub use schedule::{Job, RunKind, Scheduler, SlotStatus, SourceSchedule};
