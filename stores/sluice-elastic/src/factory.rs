//! The `elasticsearch` store type for the registry, and the keyword leg of
//! hybrid search over the index.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sluice_core::search::{
    Access, ChunkPayload, KeywordLeg, LegChunk, LinkLookup, LinkedChunk, SNIPPET_CHARS,
    SearchFilters,
};
use sluice_core::{OpenedStore, StoreContext, StoreFactory, StoreSearch};
use sluice_spec::secrets::expand_env_refs;
use sluice_spec::{ElasticsearchAuth, ElasticsearchSinkSpec, SecretRef, SinkSpec};
use uuid::Uuid;

use crate::{Auth, ElasticStore, ElasticStoreConfig};

pub struct ElasticStoreType;

fn spec_of(config: &Value) -> Result<ElasticsearchSinkSpec, String> {
    match serde_json::from_value::<SinkSpec>(config.clone()).map_err(|e| e.to_string())? {
        SinkSpec::Elasticsearch(e) => Ok(e),
        _ => Err("not an elasticsearch sink".into()),
    }
}

/// The secrets of the `auth:` block, by field path.
fn secrets(spec: &ElasticsearchSinkSpec) -> Vec<(&'static str, &SecretRef)> {
    match &spec.auth {
        None => Vec::new(),
        Some(ElasticsearchAuth::ApiKey { key }) => vec![("auth.key", key)],
        Some(ElasticsearchAuth::Basic { password, .. }) => vec![("auth.password", password)],
        Some(ElasticsearchAuth::Bearer { token }) => vec![("auth.token", token)],
    }
}

impl StoreFactory for ElasticStoreType {
    fn type_name(&self) -> &'static str {
        "elasticsearch"
    }

    fn check_env(&self, config: &Value) -> Vec<(String, String)> {
        let Ok(spec) = spec_of(config) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Err(e) = expand_env_refs(&spec.url) {
            out.push(("url".into(), e));
        }
        for (field, secret) in secrets(&spec) {
            if let Err(e) = secret.resolve() {
                out.push((field.into(), e));
            }
        }
        out
    }

    fn open(&self, ctx: &StoreContext<'_>) -> Result<OpenedStore, String> {
        let place = ctx.place;
        let spec = spec_of(ctx.config).map_err(|e| format!("{place}: {e}"))?;
        let url = expand_env_refs(&spec.url).map_err(|e| format!("{place}.url: {e}"))?;
        let secret = |s: &SecretRef, field: &str| {
            s.resolve()
                .map(|v| v.expose().to_string())
                .map_err(|e| format!("{place}.auth.{field}: {e}"))
        };
        let auth = match &spec.auth {
            None => Auth::None,
            Some(ElasticsearchAuth::ApiKey { key }) => Auth::ApiKey(secret(key, "key")?),
            Some(ElasticsearchAuth::Basic { username, password }) => Auth::Basic {
                username: username.clone(),
                password: secret(password, "password")?,
            },
            Some(ElasticsearchAuth::Bearer { token }) => Auth::Bearer(secret(token, "token")?),
        };
        let deadline = Duration::from_millis(spec.search_timeout_ms);
        let alias = spec.index(ctx.pipeline);
        let store = Arc::new(
            ElasticStore::new(ElasticStoreConfig {
                spec,
                url,
                auth,
                alias,
            })
            .map_err(|e| format!("{place}: {e}"))?,
        );
        Ok(OpenedStore {
            sink: store.clone(),
            search: StoreSearch::Keyword(store.clone(), deadline),
            handle: store,
        })
    }
}

#[async_trait]
impl KeywordLeg for ElasticStore {
    fn store_kind(&self) -> &'static str {
        "elasticsearch"
    }

    fn describe(&self) -> String {
        format!("elasticsearch {}/{}", self.client().base(), self.alias())
    }

    async fn keyword_search(
        &self,
        query: &str,
        n: usize,
        filters: &SearchFilters,
        access: &Access,
    ) -> Result<Vec<LegChunk>, String> {
        let hits = self
            .search_chunks(query, n, filters, access, SNIPPET_CHARS)
            .await?;
        Ok(hits
            .into_iter()
            .map(|h| LegChunk {
                score: h.score,
                chunk: h.chunk,
                snippet: h.snippet,
            })
            .collect())
    }

    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        ElasticStore::document_chunks(self, doc_id).await
    }

    async fn chunk_count(&self) -> Result<u64, String> {
        self.count().await
    }

    async fn link_lookup(
        &self,
        lookup: &LinkLookup,
        access: &Access,
        limit: usize,
    ) -> Option<Result<Vec<LinkedChunk>, String>> {
        Some(ElasticStore::link_lookup(self, lookup, access, limit).await)
    }
}
