//! Leases and fencing against a real PostgreSQL server (Debian's package,
//! a fresh cluster per test): one owner at a time, takeover after expiry
//! with a larger token, and a stalled owner's late checkpoint refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_coord::{LeaseError, Leases};
use sluice_testservers::postgres_server::PostgresServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_owner_at_a_time_and_a_late_checkpoint_is_refused() {
    let Some(pg) = PostgresServer::start().unwrap() else {
        return;
    };
    // Eight replicas, each with its own connection, race for one job.
    let mut replicas = Vec::new();
    for _ in 0..8 {
        replicas.push(Arc::new(Leases::connect(&pg.url()).await.unwrap()));
    }
    let ttl = Duration::from_millis(1500);
    let won = futures::future::join_all(replicas.iter().enumerate().map(|(i, r)| {
        let r = r.clone();
        async move {
            r.try_acquire("wiki/confluence", &format!("replica-{i}"), ttl)
                .await
                .unwrap()
        }
    }))
    .await;
    let holders: Vec<_> = won.iter().flatten().collect();
    assert_eq!(
        holders.len(),
        1,
        "exactly one replica holds the job: {won:?}"
    );
    let a = holders[0].clone();
    let ra = &replicas[a
        .owner
        .trim_start_matches("replica-")
        .parse::<usize>()
        .unwrap()];
    assert_eq!(a.token, 1);
    // The holder renews and commits; re-acquiring is a renewal (same token).
    ra.renew(&a, ttl).await.unwrap();
    assert_eq!(
        ra.try_acquire(&a.job, &a.owner, ttl).await.unwrap(),
        Some(a.clone())
    );
    ra.commit_checkpoint(&a, Some("page-1")).await.unwrap();
    assert_eq!(
        ra.checkpoint(&a.job).await.unwrap(),
        Some((Some("page-1".into()), 1))
    );

    // The holder stalls (no renewal). Another replica polls and takes the
    // job over once the lease lapsed, with a larger token.
    let b_index = (0..8).find(|i| format!("replica-{i}") != a.owner).unwrap();
    let rb = &replicas[b_index];
    let b_owner = format!("replica-{b_index}");
    let stalled_at = Instant::now();
    let b = loop {
        if let Some(l) = rb.try_acquire(&a.job, &b_owner, ttl).await.unwrap() {
            break l;
        }
        assert!(stalled_at.elapsed() < ttl * 4, "no takeover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let takeover = stalled_at.elapsed();
    eprintln!(
        "takeover after {} ms (lease {} ms, poll 50 ms)",
        takeover.as_millis(),
        ttl.as_millis()
    );
    assert!(takeover >= ttl - Duration::from_millis(200), "{takeover:?}");
    assert_eq!(b.token, 2);

    // The stalled owner wakes up: its renewal and its checkpoint are refused.
    assert!(matches!(
        ra.renew(&a, ttl).await,
        Err(LeaseError::Fenced { .. })
    ));
    let late = ra.commit_checkpoint(&a, Some("stale-page-9")).await;
    match late {
        Err(LeaseError::Fenced { now, .. }) => assert!(now.contains(&b_owner), "{now}"),
        other => panic!("a late checkpoint was not fenced: {other:?}"),
    }
    assert_eq!(
        rb.checkpoint(&a.job).await.unwrap(),
        Some((Some("page-1".into()), 1)),
        "the new owner resumes from the last checkpoint made under a held lease"
    );
    rb.commit_checkpoint(&b, Some("page-2")).await.unwrap();
    assert_eq!(
        ra.checkpoint(&a.job).await.unwrap(),
        Some((Some("page-2".into()), 2))
    );

    // A lease that lapsed with nobody waiting is not revived: its owner's
    // writes are refused until it acquires again (a new token).
    let solo = Duration::from_millis(300);
    let c = ra
        .try_acquire("gitlab/mrs", &a.owner, solo)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(solo + Duration::from_millis(200)).await;
    assert!(matches!(
        ra.commit_checkpoint(&c, Some("x")).await,
        Err(LeaseError::Fenced { .. })
    ));
    let again = ra
        .try_acquire("gitlab/mrs", &a.owner, ttl)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.token, c.token + 1);
    ra.commit_checkpoint(&again, Some("x")).await.unwrap();

    // A finished run is recorded for the other replicas, fenced.
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 1000;
    assert!(!rb.completed_since(&b.job, "incremental", before).await.unwrap());
    assert!(matches!(ra.complete(&a, "incremental").await, Err(LeaseError::Fenced { .. })));
    assert!(!rb.completed_since(&b.job, "incremental", before).await.unwrap());
    rb.complete(&b, "incremental").await.unwrap();
    assert!(ra.completed_since(&b.job, "incremental", before).await.unwrap());
    // A finished incremental run does not stand for a full one.
    assert!(!ra.completed_since(&b.job, "full", before).await.unwrap());
    assert!(!ra.completed_since(&b.job, "incremental", before + 3_600_000).await.unwrap());

    // A clean release hands the job over at once.
    rb.release(&b).await.unwrap();
    assert!(
        ra.try_acquire(&b.job, &a.owner, ttl)
            .await
            .unwrap()
            .is_some()
    );
    let h = rb.holder(&b.job).await.unwrap().unwrap();
    assert_eq!((h.owner.as_str(), h.expired), (a.owner.as_str(), false));
    assert!(h.token > b.token, "ownership moved: a larger token");
}
