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

fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = body.unwrap_or("");
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let payload = raw.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["daemon", "pipes", "--data-dir", "data", "--listen", "127.0.0.1:0", "--reload-secs", "1", "--shutdown-grace-secs", "5"])
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
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "the daemon did not stop within 15 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn daemon_schedules_reloads_syncs_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let pipes = dir.path().join("pipes");
    std::fs::create_dir_all(&pipes).unwrap();
    std::fs::write(pipes.join("kb.jsonl"), "{\"id\":\"a\",\"title\":\"Aardvark feeding\",\"text\":\"Aardvarks eat termites at night.\"}\n").unwrap();
    let yaml = "name: kb\nschedule:\n  cron: \"*/1 * * * * *\"\nsources:\n  - id: notes\n    type: files\n    settings:\n      path: kb.jsonl\n";
    std::fs::write(pipes.join("kb.yaml"), yaml).unwrap();

    let (mut child, addr) = start(dir.path());
    // Not ready until the pipeline files are loaded.
    wait_for("readiness", Duration::from_secs(30), || http(&addr, "GET", "/readyz", None).0 == 200);
    wait_for("the first scheduled run", Duration::from_secs(60), || source_status(&addr)["last_run"]["status"] == "ok");
    // Runs come every second, so the one seen may be the first (full) or a
    // later incremental one; either way the record is indexed exactly once.
    let s = source_status(&addr);
    assert!(["full", "incremental"].contains(&s["last_run"]["mode"].as_str().unwrap()), "{s}");
    assert_eq!(s["last_run"]["docs_added"].as_u64().unwrap() + s["last_run"]["docs_unchanged"].as_u64().unwrap(), 1, "{s}");
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
    std::fs::write(pipes.join("kb.yaml"), "name: kb\nschedule: {cron: \"every now and then\"}\nsources: []\n").unwrap();
    wait_for("the rejection", Duration::from_secs(20), || http(&addr, "GET", "/v1/pipelines/kb", None).1["rejected"].is_string());
    let (_, body) = http(&addr, "GET", "/v1/pipelines/kb", None);
    assert!(body["rejected"].as_str().unwrap().contains("schedule.cron"), "{body}");
    assert_eq!(body["schedule"], "*/1 * * * * *");
    let before = source_status(&addr)["last_run"]["finished_at"].clone();
    wait_for("a run of the old version", Duration::from_secs(30), || source_status(&addr)["last_run"]["finished_at"] != before);
    std::fs::write(pipes.join("kb.yaml"), yaml).unwrap();

    // Manual sync: accepted, or 409 when the scheduled run holds the source.
    let (code, body) = http(&addr, "POST", "/v1/pipelines/kb/sync", Some(r#"{"mode":"prune"}"#));
    assert!(code == 202 || code == 409, "{code} {body}");
    assert_eq!(http(&addr, "POST", "/v1/pipelines/kb/sync", Some(r#"{"mode":"sideways"}"#)).0, 400);
    assert_eq!(http(&addr, "POST", "/v1/pipelines/nope/sync", None).0, 404);

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
