//! The Kafka transport end to end on a real Kafka-protocol broker (tansu,
//! started here on 127.0.0.1 from the binary `scripts/setup-kafka.sh`
//! builds): `Pipeline::run` publishes, `IndexWorker`s in one consumer group
//! index with the real embedder into the embedded index.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::json;
use sluice_core::search::{Access, SearchFilters, SearchMode};
use sluice_core::{DocKind, Document, Sink, SinkAck, SinkBatch, SinkError};
use sluice_engine::{Pipeline, RunOptions};
use sluice_index::EmbeddedIndex;
use sluice_kafka::{IndexWorker, WorkerOptions, WorkerReport};
use sluice_kafka::{KafkaConfig, KafkaPublisher};
use sluice_spec::load_pipeline_str;
use sluice_tests::{embedder, search, write_jsonl};
use sluice_testservers::kafka_broker::LocalBroker;
use tokio::sync::oneshot;

fn yaml(bootstrap: &str, batch_records: usize) -> String {
    format!(
        r#"
name: kb
sources:
  - id: wiki
    type: files
    visibility: public
    settings:
      path: kb.jsonl
      kind: page
chunking:
  max_tokens: 64
  overlap_tokens: 8
transport:
  type: kafka
  bootstrap_servers: "{bootstrap}"
  partitions: 4
  batch_records: {batch_records}
  linger_ms: 50
"#
    )
}

async fn publisher_pipeline(yaml: &str, dir: &Path) -> Pipeline {
    let loaded = load_pipeline_str(yaml, "kb.yaml", dir).unwrap_or_else(|d| panic!("{d:#?}"));
    Pipeline::open(
        &sluice_catalog::registry(),
        loaded,
        &dir.join("producer"),
        None,
    )
    .await
    .unwrap()
}

async fn indexer(yaml: &str, dir: &Path, data: &str) -> Pipeline {
    let loaded = load_pipeline_str(yaml, "kb.yaml", dir).unwrap_or_else(|d| panic!("{d:#?}"));
    Pipeline::open_indexer(
        &sluice_catalog::registry(),
        loaded,
        &dir.join(data),
        embedder(),
    )
    .await
    .unwrap()
}

fn idle_worker_opts() -> WorkerOptions {
    WorkerOptions {
        exit_when_idle: Some(Duration::from_secs(3)),
        ..Default::default()
    }
}

async fn sync(p: &Pipeline, yaml: &str, dir: &Path, full: bool) -> sluice_engine::SourceReport {
    let loaded = load_pipeline_str(yaml, "kb.yaml", dir).unwrap();
    let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &loaded)
        .unwrap_or_else(|d| panic!("{d:#?}"));
    let mut r = p
        .run(
            sources,
            &RunOptions {
                full,
                ..Default::default()
            },
        )
        .await;
    let s = r.sources.remove(0);
    assert_eq!(s.status, sluice_engine::SourceStatus::Ok, "{s:?}");
    s
}

fn doc(id: &str, title: &str, body: &str) -> Document {
    let mut d = Document::new("wiki", id, DocKind::Page);
    d.title = title.into();
    d.body = body.into();
    d.access = Some(sluice_core::DocAccess::Public);
    d
}

/// Documents in the index: doc id → (chunk count, title of chunk 0).
fn indexed(index: &EmbeddedIndex) -> HashMap<uuid::Uuid, (usize, String)> {
    let mut out: HashMap<uuid::Uuid, (usize, String)> = HashMap::new();
    for p in index.payloads().unwrap() {
        let e = out.entry(p.doc_id).or_insert((0, String::new()));
        e.0 += 1;
        if p.ordinal == 0 {
            e.1 = p.title.clone();
        }
    }
    out
}

fn corpus() -> Vec<serde_json::Value> {
    vec![
        json!({"id": "lag", "title": "Kafka consumer lag runbook", "text": "When the lag alert fires at 50k messages, scale the ingest consumers to six replicas."}),
        json!({"id": "pgbouncer", "title": "PgBouncer pooling", "text": "PgBouncer runs in transaction mode with a pool size of 400 connections per database."}),
        json!({"id": "vacation", "title": "Vacation policy", "text": "Employees get 28 days of paid leave per year."}),
        json!({"id": "refunds", "title": "Refund retries", "text": "The refund service retries failed card refunds three times with exponential backoff."}),
        json!({"id": "laptop", "title": "New hire laptop setup", "text": "Engineers receive a 16-inch laptop and request VPN access on day one."}),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn publish_index_update_and_delete_through_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let broker = LocalBroker::start(&dir.path().join("broker")).unwrap();
    let yaml = yaml(&broker.bootstrap(), 64);
    let mut rows = corpus();
    write_jsonl(&dir.path().join("kb.jsonl"), &rows);

    let producer = publisher_pipeline(&yaml, dir.path()).await;
    assert!(producer.publishes() && producer.store::<sluice_index::EmbeddedIndex>().is_none());
    let s = sync(&producer, &yaml, dir.path(), false).await;
    assert_eq!(
        (s.docs_added, s.records_published, s.chunks_embedded),
        (5, 5, 0)
    );

    let mut worker = IndexWorker::new(
        indexer(&yaml, dir.path(), "worker").await,
        idle_worker_opts(),
    )
    .await
    .unwrap();
    let r = worker.run(std::future::pending()).await.unwrap();
    assert_eq!((r.records, r.documents_written, r.dead_lettered), (5, 5, 0));
    let hits = search(
        worker.pipeline(),
        "pool size 400",
        SearchMode::Hybrid,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert_eq!(hits[0].external_id, "pgbouncer");

    // Unchanged records are not published again.
    let s = sync(&producer, &yaml, dir.path(), false).await;
    assert_eq!((s.docs_unchanged, s.records_published), (5, 0));

    // An edit and a deletion (found by the full sync's prune): two records.
    rows[1]["text"] = json!(
        "PgBouncer runs in transaction mode with a pool size of 800 connections per database."
    );
    rows.remove(2);
    write_jsonl(&dir.path().join("kb.jsonl"), &rows);
    let s = sync(&producer, &yaml, dir.path(), true).await;
    assert_eq!(
        (s.docs_updated, s.docs_deleted, s.records_published),
        (1, 1, 2)
    );
    let r = worker.run(std::future::pending()).await.unwrap();
    assert_eq!(
        (r.records, r.documents_written, r.documents_deleted),
        (2, 1, 1)
    );
    let index = worker
        .pipeline()
        .store::<sluice_index::EmbeddedIndex>()
        .unwrap()
        .clone();
    let docs = indexed(&index);
    assert_eq!(docs.len(), 4);
    assert!(!docs.contains_key(&sluice_core::doc_id("wiki", "vacation")));
    let hits = search(
        worker.pipeline(),
        "pool size 800",
        SearchMode::Keyword,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert_eq!(hits[0].external_id, "pgbouncer");
    assert!(hits[0].snippet.contains("800"), "{:?}", hits[0].snippet);
}

/// In front of the real index: fails the first calls with a transient
/// error, and always rejects documents titled "REJECT…" permanently.
struct FlakySink {
    inner: Arc<EmbeddedIndex>,
    transient_failures_left: AtomicU32,
}

#[async_trait]
impl Sink for FlakySink {
    fn name(&self) -> &str {
        "flaky"
    }
    async fn apply(&self, batch: &SinkBatch) -> Result<SinkAck, SinkError> {
        if self
            .transient_failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(SinkError {
                sink: "flaky".into(),
                message: "503 Service Unavailable".into(),
                transient: true,
            });
        }
        if let Some(w) = batch
            .writes
            .iter()
            .find(|w| w.document.title.starts_with("REJECT"))
        {
            return Err(SinkError {
                sink: "flaky".into(),
                message: format!("mapping error in {}", w.document.external_id),
                transient: false,
            });
        }
        self.inner.apply(batch).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_records_go_to_the_dead_letter_topic_and_the_rest_is_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let broker = LocalBroker::start(&dir.path().join("broker")).unwrap();
    let yaml = yaml(&broker.bootstrap(), 64);
    let index = Arc::new(EmbeddedIndex::open(&dir.path().join("index"), true).unwrap());
    // More transient failures in a row than the pipeline's own five attempts:
    // the worker retries the batch itself instead of skipping it.
    let sink = Arc::new(FlakySink {
        inner: index.clone(),
        transient_failures_left: AtomicU32::new(7),
    });
    let pipeline = indexer(&yaml, dir.path(), "worker")
        .await
        .with_only_sinks(vec![sink]);
    let mut worker = IndexWorker::new(pipeline, idle_worker_opts())
        .await
        .unwrap();

    let cfg = KafkaConfig::new(broker.bootstrap(), "sluice.kb");
    let mut docs: Vec<Document> = (0..20)
        .map(|i| {
            doc(
                &i.to_string(),
                &format!("Page {i}"),
                &format!("Body of page {i}."),
            )
        })
        .collect();
    docs.insert(7, doc("bad", "REJECT this one", "It cannot be mapped."));
    KafkaPublisher::new(&cfg, "kb")
        .unwrap()
        .publish(&docs, &[])
        .await
        .unwrap();
    // A record of another pipeline, and one that is not an envelope at all.
    KafkaPublisher::new(&cfg, "other")
        .unwrap()
        .publish(&[doc("x", "Elsewhere", "Wrong topic.")], &[])
        .await
        .unwrap();
    let raw: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    let garbage_key = sluice_core::doc_id("wiki", "garbage").to_string();
    raw.send(
        FutureRecord::to("sluice.kb")
            .key(&garbage_key)
            .payload("{not json"),
        Duration::from_secs(10),
    )
    .await
    .unwrap();

    let r = worker.run(std::future::pending()).await.unwrap();
    assert_eq!(
        (r.records, r.documents_written, r.dead_lettered),
        (23, 20, 3),
        "{r:?}"
    );
    assert!(
        r.retries >= 1,
        "transient failures are retried, not skipped: {r:?}"
    );
    let got = indexed(&index);
    assert_eq!(got.len(), 20);
    assert!(!got.contains_key(&sluice_core::doc_id("wiki", "bad")));

    // The dead-letter topic holds the three records, unchanged, with the reasons.
    let dlq: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "inspect")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    dlq.subscribe(&["sluice.kb.dlq"]).unwrap();
    let mut letters: HashMap<String, (String, Option<Vec<u8>>, Option<Vec<u8>>)> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while letters.len() < 3 && Instant::now() < deadline {
        let Some(Ok(m)) = dlq.poll(Duration::from_millis(500)) else {
            continue;
        };
        let header = |name: &str| {
            m.headers().and_then(|h| {
                h.iter()
                    .find(|x| x.key == name)
                    .and_then(|x| x.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        };
        assert!(
            header("sluice-origin-offset").is_some()
                && header("sluice-origin-topic").as_deref() == Some("sluice.kb")
        );
        letters.insert(
            header("sluice-error-stage").unwrap(),
            (
                header("sluice-error").unwrap(),
                m.key().map(<[u8]>::to_vec),
                m.payload().map(<[u8]>::to_vec),
            ),
        );
    }
    assert_eq!(
        letters.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(["decode".into(), "route".into(), "index".into()])
    );
    assert!(letters["decode"].0.contains("not JSON"), "{letters:?}");
    assert_eq!(letters["decode"].2.as_deref(), Some(&b"{not json"[..]));
    assert_eq!(letters["decode"].1.as_deref(), Some(garbage_key.as_bytes()));
    assert!(
        letters["route"].0.contains("pipeline `other`"),
        "{letters:?}"
    );
    assert!(
        letters["index"].0.contains("mapping error in bad"),
        "{letters:?}"
    );

    // Everything was committed: a restarted worker finds nothing to redo.
    drop(worker);
    let pipeline = indexer(&yaml, dir.path(), "worker2")
        .await
        .with_only_sinks(vec![index.clone()]);
    let r = IndexWorker::new(pipeline, idle_worker_opts())
        .await
        .unwrap()
        .run(std::future::pending())
        .await
        .unwrap();
    assert_eq!(r.records, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn updates_of_one_document_arrive_in_order_and_the_last_write_wins() {
    let dir = tempfile::tempdir().unwrap();
    let broker = LocalBroker::start(&dir.path().join("broker")).unwrap();
    // Batches of 3 records: the versions spread over many batches.
    let yaml = yaml(&broker.bootstrap(), 3);
    let mut worker = IndexWorker::new(
        indexer(&yaml, dir.path(), "worker").await,
        idle_worker_opts(),
    )
    .await
    .unwrap();
    let publisher =
        KafkaPublisher::new(&KafkaConfig::new(broker.bootstrap(), "sluice.kb"), "kb").unwrap();
    let id7 = sluice_core::doc_id("wiki", "7");
    let id8 = sluice_core::doc_id("wiki", "8");
    for v in 1..=5 {
        publisher
            .publish(
                &[doc(
                    "7",
                    &format!("v{v}"),
                    &format!("Version {v} of seven."),
                )],
                &[],
            )
            .await
            .unwrap();
    }
    publisher
        .publish(&[], &[("wiki".into(), id7)])
        .await
        .unwrap();
    for v in 6..=10 {
        publisher
            .publish(
                &[doc(
                    "7",
                    &format!("v{v}"),
                    &format!("Version {v} of seven."),
                )],
                &[],
            )
            .await
            .unwrap();
    }
    publisher
        .publish(
            &[doc("8", "v1", "Eight."), doc("8", "v2", "Eight again.")],
            &[],
        )
        .await
        .unwrap();
    publisher
        .publish(&[], &[("wiki".into(), id8)])
        .await
        .unwrap();

    let r = worker.run(std::future::pending()).await.unwrap();
    assert_eq!(r.records, 14);
    assert!(r.batches >= 5, "{r:?}");
    let got = indexed(
        &worker
            .pipeline()
            .store::<sluice_index::EmbeddedIndex>()
            .unwrap(),
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[&id7], (1, "v10".to_string()));
}

async fn wait_for(
    index: &EmbeddedIndex,
    what: &str,
    timeout: Duration,
    done: impl Fn(&HashMap<uuid::Uuid, (usize, String)>) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        if done(&indexed(index)) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn spawn_worker(
    mut worker: IndexWorker,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<WorkerReport>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
            .unwrap()
    });
    (stop, handle)
}

fn versioned(range: std::ops::Range<u32>, v: u32) -> Vec<Document> {
    range
        .map(|i| {
            doc(
                &i.to_string(),
                &format!("v{v}"),
                &format!("Page {i}, version {v}."),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_split_the_partitions_and_a_rebalance_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = LocalBroker::start(&dir.path().join("broker")).unwrap();
    let yaml = yaml(&broker.bootstrap(), 50);
    let index = Arc::new(EmbeddedIndex::open(&dir.path().join("index"), true).unwrap());
    let publisher =
        KafkaPublisher::new(&KafkaConfig::new(broker.bootstrap(), "sluice.kb"), "kb").unwrap();

    let a = IndexWorker::new(
        indexer(&yaml, dir.path(), "a")
            .await
            .with_only_sinks(vec![index.clone()]),
        WorkerOptions::default(),
    )
    .await
    .unwrap();
    let (stop_a, a) = spawn_worker(a);
    publisher.publish(&versioned(0..600, 1), &[]).await.unwrap();
    wait_for(
        &index,
        "worker a to start indexing",
        Duration::from_secs(120),
        |d| !d.is_empty(),
    )
    .await;

    // A second member joins: the partitions are split between the two.
    let registry_b = prometheus::Registry::new();
    let b = IndexWorker::new(
        indexer(&yaml, dir.path(), "b")
            .await
            .with_only_sinks(vec![index.clone()]),
        WorkerOptions::default(),
    )
    .await
    .unwrap()
    .with_metrics(sluice_kafka::WorkerMetrics::register(&registry_b, "kb").unwrap());
    let (stop_b, b) = spawn_worker(b);
    // Publish only once b owns partitions: on a loaded machine its join can
    // take longer than a needs to consume the next versions alone.
    let owned_by_b = || {
        registry_b
            .gather()
            .iter()
            .filter(|f| f.name() == "sluice_worker_assigned_partitions")
            .flat_map(|f| f.get_metric())
            .map(|m| m.get_gauge().get_value())
            .sum::<f64>()
    };
    let joined = Instant::now();
    while owned_by_b() < 1.0 {
        assert!(joined.elapsed() < Duration::from_secs(120), "b never joined the group");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for part in [0..300, 300..600] {
        publisher.publish(&versioned(part, 2), &[]).await.unwrap();
    }
    publisher
        .publish(&versioned(600..900, 2), &[])
        .await
        .unwrap();
    wait_for(
        &index,
        "900 documents at version 2",
        Duration::from_secs(180),
        |d| d.len() == 900 && d.values().all(|x| x.1 == "v2"),
    )
    .await;

    // The first leaves: its partitions move to the second.
    stop_a.send(()).unwrap();
    let a = a.await.unwrap();
    publisher
        .publish(&versioned(0..1000, 3), &[])
        .await
        .unwrap();
    wait_for(
        &index,
        "1000 documents at version 3",
        Duration::from_secs(180),
        |d| d.len() == 1000 && d.values().all(|x| x.1 == "v3"),
    )
    .await;
    stop_b.send(()).unwrap();
    let b = b.await.unwrap();

    assert!(
        a.records > 0 && b.records > 0,
        "both workers consumed: a {a:?} b {b:?}"
    );
    assert!(!a.partitions.is_empty() && !b.partitions.is_empty());
    assert_eq!(
        a.partitions
            .union(&b.partitions)
            .copied()
            .collect::<BTreeSet<i32>>(),
        BTreeSet::from([0, 1, 2, 3])
    );
    assert!(
        b.rebalances >= 2,
        "b joined and then took over a's partitions: {b:?}"
    );
    let got = indexed(&index);
    assert_eq!(got.len(), 1000);
    assert!(
        got.values()
            .all(|(chunks, title)| *chunks == 1 && title == "v3")
    );
    // Nothing lost, and what was redone after the rebalance is at most a batch per partition move.
    assert!(
        a.records + b.records >= 600 + 900 + 1000,
        "a {} + b {}",
        a.records,
        b.records
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn producer_and_worker_recover_from_a_broker_restart_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let broker = LocalBroker::start(&dir.path().join("broker")).unwrap();
    let yaml = yaml(&broker.bootstrap(), 200);
    let worker = IndexWorker::new(
        indexer(&yaml, dir.path(), "worker").await,
        WorkerOptions::default(),
    )
    .await
    .unwrap();
    let index = worker
        .pipeline()
        .store::<sluice_index::EmbeddedIndex>()
        .unwrap()
        .clone();
    let (stop, handle) = spawn_worker(worker);
    let publisher =
        KafkaPublisher::new(&KafkaConfig::new(broker.bootstrap(), "sluice.kb"), "kb").unwrap();

    let mut broker = Some(broker);
    let mut restarter = None;
    for page in 0..16u32 {
        if page == 6 {
            // Down for three seconds while pages keep coming.
            let mut broker = broker.take().unwrap();
            broker.kill();
            restarter = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(3));
                broker.restart().unwrap();
                broker
            }));
        }
        let docs = versioned(page * 150..(page + 1) * 150, 1);
        let ack = publisher
            .publish(&docs, &[])
            .await
            .unwrap_or_else(|e| panic!("page {page}: {e}"));
        assert_eq!(ack.records, 150);
    }
    let _broker = restarter.unwrap().join().unwrap();
    wait_for(
        &index,
        "all 2400 documents",
        Duration::from_secs(240),
        |d| d.len() == 2400,
    )
    .await;
    stop.send(()).unwrap();
    let r = handle.await.unwrap();
    assert!(r.records >= 2400, "{r:?}");
    assert!(indexed(&index).values().all(|(chunks, _)| *chunks == 1));
}

/// In front of the real index: every write takes `delay` (an overloaded store).
struct SlowSink {
    inner: Arc<EmbeddedIndex>,
    delay: Duration,
}

#[async_trait]
impl Sink for SlowSink {
    fn name(&self) -> &str {
        "slow"
    }
    async fn apply(&self, batch: &SinkBatch) -> Result<SinkAck, SinkError> {
        tokio::time::sleep(self.delay).await;
        self.inner.apply(batch).await
    }
}

fn metric(text: &str, name: &str) -> Vec<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_sinks_pause_fetching_and_lag_shows_on_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let broker = LocalBroker::start(&dir.path().join("broker")).unwrap();
    // Statistics (the lag source) every 500 ms instead of 5 s.
    let yaml = format!(
        "{}  properties:\n    statistics.interval.ms: \"500\"\n",
        yaml(&broker.bootstrap(), 64)
    );
    let index = Arc::new(EmbeddedIndex::open(&dir.path().join("index"), true).unwrap());
    let sink = Arc::new(SlowSink {
        inner: index.clone(),
        delay: Duration::from_millis(700),
    });
    let pipeline = indexer(&yaml, dir.path(), "worker")
        .await
        .with_only_sinks(vec![sink]);
    let registry = prometheus::Registry::new();
    let metrics = sluice_kafka::WorkerMetrics::register(&registry, "kb").unwrap();
    let opts = WorkerOptions {
        exit_when_idle: Some(Duration::from_secs(3)),
        pause_after: Duration::from_millis(200),
        ..Default::default()
    };
    let worker = IndexWorker::new(pipeline, opts)
        .await
        .unwrap()
        .with_metrics(metrics);

    let cfg = KafkaConfig::new(broker.bootstrap(), "sluice.kb");
    let docs: Vec<Document> = (0..300)
        .map(|i| {
            doc(
                &i.to_string(),
                &format!("Page {i}"),
                &format!("Body of page {i}."),
            )
        })
        .collect();
    KafkaPublisher::new(&cfg, "kb")
        .unwrap()
        .publish(&docs, &[])
        .await
        .unwrap();

    // Watch /metrics while the worker runs.
    let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
    let sampler = {
        let registry = registry.clone();
        tokio::spawn(async move {
            let (mut max_lag, mut lag_partitions) = (0.0f64, 0usize);
            loop {
                let mut buf = Vec::new();
                prometheus::Encoder::encode(
                    &prometheus::TextEncoder::new(),
                    &registry.gather(),
                    &mut buf,
                )
                .unwrap();
                let text = String::from_utf8(buf).unwrap();
                let lags = metric(&text, "sluice_worker_consumer_lag{");
                lag_partitions = lag_partitions.max(lags.len());
                max_lag = lags.into_iter().fold(max_lag, f64::max);
                tokio::select! {
                    _ = &mut stop_rx => return (max_lag, lag_partitions, text),
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        })
    };
    let (_stop, handle) = spawn_worker(worker);
    let r = handle.await.unwrap();
    stop_tx.send(()).unwrap();
    let (max_lag, lag_partitions, text) = sampler.await.unwrap();

    assert!(
        r.pauses >= 1,
        "batches slower than pause_after pause fetching: {r:?}"
    );
    assert_eq!(
        (r.records, r.documents_written),
        (300, 300),
        "nothing lost across pause/resume: {r:?}"
    );
    assert_eq!(indexed(&index).len(), 300);
    assert!(
        max_lag > 0.0 && lag_partitions >= 1,
        "consumer lag per partition appeared on /metrics (max {max_lag}, {lag_partitions} partitions)"
    );
    assert_eq!(
        metric(&text, "sluice_worker_pauses_total"),
        vec![r.pauses as f64]
    );
    assert_eq!(metric(&text, "sluice_worker_records_total"), vec![300.0]);
    assert_eq!(
        metric(&text, "sluice_worker_batch_records_count"),
        vec![r.batches as f64],
        "one batch-size sample per batch"
    );
    assert_eq!(
        metric(&text, "sluice_worker_batch_records_sum"),
        vec![300.0]
    );
}
