//! The Kafka transport between connector jobs and indexer workers.
//!
//! - [`envelope`]: one record per document, keyed by its id, so every
//!   version of a document lands in one partition, in order; deletions are
//!   tombstones.
//! - [`publisher`]: an idempotent producer; a page counts as published only
//!   when the broker acknowledged every record of it.
//! - [`consumer`]: a consumer-group member that hands out batches and
//!   commits offsets only for batches the caller acknowledged.
//! - [`transport`]: the `kafka` transport type for the registry.
//! - [`worker`]: `sluice worker`, a consumer-group member that indexes what
//!   it consumes through the engine and commits offsets after every store
//!   acknowledged.

pub mod consumer;
pub mod envelope;
pub mod publisher;
pub mod transport;
pub mod worker;

pub use consumer::{BatchConsumer, Consumed, Rebalanced};
pub use envelope::{DecodeError, Record};
pub use publisher::{DeadLetterPublisher, KafkaPublisher, PoisonRecord, PublishAck};
pub use transport::{KafkaTransportType, kafka_config};
pub use worker::{IndexWorker, WorkerMetrics, WorkerOptions, WorkerReport};

use std::collections::BTreeMap;

/// Connection settings shared by the publisher and the consumer.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// `host:port[,host:port…]`.
    pub bootstrap_servers: String,
    pub topic: String,
    /// Passed to librdkafka as is (SASL, SSL, timeouts…).
    pub properties: BTreeMap<String, String>,
}

impl KafkaConfig {
    pub fn new(bootstrap_servers: impl Into<String>, topic: impl Into<String>) -> KafkaConfig {
        KafkaConfig {
            bootstrap_servers: bootstrap_servers.into(),
            topic: topic.into(),
            properties: BTreeMap::new(),
        }
    }

    pub(crate) fn client_config(&self) -> rdkafka::ClientConfig {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers);
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }
}

/// A Kafka failure, with the setting or step that failed.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaError {
    pub message: String,
    /// Worth retrying (broker unavailable, timeouts).
    pub transient: bool,
}

impl std::fmt::Display for KafkaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KafkaError {}

impl KafkaError {
    pub(crate) fn from_rdkafka(context: &str, e: &rdkafka::error::KafkaError) -> KafkaError {
        use rdkafka::types::RDKafkaErrorCode as C;
        let transient = match e.rdkafka_error_code() {
            Some(
                C::MessageTimedOut
                | C::BrokerTransportFailure
                | C::AllBrokersDown
                | C::RequestTimedOut
                | C::NotEnoughReplicas
                | C::LeaderNotAvailable
                | C::NotLeaderForPartition
                | C::NetworkException
                | C::QueueFull,
            ) => true,
            Some(_) => false,
            None => true,
        };
        KafkaError {
            message: format!("{context}: {e}"),
            transient,
        }
    }
}
