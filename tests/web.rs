//! The built-in search page at `/`, loaded in headless Chromium (Debian's
//! `chromium`, installed by `scripts/setup-test.sh`): the page runs the query
//! from its URL through the JSON API and the test reads the rendered DOM.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use sluice_core::search::Access;
use std::sync::Arc;

use sluice_tests::{embedder, pipeline, run, write_jsonl};

/// The DOM after the page's scripts ran (`--virtual-time-budget` lets the
/// page's fetches finish before the dump).
fn rendered_dom(chromium: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--virtual-time-budget=15000",
            "--timeout=60000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn chromium() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(
        std::env::var_os("SLUICE_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()),
    );
    if p.exists() {
        return Some(p);
    }
    // CI installs it (scripts/setup-test.sh); a developer machine may lack it.
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing: scripts/setup-test.sh installs Debian's chromium",
        p.display()
    );
    eprintln!(
        "skipping: {} not installed (apt-get install chromium)",
        p.display()
    );
    None
}

/// The page's corpus indexed and served with `api_embedder` for queries;
/// returns the server's address.
async fn serve_corpus(
    dir: &Path,
    api_embedder: Arc<dyn sluice_core::TextEmbedder>,
) -> std::net::SocketAddr {
    write_jsonl(
        &dir.join("kb.jsonl"),
        &[
            json!({"id": "pool", "title": "PgBouncer pooling <b>guide</b>", "text": "Connection pooling keeps 400 connections per database.", "labels": ["postgres"], "url": "https://wiki.example/pool"}),
            json!({"id": "vacuum", "title": "Autovacuum tuning", "text": "Autovacuum thresholds for large tables; pooling is unrelated (https://wiki.example/pool).", "labels": ["postgres"]}),
            json!({"id": "secret", "title": "Pooling salaries", "text": "Salary pooling for the HR team, not https://wiki.example/pool.", "acl": ["group:hr"]}),
            // A stored XSS attempt through a source's link field.
            json!({"id": "trap", "title": "Pooling trap", "text": "Zzz pooling.", "url": "javascript:alert(document.cookie)"}),
            json!({"id": "trap2", "title": "Pooling data trap", "text": "Zzz pooling data.", "url": "data:text/html,<script>alert(1)</script>"}),
        ],
    );
    let yaml = "name: web\nsources:\n  - id: kb\n    type: files\n    settings:\n      path: kb.jsonl\n      mapping:\n        acl: acl\n        acl_fallback: public\n";
    let p = pipeline(yaml, dir, &dir.join("data")).await;
    run(&p, yaml, dir, false).await;
    let app = sluice_api::router(sluice_api::ApiState::new(
        p.search_backend().unwrap(),
        api_embedder,
        Access::public_only(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn load(chromium: std::path::PathBuf, url: String) -> String {
    // --dump-dom with a virtual-time budget waits for fetches, not for the
    // later events of a stream: fine for a page whose stages come at once.
    tokio::time::timeout(
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || rendered_dom(&chromium, &url)),
    )
    .await
    .expect("chromium finished within 2 minutes")
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_page_renders_hits_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let addr = serve_corpus(dir.path(), embedder()).await;
    let dom = load(
        chromium,
        format!("http://{addr}/?q=connection+pooling&mode=keyword"),
    )
    .await;

    let hits: Vec<&str> = dom.split("<li class=\"hit\"").skip(1).collect();
    assert_eq!(hits.len(), 4, "four public documents match: {dom}");
    assert!(
        !dom.to_ascii_lowercase().contains("href=\"javascript:"),
        "a javascript: link reached the page: {dom}"
    );
    assert!(
        !dom.to_ascii_lowercase().contains("href=\"data:"),
        "a data: link reached the page: {dom}"
    );
    assert!(
        hits.iter()
            .any(|h| h.contains("Pooling data trap") && !h.contains("href=")),
        "listed, as plain text"
    );
    assert!(
        hits.iter()
            .any(|h| h.contains("Pooling trap") && !h.contains("href=")),
        "the trap is listed, as plain text"
    );
    // Best match first, title as text (markup in it stays inert), a link
    // to the source, badges and the highlighted snippet.
    assert!(
        hits[0].contains("PgBouncer pooling &lt;b&gt;guide&lt;/b&gt;"),
        "{}",
        hits[0]
    );
    assert!(
        hits[0].contains("href=\"https://wiki.example/pool\""),
        "{}",
        hits[0]
    );
    assert!(
        hits[0].contains("<span class=\"badge\">#postgres</span>"),
        "{}",
        hits[0]
    );
    assert!(
        hits[0].contains("<mark>Connection</mark>") && hits[0].contains("<mark>pooling</mark>"),
        "{}",
        hits[0]
    );
    assert!(
        hits[1..].iter().any(|h| h.contains("Autovacuum tuning")),
        "{dom}"
    );
    // Linked documents under each hit, both ways, as text; the HR page
    // that also links the pool page is not among them.
    let related = |h: &str| h.split("<ul class=\"related\">").nth(1).map(str::to_string);
    let pool_related = related(hits[0]).unwrap_or_else(|| panic!("{}", hits[0]));
    assert!(
        pool_related.contains("← links to") && pool_related.contains("Autovacuum tuning"),
        "{pool_related}"
    );
    assert!(
        hits[1..]
            .iter()
            .any(|h| related(h).is_some_and(|r| r.contains("→ links to")
                && r.contains("PgBouncer pooling &lt;b&gt;guide&lt;/b&gt;"))),
        "{dom}"
    );
    assert!(
        !dom.contains("Pooling salaries"),
        "an ACL'd document reached an anonymous page"
    );
    assert!(dom.contains("4 results (keyword"), "status line: {dom}");
    // Streamed: a keyword search has one ranking, then its related documents.
    assert!(dom.contains("data-stages=\"results:4 related:4\""), "{dom}");
    // `sluice serve` has no pipelines: the panel says where status lives.
    assert!(
        dom.contains("Pipeline status is shown when the page is served by"),
        "{dom}"
    );
}

/// The real model, slowed down: the query's embedding takes a second.
struct SlowModel(Arc<dyn sluice_core::TextEmbedder>);

impl sluice_core::TextEmbedder for SlowModel {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, sluice_core::EmbedError> {
        std::thread::sleep(Duration::from_secs(1));
        self.0.embed(texts)
    }
    fn count_tokens(&self, text: &str) -> usize {
        self.0.count_tokens(text)
    }
    fn max_length(&self) -> usize {
        self.0.max_length()
    }
}

/// Chromium with the DevTools protocol on a free port, showing `url`.
struct DevTools {
    child: std::process::Child,
    _profile: tempfile::TempDir,
    page: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl DevTools {
    async fn open(chromium: &Path, url: &str) -> DevTools {
        use std::io::BufRead;
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("chromium runs");
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…"
        let stderr = child.stderr.take().unwrap();
        let port = tokio::task::spawn_blocking(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let line = line.unwrap();
                if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                    return rest.split('/').next().unwrap().to_string();
                }
            }
            panic!("chromium printed no DevTools address");
        })
        .await
        .unwrap();
        let mut ws = None;
        for _ in 0..100 {
            let pages: serde_json::Value =
                reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
            if let Some(p) = pages.as_array().unwrap().iter().find(|p| {
                p["type"] == "page" && p["url"].as_str().is_some_and(|u| u.starts_with("http"))
            }) {
                ws = p["webSocketDebuggerUrl"].as_str().map(str::to_string);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (page, _) = tokio_tungstenite::connect_async(ws.expect("the page's DevTools socket"))
            .await
            .unwrap();
        DevTools {
            child,
            _profile: profile,
            page,
            next_id: 0,
        }
    }

    /// `expression`'s value in the page.
    async fn eval(&mut self, expression: &str) -> serde_json::Value {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        self.next_id += 1;
        let id = self.next_id;
        let call = json!({"id": id, "method": "Runtime.evaluate", "params": {"expression": expression, "returnByValue": true}});
        self.page
            .send(Message::text(call.to_string()))
            .await
            .unwrap();
        while let Some(msg) = self.page.next().await {
            if let Message::Text(t) = msg.unwrap() {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                if v["id"] == id {
                    return v["result"]["result"]["value"].clone();
                }
            }
        }
        panic!("the DevTools socket closed");
    }
}

impl Drop for DevTools {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_page_shows_keyword_hits_before_the_fused_ranking() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let addr = serve_corpus(dir.path(), Arc::new(SlowModel(embedder()))).await;
    let url = format!("http://{addr}/?q=connection+pooling&mode=hybrid");
    let mut browser = DevTools::open(&chromium, &url).await;
    // While the query is embedded (a second), the keyword hits are shown.
    let mut seen_keyword_alone = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let stage = browser
            .eval("(document.getElementById('hits') || {dataset: {}}).dataset.stage || ''")
            .await;
        if stage == "keyword" {
            let shown = browser
                .eval("document.querySelectorAll('#hits li.hit').length")
                .await;
            assert_eq!(shown, 4, "the keyword hits are on the page");
            seen_keyword_alone = true;
        }
        if stage == "related" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "stage {stage}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        seen_keyword_alone,
        "the keyword hits were on the page alone"
    );
    let dom = browser
        .eval("document.documentElement.outerHTML")
        .await
        .as_str()
        .unwrap()
        .to_string();
    // The page drew the keyword hits, then replaced them with the fused
    // ranking (the vector leg adds documents BM25 alone does not find),
    // then added related documents.
    let stages = dom
        .split("data-stages=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no stages: {dom}"));
    let names: Vec<&str> = stages
        .split(' ')
        .map(|s| s.split(':').next().unwrap())
        .collect();
    assert_eq!(names, ["keyword", "results", "related"], "{stages}");
    let counts: Vec<usize> = stages
        .split(' ')
        .map(|s| s.split(':').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(counts[0], 4, "four public documents match BM25: {stages}");
    assert!(counts[1] >= counts[0], "{stages}");
    assert!(dom.contains("(hybrid, "), "the final status line: {dom}");
    assert!(!dom.contains("ranking…"), "{dom}");
    assert!(!dom.contains("Pooling salaries"));
}
