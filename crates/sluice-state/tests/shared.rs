//! The shared state in a real PostgreSQL server (Debian's package, a fresh
//! cluster per test): what the embedded store keeps round-trips, page
//! commits need the job's lease, and a replica whose lease moved on cannot
//! commit over the new owner's progress.

use std::time::Duration;

use sluice_coord::{Leases, job_key};
use sluice_core::DeadLetter;
use sluice_state::{DocGraph, DocState, Fence, PageCommit, RunRecord, StateStore};
use sluice_testservers::postgres_server::PostgresServer;

fn doc(ext: &str, hash: &str) -> DocState {
    DocState {
        doc_id: sluice_core::doc_id("jira", ext),
        source: "jira".into(),
        external_id: ext.into(),
        content_hash: hash.into(),
        meta_hash: "m".into(),
        chunk_hashes: vec!["c1".into(), "c2".into()],
        access: "{\"groups\":[\"eng\"]}".into(),
        source_access: String::new(),
        graph: None,
    }
}

fn fence(l: &sluice_coord::Lease) -> Fence {
    Fence {
        job: l.job.clone(),
        owner: l.owner.clone(),
        token: l.token,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_needs_the_lease_and_a_moved_lease_refuses_it() {
    let Some(pg) = PostgresServer::start().unwrap() else {
        return;
    };
    // Reading (status, dead letters) never creates the state.
    let err = StateStore::open_shared_existing(&pg.url()).err().expect("no state yet").to_string();
    assert!(err.contains("holds no Sluice state"), "{err}");
    let leases = Leases::connect(&pg.url()).await.unwrap();
    // Two replicas open the same shared state at once: one creates it.
    let (a, b) = {
        let (u1, u2) = (pg.url(), pg.url());
        let t1 = std::thread::spawn(move || StateStore::open_shared(&u1));
        let t2 = std::thread::spawn(move || StateStore::open_shared(&u2));
        (t1.join().unwrap().unwrap(), t2.join().unwrap().unwrap())
    };
    assert!(a.is_shared() && b.is_shared());
    assert!(StateStore::open_shared_existing(&pg.url()).unwrap().is_shared());
    let page1 = PageCommit {
        cursor: Some("page-1"),
        upserts: vec![doc("PAY-1", "h1")],
        ..Default::default()
    };
    // No lease held: refused, nothing written.
    let err = a.commit_page("wiki", "jira", &page1).unwrap_err().to_string();
    assert!(err.contains("no job lease is held for wiki/jira"), "{err}");
    assert_eq!(a.checkpoint("wiki", "jira").unwrap(), None);

    let ttl = Duration::from_millis(1200);
    let la = leases
        .try_acquire(&job_key("wiki", "jira"), "replica-a", ttl)
        .await
        .unwrap()
        .unwrap();
    a.set_fence("wiki", "jira", Some(fence(&la)));
    a.check_fence("wiki", "jira").unwrap();
    a.commit_page("wiki", "jira", &page1).unwrap();
    // The other replica reads what the first committed.
    assert_eq!(b.checkpoint("wiki", "jira").unwrap().as_deref(), Some("page-1"));
    assert_eq!(b.doc_states("wiki", &[doc("PAY-1", "").doc_id]).unwrap(), vec![doc("PAY-1", "h1")]);

    // Replica a stalls past its lease; b takes the job over and commits.
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    let lb = leases
        .try_acquire(&job_key("wiki", "jira"), "replica-b", ttl)
        .await
        .unwrap()
        .expect("a lapsed lease is taken over");
    assert!(lb.token > la.token);
    b.set_fence("wiki", "jira", Some(fence(&lb)));
    b.commit_page(
        "wiki",
        "jira",
        &PageCommit {
            cursor: Some("page-2"),
            upserts: vec![doc("PAY-1", "h2")],
            ..Default::default()
        },
    )
    .unwrap();
    // a wakes up and tries to commit an older view: refused, whole.
    let late = PageCommit {
        cursor: Some("page-1-late"),
        upserts: vec![doc("PAY-1", "stale"), doc("PAY-9", "stale")],
        deletes: vec![doc("PAY-1", "").doc_id],
        ..Default::default()
    };
    // Before writing to the stores it asks, and is told it lost the job.
    let err = a.check_fence("wiki", "jira").unwrap_err().to_string();
    assert!(err.contains("fenced"), "{err}");
    b.check_fence("wiki", "jira").unwrap();
    let err = a.commit_page("wiki", "jira", &late).unwrap_err().to_string();
    assert!(err.contains("fenced"), "{err}");
    assert_eq!(a.checkpoint("wiki", "jira").unwrap().as_deref(), Some("page-2"));
    let states = a
        .doc_states("wiki", &[doc("PAY-1", "").doc_id, doc("PAY-9", "").doc_id])
        .unwrap();
    assert_eq!(states, vec![doc("PAY-1", "h2")], "nothing of the late page landed");

    // Even the same owner cannot commit after its lease lapsed unrenewed.
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    let err = b
        .commit_page("wiki", "jira", &PageCommit { cursor: Some("page-3"), ..Default::default() })
        .unwrap_err()
        .to_string();
    assert!(err.contains("fenced"), "{err}");
    // A fence for one source does not cover another.
    let err = b
        .commit_page("wiki", "slack", &PageCommit { cursor: Some("x"), ..Default::default() })
        .unwrap_err()
        .to_string();
    assert!(err.contains("no job lease is held for wiki/slack"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_state_keeps_what_the_embedded_one_keeps() {
    let Some(pg) = PostgresServer::start().unwrap() else {
        return;
    };
    let leases = Leases::connect(&pg.url()).await.unwrap();
    let s = StateStore::open_shared(&pg.url()).unwrap();
    let lease = leases
        .try_acquire(&job_key("wiki", "jira"), "r", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    s.set_fence("wiki", "jira", Some(fence(&lease)));

    // Links: PAY-1 refers to PAY-2 by name; PAY-2 arrives in a later page.
    let mut d1 = doc("PAY-1", "h1");
    d1.graph = Some(DocGraph {
        kind: "issue".into(),
        title: "Double billing".into(),
        url: Some("https://jira/PAY-1".into()),
        names: vec!["jira:PAY-1".into()],
        edges: vec![("relates".into(), "jira:PAY-2".into())],
    });
    let letter = |ext: &str, err: &str| DeadLetter {
        source: "jira".into(),
        location: format!("issue {ext}"),
        external_id: Some(ext.into()),
        error: err.into(),
    };
    s.commit_page(
        "wiki",
        "jira",
        &PageCommit {
            cursor: Some("c1"),
            upserts: vec![d1.clone()],
            dead_letters: vec![letter("PAY-3", "bad body")],
            ..Default::default()
        },
    )
    .unwrap();
    assert!(s.linked("wiki", &[d1.doc_id]).unwrap().is_empty(), "PAY-2 is not indexed yet");
    let mut d2 = doc("PAY-2", "h2");
    d2.graph = Some(DocGraph {
        kind: "issue".into(),
        title: "Refund job".into(),
        url: None,
        names: vec!["jira:PAY-2".into()],
        edges: vec![],
    });
    s.commit_page(
        "wiki",
        "jira",
        &PageCommit {
            cursor: None,
            upserts: vec![d2.clone()],
            // Fails again: one entry, two attempts.
            dead_letters: vec![letter("PAY-3", "bad body again")],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.checkpoint("wiki", "jira").unwrap().as_deref(), Some("c1"), "no cursor keeps the last");
    let linked = s.linked("wiki", &[d1.doc_id]).unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(
        (linked[0].doc_id, linked[0].title.as_str(), linked[0].edge.as_str(), linked[0].outgoing),
        (d2.doc_id, "Refund job", "relates", true)
    );
    let back = s.linked("wiki", &[d2.doc_id]).unwrap();
    assert_eq!((back[0].doc_id, back[0].outgoing), (d1.doc_id, false));
    assert_eq!(s.resolved_edges("wiki").unwrap(), 1);
    assert_eq!(s.graph_size("wiki").unwrap(), (1, 2));
    assert_eq!(s.pipelines().unwrap(), vec!["wiki".to_string()]);
    let entries = s.dead_letter_entries("wiki", Some("jira"), None, 10).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].attempts, entries[0].letter.error.as_str()), (2, "bad body again"));
    assert_eq!(s.count_documents("wiki").unwrap(), vec![("jira".to_string(), 2, 4)]);

    // PAY-3 indexed at last: its dead letter settles. PAY-1 deleted: its
    // links go with it.
    s.commit_page(
        "wiki",
        "jira",
        &PageCommit {
            cursor: Some("c3"),
            upserts: vec![doc("PAY-3", "h3")],
            resolved: vec![doc("PAY-3", "").doc_id],
            deletes: vec![d1.doc_id],
            ..Default::default()
        },
    )
    .unwrap();
    assert!(s.dead_letters("wiki", 10).unwrap().is_empty());
    assert!(s.linked("wiki", &[d2.doc_id]).unwrap().is_empty());
    let mut ids: Vec<String> = s
        .doc_ids_for_source("wiki", "jira")
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["PAY-2", "PAY-3"]);

    // A new embedding space forgets hashes and checkpoints once; chunks are
    // still counted until rewritten.
    assert_eq!(s.adopt_embedding_space("wiki", "minilm/int8", "minilm/fp32").unwrap(), Some("minilm/fp32".into()));
    assert_eq!(s.adopt_embedding_space("wiki", "minilm/int8", "minilm/fp32").unwrap(), None);
    assert_eq!(s.checkpoint("wiki", "jira").unwrap(), None);
    let st = &s.doc_states("wiki", &[d2.doc_id]).unwrap()[0];
    assert_eq!((st.content_hash.as_str(), st.chunk_hashes.clone()), ("", vec![String::new(), String::new()]));
    assert_eq!(s.embedding_space("wiki").unwrap().as_deref(), Some("minilm/int8"));

    s.set_access("wiki", &[(d2.doc_id, "{\"users\":[\"ann\"]}".into(), "src".into())]).unwrap();
    let st = &s.doc_states("wiki", &[d2.doc_id]).unwrap()[0];
    assert_eq!((st.access.as_str(), st.source_access.as_str()), ("{\"users\":[\"ann\"]}", "src"));

    let run = RunRecord {
        pipeline: "wiki".into(),
        source: "jira".into(),
        started_at: "2026-12-07T00:00:00Z".into(),
        finished_at: "2026-12-07T00:00:05Z".into(),
        mode: "incremental".into(),
        status: "ok".into(),
        docs_added: 3,
        docs_updated: 0,
        docs_unchanged: 0,
        docs_deleted: 1,
        chunks_embedded: 6,
        dead_letters: 0,
        error: None,
    };
    s.record_run(&run).unwrap();
    assert_eq!(s.last_runs("wiki").unwrap(), vec![run]);
    assert_eq!(s.forget_documents("wiki").unwrap(), 2);
    assert_eq!(s.graph_size("wiki").unwrap(), (0, 0));
    assert_eq!(s.purge_dead_letters("wiki", None, None, None).unwrap(), 0);
}
