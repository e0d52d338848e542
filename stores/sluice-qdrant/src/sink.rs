//! The Qdrant sink. One `apply` is: upsert new and changed chunks (with
//! `wait`, so the ack means Qdrant applied them), refresh the payload of
//! chunks whose text did not change (their stored vector is read back and
//! rewritten with the point), remove chunks beyond each document's new
//! chunk count, and remove every chunk of deleted documents — all by
//! deterministic point id (= chunk id) or by filter on `doc_id`, so a
//! replayed batch leaves the same state.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use qdrant_client::Qdrant;
use qdrant_client::qdrant::vector_output::Vector;
use qdrant_client::qdrant::{
    DeletePointsBuilder, GetPointsBuilder, PointId, PointStruct, SetPayloadPointsBuilder,
    UpsertPointsBuilder,
};
use sluice_core::{AccessUpdate, Sink, SinkAck, SinkBatch, SinkError};
use sluice_spec::QdrantSinkSpec;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::bootstrap::{CollectionCheck, ensure_collection};
use crate::filters;
use crate::payload::chunk_payload;
use crate::retry::with_retry;

/// Resolved settings: the spec with its URL and API key read from the
/// environment, the collection name, and the model's vector size.
#[derive(Debug, Clone)]
pub struct QdrantStoreConfig {
    pub spec: QdrantSinkSpec,
    pub url: String,
    pub api_key: Option<String>,
    pub collection: String,
    pub dim: usize,
}

pub struct QdrantStore {
    client: Qdrant,
    cfg: QdrantStoreConfig,
    ready: OnceCell<CollectionCheck>,
}

fn point_id(id: &Uuid) -> PointId {
    PointId::from(id.to_string())
}

impl QdrantStore {
    pub fn new(cfg: QdrantStoreConfig) -> Result<QdrantStore, String> {
        let client = Qdrant::from_url(&cfg.url)
            .api_key(cfg.api_key.clone())
            .timeout(Duration::from_secs(cfg.spec.timeout_secs))
            .connect_timeout(Duration::from_secs(cfg.spec.timeout_secs.min(10)))
            // The version probe would need the server up at construction time.
            .skip_compatibility_check()
            .build()
            .map_err(|e| format!("qdrant sink: url `{}`: {e}", cfg.url))?;
        Ok(QdrantStore {
            client,
            cfg,
            ready: OnceCell::new(),
        })
    }

    pub fn collection(&self) -> &str {
        &self.cfg.collection
    }

    pub fn config(&self) -> &QdrantStoreConfig {
        &self.cfg
    }

    pub(crate) fn client(&self) -> &Qdrant {
        &self.client
    }

    /// Creates or checks the collection once per process; a transient
    /// failure is retried at the next call.
    pub async fn bootstrap(&self) -> Result<&CollectionCheck, SinkError> {
        self.ready
            .get_or_try_init(|| async {
                let check = ensure_collection(&self.client, &self.cfg.spec, &self.cfg.collection, self.cfg.dim).await.map_err(|(m, t)| self.error(m, t))?;
                tracing::info!(collection = %self.cfg.collection, ?check, "qdrant collection ready");
                Ok(check)
            })
            .await
    }

    pub(crate) fn error(&self, message: impl Into<String>, transient: bool) -> SinkError {
        SinkError {
            sink: "qdrant".into(),
            message: message.into(),
            transient,
        }
    }

    fn attempts(&self) -> u32 {
        self.cfg.spec.max_attempts
    }

    /// Stored vectors of chunks whose text did not change.
    async fn stored_vectors(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<f32>>, SinkError> {
        let mut out = HashMap::new();
        for part in ids.chunks(self.cfg.spec.batch_points.max(1)) {
            let req = GetPointsBuilder::new(
                &self.cfg.collection,
                part.iter().map(point_id).collect::<Vec<_>>(),
            )
            .with_vectors(true)
            .with_payload(false);
            let resp = with_retry("get", self.attempts(), || {
                self.client.get_points(req.clone())
            })
            .await
            .map_err(|(e, t)| self.error(format!("reading stored vectors: {e}"), t))?;
            for p in resp.result {
                let id = p.id.as_ref().and_then(|id| match &id.point_id_options {
                    Some(qdrant_client::qdrant::point_id::PointIdOptions::Uuid(u)) => {
                        Uuid::parse_str(u).ok()
                    }
                    _ => None,
                });
                let vector = p.vectors.as_ref().and_then(|v| v.get_vector());
                if let (Some(id), Some(Vector::Dense(d))) = (id, vector) {
                    out.insert(id, d.data);
                }
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Sink for QdrantStore {
    fn name(&self) -> &str {
        "qdrant"
    }

    async fn apply(&self, batch: &SinkBatch) -> Result<SinkAck, SinkError> {
        self.bootstrap().await?;
        let keep_vector: Vec<Uuid> = batch
            .writes
            .iter()
            .flat_map(|w| {
                w.chunks
                    .iter()
                    .filter(|c| c.vector.is_none())
                    .map(|c| c.chunk.chunk_id)
            })
            .collect();
        let stored = if keep_vector.is_empty() {
            HashMap::new()
        } else {
            self.stored_vectors(&keep_vector).await?
        };

        let mut points = Vec::new();
        for w in &batch.writes {
            for c in &w.chunks {
                let vector = match &c.vector {
                    Some(v) => v.clone(),
                    None => match stored.get(&c.chunk.chunk_id) {
                        Some(v) => v.clone(),
                        None => {
                            return Err(self.error(
                                format!(
                                    "chunk {} of document {} ({}) has no stored vector in collection `{}` (the collection was emptied or replaced); \
                                     re-run the pipeline with --full to re-embed",
                                    c.chunk.ordinal, w.document.external_id, w.doc_id, self.cfg.collection
                                ),
                                false,
                            ));
                        }
                    },
                };
                if vector.len() != self.cfg.dim {
                    return Err(self.error(
                        format!(
                            "chunk {} of {} has a {}-dim vector; the collection holds {}-dim ones",
                            c.chunk.ordinal,
                            w.document.external_id,
                            vector.len(),
                            self.cfg.dim
                        ),
                        false,
                    ));
                }
                points.push(PointStruct::new(
                    point_id(&c.chunk.chunk_id),
                    vector,
                    chunk_payload(&w.document, &c.chunk, w.links.as_deref()),
                ));
            }
        }
        let written = points.len();
        for part in points.chunks(self.cfg.spec.batch_points.max(1)) {
            let req = UpsertPointsBuilder::new(&self.cfg.collection, part.to_vec()).wait(true);
            with_retry("upsert", self.attempts(), || {
                self.client.upsert_points(req.clone())
            })
            .await
            .map_err(|(e, t)| self.error(format!("upserting {} points: {e}", part.len()), t))?;
        }

        // Chunks past each document's new end (it got shorter).
        let counts: Vec<(Uuid, u32)> = batch
            .writes
            .iter()
            .map(|w| (w.doc_id, w.chunk_count))
            .collect();
        for part in counts.chunks(256) {
            let req = DeletePointsBuilder::new(&self.cfg.collection)
                .points(filters::stale_chunks(part))
                .wait(true);
            with_retry("delete", self.attempts(), || {
                self.client.delete_points(req.clone())
            })
            .await
            .map_err(|(e, t)| self.error(format!("removing stale chunks: {e}"), t))?;
        }
        for part in batch.deletes.chunks(256) {
            let req = DeletePointsBuilder::new(&self.cfg.collection)
                .points(filters::documents(part))
                .wait(true);
            with_retry("delete", self.attempts(), || {
                self.client.delete_points(req.clone())
            })
            .await
            .map_err(|(e, t)| self.error(format!("removing deleted documents: {e}"), t))?;
        }
        Ok(SinkAck {
            chunks_written: written,
            docs_deleted: batch.deletes.len(),
            rejected: Vec::new(),
        })
    }

    /// `set_payload` of the access slots on every point of each document
    /// (selected by `doc_id`), with `wait`: nothing else in the payload and
    /// no vector is touched.
    async fn update_access(&self, updates: &[AccessUpdate]) -> Result<(), SinkError> {
        self.bootstrap().await?;
        for u in updates {
            let mut slots = serde_json::Map::new();
            for (i, slot) in u.access.slots().into_iter().enumerate() {
                slots.insert(sluice_core::access::acl_field(i), serde_json::json!(slot));
            }
            let req = SetPayloadPointsBuilder::new(
                &self.cfg.collection,
                qdrant_client::Payload::from(slots),
            )
            .points_selector(filters::documents(&[u.doc_id]))
            .wait(true);
            with_retry("set_payload", self.attempts(), || {
                self.client.set_payload(req.clone())
            })
            .await
            .map_err(|(e, t)| self.error(format!("setting the access of {}: {e}", u.doc_id), t))?;
        }
        Ok(())
    }
}
