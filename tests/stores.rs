//! A pipeline whose `sinks:` block names Qdrant and Elasticsearch instead
//! of the embedded index, end to end: files → real ONNX embeddings → the
//! real `qdrant-client` against Qdrant's gRPC API over the Qdrant engine
//! (qdrant-edge), and the Elasticsearch sink against the recorded-contract
//! fixture server; then hybrid search over both through the HTTP API,
//! including one leg failing or timing out.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_core::search::Access;
use sluice_tests::{corpus, embedder, pipeline, run, write_jsonl};
use sluice_testservers::elastic_fixture::{ElasticFixture, Flavor, ItemFault};
use sluice_testservers::qdrant_server::{Call, QdrantEdgeServer};

fn yaml(qdrant: &str, es: &str) -> String {
    format!(
        r#"
name: stores
sources:
  - id: kb
    type: files
    settings:
      path: kb.jsonl
      kind: page
      mapping:
        acl: acl
        acl_fallback: public
chunking:
  max_tokens: 64
  overlap_tokens: 8
sinks:
  - type: qdrant
    url: {qdrant}
    search_timeout_ms: 500
  - type: elasticsearch
    url: {es}
    refresh: wait_for
    search_timeout_ms: 500
"#
    )
}

async fn serve(p: &sluice_engine::Pipeline) -> String {
    let backend = p
        .search_backend()
        .expect("a search backend over the stores");
    assert!(
        backend.describe().contains("qdrant") && backend.describe().contains("elasticsearch"),
        "{}",
        backend.describe()
    );
    let app = sluice_api::router(sluice_api::ApiState::over_backend(
        backend,
        embedder(),
        Access::public_only(),
        None,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn post(base: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/search"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn ids(v: &Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["external_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_into_qdrant_and_elasticsearch_with_hybrid_search() {
    let qdrant = QdrantEdgeServer::start().await.unwrap();
    let es = ElasticFixture::start(Flavor::Elasticsearch8).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&dir.path().join("kb.jsonl"), &corpus());
    let y = yaml(&qdrant.url(), &es.url());
    let p = pipeline(&y, dir.path(), &dir.path().join("data")).await;
    assert!(
        p.store::<sluice_index::EmbeddedIndex>().is_none(),
        "no embedded index when the sinks block names the stores"
    );

    let r = run(&p, &y, dir.path(), false).await;
    assert!(!r.failed(), "{:#?}", r.sources);
    let s = &r.sources[0];
    assert_eq!(s.docs_added, 5);
    assert_eq!(s.chunks_written, s.chunks_embedded);
    let chunks = s.chunks_written as usize;
    assert_eq!(
        es.documents("sluice-stores").len(),
        chunks,
        "every chunk in Elasticsearch"
    );
    assert_eq!(
        p.search_backend().unwrap().chunk_count().await,
        Some(chunks as u64),
        "every chunk in Qdrant"
    );

    let base = serve(&p).await;
    // Hybrid: both legs answer, fused by rank.
    let (status, v) = post(&base, json!({"query": "connection pool size"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["partial"], false);
    assert_eq!(ids(&v)[0], "pgbouncer", "{v}");
    assert_eq!(v["hits"][0]["keyword_rank"], 1);
    assert!(v["hits"][0]["vector_rank"].is_u64(), "{v}");
    assert!(
        v["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>pool</mark>"),
        "{v}"
    );
    // The vector leg finds meaning without shared words.
    let (_, v) = post(&base, json!({"query": "how often do we try again when giving customers their money back", "mode": "vector"})).await;
    assert_eq!(ids(&v)[0], "refunds", "{v}");
    // ACL and filters apply in both legs.
    let (_, v) = post(&base, json!({"query": "paid leave days"})).await;
    assert!(!ids(&v).contains(&"vacation".to_string()), "{v}");
    let (_, v) = post(
        &base,
        json!({"query": "pool", "filters": {"labels": ["runbook"]}}),
    )
    .await;
    assert_eq!(ids(&v), vec!["kafka-lag"], "{v}");
    // Documents come back from the stores too.
    let id = v["hits"][0]["id"].as_str().unwrap().to_string();
    let d: Value = reqwest::get(format!("{base}/v1/documents/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["external_id"], "kafka-lag");

    // Re-running over unchanged data writes nothing.
    let r = run(&p, &y, dir.path(), false).await;
    assert_eq!((r.sources[0].docs_unchanged, r.chunks_written()), (5, 0));

    // Edit one, delete one: the stores follow.
    let mut rows = corpus();
    rows[1]["text"] = json!(
        "PgBouncer runs in transaction mode with a pool size of 250 connections per database."
    );
    rows.remove(4);
    write_jsonl(&dir.path().join("kb.jsonl"), &rows);
    let r = run(&p, &y, dir.path(), false).await;
    assert_eq!(
        (r.sources[0].docs_updated, r.sources[0].docs_deleted),
        (1, 1),
        "{:#?}",
        r.sources[0]
    );
    assert!(
        es.documents("sluice-stores")
            .values()
            .all(|d| d["external_id"] != "laptop")
    );
    let (_, v) = post(
        &base,
        json!({"query": "laptop hardware accounts", "mode": "vector"}),
    )
    .await;
    assert!(
        !ids(&v).contains(&"laptop".to_string()),
        "deleted from Qdrant: {v}"
    );
    let (_, v) = post(&base, json!({"query": "250", "mode": "keyword"})).await;
    assert_eq!(ids(&v), vec!["pgbouncer"]);

    // A slow vector store: the keyword leg's hits, marked partial.
    qdrant.delay(Call::Search, Duration::from_secs(2));
    let (status, v) = post(&base, json!({"query": "consumer lag alert"})).await;
    assert_eq!(status, 200);
    assert_eq!(v["partial"], true, "{v}");
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("vector (qdrant) leg timed out"),
        "{v}"
    );
    assert_eq!(ids(&v)[0], "kafka-lag");
    assert!(v["hits"][0]["vector_rank"].is_null());
    qdrant.delay(Call::Search, Duration::ZERO);

    // Elasticsearch gone: the vector leg's hits, marked partial.
    drop(es);
    let (status, v) = post(
        &base,
        json!({"query": "what to do when consumers fall behind"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["partial"], true);
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("keyword (elasticsearch) leg failed"),
        "{v}"
    );
    assert_eq!(ids(&v)[0], "kafka-lag", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_elasticsearch_refuses_is_dead_lettered_and_the_rest_is_indexed() {
    let qdrant = QdrantEdgeServer::start().await.unwrap();
    let es = ElasticFixture::start(Flavor::OpenSearch2).await.unwrap();
    es.add_item_fault(ItemFault {
        field: "external_id".into(),
        value: json!("refunds"),
        status: 400,
        error_type: "mapper_parsing_exception".into(),
        reason: "failed to parse field [title] of type [text] in document with id 'x'".into(),
        times: None,
    });
    // And a transient hiccup on the vector side.
    qdrant.fail_next(Call::Upsert, 1);
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&dir.path().join("kb.jsonl"), &corpus());
    let y = yaml(&qdrant.url(), &es.url());
    let p = pipeline(&y, dir.path(), &dir.path().join("data")).await;
    let r = run(&p, &y, dir.path(), false).await;
    let s = &r.sources[0];
    assert!(!r.failed(), "{s:#?}");
    assert_eq!(s.dead_letter_count, 1, "{s:#?}");
    assert_eq!(s.dead_letters[0].external_id.as_deref(), Some("refunds"));
    assert!(
        s.dead_letters[0].location == "sink elasticsearch"
            && s.dead_letters[0].error.contains("mapper_parsing_exception"),
        "{:#?}",
        s.dead_letters
    );
    let stored: std::collections::BTreeSet<String> = es
        .documents("sluice-stores")
        .values()
        .map(|d| d["external_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        stored.into_iter().collect::<Vec<_>>(),
        vec!["kafka-lag", "laptop", "pgbouncer", "vacation"]
    );
    assert_eq!(p.state().dead_letters("stores", 10).unwrap().len(), 1);
    // The refused document's new version is not recorded as written, so the
    // next run tries it again instead of calling it unchanged.
    let refunds = sluice_core::doc_id("kb", "refunds");
    assert!(
        p.state()
            .doc_states("stores", &[refunds])
            .unwrap()
            .is_empty(),
        "a refused write must not record its content hash"
    );
    // Nor does any other store keep a version of it (an older one could
    // carry a broader access than the source now gives).
    let q = p.store::<sluice_qdrant::QdrantStore>().unwrap();
    assert!(
        sluice_core::search::VectorLeg::document_chunks(q.as_ref(), &refunds)
            .await
            .unwrap()
            .is_empty(),
        "removed from Qdrant too"
    );
    let r = run(&p, &y, dir.path(), false).await;
    let s = &r.sources[0];
    assert_eq!(
        (s.docs_unchanged, s.docs_added, s.dead_letter_count),
        (4, 1, 1),
        "{s:#?}"
    );
}

#[test]
fn the_stores_example_differs_from_the_demo_only_in_its_sinks() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let demo = sluice_spec::load_pipeline(&root.join("pipelines/demo.yaml")).unwrap();
    let stores = sluice_spec::load_pipeline(&root.join("pipelines/qdrant-elasticsearch.yaml"))
        .unwrap_or_else(|d| panic!("{d:#?}"));
    let strip = |p: &sluice_spec::LoadedPipeline| {
        let mut v = serde_json::to_value(&p.spec).unwrap();
        v.as_object_mut().unwrap().remove("sinks");
        v.as_object_mut().unwrap().remove("name");
        v
    };
    assert_eq!(strip(&demo), strip(&stores));
    let kinds: Vec<String> = stores
        .spec
        .sinks
        .iter()
        .map(|s| {
            serde_json::to_value(s).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds, vec!["qdrant", "elasticsearch"]);
}

/// Against real servers when they are given (e.g. the compose file's
/// Qdrant and Elasticsearch): `SLUICE_QDRANT_URL=http://127.0.0.1:6334
/// SLUICE_ES_URL=http://127.0.0.1:9200`. Nothing here can run them, so
/// without the variables this test only says it was skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_qdrant_and_elasticsearch_when_configured() {
    let (Ok(q), Ok(e)) = (
        std::env::var("SLUICE_QDRANT_URL"),
        std::env::var("SLUICE_ES_URL"),
    ) else {
        eprintln!("skipped: set SLUICE_QDRANT_URL and SLUICE_ES_URL to run against real servers");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&dir.path().join("kb.jsonl"), &corpus());
    // A fresh collection and alias per run.
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let y = yaml(&q, &e).replace("name: stores", &format!("name: real-{}", &suffix[..8]));
    let p = pipeline(&y, dir.path(), &dir.path().join("data")).await;
    let r = run(&p, &y, dir.path(), false).await;
    assert!(!r.failed(), "{:#?}", r.sources);
    let backend = p.search_backend().unwrap();
    assert_eq!(backend.chunk_count().await, Some(r.chunks_written()));
    let base = serve(&p).await;
    let (_, v) = post(&base, json!({"query": "connection pool size"})).await;
    assert_eq!(v["partial"], false, "{v}");
    assert_eq!(ids(&v)[0], "pgbouncer", "{v}");
    let (_, v) = post(&base, json!({"query": "paid leave days"})).await;
    assert!(!ids(&v).contains(&"vacation".to_string()), "{v}");
    let mut rows = corpus();
    rows.remove(4);
    write_jsonl(&dir.path().join("kb.jsonl"), &rows);
    let r = run(&p, &y, dir.path(), false).await;
    assert_eq!(r.sources[0].docs_deleted, 1);
    let (_, v) = post(&base, json!({"query": "laptop hardware accounts"})).await;
    assert!(!ids(&v).contains(&"laptop".to_string()), "{v}");
}
