//! The HTTP API over a real index: search, validation errors, health,
//! metrics and the OpenAPI document.

use std::sync::Arc;

use serde_json::{Value, json};
use sluice_core::search::Access;
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
    let yaml = "name: api\nsources:\n  - id: kb\n    type: files\n    settings:\n      path: kb.jsonl\n      mapping:\n        acl: acl\n        acl_fallback: public\n";
    let p = pipeline(yaml, dir.path(), &dir.path().join("data")).await;
    run(&p, yaml, dir.path(), false).await;
    let app = sluice_api::router(sluice_api::ApiState::new(
        p.search_backend().unwrap(),
        embedder(),
        Access::public_only(),
    ));
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
    for key in [
        "id",
        "title",
        "url",
        "source",
        "kind",
        "snippet",
        "score",
        "updated_at",
    ] {
        assert!(v["hits"][0].get(key).is_some(), "hit lacks {key}: {v}");
    }
    assert_eq!(v["hits"][0]["updated_at"], "2025-06-01T00:00:00+00:00");

    // ACL'd document never reaches an unauthenticated caller.
    let (_, v) = post(json!({"query": "salary bands April", "mode": "keyword"})).await;
    assert!(
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["external_id"] != "b"),
        "{v}"
    );

    // Filters.
    let (_, v) = post(json!({"query": "pool", "filters": {"labels": ["nothing"]}})).await;
    assert_eq!(v["hits"].as_array().unwrap().len(), 0);
    let (_, v) = post(json!({"query": "pool", "filters": {"updated_after": "2025-05-01T00:00:00Z"}, "mode": "vector"})).await;
    assert_eq!(v["hits"][0]["external_id"], "a");

    // Bad requests say what is wrong.
    for (body, needle) in [
        (json!({"query": ""}), "query must not be empty"),
        (json!({"query": "x", "top_k": 0}), "top_k"),
        (
            json!({"query": "x", "mode": "fuzzy"}),
            "unknown search mode",
        ),
        (
            json!({"query": "x", "filters": {"updated_after": "last week"}}),
            "RFC 3339",
        ),
        (json!({"query": "x", "colour": "red"}), "unknown field"),
    ] {
        let (status, v) = post(body).await;
        assert_eq!(status, 400, "{v}");
        assert!(v["error"].as_str().unwrap().contains(needle), "{v}");
    }

    // A body past the limit is 413, one that is not JSON 415.
    let big = json!({"query": "x".repeat(sluice_api::MAX_BODY_BYTES)});
    let r = http
        .post(format!("{base}/v1/search"))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let r = http
        .post(format!("{base}/v1/search"))
        .header("content-type", "text/plain")
        .body("{\"query\": \"pool\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    assert!(r.text().await.unwrap().contains("application/json"));

    // The page runs under a CSP without inline script or style (the
    // Chromium test shows it still works), and keeps the key per tab.
    let r = http.get(format!("{base}/")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(
        !r.text().await.unwrap().contains("<script>"),
        "no inline script"
    );
    let js = http.get(format!("{base}/page.js")).send().await.unwrap();
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let js = js.text().await.unwrap();
    assert!(
        js.contains("sessionStorage") && !js.contains("localStorage"),
        "the API key is kept per tab"
    );
    assert_eq!(
        http.get(format!("{base}/page.css"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    let health: Value = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["chunks"], 2);
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sluice_search_requests_total{mode=\"hybrid\",outcome=\"ok\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sluice_search_latency_seconds_bucket"),
        "{metrics}"
    );
    let spec: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(spec["paths"]["/v1/search"]["post"].is_object());
    assert!(spec["components"]["schemas"]["HitBody"].is_object());
    // The contract says what the server enforces.
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["api_key"]["name"], "X-API-Key", "{schemes}");
    for code in ["200", "400", "401", "413", "415", "429"] {
        assert!(
            spec["paths"]["/v1/search"]["post"]["responses"][code].is_object(),
            "no {code} for /v1/search"
        );
    }
    let body = &spec["components"]["schemas"]["SearchBody"]["properties"];
    assert_eq!(
        (
            body["top_k"]["minimum"].as_f64(),
            body["top_k"]["maximum"].as_f64()
        ),
        (Some(1.0), Some(100.0)),
        "{body}"
    );
    assert_eq!(body["query"]["maxLength"], 4096, "{body}");
    let modes = &spec["components"]["schemas"]["ModeName"]["enum"];
    assert_eq!(
        modes,
        &json!(["hybrid", "keyword", "vector"]),
        "{}",
        spec["components"]["schemas"]["ModeName"]
    );
    assert_eq!(
        spec["paths"]["/v1/documents/{id}"]["get"]["parameters"][0]["schema"]["format"],
        "uuid"
    );
    // A key in the query string is never read: keys travel in headers only.
    let keyed = sluice_api::ApiKeys::parse(&format!(
        "keys:\n  - name: k\n    sha256: {}\n",
        sluice_api::hash_key("key-q")
    ))
    .unwrap();
    let app = sluice_api::router(sluice_api::ApiState::with_keys(
        p.search_backend().unwrap(),
        embedder(),
        keyed,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let keyed_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    for q in [
        "api_key=key-q",
        "key=key-q",
        "access_token=key-q",
        "token=key-q",
    ] {
        let r = http
            .post(format!("http://{keyed_addr}/v1/search?{q}"))
            .json(&json!({"query": "pool"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "?{q}");
    }
    drop(Arc::clone(
        &p.store::<sluice_index::EmbeddedIndex>().unwrap(),
    ));
}

/// API keys: 401 without or with a wrong key, 429 past a key's budget, and
/// across 1,000 randomized queries by keys with different principals no
/// hit is ever a document the key may not read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_never_leak_acl_documents() {
    let dir = tempfile::tempdir().unwrap();
    // Deterministic pseudo-random ACLs over 6 groups and 4 users.
    let mut seed: u64 = 0x5eed;
    let mut rnd = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let words = [
        "kafka", "postgres", "rollback", "invoice", "firmware", "badger", "payroll", "roadmap",
    ];
    let principals: Vec<String> = (0..6)
        .map(|g| format!("group:g{g}"))
        .chain((0..4).map(|u| format!("user:u{u}")))
        .collect();
    let mut acls: std::collections::HashMap<String, Vec<String>> = Default::default();
    let mut rows = Vec::new();
    for i in 0..60 {
        let acl: Vec<String> = if i % 5 == 0 {
            vec![]
        } else {
            (0..1 + rnd(2))
                .map(|_| principals[rnd(principals.len() as u64) as usize].clone())
                .collect()
        };
        let w1 = words[rnd(words.len() as u64) as usize];
        let w2 = words[rnd(words.len() as u64) as usize];
        let id = format!("d{i}");
        rows.push(json!({"id": id, "title": format!("{w1} note {i}"), "text": format!("About {w1} and {w2}."), "acl": acl}));
        acls.insert(id, acl);
    }
    write_jsonl(&dir.path().join("kb.jsonl"), &rows);
    let yaml = "name: keys\nsources:\n  - id: kb\n    type: files\n    settings:\n      path: kb.jsonl\n      mapping:\n        acl: acl\n        acl_fallback: public\n";
    let p = pipeline(yaml, dir.path(), &dir.path().join("data")).await;
    run(&p, yaml, dir.path(), false).await;

    // Five keys with different principals, one with a tiny budget.
    let key_principals: Vec<Vec<String>> = vec![
        vec!["group:g0".into()],
        vec!["group:g1".into(), "user:u2".into()],
        vec!["user:u0".into(), "group:g3".into(), "group:g5".into()],
        vec![],
        vec![
            "group:g2".into(),
            "group:g4".into(),
            "user:u1".into(),
            "user:u3".into(),
        ],
    ];
    let mut file = String::from("keys:\n");
    for (i, ps) in key_principals.iter().enumerate() {
        file.push_str(&format!("  - name: k{i}\n    sha256: {}\n    principals: [{}]\n    requests_per_minute: 100000\n", sluice_api::hash_key(&format!("key-{i}")), ps.join(", ")));
    }
    file.push_str(&format!(
        "  - name: slow\n    sha256: {}\n    principals: []\n    requests_per_minute: 3\n",
        sluice_api::hash_key("key-slow")
    ));
    let keys = sluice_api::ApiKeys::parse(&file).unwrap();
    let app = sluice_api::router(sluice_api::ApiState::with_keys(
        p.search_backend().unwrap(),
        embedder(),
        keys,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("http://{addr}/v1/search");
    let http = reqwest::Client::new();
    let body = json!({"query": "kafka", "mode": "keyword"});

    let r = http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = http
        .post(&url)
        .bearer_auth("key-nope")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    for _ in 0..3 {
        assert_eq!(
            http.post(&url)
                .header("x-api-key", "key-slow")
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            200
        );
    }
    let r = http
        .post(&url)
        .header("x-api-key", "key-slow")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Health stays open; metrics follow the keys unless configured public.
    assert_eq!(
        http.get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        http.get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        http.get(format!("http://{addr}/metrics"))
            .bearer_auth("key-0")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );

    let (mut restricted_hits, mut total_hits) = (0, 0);
    for q in 0..1000u64 {
        let k = (q * 7 + q / 3) as usize % key_principals.len();
        let word = words[(q as usize * 5 + k) % words.len()];
        let r = http
            .post(&url)
            .bearer_auth(format!("key-{k}"))
            .json(&json!({"query": word, "mode": "keyword", "top_k": 50}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = r.json().await.unwrap();
        for h in v["hits"].as_array().unwrap() {
            let id = h["external_id"].as_str().unwrap();
            let acl = &acls[id];
            total_hits += 1;
            if !acl.is_empty() {
                restricted_hits += 1;
            }
            assert!(
                acl.is_empty() || acl.iter().any(|p| key_principals[k].contains(p)),
                "key-{k} {:?} got {id} with ACL {acl:?}",
                key_principals[k]
            );
        }
    }
    assert!(
        restricted_hits > 100 && total_hits > restricted_hits,
        "{restricted_hits} restricted of {total_hits} hits: the test must exercise ACLs"
    );

    // GET /v1/documents/{id}: readable → the document; not readable → 404,
    // the same answer as for an id that does not exist.
    let ext = acls
        .iter()
        .find(|(_, a)| !a.is_empty() && a.iter().all(|p| p == "group:g0"))
        .map(|(id, _)| id.clone())
        .expect("a document only group:g0 may read");
    {
        let doc_id = sluice_core::doc_id("kb", &ext).to_string();
        let get = |key: &str| {
            http.get(format!("http://{addr}/v1/documents/{doc_id}"))
                .bearer_auth(key.to_string())
                .send()
        };
        let r = get("key-0").await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["external_id"], ext.as_str());
        assert!(!v["chunks"].as_array().unwrap().is_empty());
        assert_eq!(get("key-1").await.unwrap().status().as_u16(), 404);
    }
    let missing = http
        .get(format!(
            "http://{addr}/v1/documents/{}",
            sluice_core::doc_id("kb", "nope")
        ))
        .bearer_auth("key-0")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        http.get(format!("http://{addr}/v1/documents/not-a-uuid"))
            .bearer_auth("key-0")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        400
    );
    assert_eq!(
        http.get(format!(
            "http://{addr}/v1/documents/{}",
            sluice_core::doc_id("kb", "d0")
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16(),
        401
    );
}

/// CORS: only configured browser origins get the headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_only_for_configured_origins() {
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(
        &dir.path().join("kb.jsonl"),
        &[json!({"id": "a", "title": "Wifi", "text": "The wifi password rotates."})],
    );
    let yaml = "name: cors\nsources:\n  - id: kb\n    type: files\n    visibility: public\n    settings:\n      path: kb.jsonl\n";
    let p = pipeline(yaml, dir.path(), &dir.path().join("data")).await;
    run(&p, yaml, dir.path(), false).await;
    assert!(
        sluice_api::router_with_cors(
            sluice_api::ApiState::new(
                p.search_backend().unwrap(),
                embedder(),
                Access::public_only()
            ),
            &["intranet.example".into()]
        )
        .is_err()
    );
    let app = sluice_api::router_with_cors(
        sluice_api::ApiState::new(
            p.search_backend().unwrap(),
            embedder(),
            Access::public_only(),
        ),
        &["https://intranet.example".into()],
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, format!("http://{addr}/v1/search"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, x-api-key")
            .send()
    };
    let ok = preflight("https://intranet.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://intranet.example"
    );
    assert!(
        ok.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("x-api-key")
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let r = http
        .post(format!("http://{addr}/v1/search"))
        .header("origin", "https://intranet.example")
        .json(&json!({"query": "wifi", "mode": "keyword"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://intranet.example"
    );
}

/// A store's error text can quote its URL with credentials in it; what
/// reaches API callers in `warnings` has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_credentials_never_reach_callers_in_warnings() {
    use sluice_core::search::{ChunkPayload, KeywordLeg, LegChunk, SearchFilters, VectorLeg};
    struct Legs;
    #[async_trait::async_trait]
    impl KeywordLeg for Legs {
        fn store_kind(&self) -> &'static str {
            "elasticsearch"
        }
        fn describe(&self) -> String {
            "es".into()
        }
        async fn keyword_search(
            &self,
            _: &str,
            _: usize,
            _: &SearchFilters,
            _: &Access,
        ) -> Result<Vec<LegChunk>, String> {
            Err("error sending request for url (https://elastic:hunter2@es.internal:9200/chunks/_search?api_key=s3cr3tk3y): timed out".into())
        }
        async fn snippets(&self, _: &str, _: &[String]) -> Option<Vec<String>> {
            None
        }
        async fn document_chunks(&self, _: &uuid::Uuid) -> Result<Vec<ChunkPayload>, String> {
            Ok(Vec::new())
        }
        async fn chunk_count(&self) -> Result<u64, String> {
            Ok(0)
        }
    }
    #[async_trait::async_trait]
    impl VectorLeg for Legs {
        fn store_kind(&self) -> &'static str {
            "qdrant"
        }
        fn describe(&self) -> String {
            "qdrant".into()
        }
        async fn vector_search(
            &self,
            _: &[f32],
            _: usize,
            _: &SearchFilters,
            _: &Access,
        ) -> Result<Vec<LegChunk>, String> {
            Ok(Vec::new())
        }
        async fn document_chunks(&self, _: &uuid::Uuid) -> Result<Vec<ChunkPayload>, String> {
            Ok(Vec::new())
        }
        async fn chunk_count(&self) -> Result<u64, String> {
            Ok(0)
        }
    }
    let legs = Arc::new(Legs);
    let backend = Arc::new(sluice_search::HybridSearch::new(
        Some((legs.clone(), None)),
        Some((legs, None)),
    ));
    let app = sluice_api::router(sluice_api::ApiState::new(
        backend,
        embedder(),
        Access::public_only(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/v1/search"))
        .json(&json!({"query": "pool"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["partial"], true, "{v}");
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("es.internal:9200"),
        "the warning still says where: {v}"
    );
    for secret in ["hunter2", "s3cr3tk3y", "elastic:"] {
        assert!(!body.contains(secret), "{secret} leaked: {body}");
    }
}

/// The API against its own OpenAPI document, in both directions
/// (schemathesis, installed by scripts/setup-contract.sh): every
/// schema-valid request is accepted, every invalid one refused with a 4xx,
/// every response matches its declared status, content type and schema.
/// Run with and without keys; the keyed run sends a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_contract_violation() {
    let home = std::env::var_os("SLUICE_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/sluice")
        });
    let st = home.join("contract-venv/bin/st");
    if !st.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing: scripts/setup-contract.sh installs it",
            st.display()
        );
        eprintln!(
            "skipping: {} not installed (bash scripts/setup-contract.sh)",
            st.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(
        &dir.path().join("kb.jsonl"),
        &[
            json!({"id": "a", "title": "PgBouncer pooling", "text": "Pool size is 400 per database.", "labels": ["postgres"], "updated_at": "2025-06-01T00:00:00Z"}),
            json!({"id": "b", "title": "Salary bands", "text": "Bands are reviewed each April.", "acl": ["group:hr"]}),
        ],
    );
    let yaml = "name: contract\nsources:\n  - id: kb\n    type: files\n    settings:\n      path: kb.jsonl\n      mapping:\n        acl: acl\n        acl_fallback: public\n";
    let p = pipeline(yaml, dir.path(), &dir.path().join("data")).await;
    run(&p, yaml, dir.path(), false).await;
    let keys = || {
        sluice_api::ApiKeys::parse(&format!("keys:\n  - name: k\n    sha256: {}\n    principals: [group:hr]\n    requests_per_minute: 1000000\n", sluice_api::hash_key("key-contract"))).unwrap()
    };
    for keyed in [false, true] {
        let state = if keyed {
            sluice_api::ApiState::with_keys(p.search_backend().unwrap(), embedder(), keys())
        } else {
            sluice_api::ApiState::new(
                p.search_backend().unwrap(),
                embedder(),
                Access::public_only(),
            )
        };
        let app = sluice_api::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let st = st.clone();
        let out = tokio::task::spawn_blocking(move || {
            let mut cmd = std::process::Command::new(&st);
            cmd.args([
                "run",
                &format!("http://{addr}/openapi.json"),
                "--checks",
                "all",
                "--max-examples",
                "40",
                "--seed",
                "7",
                "--no-color",
            ]);
            if keyed {
                cmd.args(["--header", "Authorization: Bearer key-contract"]);
            }
            cmd.output().expect("schemathesis runs")
        })
        .await
        .unwrap();
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "keyed={keyed}: schemathesis found violations:\n{report}"
        );
        println!(
            "schemathesis (keyed={keyed}): {}",
            report
                .lines()
                .rev()
                .find(|l| l.contains("generated"))
                .unwrap_or("")
        );
    }
}
