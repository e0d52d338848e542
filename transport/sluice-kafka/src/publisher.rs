//! Publishing pages of documents. The producer is idempotent (no
//! duplicates or reordering from its own retries), and `publish` returns
//! only when the broker acknowledged every record, so the caller can
//! advance the source checkpoint after it and not before.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError as RdError;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use sluice_core::Document;
use uuid::Uuid;

use crate::envelope::{encode_delete, encode_upsert};
use crate::{KafkaConfig, KafkaError};

pub use sluice_core::PublishAck;

pub struct KafkaPublisher {
    producer: FutureProducer,
    cfg: KafkaConfig,
    pipeline: String,
}

/// Settings the delivery guarantees depend on; a pipeline may not turn them off.
const FIXED: [(&str, &str); 2] = [("enable.idempotence", "true"), ("acks", "all")];

impl KafkaPublisher {
    pub fn new(cfg: &KafkaConfig, pipeline: &str) -> Result<KafkaPublisher, KafkaError> {
        let mut c = cfg.client_config();
        for (k, v) in FIXED {
            if cfg.properties.get(k).is_some_and(|x| x != v) {
                return Err(KafkaError {
                    message: format!(
                        "transport.properties.{k}: Sluice needs `{v}` for at-least-once delivery without duplicates; remove the setting"
                    ),
                    transient: false,
                });
            }
            c.set(k, v);
        }
        if !cfg.properties.contains_key("message.timeout.ms") {
            c.set("message.timeout.ms", "120000");
        }
        let producer: FutureProducer = c
            .create()
            .map_err(|e| KafkaError::from_rdkafka("creating the Kafka producer", &e))?;
        Ok(KafkaPublisher {
            producer,
            cfg: cfg.clone(),
            pipeline: pipeline.to_string(),
        })
    }

    /// Creates the topic when missing (an existing one is left as it is).
    pub async fn ensure_topic(&self, partitions: i32, replication: i32) -> Result<(), KafkaError> {
        ensure_topic(&self.cfg, &self.cfg.topic, partitions, replication).await
    }

    /// Sends every document and deletion (as a tombstone) and waits for all
    /// delivery reports. An error means some records may not have arrived:
    /// do not advance the checkpoint; re-publishing is harmless.
    pub async fn publish(
        &self,
        documents: &[Document],
        deletes: &[(String, Uuid)],
    ) -> Result<PublishAck, KafkaError> {
        let mut pending: std::collections::VecDeque<DeliveryFuture> =
            std::collections::VecDeque::new();
        let mut ack = PublishAck::default();
        let mut first_error: Option<KafkaError> = None;
        for d in documents {
            let (key, value) = encode_upsert(&self.pipeline, d);
            ack.bytes += key.len() + value.len();
            let rec = FutureRecord::to(&self.cfg.topic).key(&key).payload(&value);
            self.enqueue(rec, &mut pending, &mut ack, &mut first_error)
                .await?;
        }
        for (source, id) in deletes {
            let (key, headers) = encode_delete(&self.pipeline, source, *id);
            ack.bytes += key.len();
            let rec: FutureRecord<'_, String, [u8]> =
                FutureRecord::to(&self.cfg.topic).key(&key).headers(headers);
            self.enqueue(rec, &mut pending, &mut ack, &mut first_error)
                .await?;
        }
        while let Some(f) = pending.pop_front() {
            settle(f, &mut ack, &mut first_error).await;
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(ack),
        }
    }

    /// Queues one record; when librdkafka's queue is full, waits for the
    /// oldest delivery first.
    async fn enqueue<
        'a,
        K: rdkafka::message::ToBytes + ?Sized,
        P: rdkafka::message::ToBytes + ?Sized,
    >(
        &self,
        mut rec: FutureRecord<'a, K, P>,
        pending: &mut std::collections::VecDeque<DeliveryFuture>,
        ack: &mut PublishAck,
        first_error: &mut Option<KafkaError>,
    ) -> Result<(), KafkaError> {
        loop {
            match self.producer.send_result(rec) {
                Ok(f) => {
                    pending.push_back(f);
                    return Ok(());
                }
                Err((RdError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    rec = back;
                    match pending.pop_front() {
                        Some(f) => settle(f, ack, first_error).await,
                        None => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
                Err((e, _)) => return Err(KafkaError::from_rdkafka("queueing a record", &e)),
            }
        }
    }
}

async fn settle(f: DeliveryFuture, ack: &mut PublishAck, first_error: &mut Option<KafkaError>) {
    let outcome = match f.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(KafkaError::from_rdkafka("delivering a record", &e)),
        Err(_) => Err(KafkaError {
            message: "the producer shut down before a delivery report".into(),
            transient: true,
        }),
    };
    match outcome {
        Ok(()) => ack.records += 1,
        Err(e) => {
            if first_error.is_none() {
                *first_error = Some(e);
            }
        }
    }
}

/// Creates `topic` when missing.
pub async fn ensure_topic(
    cfg: &KafkaConfig,
    topic: &str,
    partitions: i32,
    replication: i32,
) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = cfg
        .client_config()
        .create()
        .map_err(|e| KafkaError::from_rdkafka("creating the Kafka admin client", &e))?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics([&new], &opts)
        .await
        .map_err(|e| KafkaError::from_rdkafka(&format!("creating topic `{topic}`"), &e))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, code)) => {
                return Err(KafkaError {
                    message: format!("creating topic `{t}`: {code}"),
                    transient: false,
                });
            }
        }
    }
    Ok(())
}

/// Headers a dead-lettered record carries besides its original ones.
pub const HEADER_ERROR: &str = "sluice-error";
pub const HEADER_ERROR_STAGE: &str = "sluice-error-stage";
pub const HEADER_ORIGIN_TOPIC: &str = "sluice-origin-topic";
pub const HEADER_ORIGIN_PARTITION: &str = "sluice-origin-partition";
pub const HEADER_ORIGIN_OFFSET: &str = "sluice-origin-offset";

/// A record the worker could not index, and why.
pub struct PoisonRecord<'a> {
    pub consumed: &'a crate::Consumed,
    /// `decode`, `route`, `transform` or `index`.
    pub stage: &'a str,
    pub error: &'a str,
}

/// Writes poison records, unchanged, to the dead-letter topic with the
/// reason in headers. The worker commits past a poison record only after
/// this acknowledged it, so none is lost.
pub struct DeadLetterPublisher {
    producer: FutureProducer,
    cfg: KafkaConfig,
    topic: String,
}

impl DeadLetterPublisher {
    pub fn new(cfg: &KafkaConfig, topic: &str) -> Result<DeadLetterPublisher, KafkaError> {
        let mut c = cfg.client_config();
        c.set("acks", "all");
        if !cfg.properties.contains_key("message.timeout.ms") {
            c.set("message.timeout.ms", "120000");
        }
        let producer: FutureProducer = c
            .create()
            .map_err(|e| KafkaError::from_rdkafka("creating the dead-letter producer", &e))?;
        Ok(DeadLetterPublisher {
            producer,
            cfg: cfg.clone(),
            topic: topic.to_string(),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub async fn ensure_topic(&self, partitions: i32, replication: i32) -> Result<(), KafkaError> {
        ensure_topic(&self.cfg, &self.topic, partitions, replication).await
    }

    /// Sends every record and waits until the broker acknowledged all.
    pub async fn publish(&self, poison: &[PoisonRecord<'_>]) -> Result<usize, KafkaError> {
        let mut pending = Vec::new();
        for p in poison {
            let c = p.consumed;
            let (partition, offset) = (c.partition.to_string(), c.offset.to_string());
            let mut headers = rdkafka::message::OwnedHeaders::new();
            for (k, v) in &c.headers {
                headers = headers.insert(rdkafka::message::Header {
                    key: k,
                    value: v.as_deref(),
                });
            }
            for (k, v) in [
                (HEADER_ERROR, p.error),
                (HEADER_ERROR_STAGE, p.stage),
                (HEADER_ORIGIN_TOPIC, self.cfg.topic.as_str()),
                (HEADER_ORIGIN_PARTITION, partition.as_str()),
                (HEADER_ORIGIN_OFFSET, offset.as_str()),
            ] {
                headers = headers.insert(rdkafka::message::Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            let mut rec: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&self.topic).headers(headers);
            if let Some(k) = &c.key {
                rec = rec.key(k.as_slice());
            }
            if let Some(v) = &c.value {
                rec = rec.payload(v.as_slice());
            }
            let f = self
                .producer
                .send_result(rec)
                .map_err(|(e, _)| KafkaError::from_rdkafka("queueing a dead letter", &e))?;
            pending.push(f);
        }
        let mut ack = PublishAck::default();
        let mut first_error = None;
        for f in pending {
            settle(f, &mut ack, &mut first_error).await;
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(ack.records),
        }
    }
}
