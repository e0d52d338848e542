//! `sluice daemon` as a process: scheduled runs, a change picked up by the
//! next run, a rejected file that leaves the old version running, a manual
//! sync, SIGTERM within a bounded time, and a restart that resumes from the
//! checkpoints without duplicating anything.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One HTTP/1.1 request; returns the status and the body text.
fn http_raw(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    key: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or("");
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let payload = raw
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    (status, payload)
}

/// A request with exactly these headers (no defaults but Host unless given).
fn http_with(addr: &str, method: &str, path: &str, headers: &str, body: &str) -> u16 {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let host = if headers.to_ascii_lowercase().contains("host:") {
        String::new()
    } else {
        format!("Host: {addr}\r\n")
    };
    write!(s, "{method} {path} HTTP/1.1\r\n{host}Connection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    raw.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    http_as(addr, method, path, body, None)
}

fn http_as(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    key: Option<&str>,
) -> (u16, Value) {
    let (status, payload) = http_raw(addr, method, path, body, key);
    (
        status,
        serde_json::from_str(&payload).unwrap_or(Value::Null),
    )
}

/// Kills the daemon if the test fails half-way (it would outlive the test).
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path) -> (Daemon, String) {
    start_with(dir, &[])
}

fn start_with(dir: &Path, extra: &[&str]) -> (Daemon, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "daemon",
            "pipes",
            "--data-dir",
            "data",
            "--listen",
            "127.0.0.1:0",
            "--reload-secs",
            "1",
        ])
        .args(if extra.contains(&"--shutdown-grace-secs") {
            &[][..]
        } else {
            &["--shutdown-grace-secs", "5"][..]
        })
        .args(if extra.contains(&"--api-keys") {
            &[][..]
        } else {
            &["--no-auth"][..]
        })
        .args(extra)
        .env("ATLASSIAN_EMAIL", sluice_fixtures::common::FIXTURE_USER)
        .env("ATLASSIAN_TOKEN", sluice_fixtures::common::FIXTURE_TOKEN)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluice daemon starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("daemon output").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining stderr so the daemon never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Daemon(child), addr)
}

fn source_status(addr: &str) -> Value {
    http(addr, "GET", "/v1/pipelines/kb", None).1["sources"][0].clone()
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn sigterm(d: &mut Daemon) -> std::process::ExitStatus {
    let child = &mut d.0;
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "the daemon did not stop within 15 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn daemon_schedules_reloads_syncs_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let pipes = dir.path().join("pipes");
    std::fs::create_dir_all(&pipes).unwrap();
    std::fs::write(pipes.join("kb.jsonl"), "{\"id\":\"a\",\"title\":\"Aardvark feeding\",\"text\":\"Aardvarks eat termites at night.\"}\n").unwrap();
    let yaml = "name: kb\nschedule:\n  cron: \"*/1 * * * * *\"\nsources:\n  - id: notes\n    type: files\n    visibility: public\n    settings:\n      path: kb.jsonl\n";
    std::fs::write(pipes.join("kb.yaml"), yaml).unwrap();

    let (mut child, addr) = start(dir.path());
    // Not ready until the pipeline files are loaded.
    wait_for("readiness", Duration::from_secs(30), || {
        http(&addr, "GET", "/readyz", None).0 == 200
    });
    wait_for("the first scheduled run", Duration::from_secs(60), || {
        source_status(&addr)["last_run"]["status"] == "ok"
    });
    // Runs come every second, so the one seen may be the first (full) or a
    // later incremental one; either way the record is indexed exactly once.
    let s = source_status(&addr);
    assert!(
        ["full", "incremental"].contains(&s["last_run"]["mode"].as_str().unwrap()),
        "{s}"
    );
    assert_eq!(
        s["last_run"]["docs_added"].as_u64().unwrap()
            + s["last_run"]["docs_unchanged"].as_u64().unwrap(),
        1,
        "{s}"
    );
    assert!(source_status(&addr)["next_run"].is_string());

    // A new record is picked up by a later scheduled run.
    std::fs::write(
        pipes.join("kb.jsonl"),
        "{\"id\":\"a\",\"title\":\"Aardvark feeding\",\"text\":\"Aardvarks eat termites at night.\"}\n{\"id\":\"b\",\"title\":\"Badger setts\",\"text\":\"Badgers dig setts.\"}\n",
    )
    .unwrap();
    // Every run after the one that adds it sees both records unchanged.
    wait_for("the new record", Duration::from_secs(60), || {
        let r = &source_status(&addr)["last_run"];
        r["docs_added"] == 1 || (r["docs_unchanged"] == 2 && r["mode"] == "incremental")
    });

    // A broken file is rejected with the error; the old version keeps running.
    std::fs::write(
        pipes.join("kb.yaml"),
        "name: kb\nschedule: {cron: \"every now and then\"}\nsources: []\n",
    )
    .unwrap();
    wait_for("the rejection", Duration::from_secs(20), || {
        http(&addr, "GET", "/v1/pipelines/kb", None).1["rejected"].is_string()
    });
    let (_, body) = http(&addr, "GET", "/v1/pipelines/kb", None);
    assert!(
        body["rejected"].as_str().unwrap().contains("schedule.cron"),
        "{body}"
    );
    assert_eq!(body["schedule"], "*/1 * * * * *");
    let before = source_status(&addr)["last_run"]["finished_at"].clone();
    wait_for("a run of the old version", Duration::from_secs(30), || {
        source_status(&addr)["last_run"]["finished_at"] != before
    });
    std::fs::write(pipes.join("kb.yaml"), yaml).unwrap();

    // Manual sync: accepted, or 409 when the scheduled run holds the source.
    let (code, body) = http(
        &addr,
        "POST",
        "/v1/pipelines/kb/sync",
        Some(r#"{"mode":"prune"}"#),
    );
    assert!(code == 202 || code == 409, "{code} {body}");
    assert_eq!(
        http(
            &addr,
            "POST",
            "/v1/pipelines/kb/sync",
            Some(r#"{"mode":"sideways"}"#)
        )
        .0,
        400
    );
    assert_eq!(http(&addr, "POST", "/v1/pipelines/nope/sync", None).0, 404);
    // Without keys, another site's page cannot start a sync: a form post
    // (no JSON content type) or a script's post from a foreign origin.
    assert_eq!(
        http_with(
            &addr,
            "POST",
            "/v1/pipelines/kb/sync",
            "Content-Type: application/x-www-form-urlencoded\r\n",
            "mode=full"
        ),
        403
    );
    assert_eq!(
        http_with(
            &addr,
            "POST",
            "/v1/pipelines/kb/sync",
            "Content-Type: text/plain\r\n",
            ""
        ),
        403
    );
    assert_eq!(
        http_with(
            &addr,
            "POST",
            "/v1/pipelines/kb/sync",
            "Content-Type: application/json\r\nOrigin: https://evil.example\r\n",
            "{}"
        ),
        403
    );
    // DNS rebinding: a name pointing at 127.0.0.1 is not served.
    assert_eq!(
        http_with(&addr, "GET", "/v1/pipelines", "Host: evil.example\r\n", ""),
        421
    );
    assert_eq!(
        http_with(
            &addr,
            "GET",
            "/v1/pipelines",
            &format!("Host: localhost:{}\r\n", addr.rsplit(':').next().unwrap()),
            ""
        ),
        200
    );

    let status = sigterm(&mut child);
    assert!(status.success(), "{status:?}");

    // Restart: it resumes from the stored checkpoints; nothing is re-added.
    let (mut child, addr) = start(dir.path());
    wait_for("a run after the restart", Duration::from_secs(60), || {
        let s = source_status(&addr);
        s["last_run"]["status"] == "ok" && s["last_run"]["mode"] == "incremental"
    });
    let s = source_status(&addr);
    assert_eq!(s["last_run"]["docs_added"], 0, "{s}");
    assert_eq!(s["last_run"]["docs_unchanged"], 2, "{s}");
    assert!(sigterm(&mut child).success());
}

#[test]
fn daemon_api_needs_keys_searches_every_pipeline_and_reports_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let pipes = dir.path().join("pipes");
    std::fs::create_dir_all(&pipes).unwrap();
    std::fs::write(
        pipes.join("kb.jsonl"),
        "{\"id\":\"a\",\"title\":\"Aardvark feeding\",\"text\":\"Aardvarks eat termites at night.\"}\n{\"id\":\"s\",\"title\":\"Termite budget\",\"text\":\"The termite budget is secret.\",\"acl\":[\"group:finance\"]}\n",
    )
    .unwrap();
    std::fs::write(
        pipes.join("zoo.jsonl"),
        "{\"id\":\"z\",\"title\":\"Pangolin care\",\"text\":\"Pangolins also eat termites.\"}\n",
    )
    .unwrap();
    let source = |name: &str| {
        format!(
            "name: {name}\nschedule:\n  cron: \"0 0 3 * * *\"\nsources:\n  - id: notes\n    type: files\n    settings:\n      path: {name}.jsonl\n      mapping:\n        acl: acl\n        acl_fallback: public\n"
        )
    };
    std::fs::write(pipes.join("kb.yaml"), source("kb")).unwrap();
    std::fs::write(pipes.join("zoo.yaml"), source("zoo")).unwrap();
    let keys = format!(
        "keys:\n  - {{name: reader, sha256: {}, principals: [group:staff]}}\n  - {{name: finance, sha256: {}, principals: [group:finance]}}\n  - {{name: ops, sha256: {}, principals: [], admin: true}}\n",
        sluice_api::hash_key("key-reader"),
        sluice_api::hash_key("key-finance"),
        sluice_api::hash_key("key-ops")
    );
    std::fs::write(dir.path().join("keys.yaml"), keys).unwrap();

    // Without keys, the API refuses to start unless --no-auth says so.
    let refused = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "daemon",
            "pipes",
            "--data-dir",
            "data",
            "--listen",
            "0.0.0.0:0",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--no-auth"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let (mut child, addr) = start_with(dir.path(), &["--api-keys", "keys.yaml"]);
    wait_for("readiness", Duration::from_secs(30), || {
        http(&addr, "GET", "/readyz", None).0 == 200
    });
    // Status and syncs need a key; a sync needs an admin key.
    assert_eq!(http(&addr, "GET", "/v1/pipelines", None).0, 401);
    assert_eq!(
        http_as(&addr, "GET", "/v1/pipelines", None, Some("wrong")).0,
        401
    );
    assert_eq!(
        http_as(&addr, "GET", "/v1/pipelines", None, Some("key-reader")).0,
        200
    );
    let (code, body) = http_as(
        &addr,
        "POST",
        "/v1/pipelines/kb/sync",
        None,
        Some("key-reader"),
    );
    assert_eq!(code, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("admin"), "{body}");
    // A source that never ran is due at start, so the sync may find it busy.
    for p in ["kb", "zoo"] {
        let (code, body) = http_as(
            &addr,
            "POST",
            &format!("/v1/pipelines/{p}/sync"),
            None,
            Some("key-ops"),
        );
        assert!(code == 202 || code == 409, "{code} {body}");
    }
    let done = |p: &str| {
        http_as(
            &addr,
            "GET",
            &format!("/v1/pipelines/{p}"),
            None,
            Some("key-ops"),
        )
        .1["sources"][0]["last_run"]["status"]
            == "ok"
    };
    wait_for("both manual syncs", Duration::from_secs(60), || {
        done("kb") && done("zoo")
    });

    // One search covers both pipelines, filtered by the caller's principals.
    let search = |key: Option<&str>| {
        let (code, body) = http_as(
            &addr,
            "POST",
            "/v1/search",
            Some(r#"{"query":"termites","mode":"keyword"}"#),
            key,
        );
        let mut ids: Vec<String> = body["hits"]
            .as_array()
            .map(|h| {
                h.iter()
                    .map(|x| x["external_id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        (code, ids)
    };
    assert_eq!(search(None).0, 401);
    assert_eq!(
        search(Some("key-reader")),
        (200, vec!["a".to_string(), "z".to_string()])
    );
    assert_eq!(
        search(Some("key-finance")),
        (200, vec!["a".to_string(), "s".to_string(), "z".to_string()])
    );

    // Prometheus: sync runs, documents, index sizes by source, embed batches,
    // and the search metrics of the same registry.
    // With keys configured, metrics need one too (unless --public-metrics).
    assert_eq!(http_raw(&addr, "GET", "/metrics", None, None).0, 401);
    let (code, metrics) = http_raw(&addr, "GET", "/metrics", None, Some("key-reader"));
    assert_eq!(code, 200);
    for line in [
        r#"sluice_sync_runs_total{mode="full",pipeline="kb",source="notes",status="ok"} 1"#,
        r#"sluice_sync_documents_total{change="added",pipeline="kb",source="notes"} 2"#,
        r#"sluice_indexed_documents{pipeline="kb",source="notes"} 2"#,
        r#"sluice_indexed_documents{pipeline="zoo",source="notes"} 1"#,
        r#"sluice_embed_batch_seconds_count{pipeline="zoo"} 1"#,
        r#"sluice_search_requests_total{mode="keyword",outcome="ok"} 2"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing `{line}` in:\n{metrics}"
        );
    }
    let runs: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"sluice_sync_duration_seconds_count{pipeline="kb",source="notes"} "#)
        })
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&runs), "{runs} runs timed");
    // The page and the OpenAPI document are served by the daemon too.
    let (code, page) = http_raw(&addr, "GET", "/", None, None);
    assert!(code == 200 && page.contains("<title>Sluice search</title>"));
    let (code, doc) = http(&addr, "GET", "/openapi.json", None);
    assert_eq!(code, 200);
    for path in [
        "/v1/search",
        "/v1/documents/{id}",
        "/v1/pipelines",
        "/v1/pipelines/{name}",
        "/v1/pipelines/{name}/sync",
    ] {
        assert!(doc["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
    assert!(doc["components"]["schemas"]["PipelineStatusBody"].is_object());
    assert!(sigterm(&mut child).success());
}

/// Documents the pipeline's state holds (`sluice status --json`).
fn indexed_documents(dir: &Path, data: &str) -> u64 {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["status", "pipes/wiki.yaml", "--data-dir", data, "--json"])
        .current_dir(dir)
        .output()
        .unwrap();
    if !out.status.success() {
        return 0;
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["documents"].as_u64().unwrap())
        .sum()
}

/// Every chunk of an index with its vector, in id order.
fn index_contents(data: &Path) -> Vec<(sluice_core::search::ChunkPayload, Vec<f32>)> {
    let index = sluice_index::EmbeddedIndex::open(&sluice_engine::index_dir(data), false).unwrap();
    let mut chunks: Vec<_> = index
        .payloads()
        .unwrap()
        .into_iter()
        .map(|p| {
            let v = index.vector_of(&p.chunk_id).unwrap();
            (p, v)
        })
        .collect();
    chunks.sort_by_key(|c| c.0.chunk_id);
    chunks
}

#[test]
fn sigterm_during_a_run_then_restart_gives_the_index_of_an_uninterrupted_run() {
    use sluice_fixtures::confluence::{self, ConfluenceWorld};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let world =
        sluice_fixtures::Shared::new(ConfluenceWorld::generate(&[("ENG", 30), ("OPS", 30)]));
    // A slow server: the full run takes long enough to be interrupted.
    world.faults().delay_ms = 15;
    let server = rt
        .block_on(sluice_fixtures::FixtureServer::start(
            confluence::router(),
            world.clone(),
            0,
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pipes = dir.path().join("pipes");
    std::fs::create_dir_all(&pipes).unwrap();
    let yaml = format!(
        "name: wiki\nschedule:\n  cron: \"0 0 3 * * *\"\nsources:\n  - id: confluence\n    type: confluence\n    settings:\n      base_url: {}/wiki\n      spaces: [ENG, OPS]\n      page_size: 5\n      http: {{ requests_per_second: 1000, burst: 100 }}\n    credentials:\n      email: ${{ATLASSIAN_EMAIL}}\n      api_token: ${{ATLASSIAN_TOKEN}}\n",
        server.url()
    );
    std::fs::write(pipes.join("wiki.yaml"), &yaml).unwrap();

    // The never-run source starts at once; stop the daemon in the middle
    // with no grace, so the run is abandoned between pages.
    let (mut child, _addr) = start_with(dir.path(), &["--shutdown-grace-secs", "0"]);
    wait_for("the first committed pages", Duration::from_secs(60), || {
        indexed_documents(dir.path(), "data/wiki") > 0
    });
    assert!(sigterm(&mut child).success());
    let partial = indexed_documents(dir.path(), "data/wiki");

    // Restart: the next run resumes from the committed checkpoint.
    let (mut child, addr) = start_with(dir.path(), &[]);
    wait_for("the resumed run", Duration::from_secs(120), || {
        let s = &http(&addr, "GET", "/v1/pipelines/wiki", None).1["sources"][0];
        s["last_run"]["status"] == "ok" && s["running"] != true
    });
    assert!(sigterm(&mut child).success());

    // The same pipeline, run once without interruption, elsewhere.
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "pipes/wiki.yaml", "--data-dir", "straight"])
        .env("ATLASSIAN_EMAIL", sluice_fixtures::common::FIXTURE_USER)
        .env("ATLASSIAN_TOKEN", sluice_fixtures::common::FIXTURE_TOKEN)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let total = indexed_documents(dir.path(), "straight");
    eprintln!("SIGTERM after {partial} of {total} documents were committed");
    assert!(
        partial > 0 && partial < total,
        "the run should have been cut short: {partial} of {total}"
    );
    assert_eq!(indexed_documents(dir.path(), "data/wiki"), total);
    let resumed = index_contents(&dir.path().join("data/wiki"));
    let straight = index_contents(&dir.path().join("straight"));
    assert_eq!(resumed.len(), straight.len(), "chunk counts differ");
    for ((a, va), (b, vb)) in resumed.iter().zip(&straight) {
        assert_eq!(a, b, "chunk payloads differ");
        let drift = va
            .iter()
            .zip(vb)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(drift < 1e-4, "vectors of {} differ by {drift}", a.chunk_id);
    }
    drop(server);
}
