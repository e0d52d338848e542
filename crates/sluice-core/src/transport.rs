//! The producing side of a transport between connector jobs and indexing
//! workers: a page counts as published only when the broker acknowledged
//! every record of it.

use async_trait::async_trait;
use uuid::Uuid;

use crate::model::Document;

/// Proof that records are durable at the broker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishAck {
    pub records: usize,
    /// Bytes of keys and values.
    pub bytes: usize,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PublishError {
    pub message: String,
    /// Worth retrying (broker away, timeouts).
    pub transient: bool,
}

#[async_trait]
pub trait Publisher: Send + Sync {
    /// Publishes documents and tombstones (source id, document id);
    /// returns only once the broker acknowledged all of them.
    async fn publish(
        &self,
        documents: &[Document],
        tombstones: &[(String, Uuid)],
    ) -> Result<PublishAck, PublishError>;
}
