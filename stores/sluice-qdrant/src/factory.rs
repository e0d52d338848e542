//! The `qdrant` store type for the registry, and the vector leg of hybrid
//! search over the collection.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sluice_core::search::{
    Access, ChunkPayload, LegChunk, LinkLookup, LinkedChunk, SearchFilters, VectorLeg,
};
use sluice_core::{OpenedStore, StoreContext, StoreFactory, StoreSearch};
use sluice_spec::SinkSpec;
use sluice_spec::secrets::expand_env_refs;
use uuid::Uuid;

use crate::{QdrantStore, QdrantStoreConfig};

pub struct QdrantStoreType;

fn spec_of(config: &Value) -> Result<sluice_spec::QdrantSinkSpec, String> {
    match serde_json::from_value::<SinkSpec>(config.clone()).map_err(|e| e.to_string())? {
        SinkSpec::Qdrant(q) => Ok(q),
        _ => Err("not a qdrant sink".into()),
    }
}

impl StoreFactory for QdrantStoreType {
    fn type_name(&self) -> &'static str {
        "qdrant"
    }

    fn check_env(&self, config: &Value) -> Vec<(String, String)> {
        let Ok(spec) = spec_of(config) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Err(e) = expand_env_refs(&spec.url) {
            out.push(("url".into(), e));
        }
        if let Some(Err(e)) = spec.api_key.as_ref().map(|k| k.resolve()) {
            out.push(("api_key".into(), e));
        }
        out
    }

    fn open(&self, ctx: &StoreContext<'_>) -> Result<OpenedStore, String> {
        let place = ctx.place;
        let spec = spec_of(ctx.config).map_err(|e| format!("{place}: {e}"))?;
        let url = expand_env_refs(&spec.url).map_err(|e| format!("{place}.url: {e}"))?;
        let api_key = match &spec.api_key {
            Some(s) => Some(
                s.resolve()
                    .map_err(|e| format!("{place}.api_key: {e}"))?
                    .expose()
                    .to_string(),
            ),
            None => None,
        };
        let deadline = Duration::from_millis(spec.search_timeout_ms);
        let collection = spec.collection(ctx.pipeline);
        let store = Arc::new(
            QdrantStore::new(QdrantStoreConfig {
                spec,
                url,
                api_key,
                collection,
                dim: ctx.dim,
            })
            .map_err(|e| format!("{place}: {e}"))?,
        );
        Ok(OpenedStore {
            sink: store.clone(),
            search: StoreSearch::Vector(store.clone(), deadline),
            handle: store,
        })
    }
}

#[async_trait]
impl VectorLeg for QdrantStore {
    fn store_kind(&self) -> &'static str {
        "qdrant"
    }

    fn describe(&self) -> String {
        format!("qdrant {}", self.collection())
    }

    async fn vector_search(
        &self,
        vector: &[f32],
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        Ok(self
            .search_chunks(vector, n, filters, access)
            .await?
            .into_iter()
            .map(|(score, chunk)| LegChunk {
                score,
                chunk,
                snippet: None,
            })
            .collect())
    }

    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        QdrantStore::document_chunks(self, doc_id).await
    }

    async fn chunk_count(&self) -> Result<u64, String> {
        self.count(None).await
    }

    async fn link_lookup(
        &self,
        lookup: &LinkLookup,
        access: &Access,
        limit: usize,
    ) -> Option<Result<Vec<LinkedChunk>, String>> {
        Some(QdrantStore::link_lookup(self, lookup, access, limit).await)
    }
}
