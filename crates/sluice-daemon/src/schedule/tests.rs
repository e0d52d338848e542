//! The scheduler on a virtual clock: no sleeps.

use chrono::TimeZone;

use super::*;

fn spec(cron: &str) -> ScheduleSpec {
    ScheduleSpec {
        cron: cron.into(),
        timezone: None,
        full_sync_cron: None,
        prune_cron: None,
        permissions_cron: None,
        jitter_secs: 0,
        run_timeout_secs: 60,
    }
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Steps a virtual clock second by second, finishing jobs `busy_for` later.
fn simulate(sched: &mut Scheduler, start: DateTime<Utc>, secs: i64, busy_for: i64) -> Vec<Job> {
    let mut all = Vec::new();
    let mut running: Vec<(DateTime<Utc>, Job)> = Vec::new();
    for i in 0..=secs {
        let now = start + Duration::seconds(i);
        running.retain(|(until, j)| {
            if *until <= now {
                assert!(sched.finished(&j.pipeline, &j.source));
                false
            } else {
                true
            }
        });
        for j in sched.due(now) {
            running.push((now + Duration::seconds(busy_for), j.clone()));
            all.push(j);
        }
    }
    all
}

#[test]
fn runs_on_cadence() {
    let start = t("2026-03-01T10:00:00Z");
    let mut s = Scheduler::default();
    s.set(
        "p",
        "a",
        Some(SourceSchedule::from_spec(&spec("*/10 * * * * *")).unwrap()),
        Some(start),
        start,
    );
    let jobs = simulate(&mut s, start, 60, 0);
    let times: Vec<String> = jobs
        .iter()
        .map(|j| j.due.format("%M:%S").to_string())
        .collect();
    assert_eq!(
        times,
        vec!["00:10", "00:20", "00:30", "00:40", "00:50", "01:00"]
    );
    assert!(jobs.iter().all(|j| j.kind == RunKind::Incremental));
}

#[test]
fn never_overlaps_a_running_source() {
    let start = t("2026-03-01T10:00:00Z");
    let mut s = Scheduler::default();
    s.set(
        "p",
        "a",
        Some(SourceSchedule::from_spec(&spec("*/10 * * * * *")).unwrap()),
        Some(start),
        start,
    );
    s.set(
        "p",
        "b",
        Some(SourceSchedule::from_spec(&spec("*/10 * * * * *")).unwrap()),
        Some(start),
        start,
    );
    // Each run takes 25 s: of the due times 10, 20, 30 … only every third starts.
    let jobs = simulate(&mut s, start, 60, 25);
    let a: Vec<String> = jobs
        .iter()
        .filter(|j| j.source == "a")
        .map(|j| j.due.format("%M:%S").to_string())
        .collect();
    assert_eq!(a, vec!["00:10", "00:40"]);
    assert_eq!(s.status("p", "a").unwrap().skipped, 4);
    // Another source is not held back by it.
    assert_eq!(jobs.iter().filter(|j| j.source == "b").count(), 2);
    // A manual sync cannot start while a scheduled run is going either.
    let mut s = Scheduler::default();
    s.set(
        "p",
        "a",
        Some(SourceSchedule::from_spec(&spec("*/10 * * * * *")).unwrap()),
        None,
        start,
    );
    assert_eq!(s.due(start).len(), 1);
    assert!(!s.try_start("p", "a"));
    assert!(s.finished("p", "a"));
    assert!(s.try_start("p", "a"));
}

#[test]
fn jitter_is_bounded_stable_and_spreads_sources() {
    let start = t("2026-03-01T00:00:00Z");
    let mut sp = spec("0 * * * * *");
    sp.jitter_secs = 30;
    let sched = SourceSchedule::from_spec(&sp).unwrap();
    let mut offsets = std::collections::BTreeSet::new();
    for n in 0..50 {
        let source = format!("s{n}");
        let (at, _) = sched.next(start, &format!("p/{source}")).unwrap();
        // The nominal minute this run belongs to.
        let nominal = DateTime::from_timestamp(at.timestamp() - at.timestamp() % 60, 0).unwrap();
        let off = at - nominal;
        assert!(
            off >= Duration::zero() && off < Duration::seconds(30),
            "{off}"
        );
        assert_eq!(
            sched.next(start, &format!("p/{source}")).unwrap().0,
            at,
            "stable"
        );
        offsets.insert(off.num_milliseconds());
    }
    assert!(offsets.len() > 40, "offsets spread: {}", offsets.len());
    // The virtual-clock run honours it too.
    let mut s = Scheduler::default();
    s.set("p", "a", Some(sched.clone()), Some(start), start);
    for j in simulate(&mut s, start, 600, 0) {
        let nominal =
            DateTime::from_timestamp(j.due.timestamp() - j.due.timestamp() % 60, 0).unwrap();
        assert!(j.due - nominal < Duration::seconds(30) && j.due >= nominal);
    }
}

#[test]
fn missed_runs_after_downtime_collapse_into_one() {
    let now = t("2026-03-01T15:20:00Z");
    let mut s = Scheduler::default();
    // Hourly; last ran at 10:00, down until 15:20: five runs were missed.
    s.set(
        "p",
        "a",
        Some(SourceSchedule::from_spec(&spec("0 0 * * * *")).unwrap()),
        Some(t("2026-03-01T10:00:00Z")),
        now,
    );
    let jobs = s.due(now);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].due, t("2026-03-01T11:00:00Z"));
    assert!(s.due(now).is_empty());
    s.finished("p", "a");
    assert_eq!(
        s.status("p", "a").unwrap().next_run,
        Some(t("2026-03-01T16:00:00Z"))
    );
    // Never ran: due at once.
    s.set(
        "p",
        "new",
        Some(SourceSchedule::from_spec(&spec("0 0 * * * *")).unwrap()),
        None,
        now,
    );
    assert_eq!(s.due(now).len(), 1);
}

#[test]
fn full_and_prune_cadences_win_their_slots() {
    let mut sp = spec("0 0 * * * *");
    sp.full_sync_cron = Some("0 0 3 * * *".into());
    sp.prune_cron = Some("0 30 */6 * * *".into());
    let sched = SourceSchedule::from_spec(&sp).unwrap();
    assert_eq!(
        sched.next(t("2026-03-01T02:10:00Z"), "k"),
        Some((t("2026-03-01T03:00:00Z"), RunKind::Full))
    );
    assert_eq!(
        sched.next(t("2026-03-01T03:00:00Z"), "k"),
        Some((t("2026-03-01T04:00:00Z"), RunKind::Incremental))
    );
    assert_eq!(
        sched.next(t("2026-03-01T05:40:00Z"), "k"),
        Some((t("2026-03-01T06:00:00Z"), RunKind::Incremental))
    );
    assert_eq!(
        sched.next(t("2026-03-01T06:00:00Z"), "k"),
        Some((t("2026-03-01T06:30:00Z"), RunKind::Prune))
    );
}

#[test]
fn time_zones_follow_daylight_saving() {
    let mut sp = spec("0 0 9 * * *");
    sp.timezone = Some("Europe/Berlin".into());
    let sched = SourceSchedule::from_spec(&sp).unwrap();
    assert_eq!(
        sched.next(t("2026-01-10T00:00:00Z"), "k").unwrap().0,
        Utc.with_ymd_and_hms(2026, 1, 10, 8, 0, 0).unwrap()
    );
    assert_eq!(
        sched.next(t("2026-07-10T00:00:00Z"), "k").unwrap().0,
        Utc.with_ymd_and_hms(2026, 7, 10, 7, 0, 0).unwrap()
    );
    sp.timezone = Some("Mars/Olympus".into());
    assert!(
        SourceSchedule::from_spec(&sp)
            .unwrap_err()
            .contains("Mars/Olympus")
    );
}
