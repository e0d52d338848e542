//! Two `sluice daemon` processes sharing one PostgreSQL state (a real
//! server, Debian's package) and one set of stores (Qdrant's engine behind
//! its gRPC API, the recorded-contract Elasticsearch server): one replica
//! runs the job; paused (SIGSTOP) it is replaced once its lease lapses and,
//! woken up, it commits nothing more; the replacement killed (SIGKILL)
//! mid-run is replaced in turn; the index ends exactly as the source.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice_fixtures::confluence::{self, ConfluenceWorld};
use sluice_testservers::postgres_server::PostgresServer;

/// Lines each replica logged, with when the test read them.
type Log = Arc<Mutex<Vec<(Instant, String)>>>;

/// Every replica's log, for the failure message.
static LOGS: Mutex<Vec<(&'static str, Log)>> = Mutex::new(Vec::new());

struct Replica {
    name: &'static str,
    child: Child,
    log: Log,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.signal("CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    fn start(dir: &Path, name: &'static str, shared: &str, ttl_secs: u64) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["daemon", "pipes", "--data-dir", &format!("data-{name}")])
            .args(["--listen", "127.0.0.1:0", "--no-auth", "--shutdown-grace-secs", "1"])
            .args(["--shared-state", shared, "--replica-id", name])
            .args(["--lease-ttl-secs", &ttl_secs.to_string()])
            .env("ATLASSIAN_EMAIL", sluice_fixtures::common::FIXTURE_USER)
            .env("ATLASSIAN_TOKEN", sluice_fixtures::common::FIXTURE_TOKEN)
            .env("NO_COLOR", "1")
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sluice daemon starts");
        let log: Log = Arc::default();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let l = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                l.lock().unwrap().push((Instant::now(), line));
            }
        });
        LOGS.lock().unwrap().push((name, log.clone()));
        Replica { name, child, log }
    }

    fn signal(&self, sig: &str) -> bool {
        Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// When this replica first logged `what` after `since`.
    fn logged(&self, what: &str, since: Instant) -> Option<Instant> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .find(|(t, l)| *t >= since && l.contains(what))
            .map(|(t, _)| *t)
    }

    fn count(&self, what: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|(_, l)| l.contains(what)).count()
    }

    /// `GET path` on this replica's API: (status, JSON body).
    fn get(&self, path: &str) -> (u16, serde_json::Value) {
        use std::io::{Read, Write};
        let addr = wait_for("the API address", Duration::from_secs(60), || {
            self.log.lock().unwrap().iter().find_map(|(_, l)| {
                Some(l.split("listening on http://").nth(1)?.split_whitespace().next()?.to_string())
            })
        });
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let code = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = raw.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        (code, serde_json::from_str(body).unwrap_or_default())
    }

    fn tail(&self) -> String {
        let log = self.log.lock().unwrap();
        let n = log.len().saturating_sub(25);
        log[n..].iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n")
    }
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if t.elapsed() >= timeout {
            let logs = LOGS.lock().unwrap().iter().map(|(n, l)| {
                let l = l.lock().unwrap();
                let k = l.len().saturating_sub(30);
                format!("--- {n}:\n{}", l[k..].iter().map(|(_, x)| x.as_str()).collect::<Vec<_>>().join("\n"))
            }).collect::<Vec<_>>().join("\n");
            panic!("timed out waiting for {what}\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn replicas_run_a_job_once_and_replace_a_paused_or_killed_owner() {
    failover(false);
}

/// The same with the Kafka transport: the replicas publish (their page
/// commits fenced as above) and one `sluice worker` indexes the topic.
#[test]
fn publishing_replicas_hand_over_and_the_worker_indexes_every_page_once() {
    failover(true);
}

fn failover(kafka: bool) {
    let Some(pg) = PostgresServer::start().unwrap() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let qdrant = rt
        .block_on(sluice_testservers::qdrant_server::QdrantEdgeServer::start())
        .unwrap();
    let es = rt
        .block_on(sluice_testservers::elastic_fixture::ElasticFixture::start(
            sluice_testservers::elastic_fixture::Flavor::Elasticsearch8,
        ))
        .unwrap();
    let pages = 120;
    let world = sluice_fixtures::Shared::new(ConfluenceWorld::generate(&[("ENG", pages / 2), ("OPS", pages / 2)]));
    // A slow server: the run lasts long enough to pause and kill owners.
    world.faults().delay_ms = 40;
    let server = rt
        .block_on(sluice_fixtures::FixtureServer::start(confluence::router(), world.clone(), 0))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pipes")).unwrap();
    let broker = kafka.then(|| sluice_testservers::kafka_broker::LocalBroker::start(&dir.path().join("broker")).unwrap());
    let transport = broker
        .as_ref()
        .map(|b| format!("transport:\n  type: kafka\n  bootstrap_servers: \"{}\"\n  partitions: 2\n  batch_records: 16\n  linger_ms: 20\n", b.bootstrap()))
        .unwrap_or_default();
    std::fs::write(
        dir.path().join("pipes/wiki.yaml"),
        format!(
            "{transport}name: wiki\nschedule:\n  cron: \"0 0 3 * * *\"\nsources:\n  - id: confluence\n    type: confluence\n    settings:\n      base_url: {}/wiki\n      spaces: [ENG, OPS]\n      page_size: 4\n      http: {{ requests_per_second: 1000, burst: 100 }}\n    credentials:\n      email: ${{ATLASSIAN_EMAIL}}\n      api_token: ${{ATLASSIAN_TOKEN}}\nsinks:\n  - type: qdrant\n    url: {}\n    collection: wiki\n  - type: elasticsearch\n    url: {}\n    index: wiki\n    refresh: wait_for\n",
            server.url(),
            qdrant.url(),
            es.url()
        ),
    )
    .unwrap();
    let ttl = Duration::from_secs(2);
    let state = sluice_state::StateStore::open_shared(&pg.url()).unwrap();
    let documents = || -> u64 {
        state.count_documents("wiki").unwrap_or_default().iter().map(|(_, d, _)| d).sum()
    };

    let t0 = Instant::now();
    let a = Replica::start(dir.path(), "a", &pg.url(), ttl.as_secs());
    let b = Replica::start(dir.path(), "b", &pg.url(), ttl.as_secs());
    // With Kafka, one worker indexes what the replicas publish.
    let worker = kafka.then(|| {
        Worker(
            Command::new(env!("CARGO_BIN_EXE_sluice"))
                .args(["worker", "pipes/wiki.yaml", "--data-dir", "worker", "--threads", "2", "--metrics-addr", "127.0.0.1:0"])
                .env("NO_COLOR", "1")
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sluice worker starts"),
        )
    });
    // Both find the never-run source due at once; one runs it.
    let (owner, other) = wait_for("a replica starting the run", Duration::from_secs(120), || {
        match (a.logged("run started", t0), b.logged("run started", t0)) {
            (Some(_), _) => Some((&a, &b)),
            (_, Some(_)) => Some((&b, &a)),
            _ => None,
        }
    });
    wait_for("the first committed pages", Duration::from_secs(60), || (documents() >= 8).then_some(()));
    assert_eq!(other.count("run started"), 0, "{} ran the job while {} held it:\n{}", other.name, owner.name, other.tail());
    assert!(other.count("held by another replica") > 0, "{} never tried:\n{}", other.name, other.tail());
    // Readiness says who runs what; both replicas serve.
    let (code, ready) = owner.get("/readyz");
    assert_eq!((code, &ready["replica"], &ready["jobs_held"]), (200, &serde_json::json!(owner.name), &serde_json::json!(["wiki/confluence"])));
    let (code, ready) = other.get("/readyz");
    assert_eq!((code, &ready["jobs_held"], &ready["shared_state_reachable"]), (200, &serde_json::json!([]), &serde_json::json!(true)));
    assert_eq!(other.get("/healthz").0, 200);

    // The owner stalls (a GC pause, a frozen VM): its lease lapses and the
    // other replica goes on from the last committed page.
    let paused_at = Instant::now();
    let at_pause = documents();
    assert!(owner.signal("STOP"));
    let took_over = wait_for("the takeover of a paused owner", Duration::from_secs(30), || {
        other.logged("run started", paused_at)
    });
    let takeover_paused = took_over - paused_at;
    // The lease was renewed about a third of a TTL before the pause (a
    // loaded machine renews late, so only a third is asserted): it was
    // still valid for a while after it, and nobody took over meanwhile.
    assert!(takeover_paused >= ttl / 3, "taken over after {takeover_paused:?}, before the owner's lease lapsed");
    wait_for("the new owner's commits", Duration::from_secs(60), || (documents() >= at_pause + 8).then_some(()));

    // The stalled owner wakes up: it stops without committing anything
    // (its renewal or its next page commit is refused).
    let woke_at = Instant::now();
    assert!(owner.signal("CONT"));
    let stopped = wait_for("the woken owner stopping", Duration::from_secs(30), || {
        owner.logged("lease was lost", woke_at).or_else(|| owner.logged("fenced", woke_at))
    });
    let refused_commit = owner.logged("fenced", woke_at).is_some();

    // Now the replacement dies mid-run; the woken replica, which watched the
    // unfinished tick, takes over again.
    assert!(
        other.logged("run finished", took_over).is_none(),
        "the run ended before the kill; make the fixture slower:\n{}",
        other.tail()
    );
    let killed_at = Instant::now();
    assert!(other.signal("KILL"));
    let retaken = wait_for("the takeover of a killed owner", Duration::from_secs(30), || {
        owner.logged("run started", killed_at)
    });
    let takeover_killed = retaken - killed_at;
    wait_for("the run finishing", Duration::from_secs(180), || owner.logged("run finished", retaken));

    eprintln!(
        "takeover after a pause: {:.2} s; after a kill: {:.2} s (lease TTL {} s); the woken owner {} ({:.2} s after waking)",
        takeover_paused.as_secs_f64(),
        takeover_killed.as_secs_f64(),
        ttl.as_secs(),
        if refused_commit { "had its late page commit refused (fenced)" } else { "lost its lease renewal before committing" },
        (stopped - woke_at).as_secs_f64(),
    );
    // Released leases are retaken at once; a lapsed one after at most
    // about one and a half TTLs (a lapse plus half a TTL between tries).
    assert!(takeover_killed <= ttl * 2 + Duration::from_secs(2), "{takeover_killed:?}");
    assert!(takeover_paused <= ttl * 2 + Duration::from_secs(2), "{takeover_paused:?}");
    // The shared state holds every page once, as committed by the owners
    // in turn.
    assert_eq!(documents(), pages as u64, "{}", owner.tail());
    assert_eq!(state.last_runs("wiki").unwrap()[0].status, "ok");
    // The CLI reads the same shared state.
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["status", "pipes/wiki.yaml", "--json", "--shared-state", &pg.url()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["sources"][0]["documents"], pages as u64, "{status}");
    if kafka {
        // Every page published once or more; the worker's index holds each
        // document once (ids are deterministic).
        let indexed = || -> u64 {
            let path = sluice_engine::worker_state_path(&dir.path().join("worker"));
            if !path.exists() {
                return 0; // opening would create it under the worker
            }
            sluice_state::StateStore::open(&path)
                .and_then(|s| s.count_documents("wiki"))
                .map(|c| c.iter().map(|(_, d, _)| d).sum())
                .unwrap_or(0)
        };
        wait_for("the worker indexing every page", Duration::from_secs(120), || {
            (indexed() == pages as u64).then_some(())
        });
    }
    drop((a, b, worker, server));
}

/// Kills the worker when the test ends.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
