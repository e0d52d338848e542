//! Kafka transport, consuming side (`sluice worker`): a member of the
//! pipeline's consumer group that indexes what it consumes.
//!
//! Per batch: decode → keep each document's last record → per source,
//! transform → chunk → embed → every sink → poison records to the
//! dead-letter topic → commit offsets. Offsets move only after the sinks
//! and the dead-letter topic acknowledged, so a worker killed at any point
//! redoes at most its current batch (sinks write idempotently).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};
use sluice_core::Document;
use sluice_core::retry::{Backoff, RetryPolicy, retry};
use sluice_engine::{Pipeline, SourceReport};
use sluice_spec::TransportSpec;
use uuid::Uuid;

use crate::transport::kafka_config;
use crate::{BatchConsumer, Consumed, DeadLetterPublisher, PoisonRecord, Record};

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Overrides the pipeline's `transport.group`.
    pub group: Option<String>,
    /// Static group membership (`group.instance.id`): a stable name per
    /// worker, e.g. the pod name, so a restart keeps the same partitions.
    pub instance_id: Option<String>,
    /// Stop after finding nothing to consume for this long, once the group's
    /// committed offsets reached the end of every partition (one-shot jobs,
    /// tests). `None` runs until shut down.
    pub exit_when_idle: Option<Duration>,
    /// A batch still processing after this long (sinks retrying, a store
    /// throttling) pauses fetching until it is done. Pausing drops what
    /// librdkafka prefetched (it is fetched again on resume), so it is for
    /// stalls, not for every batch; librdkafka's own queue limit bounds
    /// prefetching otherwise.
    pub pause_after: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            group: None,
            instance_id: None,
            exit_when_idle: None,
            pause_after: Duration::from_secs(30),
        }
    }
}

/// Totals of one worker run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WorkerReport {
    pub batches: u64,
    pub records: u64,
    pub documents_written: u64,
    pub documents_unchanged: u64,
    pub documents_deleted: u64,
    pub chunks_embedded: u64,
    pub dead_lettered: u64,
    /// Transient sink failures retried.
    pub retries: u64,
    pub rebalances: u64,
    pub pauses: u64,
    /// Records dropped because their partition moved to another worker
    /// before they were processed (the new owner processes them).
    pub dropped_on_revoke: u64,
    /// Partitions this worker indexed records from.
    pub partitions: BTreeSet<i32>,
    /// Produce → indexed latency of each record, milliseconds.
    #[serde(skip)]
    pub latencies_ms: Vec<f64>,
    /// When the last batch was committed.
    #[serde(skip)]
    pub last_commit_at: Option<Instant>,
}

/// Prometheus metrics of a worker, for `/metrics`.
#[derive(Clone)]
pub struct WorkerMetrics {
    records: IntCounter,
    batch_records: Histogram,
    batch_seconds: Histogram,
    dead_letters: IntCounterVec,
    lag: IntGaugeVec,
    pauses: IntCounter,
    retries: IntCounter,
    rebalances: IntCounter,
    latency: Histogram,
    assigned: IntGauge,
}

impl WorkerMetrics {
    pub fn register(
        registry: &Registry,
        pipeline: &str,
    ) -> Result<WorkerMetrics, prometheus::Error> {
        let opts = |name: &str, help: &str| Opts::new(name, help).const_label("pipeline", pipeline);
        let hopts = |name: &str, help: &str, buckets: Vec<f64>| {
            HistogramOpts::new(name, help)
                .const_label("pipeline", pipeline)
                .buckets(buckets)
        };
        let m = WorkerMetrics {
            records: IntCounter::with_opts(opts(
                "sluice_worker_records_total",
                "Records consumed and committed",
            ))?,
            batch_records: Histogram::with_opts(hopts(
                "sluice_worker_batch_records",
                "Records per batch",
                vec![1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 5000.0],
            ))?,
            batch_seconds: Histogram::with_opts(hopts(
                "sluice_worker_batch_seconds",
                "Time from a batch's last record to its commit",
                vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0],
            ))?,
            dead_letters: IntCounterVec::new(
                opts(
                    "sluice_worker_dead_letters_total",
                    "Records sent to the dead-letter topic, by stage",
                ),
                &["stage"],
            )?,
            lag: IntGaugeVec::new(
                opts(
                    "sluice_worker_consumer_lag",
                    "Records behind the group's committed offset, per owned partition",
                ),
                &["partition"],
            )?,
            pauses: IntCounter::with_opts(opts(
                "sluice_worker_pauses_total",
                "Batches slow enough to pause fetching",
            ))?,
            retries: IntCounter::with_opts(opts(
                "sluice_worker_sink_retries_total",
                "Transient sink failures retried",
            ))?,
            rebalances: IntCounter::with_opts(opts(
                "sluice_worker_rebalances_total",
                "Partition assignments and revocations seen",
            ))?,
            latency: Histogram::with_opts(hopts(
                "sluice_worker_produce_to_indexed_seconds",
                "From a record's produce timestamp to its commit after every sink acknowledged",
                vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0],
            ))?,
            assigned: IntGauge::with_opts(opts(
                "sluice_worker_assigned_partitions",
                "Partitions this worker owns",
            ))?,
        };
        registry.register(Box::new(m.records.clone()))?;
        registry.register(Box::new(m.batch_records.clone()))?;
        registry.register(Box::new(m.batch_seconds.clone()))?;
        registry.register(Box::new(m.dead_letters.clone()))?;
        registry.register(Box::new(m.lag.clone()))?;
        registry.register(Box::new(m.pauses.clone()))?;
        registry.register(Box::new(m.retries.clone()))?;
        registry.register(Box::new(m.rebalances.clone()))?;
        registry.register(Box::new(m.latency.clone()))?;
        registry.register(Box::new(m.assigned.clone()))?;
        Ok(m)
    }
}

/// One consumer-group member indexing a Kafka pipeline.
pub struct IndexWorker {
    pipeline: Arc<Pipeline>,
    consumer: BatchConsumer,
    dead_letters: DeadLetterPublisher,
    opts: WorkerOptions,
    metrics: Option<WorkerMetrics>,
    batch_records: usize,
    linger: Duration,
}

/// Transient failures of the dead-letter topic or a sink are retried
/// without limit (data is never skipped because a store was down), waiting
/// from 200 ms up to 30 s between attempts.
const UNTIL_IT_WORKS: RetryPolicy = RetryPolicy::new(
    Backoff::new(Duration::from_millis(200), Duration::from_secs(30)),
    None,
);

/// Latencies kept in [`WorkerReport::latencies_ms`] (8 MB at most).
const MAX_LATENCY_SAMPLES: usize = 1_000_000;

impl IndexWorker {
    /// Joins the pipeline's consumer group. `pipeline` comes from
    /// [`Pipeline::open_indexer`].
    pub async fn new(pipeline: Pipeline, opts: WorkerOptions) -> Result<IndexWorker, String> {
        let loaded = pipeline.loaded().clone();
        let TransportSpec::Kafka(k) = &loaded.spec.transport else {
            return Err(format!(
                "{}: transport: `sluice worker` needs `transport: {{type: kafka, …}}`",
                loaded.file
            ));
        };
        let name = &loaded.spec.name;
        let cfg = kafka_config(&loaded)?;
        let dead_letters = DeadLetterPublisher::new(&cfg, &k.dead_letter_topic(name))
            .map_err(|e| format!("{}: transport: {e}", loaded.file))?;
        // The worker may start before any producer: create both topics.
        crate::publisher::ensure_topic(&cfg, &cfg.topic, k.partitions, k.replication)
            .await
            .map_err(|e| format!("{}: transport: Kafka at `{}`: {e}; check that the broker is up and `bootstrap_servers` is right", loaded.file, cfg.bootstrap_servers))?;
        dead_letters
            .ensure_topic(k.partitions, k.replication)
            .await
            .map_err(|e| format!("{}: transport.dead_letter_topic: {e}", loaded.file))?;
        let group = opts.group.clone().unwrap_or_else(|| k.group(name));
        let consumer = BatchConsumer::with_instance_id(&cfg, &group, opts.instance_id.as_deref())
            .map_err(|e| format!("{}: transport: {e}", loaded.file))?;
        tracing::info!(pipeline = %name, topic = %cfg.topic, group = %group, "worker joined the consumer group");
        Ok(IndexWorker {
            pipeline: Arc::new(pipeline),
            consumer,
            dead_letters,
            opts,
            metrics: None,
            batch_records: k.batch_records.max(1),
            linger: Duration::from_millis(k.linger_ms),
        })
    }

    pub fn with_metrics(mut self, metrics: WorkerMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    /// Consumes until `shutdown` resolves (finishing and committing the
    /// batch in hand first) or, with `exit_when_idle`, until idle.
    pub async fn run(
        &mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<WorkerReport, String> {
        tokio::pin!(shutdown);
        let mut report = WorkerReport::default();
        let mut idle_since = Instant::now();
        loop {
            let next = tokio::select! {
                _ = &mut shutdown => break,
                b = self.consumer.next_batch(self.batch_records, self.linger, Duration::from_millis(500)) => b,
            };
            let mut batch = match next {
                Ok(b) => b,
                Err(e) if e.transient => {
                    tracing::warn!(error = %e, "consuming failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(e) => return Err(format!("consuming from Kafka: {e}")),
            };
            let owned: BTreeSet<i32> = self.consumer.assignment().into_iter().collect();
            let moved = self.consumer.take_rebalance();
            if !moved.assigned.is_empty() || !moved.revoked.is_empty() {
                report.rebalances += 1;
                if let Some(m) = &self.metrics {
                    m.rebalances.inc();
                    m.assigned.set(owned.len() as i64);
                    for p in &moved.revoked {
                        let _ = m.lag.remove_label_values(&[&p.to_string()]);
                    }
                }
            }
            if !moved.revoked.is_empty() {
                let before = batch.len();
                batch.retain(|c| owned.contains(&c.partition));
                report.dropped_on_revoke += (before - batch.len()) as u64;
            }
            if !moved.assigned.is_empty() {
                // Another worker may have indexed these partitions meanwhile.
                self.pipeline.forget_indexed_documents()?;
            }
            self.export_lag();
            if batch.is_empty() {
                if owned.is_empty() {
                    idle_since = Instant::now();
                }
                if self
                    .opts
                    .exit_when_idle
                    .is_some_and(|idle| idle_since.elapsed() >= idle)
                {
                    // Idle is not done: partitions may sit with a member that is
                    // gone (until the group notices) or be mid-rebalance.
                    match tokio::task::block_in_place(|| {
                        self.consumer.group_drained(Duration::from_secs(10))
                    }) {
                        Ok(true) => break,
                        Ok(false) => {
                            tracing::info!("idle, but the group has records left; waiting")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "could not check whether the group is drained; waiting")
                        }
                    }
                    idle_since = Instant::now();
                }
                continue;
            }
            self.process_and_commit(batch, &mut report).await?;
            // Idle time counts from the end of the last batch.
            idle_since = Instant::now();
        }
        Ok(report)
    }

    fn export_lag(&self) {
        if let Some(m) = &self.metrics {
            for (p, lag) in self.consumer.lag() {
                m.lag.with_label_values(&[&p.to_string()]).set(lag);
            }
        }
    }

    async fn process_and_commit(
        &mut self,
        batch: Vec<Consumed>,
        report: &mut WorkerReport,
    ) -> Result<(), String> {
        let collected = Instant::now();
        let pipeline = self.pipeline.clone();
        let batch = Arc::new(batch);
        let work = tokio::spawn({
            let batch = batch.clone();
            async move { index_batch(&pipeline, &batch).await }
        });
        tokio::pin!(work);
        let outcome = tokio::select! {
            r = &mut work => r,
            _ = tokio::time::sleep(self.opts.pause_after) => {
                // Slow sinks: stop prefetching until this batch is done.
                report.pauses += 1;
                if let Some(m) = &self.metrics {
                    m.pauses.inc();
                }
                if let Err(e) = self.consumer.pause() {
                    tracing::warn!(error = %e, "could not pause fetching");
                }
                let r = work.await;
                if let Err(e) = self.consumer.resume() {
                    tracing::warn!(error = %e, "could not resume fetching");
                }
                r
            }
        };
        let outcome = outcome.map_err(|e| format!("indexing a batch panicked: {e}"))??;
        report.retries += outcome.retries;
        if let Some(m) = &self.metrics {
            m.retries.inc_by(outcome.retries);
        }

        if !outcome.poison.is_empty() {
            let records: Vec<PoisonRecord<'_>> = outcome
                .poison
                .iter()
                .map(|(i, stage, error)| PoisonRecord {
                    consumed: &batch[*i],
                    stage,
                    error,
                })
                .collect();
            let topic = self.dead_letters.topic();
            retry(&UNTIL_IT_WORKS, || self.dead_letters.publish(&records), |e| e.transient, |e, _, _| {
                tracing::warn!(error = %e, topic, "the dead-letter topic is unavailable; retrying");
            })
            .await
            .map_err(|e| format!("writing to the dead-letter topic `{topic}`: {e}"))?;
            for (_, stage, error) in &outcome.poison {
                tracing::warn!(stage, error = %error, topic = self.dead_letters.topic(), "record sent to the dead-letter topic");
                if let Some(m) = &self.metrics {
                    m.dead_letters.with_label_values(&[stage]).inc();
                }
            }
        }

        if let Err(e) = self.consumer.commit(&batch) {
            // Another member may own these partitions now; it redoes the
            // records, which the sinks absorb (idempotent writes).
            tracing::warn!(error = %e, "committing offsets failed; the records will be processed again");
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        for c in batch.iter() {
            if let Some(ts) = c.timestamp_ms.filter(|t| *t > 0) {
                let ms = (now_ms - ts).max(0) as f64;
                // Bounded: a long-running worker keeps the histogram only.
                if report.latencies_ms.len() < MAX_LATENCY_SAMPLES {
                    report.latencies_ms.push(ms);
                }
                if let Some(m) = &self.metrics {
                    m.latency.observe(ms / 1000.0);
                }
            }
        }
        report.batches += 1;
        report.last_commit_at = Some(Instant::now());
        report.records += batch.len() as u64;
        report.partitions.extend(batch.iter().map(|c| c.partition));
        report.documents_written += outcome.written;
        report.documents_unchanged += outcome.unchanged;
        report.documents_deleted += outcome.deleted;
        report.chunks_embedded += outcome.chunks_embedded;
        report.dead_lettered += outcome.poison.len() as u64;
        if let Some(m) = &self.metrics {
            m.records.inc_by(batch.len() as u64);
            m.batch_records.observe(batch.len() as f64);
            m.batch_seconds.observe(collected.elapsed().as_secs_f64());
        }
        Ok(())
    }
}

#[derive(Default)]
struct BatchOutcome {
    /// (index in the batch, stage, reason)
    poison: Vec<(usize, &'static str, String)>,
    written: u64,
    unchanged: u64,
    deleted: u64,
    chunks_embedded: u64,
    retries: u64,
}

/// A group of one source's records indexed together, as indices into the
/// batch: documents are cloned out of it once per attempt.
#[derive(Clone, Default)]
struct Group {
    upserts: Vec<usize>,
    deletes: Vec<(usize, Uuid)>,
}

impl Group {
    fn len(&self) -> usize {
        self.upserts.len() + self.deletes.len()
    }

    fn singles(self) -> Vec<Group> {
        let mut out: Vec<Group> = self
            .upserts
            .into_iter()
            .map(|u| Group {
                upserts: vec![u],
                deletes: Vec::new(),
            })
            .collect();
        out.extend(self.deletes.into_iter().map(|d| Group {
            upserts: Vec::new(),
            deletes: vec![d],
        }));
        out
    }
}

async fn index_batch(pipeline: &Pipeline, batch: &[Consumed]) -> Result<BatchOutcome, String> {
    let mut out = BatchOutcome::default();
    // Each document's last record in the batch wins: one key stays in one
    // partition, and a partition's records arrive in order.
    let mut latest: HashMap<Uuid, usize> = HashMap::new();
    for (i, c) in batch.iter().enumerate() {
        match &c.record {
            Err(e) => out.poison.push((i, "decode", e.0.clone())),
            Ok(r) => {
                let p = match r {
                    Record::Upsert { pipeline, .. } | Record::Delete { pipeline, .. } => pipeline,
                };
                if p != pipeline.name() {
                    out.poison.push((i, "route", format!("a record of pipeline `{p}` on the topic of pipeline `{}`; give each pipeline its own topic", pipeline.name())));
                    continue;
                }
                latest.insert(r.doc_id(), i);
            }
        }
    }
    let mut order: Vec<usize> = latest.into_values().collect();
    order.sort_unstable();
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for i in order {
        match &batch[i].record {
            Ok(Record::Upsert { document, .. }) => groups
                .entry(document.source.clone())
                .or_default()
                .upserts
                .push(i),
            Ok(Record::Delete { source, doc_id, .. }) => groups
                .entry(source.clone())
                .or_default()
                .deletes
                .push((i, *doc_id)),
            Err(_) => {}
        }
    }
    for (source, group) in groups {
        // A permanent failure of a group is narrowed down to the records
        // that cause it: those are dead-lettered, the rest is indexed.
        let mut queue = vec![group];
        while let Some(g) = queue.pop() {
            match index_group(pipeline, batch, &source, &g, &mut out).await? {
                None => {}
                Some(err) if g.len() == 1 => {
                    let i = g
                        .upserts
                        .first()
                        .copied()
                        .or_else(|| g.deletes.first().map(|d| d.0))
                        .unwrap_or_default();
                    out.poison.push((i, "index", err));
                }
                Some(_) => queue.extend(g.singles()),
            }
        }
    }
    Ok(out)
}

/// Indexes one group, retrying transient failures without limit (data is
/// never skipped because a sink was down). `Some(reason)` on a permanent failure.
async fn index_group(
    pipeline: &Pipeline,
    batch: &[Consumed],
    source: &str,
    g: &Group,
    out: &mut BatchOutcome,
) -> Result<Option<String>, String> {
    let document = |i: usize| match &batch[i].record {
        Ok(Record::Upsert { document, .. }) => Some(document.as_ref()),
        _ => None,
    };
    let mut tries = UNTIL_IT_WORKS.start();
    loop {
        let mut r = SourceReport::empty(source);
        let docs: Vec<Document> = g
            .upserts
            .iter()
            .filter_map(|i| document(*i))
            .cloned()
            .collect();
        let deletes: Vec<Uuid> = g.deletes.iter().map(|(_, id)| *id).collect();
        match pipeline
            .index_documents(source, docs, deletes, Vec::new(), &mut r)
            .await
        {
            Ok(indexed) => {
                let by_id: HashMap<Uuid, usize> = g
                    .upserts
                    .iter()
                    .filter_map(|i| Some((document(*i)?.doc_id(), *i)))
                    .collect();
                for dl in &indexed.dead_letters {
                    match dl
                        .external_id
                        .as_ref()
                        .and_then(|ext| by_id.get(&sluice_core::doc_id(source, ext)))
                    {
                        Some(i) => out.poison.push((
                            *i,
                            "transform",
                            format!("{}: {}", dl.location, dl.error),
                        )),
                        None => {
                            tracing::warn!(source, location = %dl.location, error = %dl.error, "a transform row failed without an id; recorded in the worker's dead letters")
                        }
                    }
                }
                pipeline.commit_indexed(source, &indexed)?;
                out.written += r.docs_added + r.docs_updated;
                out.unchanged += r.docs_unchanged;
                out.deleted += r.docs_deleted;
                out.chunks_embedded += r.chunks_embedded;
                return Ok(None);
            }
            Err(e) if e.transient => {
                out.retries += 1;
                let wait = tries.next_delay(None).unwrap_or_default();
                tracing::warn!(source, error = %e, retry_in_ms = wait.as_millis() as u64, "transient failure; retrying the batch");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Ok(Some(e.message)),
        }
    }
}
