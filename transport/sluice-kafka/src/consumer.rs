//! A consumer-group member that hands out batches of decoded records and
//! commits offsets only when told, after every sink acknowledged the batch.
//! Nothing is committed automatically: a worker killed before its commit
//! sees the same records again (at-least-once; sinks write idempotently).
//!
//! Rebalances are recorded (not acted on) by the consumer's context; the
//! worker drains them between batches with [`BatchConsumer::take_rebalance`]
//! and drops records of partitions it no longer owns (their new owner starts
//! from the committed offset, so nothing is lost). A re-assigned partition
//! is fetched again from its committed offset.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::statistics::Statistics;
use rdkafka::{Offset, TopicPartitionList};

use crate::envelope::{DecodeError, Record, decode};
use crate::{KafkaConfig, KafkaError};

/// One consumed record.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub record: Result<Record, DecodeError>,
    /// The raw key, value and headers, kept for the dead-letter topic.
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Producer (or broker) timestamp, milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
}

/// Partitions gained and lost since the last [`BatchConsumer::take_rebalance`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebalanced {
    pub assigned: BTreeSet<i32>,
    pub revoked: BTreeSet<i32>,
}

#[derive(Default)]
struct Shared {
    rebalanced: Rebalanced,
    /// Per partition: records behind the group's committed offset (from
    /// librdkafka's statistics).
    lag: BTreeMap<i32, i64>,
}

/// Records rebalances and lag; runs on librdkafka's polling path, so it
/// only takes a lock and returns.
pub struct GroupContext {
    topic: String,
    shared: Arc<Mutex<Shared>>,
}

impl ClientContext for GroupContext {
    fn stats(&self, statistics: Statistics) {
        let Some(t) = statistics.topics.get(&self.topic) else {
            return;
        };
        let Ok(mut s) = self.shared.lock() else {
            return;
        };
        for (p, part) in &t.partitions {
            if *p >= 0 && part.consumer_lag >= 0 {
                s.lag.insert(*p, part.consumer_lag);
            }
        }
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            if let Ok(mut s) = self.shared.lock() {
                for e in tpl.elements() {
                    s.rebalanced.revoked.insert(e.partition());
                    s.lag.remove(&e.partition());
                }
            }
            tracing::info!(partitions = ?tpl.elements().iter().map(|e| e.partition()).collect::<Vec<_>>(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                if let Ok(mut s) = self.shared.lock() {
                    s.rebalanced
                        .assigned
                        .extend(tpl.elements().iter().map(|e| e.partition()));
                }
                tracing::info!(partitions = ?tpl.elements().iter().map(|e| e.partition()).collect::<Vec<_>>(), "partitions assigned");
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }
}

pub struct BatchConsumer {
    consumer: StreamConsumer<GroupContext>,
    topic: String,
    shared: Arc<Mutex<Shared>>,
    paused: bool,
}

impl BatchConsumer {
    /// Joins `group` and subscribes to the configured topic.
    pub fn new(cfg: &KafkaConfig, group: &str) -> Result<BatchConsumer, KafkaError> {
        Self::with_instance_id(cfg, group, None)
    }

    /// Joins `group` as a static member when `instance_id` is given: a
    /// restarted worker with the same id (a StatefulSet pod name) takes its
    /// partitions back at once instead of waiting for a rebalance.
    pub fn with_instance_id(
        cfg: &KafkaConfig,
        group: &str,
        instance_id: Option<&str>,
    ) -> Result<BatchConsumer, KafkaError> {
        let mut c = cfg.client_config();
        c.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        if let Some(id) = instance_id {
            c.set("group.instance.id", id);
        }
        // A worker that died (SIGKILL, lost node) holds its partitions until
        // the session times out: 10 s rather than librdkafka's 45 s.
        // Prefetching stops at 16 MB per worker (librdkafka's default: 64 MB).
        for (k, v) in [
            ("auto.offset.reset", "earliest"),
            ("statistics.interval.ms", "5000"),
            ("session.timeout.ms", "10000"),
            ("heartbeat.interval.ms", "3000"),
            ("queued.max.messages.kbytes", "16384"),
        ] {
            if !cfg.properties.contains_key(k) {
                c.set(k, v);
            }
        }
        let shared = Arc::new(Mutex::new(Shared::default()));
        let ctx = GroupContext {
            topic: cfg.topic.clone(),
            shared: shared.clone(),
        };
        let consumer: StreamConsumer<GroupContext> = c
            .create_with_context(ctx)
            .map_err(|e| KafkaError::from_rdkafka("creating the Kafka consumer", &e))?;
        consumer.subscribe(&[cfg.topic.as_str()]).map_err(|e| {
            KafkaError::from_rdkafka(&format!("subscribing to `{}`", cfg.topic), &e)
        })?;
        Ok(BatchConsumer {
            consumer,
            topic: cfg.topic.clone(),
            shared,
            paused: false,
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    async fn recv(&self) -> Result<Consumed, KafkaError> {
        let m = self
            .consumer
            .recv()
            .await
            .map_err(|e| KafkaError::from_rdkafka("consuming", &e))?;
        Ok(consumed(&m))
    }

    /// Up to `max_records`: waits up to `wait` for the first record, then
    /// collects more for at most `linger`. Empty when nothing arrived.
    ///
    /// Rebalances are served only inside this call (librdkafka runs its
    /// callbacks from the poll), never while the caller processes a batch:
    /// a partition cannot move to another worker while this one is still
    /// writing its records. librdkafka's heartbeats keep the membership
    /// alive meanwhile, up to `max.poll.interval.ms` (5 min by default).
    pub async fn next_batch(
        &mut self,
        max_records: usize,
        linger: Duration,
        wait: Duration,
    ) -> Result<Vec<Consumed>, KafkaError> {
        let max = max_records.max(1);
        let mut out = Vec::new();
        match tokio::time::timeout(wait, self.recv()).await {
            Err(_) => return Ok(out),
            Ok(m) => out.push(m?),
        }
        let deadline = Instant::now() + linger;
        while out.len() < max {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match tokio::time::timeout(left, self.recv()).await {
                Err(_) => break,
                Ok(m) => out.push(m?),
            }
        }
        Ok(out)
    }

    /// Stops fetching from every owned partition (backpressure while the
    /// sinks are slow); what was fetched stays queued.
    pub fn pause(&mut self) -> Result<(), KafkaError> {
        if self.paused {
            return Ok(());
        }
        let a = self
            .consumer
            .assignment()
            .map_err(|e| KafkaError::from_rdkafka("reading the assignment", &e))?;
        self.consumer
            .pause(&a)
            .map_err(|e| KafkaError::from_rdkafka("pausing partitions", &e))?;
        self.paused = true;
        Ok(())
    }

    /// Resumes fetching after [`BatchConsumer::pause`].
    pub fn resume(&mut self) -> Result<(), KafkaError> {
        if !self.paused {
            return Ok(());
        }
        let a = self
            .consumer
            .assignment()
            .map_err(|e| KafkaError::from_rdkafka("reading the assignment", &e))?;
        self.consumer
            .resume(&a)
            .map_err(|e| KafkaError::from_rdkafka("resuming partitions", &e))?;
        self.paused = false;
        Ok(())
    }

    /// Rebalances since the last call; the caller drops the records it
    /// holds of partitions it no longer owns.
    pub fn take_rebalance(&mut self) -> Rebalanced {
        self.shared
            .lock()
            .map(|mut s| std::mem::take(&mut s.rebalanced))
            .unwrap_or_default()
    }

    /// Commits the offsets after `batch` (per partition, the highest + 1).
    pub fn commit(&self, batch: &[Consumed]) -> Result<(), KafkaError> {
        let mut next: BTreeMap<i32, i64> = BTreeMap::new();
        for c in batch {
            let e = next.entry(c.partition).or_insert(c.offset + 1);
            *e = (*e).max(c.offset + 1);
        }
        if next.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (p, o) in next {
            tpl.add_partition_offset(&self.topic, p, Offset::Offset(o))
                .map_err(|e| KafkaError::from_rdkafka("building the commit", &e))?;
        }
        self.consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| KafkaError::from_rdkafka("committing offsets", &e))
    }

    /// True when the group's committed offset of every partition of the
    /// topic is at its end: everything published so far was indexed, by
    /// this member or another. Blocking (metadata and offset requests).
    pub fn group_drained(&self, timeout: Duration) -> Result<bool, KafkaError> {
        let md = self
            .consumer
            .fetch_metadata(Some(&self.topic), timeout)
            .map_err(|e| KafkaError::from_rdkafka("reading topic metadata", &e))?;
        let Some(t) = md.topics().iter().find(|t| t.name() == self.topic) else {
            return Ok(false);
        };
        let mut tpl = TopicPartitionList::new();
        for p in t.partitions() {
            tpl.add_partition(&self.topic, p.id());
        }
        let committed = self
            .consumer
            .committed_offsets(tpl, timeout)
            .map_err(|e| KafkaError::from_rdkafka("reading committed offsets", &e))?;
        for e in committed.elements() {
            let (low, high) = self
                .consumer
                .fetch_watermarks(&self.topic, e.partition(), timeout)
                .map_err(|e| KafkaError::from_rdkafka("reading watermarks", &e))?;
            let at = match e.offset() {
                Offset::Offset(o) => o,
                _ => low,
            };
            if at < high {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Partitions this member owns now.
    pub fn assignment(&self) -> Vec<i32> {
        self.consumer
            .assignment()
            .map(|a| a.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default()
    }

    /// Records behind the committed offset, per owned partition, as of
    /// librdkafka's last statistics (every 5 s by default).
    pub fn lag(&self) -> BTreeMap<i32, i64> {
        self.shared
            .lock()
            .map(|s| s.lag.clone())
            .unwrap_or_default()
    }
}

fn consumed(m: &BorrowedMessage<'_>) -> Consumed {
    let headers = m
        .headers()
        .map(|h| {
            h.iter()
                .map(|x| (x.key.to_string(), x.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default();
    Consumed {
        partition: m.partition(),
        offset: m.offset(),
        record: decode(m.key(), m.payload(), m.headers()),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers,
        timestamp_ms: m.timestamp().to_millis(),
    }
}
