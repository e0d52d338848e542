//! `POST /v1/search/stream`: the keyword legs' hits arrive before the query
//! is even embedded, then the fused ranking (the same as `POST /v1/search`),
//! then related documents, then `done`; a client that goes away stops the
//! search before its next leg.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use sluice_core::TextEmbedder;
use sluice_core::search::{
    Access, ChunkPayload, KeywordLeg, LegChunk, SearchBackend, SearchFilters, VectorLeg,
};
use sluice_tests::{ByteEmbedder, pipeline_with, run_ok, write_jsonl};
use uuid::Uuid;

/// [`ByteEmbedder`] that takes `delay` per call and says when it is done.
struct SlowEmbedder {
    delay: Duration,
    finished: AtomicBool,
}

impl TextEmbedder for SlowEmbedder {
    fn dim(&self) -> usize {
        ByteEmbedder.dim()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, sluice_core::EmbedError> {
        std::thread::sleep(self.delay);
        self.finished.store(true, Ordering::SeqCst);
        ByteEmbedder.embed(texts)
    }
    fn count_tokens(&self, text: &str) -> usize {
        ByteEmbedder.count_tokens(text)
    }
    fn max_length(&self) -> usize {
        ByteEmbedder.max_length()
    }
}

async fn serve(backend: Arc<dyn SearchBackend>, embedder: Arc<dyn TextEmbedder>) -> String {
    let app = sluice_api::router(sluice_api::ApiState::new(
        backend,
        embedder,
        Access::public_only(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Reads SSE events off a streaming response, one at a time.
struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    async fn open(base: &str, body: Value) -> Events {
        let resp = reqwest::Client::new()
            .post(format!("{base}/v1/search/stream"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Events {
            resp,
            buf: String::new(),
        }
    }

    /// The next (event name, data); `None` at the end of the stream.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event:") {
                        name = n.trim().to_string();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).unwrap()));
            }
            let chunk = self.resp.chunk().await.unwrap()?;
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn all(mut self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while let Some(e) = self.next().await {
            out.push(e);
        }
        out
    }
}

fn ids(result: &Value) -> Vec<String> {
    result["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["external_id"].as_str().unwrap().to_string())
        .collect()
}

const YAML: &str = "name: s\nsources:\n  - id: jira\n    type: files\n    settings:\n      path: issues.jsonl\n      kind: issue\n      mapping:\n        id: key\n        title: \"{key}: {summary}\"\n        text: body\n        acl: \"group:{groups[*]}\"\n        acl_fallback: public\nsinks:\n  - type: embedded\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_hits_come_before_the_query_is_embedded_then_the_fused_answer_and_related() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_jsonl(
        &d.join("issues.jsonl"),
        &[
            json!({"key": "OPS-1", "summary": "Pager rotation", "body": "The pager rotation changes weekly; see OPS-2.", "groups": []}),
            json!({"key": "OPS-2", "summary": "Pager escalation policy", "body": "Escalate a pager alert after 15 minutes.", "groups": []}),
            json!({"key": "OPS-3", "summary": "Disk alerts", "body": "Disk usage alerts page the on-call; pager duty of OPS-1 applies.", "groups": []}),
            json!({"key": "SEC-1", "summary": "Pager secrets", "body": "Rotate the pager API token. OPS-1.", "groups": ["sec"]}),
        ],
    );
    let p = pipeline_with(YAML, d, &d.join("data"), Arc::new(ByteEmbedder)).await;
    run_ok(&p, YAML, d, false).await;
    let slow = Arc::new(SlowEmbedder {
        delay: Duration::from_secs(2),
        finished: AtomicBool::new(false),
    });
    let base = serve(p.search_backend().unwrap(), slow.clone()).await;

    let mut events = Events::open(&base, json!({"query": "pager", "related": true})).await;
    let (name, keyword) = events.next().await.unwrap();
    assert_eq!(name, "keyword", "{keyword}");
    assert!(
        !slow.finished.load(Ordering::SeqCst),
        "the keyword hits did not wait for the query's embedding"
    );
    assert_eq!(keyword["mode"], "keyword");
    let first = ids(&keyword);
    assert_eq!(first.len(), 3, "public documents only: {keyword}");
    assert!(!first.contains(&"SEC-1".to_string()));
    for h in keyword["hits"].as_array().unwrap() {
        assert!(
            h["keyword_rank"].is_u64() && h["vector_rank"].is_null(),
            "{h}"
        );
    }
    let rest = events.all().await;
    let names: Vec<&str> = rest.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["results", "related", "done"]);
    assert!(slow.finished.load(Ordering::SeqCst));

    // The fused answer is the one `POST /v1/search` gives.
    let results = &rest[0].1;
    assert_eq!(results["mode"], "hybrid");
    assert!(results["hits"][0]["vector_rank"].is_u64(), "{results}");
    let plain: Value = reqwest::Client::new()
        .post(format!("{base}/v1/search"))
        .json(&json!({"query": "pager", "related": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(results), ids(&plain));
    // Related per hit id, the same lists, never the hidden SEC-1.
    let related = &rest[1].1["related"];
    for h in plain["hits"].as_array().unwrap() {
        assert_eq!(related[h["id"].as_str().unwrap()], h["related"], "{h}");
    }
    assert!(!related.to_string().contains("SEC-1"));
    let ops1 = plain["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["external_id"] == "OPS-1")
        .unwrap();
    let linked: Vec<&str> = related[ops1["id"].as_str().unwrap()]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(linked, ["OPS-2", "OPS-3"], "{related}");

    let done = &rest[2].1;
    let (k, r, rel) = (
        done["keyword_ms"].as_f64().unwrap(),
        done["results_ms"].as_f64().unwrap(),
        done["related_ms"].as_f64().unwrap(),
    );
    assert!(
        k <= r && r <= rel && rel <= done["took_ms"].as_f64().unwrap(),
        "{done}"
    );

    // Keyword and vector modes have one ranking: no `keyword` event.
    for mode in ["keyword", "vector"] {
        let names: Vec<String> = Events::open(&base, json!({"query": "pager", "mode": mode}))
            .await
            .all()
            .await
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["results", "done"], "{mode}");
    }
    // A bad request is refused before any event, like `/v1/search`.
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/search/stream"))
        .json(&json!({"query": " "}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // With keys, the stream authenticates like `/v1/search`: a header, and
    // each key sees what its principals may read; never a query-string key.
    let keys = sluice_api::ApiKeys::parse(&format!(
        "keys:\n  - name: sec\n    sha256: {}\n    principals: [group:sec]\n",
        sluice_api::hash_key("key-sec")
    ))
    .unwrap();
    let app = sluice_api::router(sluice_api::ApiState::with_keys(
        p.search_backend().unwrap(),
        Arc::new(ByteEmbedder),
        keys,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let keyed = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    for url in [
        format!("{keyed}/v1/search/stream"),
        format!("{keyed}/v1/search/stream?api_key=key-sec"),
    ] {
        let resp = client
            .post(&url)
            .json(&json!({"query": "pager"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{url}");
    }
    let resp = client
        .post(format!("{keyed}/v1/search/stream"))
        .bearer_auth("key-sec")
        .json(&json!({"query": "pager"}))
        .send()
        .await
        .unwrap();
    let events = Events {
        resp,
        buf: String::new(),
    }
    .all()
    .await;
    let results = &events.iter().find(|(n, _)| n == "results").unwrap().1;
    assert!(ids(results).contains(&"SEC-1".to_string()), "{results}");

    // The OpenAPI document describes the route and its events.
    let doc: Value = reqwest::get(format!("{base}/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let route = &doc["paths"]["/v1/search/stream"]["post"];
    assert!(
        route["responses"]["200"]["content"]["text/event-stream"].is_object(),
        "{route}"
    );
    for schema in ["SseEvent", "StreamEvent", "RelatedEvent", "DoneEvent"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

/// Legs that answer at once (keyword) and count their starts (vector).
struct ProbeLegs {
    vector_starts: AtomicUsize,
}

fn probe_chunk() -> ChunkPayload {
    ChunkPayload {
        chunk_id: Uuid::from_u128(2),
        doc_id: Uuid::from_u128(1),
        ordinal: 0,
        source: "kb".into(),
        external_id: "a".into(),
        kind: "page".into(),
        title: "A".into(),
        url: None,
        labels: vec![],
        acl: vec![],
        updated_at: None,
        text: "pager".into(),
    }
}

#[async_trait]
impl KeywordLeg for ProbeLegs {
    fn store_kind(&self) -> &'static str {
        "probe"
    }
    fn describe(&self) -> String {
        "probe".into()
    }
    async fn keyword_search(
        &self,
        _q: &str,
        _n: usize,
        _f: &SearchFilters,
        _a: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        Ok(vec![LegChunk {
            score: 1.0,
            chunk: probe_chunk(),
            snippet: Some("pager".into()),
        }])
    }
    async fn document_chunks(&self, _id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        Ok(vec![])
    }
    async fn chunk_count(&self) -> Result<u64, String> {
        Ok(1)
    }
}

#[async_trait]
impl VectorLeg for ProbeLegs {
    fn store_kind(&self) -> &'static str {
        "probe"
    }
    fn describe(&self) -> String {
        "probe".into()
    }
    async fn vector_search(
        &self,
        _v: &[f32],
        _n: usize,
        _f: &SearchFilters,
        _a: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        self.vector_starts.fetch_add(1, Ordering::SeqCst);
        Ok(vec![])
    }
    async fn document_chunks(&self, _id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        Ok(vec![])
    }
    async fn chunk_count(&self) -> Result<u64, String> {
        Ok(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_starts_no_further_leg() {
    let legs = Arc::new(ProbeLegs {
        vector_starts: AtomicUsize::new(0),
    });
    let backend = Arc::new(sluice_search::HybridSearch::new(
        Some((legs.clone() as Arc<dyn KeywordLeg>, None)),
        Some((legs.clone() as Arc<dyn VectorLeg>, None)),
    ));
    let slow = Arc::new(SlowEmbedder {
        delay: Duration::from_millis(800),
        finished: AtomicBool::new(false),
    });
    let base = serve(backend, slow.clone()).await;

    // Read to the end: the vector leg runs once (the probe counts).
    let names: Vec<String> = Events::open(&base, json!({"query": "pager"}))
        .await
        .all()
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["keyword", "results", "done"]);
    assert_eq!(legs.vector_starts.load(Ordering::SeqCst), 1);

    // Leave after the keyword hits, while the query is being embedded.
    let mut events = Events::open(&base, json!({"query": "pager other"})).await;
    assert_eq!(events.next().await.unwrap().0, "keyword");
    drop(events);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        legs.vector_starts.load(Ordering::SeqCst),
        1,
        "no vector leg started for the client that left"
    );
    // Counted as cancelled, the finished one as ok.
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (status, n) in [("cancelled", 1), ("ok", 1)] {
        let line =
            format!("sluice_search_requests_total{{mode=\"hybrid\",outcome=\"{status}\"}} {n}");
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
}
