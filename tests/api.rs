//! The HTTP API over a real index: search, validation errors, health,
//! metrics and the OpenAPI document.

use std::sync::Arc;

use serde_json::{Value, json};
use sluice_index::Access;
use sluice_tests::{embedder, pipeline, run, write_jsonl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_api_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(
        &dir.path().join("kb.jsonl"),
        &[
            json!({"id": "a", "title": "PgBouncer pooling", "text": "Pool size is 400 per database.", "labels": ["postgres"], "updated_at": "2025-06-01T00:00:00Z"}),
            json!({"id": "b", "title": "Salary bands", "text": "Bands are reviewed each April.", "acl": ["group:hr"]}),
        ],
    );
    let yaml = "name: api\nsources:\n  - id: kb\n    type: files\n    settings:\n      path: kb.jsonl\n      mapping:\n        acl: acl\n";
    let p = pipeline(yaml, dir.path(), &dir.path().join("data")).await;
    run(&p, yaml, dir.path(), false).await;
    let index = p.index().unwrap().clone();

    let app = sluice_api::router(sluice_api::ApiState::new(index, embedder(), Access::public_only()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let post = |body: Value| {
        let http = http.clone();
        let url = format!("{base}/v1/search");
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };

    let (status, v) = post(json!({"query": "connection pool size"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["mode"], "hybrid");
    assert_eq!(v["hits"][0]["external_id"], "a");
    for key in ["id", "title", "url", "source", "kind", "snippet", "score", "updated_at"] {
        assert!(v["hits"][0].get(key).is_some(), "hit lacks {key}: {v}");
    }
    assert_eq!(v["hits"][0]["updated_at"], "2025-06-01T00:00:00+00:00");

    // ACL'd document never reaches an unauthenticated caller.
    let (_, v) = post(json!({"query": "salary bands April", "mode": "keyword"})).await;
    assert!(v["hits"].as_array().unwrap().iter().all(|h| h["external_id"] != "b"), "{v}");

    // Filters.
    let (_, v) = post(json!({"query": "pool", "filters": {"labels": ["nothing"]}})).await;
    assert_eq!(v["hits"].as_array().unwrap().len(), 0);
    let (_, v) = post(json!({"query": "pool", "filters": {"updated_after": "2025-05-01T00:00:00Z"}, "mode": "vector"})).await;
    assert_eq!(v["hits"][0]["external_id"], "a");

    // Bad requests say what is wrong.
    for (body, needle) in [
        (json!({"query": ""}), "query must not be empty"),
        (json!({"query": "x", "top_k": 0}), "top_k"),
        (json!({"query": "x", "mode": "fuzzy"}), "unknown search mode"),
        (json!({"query": "x", "filters": {"updated_after": "last week"}}), "RFC 3339"),
        (json!({"query": "x", "colour": "red"}), "unknown field"),
    ] {
        let (status, v) = post(body).await;
        assert_eq!(status, 400, "{v}");
        assert!(v["error"].as_str().unwrap().contains(needle), "{v}");
    }

    let health: Value = http.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["chunks"], 2);
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("sluice_search_requests_total{mode=\"hybrid\",outcome=\"ok\"}"), "{metrics}");
    assert!(metrics.contains("sluice_search_latency_seconds_bucket"), "{metrics}");
    let spec: Value = http.get(format!("{base}/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(spec["paths"]["/v1/search"]["post"].is_object());
    assert!(spec["components"]["schemas"]["HitBody"].is_object());
    drop(Arc::clone(&p.index().unwrap()));
}
