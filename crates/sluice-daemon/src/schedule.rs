//! When each source runs. Pure and clock-free: callers pass `now`, so the
//! tests drive it with a virtual clock.
//!
//! - Four cadences per pipeline: incremental (`cron`), full re-sync
//!   (`full_sync_cron`), prune (`prune_cron`) and the permission pass
//!   (`permissions_cron`); when two fall together the stronger wins
//!   (full > prune > permissions > incremental).
//! - Jitter: every run of a source starts a stable offset in
//!   [0, `jitter_secs`) after its nominal time.
//! - No overlap: a source that is still running when it is due again is
//!   not started twice; the run is skipped and counted.
//! - Downtime: missed runs collapse into one run at start-up.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use cron::Schedule;
use serde::Serialize;
use sluice_spec::{ScheduleSpec, parse_cron};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Incremental,
    Permissions,
    Prune,
    Full,
}

#[derive(Debug, Clone)]
pub struct SourceSchedule {
    cadences: Vec<(Schedule, RunKind)>,
    tz: Tz,
    jitter_secs: u64,
}

impl SourceSchedule {
    pub fn from_spec(s: &ScheduleSpec) -> Result<SourceSchedule, String> {
        let mut cadences = vec![(parse_cron(&s.cron)?, RunKind::Incremental)];
        if let Some(f) = &s.full_sync_cron {
            cadences.push((parse_cron(f)?, RunKind::Full));
        }
        if let Some(p) = &s.prune_cron {
            cadences.push((parse_cron(p)?, RunKind::Prune));
        }
        if let Some(p) = &s.permissions_cron {
            cadences.push((parse_cron(p)?, RunKind::Permissions));
        }
        let tz = match &s.timezone {
            Some(z) => z.parse().map_err(|_| format!("unknown time zone `{z}`"))?,
            None => Tz::UTC,
        };
        Ok(SourceSchedule {
            cadences,
            tz,
            jitter_secs: s.jitter_secs,
        })
    }

    /// A stable offset for one source and nominal time.
    fn jitter(&self, key: &str, nominal: DateTime<Utc>) -> Duration {
        if self.jitter_secs == 0 {
            return Duration::zero();
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (key, nominal.timestamp()).hash(&mut h);
        Duration::milliseconds((h.finish() % (self.jitter_secs * 1000)) as i64)
    }

    /// The first run strictly after `after`, jitter included.
    pub fn next(&self, after: DateTime<Utc>, key: &str) -> Option<(DateTime<Utc>, RunKind)> {
        let mut best: Option<(DateTime<Utc>, RunKind)> = None;
        let from = (after - Duration::seconds(self.jitter_secs as i64)).with_timezone(&self.tz);
        for (sched, kind) in &self.cadences {
            for nominal in sched.after(&from).take(1000) {
                let nominal = nominal.with_timezone(&Utc);
                let at = nominal + self.jitter(key, nominal);
                if at > after {
                    best = match best {
                        Some((t, k)) if t < at || (t == at && k >= *kind) => Some((t, k)),
                        _ => Some((at, *kind)),
                    };
                    break;
                }
            }
        }
        best
    }
}

/// A run to start now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    pub pipeline: String,
    pub source: String,
    pub kind: RunKind,
    pub due: DateTime<Utc>,
    /// Asked for (the API's sync), not a tick: with replicas it runs even
    /// when another replica finished a run of the same kind since.
    pub manual: bool,
}

#[derive(Debug)]
struct Slot {
    /// `None`: manual syncs only (a pipeline without `schedule:`).
    schedule: Option<SourceSchedule>,
    next: Option<(DateTime<Utc>, RunKind)>,
    /// The tick a retried run (held off by another replica) stands for: a
    /// run another replica finished after it covers it.
    retry_of: Option<(DateTime<Utc>, bool)>,
    running: bool,
    skipped: u64,
}

/// Slot state as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlotStatus {
    pub next_run: Option<DateTime<Utc>>,
    pub next_kind: Option<RunKind>,
    pub running: bool,
    /// Runs not started because the previous one was still going.
    pub skipped: u64,
}

#[derive(Debug, Default)]
pub struct Scheduler {
    slots: BTreeMap<(String, String), Slot>,
}

fn key(pipeline: &str, source: &str) -> String {
    format!("{pipeline}/{source}")
}

impl Scheduler {
    /// Adds or replaces a source's schedule. `last_run` is when it last
    /// ran (from the state store): a run missed since then is due now,
    /// once; a source that never ran is due now.
    pub fn set(
        &mut self,
        pipeline: &str,
        source: &str,
        schedule: Option<SourceSchedule>,
        last_run: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) {
        let next = match (&schedule, last_run) {
            (None, _) => None,
            (Some(_), None) => Some((now, RunKind::Incremental)),
            // Due at or before `now` means missed while down: `due` runs it once.
            (Some(s), Some(t)) => s.next(t, &key(pipeline, source)),
        };
        let k = (pipeline.to_string(), source.to_string());
        let (running, skipped) = self
            .slots
            .get(&k)
            .map(|s| (s.running, s.skipped))
            .unwrap_or((false, 0));
        self.slots.insert(
            k,
            Slot {
                schedule,
                next,
                retry_of: None,
                running,
                skipped,
            },
        );
    }

    /// Drops a pipeline's sources that are not in `keep`.
    pub fn retain(&mut self, pipeline: &str, keep: &[String]) {
        self.slots
            .retain(|(p, s), _| p != pipeline || keep.contains(s));
    }

    pub fn remove_pipeline(&mut self, pipeline: &str) {
        self.slots.retain(|(p, _), _| p != pipeline);
    }

    /// Jobs due at `now`; each is marked running until `finished`.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Job> {
        let mut jobs = Vec::new();
        for ((pipeline, source), slot) in self.slots.iter_mut() {
            let Some((at, kind)) = slot.next else {
                continue;
            };
            if at > now {
                continue;
            }
            // Whatever fell due while down or busy collapses into this one.
            slot.next = slot
                .schedule
                .as_ref()
                .and_then(|s| s.next(now, &key(pipeline, source)));
            let retry_of = slot.retry_of.take();
            if slot.running {
                slot.skipped += 1;
                tracing::warn!(
                    pipeline,
                    source,
                    "previous run still going; this run is skipped"
                );
                continue;
            }
            slot.running = true;
            jobs.push(Job {
                pipeline: pipeline.clone(),
                source: source.clone(),
                kind,
                due: retry_of.map_or(at, |(t, _)| t.min(at)),
                manual: retry_of.is_some_and(|(_, m)| m),
            });
        }
        jobs
    }

    /// Marks a source idle; returns false when it was not running.
    pub fn finished(&mut self, pipeline: &str, source: &str) -> bool {
        match self
            .slots
            .get_mut(&(pipeline.to_string(), source.to_string()))
        {
            Some(s) if s.running => {
                s.running = false;
                true
            }
            _ => false,
        }
    }

    /// Brings the source's next run forward to `at` (a run another replica
    /// held off: tried again soon, not at the next tick).
    /// `tick` is when the held-off run fell due (`manual`: asked for); the
    /// retry keeps both.
    pub fn retry_at(&mut self, pipeline: &str, source: &str, at: DateTime<Utc>, kind: RunKind, tick: DateTime<Utc>, manual: bool) {
        if let Some(s) = self
            .slots
            .get_mut(&(pipeline.to_string(), source.to_string()))
        {
            if s.next.is_none_or(|(n, _)| n > at) {
                s.next = Some((at, kind));
                s.retry_of = Some((tick, manual));
            }
        }
    }

    /// Claims a source for a manual run; false when it is running already.
    pub fn try_start(&mut self, pipeline: &str, source: &str) -> bool {
        match self
            .slots
            .get_mut(&(pipeline.to_string(), source.to_string()))
        {
            Some(s) if !s.running => {
                s.running = true;
                true
            }
            _ => false,
        }
    }

    pub fn status(&self, pipeline: &str, source: &str) -> Option<SlotStatus> {
        self.slots
            .get(&(pipeline.to_string(), source.to_string()))
            .map(|s| SlotStatus {
                next_run: s.next.map(|n| n.0),
                next_kind: s.next.map(|n| n.1),
                running: s.running,
                skipped: s.skipped,
            })
    }

    /// When the next job falls due (the daemon sleeps until then).
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.slots
            .values()
            .filter_map(|s| s.next.map(|n| n.0))
            .min()
    }
}

#[cfg(test)]
mod tests;
