//! The scheduled sync daemon (`sluice daemon`).

pub mod schedule;

pub use schedule::{Job, RunKind, Scheduler, SlotStatus, SourceSchedule};
