//! A consumer-group member that hands out batches of decoded records and
//! commits offsets only when told, after every sink acknowledged the batch.
//! Nothing is committed automatically: a worker killed before its commit
//! sees the same records again (at-least-once; sinks write idempotently).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::envelope::{DecodeError, Record, decode};
use crate::{KafkaConfig, KafkaError};

/// One consumed record.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub record: Result<Record, DecodeError>,
    /// The raw key and value, kept for the dead-letter topic.
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

pub struct BatchConsumer {
    consumer: StreamConsumer,
}

impl BatchConsumer {
    /// Joins `group` and subscribes to the configured topic.
    pub fn new(cfg: &KafkaConfig, group: &str) -> Result<BatchConsumer, KafkaError> {
        let mut c = cfg.client_config();
        c.set("group.id", group).set("enable.auto.commit", "false").set("enable.auto.offset.store", "false");
        if !cfg.properties.contains_key("auto.offset.reset") {
            c.set("auto.offset.reset", "earliest");
        }
        let consumer: StreamConsumer = c.create().map_err(|e| KafkaError::from_rdkafka("creating the Kafka consumer", &e))?;
        consumer.subscribe(&[cfg.topic.as_str()]).map_err(|e| KafkaError::from_rdkafka(&format!("subscribing to `{}`", cfg.topic), &e))?;
        Ok(BatchConsumer { consumer })
    }

    /// Up to `max_records`: waits up to `wait` for the first record, then
    /// collects more for at most `linger`. Empty when nothing arrived.
    pub async fn next_batch(&self, max_records: usize, linger: Duration, wait: Duration) -> Result<Vec<Consumed>, KafkaError> {
        let mut out = Vec::new();
        let first = match tokio::time::timeout(wait, self.consumer.recv()).await {
            Err(_) => return Ok(out),
            Ok(m) => m.map_err(|e| KafkaError::from_rdkafka("consuming", &e))?,
        };
        out.push(consumed(&first));
        drop(first);
        let deadline = Instant::now() + linger;
        while out.len() < max_records.max(1) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match tokio::time::timeout(left, self.consumer.recv()).await {
                Err(_) => break,
                Ok(Ok(m)) => out.push(consumed(&m)),
                Ok(Err(e)) => return Err(KafkaError::from_rdkafka("consuming", &e)),
            }
        }
        Ok(out)
    }

    /// Commits the offsets after `batch` (per partition, the highest + 1).
    pub fn commit(&self, batch: &[Consumed], topic: &str) -> Result<(), KafkaError> {
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
            tpl.add_partition_offset(topic, p, Offset::Offset(o)).map_err(|e| KafkaError::from_rdkafka("building the commit", &e))?;
        }
        self.consumer.commit(&tpl, CommitMode::Sync).map_err(|e| KafkaError::from_rdkafka("committing offsets", &e))
    }

    /// Partitions this member owns now.
    pub fn assignment(&self) -> Vec<i32> {
        self.consumer.assignment().map(|a| a.elements().iter().map(|e| e.partition()).collect()).unwrap_or_default()
    }
}

fn consumed(m: &BorrowedMessage<'_>) -> Consumed {
    Consumed {
        partition: m.partition(),
        offset: m.offset(),
        record: decode(m.key(), m.payload(), m.headers()),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
    }
}
