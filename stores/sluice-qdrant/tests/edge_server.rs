//! The Qdrant sink and vector search through the real `qdrant-client`
//! against Qdrant's gRPC API served over the real Qdrant engine
//! (`qdrant-edge`) on 127.0.0.1 — see `sluice-testservers`.

use std::sync::Arc;
use std::time::Duration;

use sluice_core::search::{Access, SearchFilters};
use sluice_core::{Chunk, ChunkWrite, DocKind, Document, DocumentWrite, Sink, SinkBatch};
use sluice_qdrant::{QdrantStore, QdrantStoreConfig};
use sluice_spec::{QdrantDistance, QdrantSinkSpec};
use sluice_testservers::qdrant_server::{Call, QdrantEdgeServer};

const DIM: usize = 4;

fn spec(url: &str) -> QdrantSinkSpec {
    serde_yaml_ng::from_str(&format!(
        "url: {url}\nmax_attempts: 4\ntimeout_secs: 5\nbatch_points: 2"
    ))
    .unwrap()
}

fn store(
    url: &str,
    collection: &str,
    dim: usize,
    tweak: impl FnOnce(&mut QdrantSinkSpec),
) -> QdrantStore {
    let mut s = spec(url);
    tweak(&mut s);
    QdrantStore::new(QdrantStoreConfig {
        spec: s,
        url: url.to_string(),
        api_key: None,
        collection: collection.into(),
        dim,
    })
    .unwrap()
}

fn doc(id: &str, acl: &[&str], labels: &[&str], updated_secs: i64) -> Document {
    let mut d = Document::new("wiki", id, DocKind::Page);
    d.title = format!("Page {id}");
    d.access = Some(if acl.is_empty() {
        sluice_core::DocAccess::Public
    } else {
        sluice_core::DocAccess::any_of(acl.iter().copied())
    });
    d.labels = labels.iter().map(|s| s.to_string()).collect();
    d.updated_at = chrono::DateTime::from_timestamp(updated_secs, 0);
    d
}

/// A unit vector along axis `axis` (+ a little of axis 3 to break ties).
fn axis(axis: usize) -> Vec<f32> {
    let mut v = vec![0.05; DIM];
    v[axis] = 1.0;
    v
}

fn write(d: &Document, chunks: &[(u32, Option<Vec<f32>>)], count: u32) -> DocumentWrite {
    let id = d.doc_id();
    DocumentWrite {
        links: None,
        doc_id: id,
        document: Arc::new(d.clone()),
        chunk_count: count,
        chunks: chunks
            .iter()
            .map(|(o, v)| ChunkWrite {
                chunk: Chunk::new(id, *o, format!("{} chunk {o}", d.external_id), 3),
                vector: v.clone(),
            })
            .collect(),
    }
}

#[tokio::test]
async fn bootstrap_creates_the_collection_with_payload_indexes_and_refuses_a_mismatch() {
    let server = QdrantEdgeServer::start().await.unwrap();
    let s = store(&server.url(), "kb", DIM, |_| {});
    let d = doc("a", &[], &[], 0);
    s.apply(&SinkBatch {
        writes: vec![write(&d, &[(0, Some(axis(0)))], 1)],
        deletes: vec![],
    })
    .await
    .unwrap();
    let indexes = server.payload_indexes("kb");
    for f in [
        "doc_id",
        "source",
        "kind",
        "labels",
        "acl_0",
        "acl_1",
        "acl_2",
        "acl_3",
        "updated_at",
        "ordinal",
    ] {
        assert!(
            indexes.contains_key(f),
            "no payload index on {f}: {indexes:?}"
        );
    }

    // Another model (8-dim) must not write into the 4-dim collection.
    let wrong_dim = store(&server.url(), "kb", 8, |_| {});
    let e = wrong_dim.apply(&SinkBatch::default()).await.unwrap_err();
    assert!(!e.transient);
    assert!(
        e.message
            .contains("holds 4-dim vectors with cosine distance")
            && e.message.contains("8-dim"),
        "{e}"
    );
    assert!(
        e.message.contains("set `collection:`"),
        "the error names the fix: {e}"
    );

    let wrong_distance = store(&server.url(), "kb", DIM, |s| {
        s.distance = QdrantDistance::Dot
    });
    let e = wrong_distance
        .apply(&SinkBatch::default())
        .await
        .unwrap_err();
    assert!(
        e.message.contains("cosine distance") && e.message.contains("dot distance"),
        "{e}"
    );
}

#[tokio::test]
async fn writes_shrink_and_delete_by_document_and_keep_unchanged_vectors() {
    let server = QdrantEdgeServer::start().await.unwrap();
    let s = store(&server.url(), "kb", DIM, |_| {});
    let (a, b) = (doc("a", &[], &[], 0), doc("b", &[], &[], 0));
    let first = SinkBatch {
        writes: vec![
            write(
                &a,
                &[(0, Some(axis(0))), (1, Some(axis(1))), (2, Some(axis(2)))],
                3,
            ),
            write(&b, &[(0, Some(axis(3)))], 1),
        ],
        deletes: vec![],
    };
    let ack = s.apply(&first).await.unwrap();
    assert_eq!(ack.chunks_written, 4);
    assert_eq!(s.count(None).await.unwrap(), 4);
    // Replaying the same batch (at-least-once delivery) changes nothing.
    s.apply(&first).await.unwrap();
    assert_eq!(s.count(None).await.unwrap(), 4);

    // `a` shrinks to 2 chunks: chunk 0 keeps its text (and vector), chunk 1 changes.
    let mut a2 = a.clone();
    a2.title = "Page a, renamed".into();
    s.apply(&SinkBatch {
        writes: vec![write(&a2, &[(0, None), (1, Some(axis(2)))], 2)],
        deletes: vec![],
    })
    .await
    .unwrap();
    assert_eq!(s.count(None).await.unwrap(), 3);
    let chunks = s.document_chunks(&a.doc_id()).await.unwrap();
    assert_eq!(
        chunks.iter().map(|c| c.ordinal).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert!(
        chunks.iter().all(|c| c.title == "Page a, renamed"),
        "payload refreshed: {chunks:?}"
    );
    // Chunk 0 still has its original vector: it is the nearest to axis 0, exactly.
    let hits = s
        .search_chunks(&axis(0), 1, &SearchFilters::default(), &Access::All)
        .await
        .unwrap();
    assert_eq!((hits[0].1.doc_id, hits[0].1.ordinal), (a.doc_id(), 0));
    assert!(
        (hits[0].0 - 1.0).abs() < 1e-4,
        "cosine of identical vectors: {}",
        hits[0].0
    );

    // Deleting `b` removes all its chunks.
    let ack = s
        .apply(&SinkBatch {
            writes: vec![],
            deletes: vec![b.doc_id()],
        })
        .await
        .unwrap();
    assert_eq!(ack.docs_deleted, 1);
    assert!(s.document_chunks(&b.doc_id()).await.unwrap().is_empty());
    assert_eq!(s.count(None).await.unwrap(), 2);

    // A kept vector that is gone from Qdrant is a clear, permanent error.
    let c = doc("c", &[], &[], 0);
    let e = s
        .apply(&SinkBatch {
            writes: vec![write(&c, &[(0, None)], 1)],
            deletes: vec![],
        })
        .await
        .unwrap_err();
    assert!(!e.transient && e.message.contains("--full"), "{e}");
}

#[tokio::test]
async fn transient_failures_are_retried_until_qdrant_confirms() {
    let server = QdrantEdgeServer::start().await.unwrap();
    let s = store(&server.url(), "kb", DIM, |_| {});
    let a = doc("a", &[], &[], 0);
    s.apply(&SinkBatch::default()).await.unwrap(); // bootstrap
    server.fail_next(Call::Upsert, 2);
    s.apply(&SinkBatch {
        writes: vec![write(&a, &[(0, Some(axis(0)))], 1)],
        deletes: vec![],
    })
    .await
    .unwrap();
    assert_eq!(
        server.calls(Call::Upsert),
        3,
        "two failures, then the write"
    );
    assert_eq!(s.count(None).await.unwrap(), 1);

    // Still down after every attempt: the batch fails, marked transient,
    // so the engine retries later and the checkpoint does not move.
    server.fail_next(Call::Delete, 100);
    let e = s
        .apply(&SinkBatch {
            writes: vec![],
            deletes: vec![a.doc_id()],
        })
        .await
        .unwrap_err();
    assert!(e.transient, "{e}");
    assert_eq!(s.count(None).await.unwrap(), 1, "nothing was deleted");
}

#[tokio::test]
async fn vector_search_applies_filters_and_acl_principals() {
    let server = QdrantEdgeServer::start().await.unwrap();
    let s = store(&server.url(), "kb", DIM, |_| {});
    let public = doc("public", &[], &["ops"], 1_700_000_000);
    let hr = doc("hr", &["group:hr"], &["people"], 1_600_000_000);
    let mut other = doc("jira-1", &[], &["ops"], 1_800_000_000);
    other.source = "jira".into();
    other.kind = DocKind::Issue;
    s.apply(&SinkBatch {
        writes: vec![
            write(&public, &[(0, Some(axis(0)))], 1),
            write(&hr, &[(0, Some(axis(0)))], 1),
            write(&other, &[(0, Some(axis(1)))], 1),
        ],
        deletes: vec![],
    })
    .await
    .unwrap();
    let ids = |hits: Vec<(f32, sluice_core::search::ChunkPayload)>| {
        let mut v: Vec<String> = hits.into_iter().map(|h| h.1.external_id).collect();
        v.sort();
        v
    };
    let q = axis(0);
    let all = SearchFilters::default();
    assert_eq!(
        ids(s
            .search_chunks(&q, 10, &all, &Access::public_only())
            .await
            .unwrap()),
        vec!["jira-1", "public"]
    );
    assert_eq!(
        ids(s
            .search_chunks(&q, 10, &all, &Access::Principals(vec!["group:hr".into()]))
            .await
            .unwrap()),
        vec!["hr", "jira-1", "public"]
    );
    assert_eq!(
        ids(s.search_chunks(&q, 10, &all, &Access::All).await.unwrap()).len(),
        3
    );
    let f = SearchFilters {
        sources: vec!["jira".into()],
        ..Default::default()
    };
    assert_eq!(
        ids(s.search_chunks(&q, 10, &f, &Access::All).await.unwrap()),
        vec!["jira-1"]
    );
    let f = SearchFilters {
        kinds: vec!["page".into()],
        labels: vec!["ops".into()],
        ..Default::default()
    };
    assert_eq!(
        ids(s.search_chunks(&q, 10, &f, &Access::All).await.unwrap()),
        vec!["public"]
    );
    let f = SearchFilters {
        updated_after: Some(1_650_000_000 * 1_000_000),
        updated_before: Some(1_750_000_000 * 1_000_000),
        ..Default::default()
    };
    assert_eq!(
        ids(s.search_chunks(&q, 10, &f, &Access::All).await.unwrap()),
        vec!["public"]
    );
    // Ranked by cosine: the two axis-0 documents first.
    let ranked = s.search_chunks(&q, 10, &all, &Access::All).await.unwrap();
    assert_eq!(ranked[2].1.external_id, "jira-1");
}

#[tokio::test]
async fn api_key_is_sent_and_a_wrong_one_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = QdrantEdgeServer::start_in(dir.path().join("q"), Some("s3cret".into()))
        .await
        .unwrap();
    let mk = |key: Option<&str>| {
        QdrantStore::new(QdrantStoreConfig {
            spec: spec(&server.url()),
            url: server.url(),
            api_key: key.map(str::to_string),
            collection: "kb".into(),
            dim: DIM,
        })
        .unwrap()
    };
    let e = mk(Some("wrong"))
        .apply(&SinkBatch::default())
        .await
        .unwrap_err();
    assert!(!e.transient);
    assert!(
        e.message.contains("Unauthenticated") || e.message.contains("API key"),
        "{e}"
    );
    mk(Some("s3cret"))
        .apply(&SinkBatch::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn slow_search_is_bounded_by_the_caller() {
    let server = QdrantEdgeServer::start().await.unwrap();
    let s = store(&server.url(), "kb", DIM, |_| {});
    s.apply(&SinkBatch::default()).await.unwrap();
    server.delay(Call::Search, Duration::from_secs(3));
    let r = tokio::time::timeout(
        Duration::from_millis(300),
        s.search_chunks(&axis(0), 5, &SearchFilters::default(), &Access::All),
    )
    .await;
    assert!(
        r.is_err(),
        "the search waits for the slow server until the caller's deadline"
    );
}
