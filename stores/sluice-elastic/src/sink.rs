//! The Elasticsearch / OpenSearch sink. One `apply`: `_bulk` index every
//! written chunk (`_id` = chunk id, so replays overwrite), retry the items
//! refused with 429/5xx/409 with backoff, dead-letter documents refused for
//! good (mapping errors) and acknowledge the rest; then remove chunks past
//! each document's new end and every chunk of deleted documents with
//! `_delete_by_query` on `doc_id`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};
use sluice_core::retry::{Backoff, RetryPolicy};
use sluice_core::{AccessUpdate, Sink, SinkAck, SinkBatch, SinkError, SinkRejection, chunk_record};
use sluice_spec::ElasticsearchSinkSpec;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::bootstrap::{self, Flavor};
use crate::bulk::{BulkAction, action_lines, parse_bulk_response};
use crate::client::{Auth, Body, EsClient, EsError};

/// Resolved settings: the spec with URL and credentials read from the environment.
#[derive(Debug, Clone)]
pub struct ElasticStoreConfig {
    pub spec: ElasticsearchSinkSpec,
    pub url: String,
    pub auth: Auth,
    /// The alias written and searched.
    pub alias: String,
}

pub(crate) struct Ready {
    pub flavor: Flavor,
}

pub struct ElasticStore {
    pub(crate) client: EsClient,
    pub(crate) cfg: ElasticStoreConfig,
    ready: OnceCell<Arc<Ready>>,
}

impl ElasticStore {
    pub fn new(cfg: ElasticStoreConfig) -> Result<ElasticStore, String> {
        let client = EsClient::new(
            &cfg.url,
            cfg.auth.clone(),
            Duration::from_secs(cfg.spec.timeout_secs),
        )
        .map_err(|e| format!("elasticsearch sink: {e}"))?;
        Ok(ElasticStore {
            client,
            cfg,
            ready: OnceCell::new(),
        })
    }

    pub fn alias(&self) -> &str {
        &self.cfg.alias
    }

    pub fn client(&self) -> &EsClient {
        &self.client
    }

    fn error(&self, e: EsError) -> SinkError {
        SinkError {
            sink: "elasticsearch".into(),
            message: e.message,
            transient: e.transient,
        }
    }

    /// Detects the server, installs the template and the alias over a
    /// versioned index, once per process.
    pub(crate) async fn bootstrap(&self) -> Result<Arc<Ready>, EsError> {
        self.ready
            .get_or_try_init(|| async {
                let flavor = bootstrap::detect(&self.client).await?;
                let index = bootstrap::ensure_alias(&self.client, &self.cfg.alias).await?;
                tracing::info!(?flavor, alias = %self.cfg.alias, %index, "elasticsearch index ready");
                Ok(Arc::new(Ready { flavor }))
            })
            .await
            .cloned()
    }

    /// The server kind and version (after bootstrap).
    pub async fn flavor(&self) -> Result<Flavor, EsError> {
        Ok(self.bootstrap().await?.flavor.clone())
    }

    /// The versioned index behind the alias.
    pub async fn current_index(&self) -> Result<String, EsError> {
        bootstrap::alias_target(&self.client, &self.cfg.alias)
            .await?
            .ok_or_else(|| EsError {
                message: format!("alias `{}` is missing", self.cfg.alias),
                transient: false,
                status: None,
            })
    }

    /// Creates the next versioned index (`<alias>-v(N+1)`) for a full
    /// re-index; write it with [`ElasticStore::writing_to`], then
    /// [`ElasticStore::swap_to`].
    pub async fn create_next_version(&self) -> Result<String, EsError> {
        self.bootstrap().await?;
        let current = self.current_index().await?;
        let next = bootstrap::version_of(&self.cfg.alias, &current).unwrap_or(1) + 1;
        let index = format!("{}-v{next}", self.cfg.alias);
        bootstrap::create_index(&self.client, &index).await?;
        Ok(index)
    }

    /// A store writing straight into `index` (a re-index target) instead of the alias.
    pub fn writing_to(&self, index: &str) -> Result<ElasticStore, String> {
        let mut cfg = self.cfg.clone();
        cfg.alias = index.to_string();
        let store = ElasticStore::new(cfg)?;
        // The index exists already (create_next_version made it).
        let _ = store.ready.set(Arc::new(Ready {
            flavor: Flavor::Elasticsearch(String::new()),
        }));
        Ok(store)
    }

    /// Moves the alias to `index` atomically and deletes the old index.
    pub async fn swap_to(&self, index: &str) -> Result<(), EsError> {
        let old = self.current_index().await?;
        bootstrap::swap_alias(&self.client, &self.cfg.alias, &old, index).await?;
        self.client
            .send(Method::DELETE, &format!("/{old}"), None, &[404])
            .await?;
        Ok(())
    }

    /// The shared retry policy with this sink's `max_attempts`.
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::new(
            Backoff::new(Duration::from_millis(200), Duration::from_secs(10)),
            Some(self.cfg.spec.max_attempts),
        )
    }

    fn refresh(&self) -> &'static str {
        self.cfg.spec.refresh.as_param()
    }

    /// Sends the operations, retrying refused items; returns the positions
    /// refused for good with their reasons.
    async fn bulk_index(&self, ops: &[(String, Value)]) -> Result<Vec<(usize, String)>, EsError> {
        self.bulk(BulkAction::Index, ops)
            .await
            .map(|r| r.into_iter().map(|(i, _, reason)| (i, reason)).collect())
    }

    /// `bulk_index` for any action; refusals carry their status.
    async fn bulk(
        &self,
        action: BulkAction,
        ops: &[(String, Value)],
    ) -> Result<Vec<(usize, u16, String)>, EsError> {
        let mut rejected = Vec::new();
        let mut pending: Vec<usize> = (0..ops.len()).collect();
        let mut tries = self.retry_policy().start();
        while !pending.is_empty() {
            let mut body = String::new();
            for &i in &pending {
                action_lines(&mut body, action, &self.cfg.alias, &ops[i].0, &ops[i].1);
            }
            let path = format!("/_bulk?refresh={}", self.refresh());
            let attempt = tries.attempt();
            let answer = match self
                .client
                .send(Method::POST, &path, Some(Body::Ndjson(body)), &[])
                .await
            {
                Ok((_, v)) => v,
                Err(e) if e.transient && tries.can_retry() => {
                    tracing::warn!(attempt, error = %e, "elasticsearch _bulk: transient error; retrying");
                    tries.wait(None).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let outcome = parse_bulk_response(&answer, pending.len()).map_err(|m| EsError {
                message: m,
                transient: false,
                status: None,
            })?;
            let mut retry = Vec::new();
            for f in outcome.failed {
                let op = pending[f.position];
                if f.retryable() {
                    retry.push((op, f.reason));
                } else {
                    rejected.push((op, f.status, f.reason));
                }
            }
            if retry.is_empty() {
                break;
            }
            if !tries.can_retry() {
                return Err(EsError {
                    message: format!(
                        "{} _bulk items still refused after {attempt} attempts, e.g. {}",
                        retry.len(),
                        retry[0].1
                    ),
                    transient: true,
                    status: None,
                });
            }
            // Only the refused items go again (partial retry of a bulk request).
            tracing::warn!(attempt, items = retry.len(), reason = %retry[0].1, "elasticsearch _bulk: items refused; retrying them");
            tries.wait(None).await;
            pending = retry.into_iter().map(|(op, _)| op).collect();
        }
        Ok(rejected)
    }

    async fn delete_by_query(&self, query: Value) -> Result<u64, EsError> {
        // `_delete_by_query` takes only true/false for refresh.
        let refresh = if self.refresh() == "false" {
            "false"
        } else {
            "true"
        };
        let path = format!(
            "/{}/_delete_by_query?conflicts=proceed&refresh={refresh}",
            self.cfg.alias
        );
        let mut tries = self.retry_policy().start();
        loop {
            let attempt = tries.attempt();
            match self
                .client
                .send(
                    Method::POST,
                    &path,
                    Some(Body::Json(json!({ "query": query }))),
                    &[],
                )
                .await
            {
                Ok((_, v)) => {
                    if let Some(f) = v["failures"].as_array().filter(|f| !f.is_empty()) {
                        if tries.can_retry() {
                            tracing::warn!(
                                attempt,
                                failures = f.len(),
                                "elasticsearch _delete_by_query: failures; retrying"
                            );
                            tries.wait(None).await;
                            continue;
                        }
                        return Err(EsError {
                            message: format!("_delete_by_query kept failing: {}", f[0]),
                            transient: true,
                            status: None,
                        });
                    }
                    return Ok(v["deleted"].as_u64().unwrap_or(0));
                }
                Err(e) if e.transient && tries.can_retry() => {
                    tracing::warn!(attempt, error = %e, "elasticsearch _delete_by_query: transient error; retrying");
                    tries.wait(None).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[async_trait]
impl Sink for ElasticStore {
    fn name(&self) -> &str {
        "elasticsearch"
    }

    async fn apply(&self, batch: &SinkBatch) -> Result<SinkAck, SinkError> {
        self.bootstrap().await.map_err(|e| self.error(e))?;
        let mut ops: Vec<(String, Value)> = Vec::new();
        let mut owner: Vec<Uuid> = Vec::new();
        for w in &batch.writes {
            for c in &w.chunks {
                ops.push((
                    c.chunk.chunk_id.to_string(),
                    Value::Object(chunk_record(&w.document, &c.chunk, w.links.as_deref())),
                ));
                owner.push(w.doc_id);
            }
        }
        let mut rejected: BTreeMap<Uuid, String> = BTreeMap::new();
        for (part_no, part) in ops.chunks(self.cfg.spec.bulk_actions.max(1)).enumerate() {
            let offset = part_no * self.cfg.spec.bulk_actions.max(1);
            for (i, reason) in self.bulk_index(part).await.map_err(|e| self.error(e))? {
                rejected.entry(owner[offset + i]).or_insert(reason);
            }
        }
        let stale: Vec<Value> = batch
            .writes
            .iter()
            .map(|w| json!({ "bool": { "filter": [{ "term": { "doc_id": w.doc_id.to_string() } }, { "range": { "ordinal": { "gte": w.chunk_count } } }] } }))
            .collect();
        for part in stale.chunks(256) {
            self.delete_by_query(json!({ "bool": { "should": part, "minimum_should_match": 1 } }))
                .await
                .map_err(|e| self.error(e))?;
        }
        for part in batch.deletes.chunks(1000) {
            let ids: Vec<String> = part.iter().map(Uuid::to_string).collect();
            self.delete_by_query(json!({ "terms": { "doc_id": ids } }))
                .await
                .map_err(|e| self.error(e))?;
        }
        let written = ops.len() - owner.iter().filter(|d| rejected.contains_key(d)).count();
        Ok(SinkAck {
            chunks_written: written,
            docs_deleted: batch.deletes.len(),
            rejected: rejected
                .into_iter()
                .map(|(doc_id, reason)| SinkRejection {
                    doc_id,
                    reason: format!("elasticsearch refused the document: {reason}"),
                })
                .collect(),
        })
    }

    /// Partial `_bulk` updates of the access fields of each chunk, by chunk
    /// id (text and every other field stay). A chunk that is not there
    /// (404) has nothing to hide; any other refusal fails the pass, so the
    /// state does not record the new access and the next pass retries.
    async fn update_access(&self, updates: &[AccessUpdate]) -> Result<(), SinkError> {
        self.bootstrap().await.map_err(|e| self.error(e))?;
        let mut ops: Vec<(String, Value)> = Vec::new();
        for u in updates {
            let mut fields = serde_json::Map::new();
            for (i, slot) in u.access.slots().into_iter().enumerate() {
                fields.insert(sluice_core::access::acl_field(i), json!(slot));
            }
            let fields = Value::Object(fields);
            ops.extend(u.chunk_ids.iter().map(|c| (c.to_string(), fields.clone())));
        }
        for part in ops.chunks(self.cfg.spec.bulk_actions.max(1)) {
            let refused = self
                .bulk(BulkAction::Update, part)
                .await
                .map_err(|e| self.error(e))?;
            if let Some((i, _, reason)) = refused.into_iter().find(|(_, status, _)| *status != 404)
            {
                return Err(self.error(EsError {
                    message: format!("updating the access of chunk {}: {reason}", part[i].0),
                    transient: false,
                    status: None,
                }));
            }
        }
        Ok(())
    }
}
