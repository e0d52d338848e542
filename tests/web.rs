//! The built-in search page at `/`, loaded in headless Chromium (Debian's
//! `chromium`, installed by `scripts/setup-test.sh`): the page runs the query
//! from its URL through the JSON API and the test reads the rendered DOM.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use sluice_core::search::Access;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_page_renders_hits_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(
        &dir.path().join("kb.jsonl"),
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

    let url = format!("http://{addr}/?q=connection+pooling&mode=keyword");
    let dom = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || rendered_dom(&chromium, &url)),
    )
    .await
    .expect("chromium finished within 2 minutes")
    .unwrap();

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
    // `sluice serve` has no pipelines: the panel says where status lives.
    assert!(
        dom.contains("Pipeline status is shown when the page is served by"),
        "{dom}"
    );
}
