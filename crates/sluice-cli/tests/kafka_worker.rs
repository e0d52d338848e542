//! `sluice worker` as a process against a real Kafka-protocol broker
//! (tansu on 127.0.0.1): 100,000 records (20,000 documents, five versions
//! each, published one after another; 1,000 end in a tombstone), the worker
//! SIGKILLed at random points five times and restarted; afterwards every
//! document is in the index exactly once, at its latest version, and the
//! deleted ones are gone.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sluice_core::{DocKind, Document};
use sluice_index::EmbeddedIndex;
use sluice_kafka::{KafkaConfig, KafkaPublisher};
use sluice_testservers::kafka_broker::LocalBroker;

const DOCS: u32 = 20_000;
const VERSIONS: u32 = 5;
const DELETED: u32 = 1_000;

struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_worker(dir: &Path, metrics_port: u16, extra: &[&str]) -> Worker {
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "worker",
            "kb.yaml",
            "--data-dir",
            "data",
            "--threads",
            "2",
            "--metrics-addr",
            &format!("127.0.0.1:{metrics_port}"),
        ])
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("worker.log"))
                .unwrap(),
        ))
        .spawn()
        .expect("start sluice worker");
    Worker(child)
}

/// `sluice_worker_records_total` from the worker's /metrics, once it answers.
fn records_committed(port: u16) -> Option<u64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let line = raw
        .lines()
        .find(|l| l.starts_with("sluice_worker_records_total"))?;
    line.split_whitespace().last()?.parse().ok()
}

/// The end of the workers' log, for failure messages (the directory is gone after the test).
fn log_tail(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("worker.log")).unwrap_or_default();
    let start = text.len().saturating_sub(3000);
    text.get(start..).unwrap_or_default().to_string()
}

/// A small xorshift: random kill points without a dependency; the seed is printed.
struct Rng(u64);

impl Rng {
    fn next_in(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo)
    }
}

fn doc(i: u32, version: u32) -> Document {
    let mut d = Document::new("bulk", &i.to_string(), DocKind::Document);
    d.title = format!("record {i}");
    d.body = format!("version {version} of record {i}");
    d.access = Some(sluice_core::DocAccess::Public);
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_five_times_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = LocalBroker::start(&dir.path().join("broker")).unwrap();
    std::fs::write(dir.path().join("bulk.jsonl"), "").unwrap();
    std::fs::write(
        dir.path().join("kb.yaml"),
        format!(
            "name: kb\nsources:\n  - id: bulk\n    type: files\n    visibility: public\n    settings:\n      path: bulk.jsonl\nembedding:\n  batch_size: 256\n\
             transport:\n  type: kafka\n  bootstrap_servers: \"{}\"\n  partitions: 4\n  batch_records: 1000\n  linger_ms: 100\n",
            broker.bootstrap()
        ),
    )
    .unwrap();

    // 100,000 records: each document's five versions back to back (one key,
    // one partition, in order); the last 1,000 documents end in a tombstone.
    let publisher =
        KafkaPublisher::new(&KafkaConfig::new(broker.bootstrap(), "sluice.kb"), "kb").unwrap();
    publisher.ensure_topic(4, 1).await.unwrap();
    let mut published = 0;
    for start in (0..DOCS).step_by(1000) {
        let mut docs = Vec::new();
        let mut deletes = Vec::new();
        for i in start..start + 1000 {
            let deleted = i >= DOCS - DELETED;
            let last_upsert = if deleted { VERSIONS - 1 } else { VERSIONS };
            docs.extend((1..=last_upsert).map(|v| doc(i, v)));
            if deleted {
                deletes.push((
                    "bulk".to_string(),
                    sluice_core::doc_id("bulk", &i.to_string()),
                ));
            }
        }
        // `publish` sends the documents before the tombstones, so each
        // tombstone follows its document's versions.
        published += publisher.publish(&docs, &deletes).await.unwrap().records;
    }
    assert_eq!(published, 100_000);

    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill points seeded with {seed}");
    let mut rng = Rng(seed);
    let mut progress = Vec::new();
    for round in 1..=5 {
        let port = free_port();
        let mut w = spawn_worker(dir.path(), port, &[]);
        let started = Instant::now();
        // Wait until this worker has committed something, then kill it at a random moment.
        let before = loop {
            if let Some(n) = records_committed(port).filter(|n| *n > 0) {
                break n;
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "round {round}: the worker made no progress\n{}",
                log_tail(dir.path())
            );
            if let Ok(Some(status)) = w.0.try_wait() {
                panic!(
                    "round {round}: the worker exited early ({status})\n{}",
                    log_tail(dir.path())
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        std::thread::sleep(Duration::from_millis(rng.next_in(200, 4000)));
        let at = records_committed(port).unwrap_or(before);
        w.0.kill().unwrap(); // SIGKILL: no chance to finish the batch in hand
        w.0.wait().unwrap();
        progress.push(at);
        eprintln!("round {round}: SIGKILLed after it committed {at} records this run");
        // The dead member holds its partitions until its session (10 s)
        // expires. tansu evicts it only when a member joins after that (a
        // Kafka coordinator expires it on its own), so restart after it.
        std::thread::sleep(Duration::from_secs(11));
    }

    // The last run drains the topic and exits when idle.
    let mut w = spawn_worker(
        dir.path(),
        free_port(),
        &["--exit-when-idle", "8", "--json"],
    );
    let started = Instant::now();
    let status = loop {
        if let Some(s) = w.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1200),
            "the final worker did not finish\n{}",
            log_tail(dir.path())
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut out = String::new();
    BufReader::new(w.0.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .for_each(|l| out.push_str(&l));
    assert!(
        status.success(),
        "final worker: {status}\n{}",
        log_tail(dir.path())
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    eprintln!("final run: {report}");
    drop(broker);

    let index = EmbeddedIndex::open(&dir.path().join("data/index"), false).unwrap();
    let mut chunks: HashMap<uuid::Uuid, Vec<String>> = HashMap::new();
    for p in index.payloads().unwrap() {
        chunks.entry(p.doc_id).or_default().push(p.text);
    }
    assert_eq!(
        chunks.len(),
        (DOCS - DELETED) as usize,
        "every live document once, deleted ones gone\n{}",
        log_tail(dir.path())
    );
    for i in 0..DOCS {
        let id = sluice_core::doc_id("bulk", &i.to_string());
        if i >= DOCS - DELETED {
            assert!(!chunks.contains_key(&id), "record {i} was deleted");
            continue;
        }
        let texts = chunks
            .get(&id)
            .unwrap_or_else(|| panic!("record {i} is missing"));
        assert_eq!(texts.len(), 1, "record {i}: {texts:?}");
        assert!(
            texts[0].contains(&format!("version {VERSIONS} of record {i}")),
            "record {i}: {texts:?}"
        );
    }
}
