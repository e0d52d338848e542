//! The production stores from the pipeline's `sinks:` block, and search
//! over them: the keyword leg on Elasticsearch and the vector leg on Qdrant
//! run in parallel with the same filters and ACL, each under its own
//! deadline, fused by reciprocal rank. A leg that fails or times out leaves
//! the other's results, marked partial — never an error page.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sluice_elastic::{Auth, ElasticStore, ElasticStoreConfig, KeywordHit};
use sluice_index::{ChunkPayload, Hit, KEYWORD_WEIGHT, RRF_K, SearchBackend, SearchMode, SearchRequest, SearchResponse, rrf_fuse_weighted};
use sluice_qdrant::{QdrantStore, QdrantStoreConfig};
use sluice_spec::secrets::expand_env_refs;
use sluice_spec::{ElasticsearchAuth, ElasticsearchSinkSpec, LoadedPipeline, QdrantSinkSpec, SinkSpec};
use uuid::Uuid;

/// Candidates per leg before fusion (as in the embedded index).
const MIN_CANDIDATES: usize = 100;
const SNIPPET_CHARS: usize = 240;

pub fn qdrant_store(p: &LoadedPipeline, i: usize, spec: &QdrantSinkSpec, dim: usize) -> Result<QdrantStore, String> {
    let place = format!("{}: sinks[{i}]", p.file);
    let url = expand_env_refs(&spec.url).map_err(|e| format!("{place}.url: {e}"))?;
    let api_key = match &spec.api_key {
        Some(s) => Some(s.resolve().map_err(|e| format!("{place}.api_key: {e}"))?.expose().to_string()),
        None => None,
    };
    QdrantStore::new(QdrantStoreConfig { spec: spec.clone(), url, api_key, collection: spec.collection(&p.spec.name), dim }).map_err(|e| format!("{place}: {e}"))
}

pub fn elastic_store(p: &LoadedPipeline, i: usize, spec: &ElasticsearchSinkSpec) -> Result<ElasticStore, String> {
    let place = format!("{}: sinks[{i}]", p.file);
    let url = expand_env_refs(&spec.url).map_err(|e| format!("{place}.url: {e}"))?;
    let secret = |s: &sluice_spec::SecretRef, field: &str| s.resolve().map(|v| v.expose().to_string()).map_err(|e| format!("{place}.auth.{field}: {e}"));
    let auth = match &spec.auth {
        None => Auth::None,
        Some(ElasticsearchAuth::ApiKey { key }) => Auth::ApiKey(secret(key, "key")?),
        Some(ElasticsearchAuth::Basic { username, password }) => Auth::Basic { username: username.clone(), password: secret(password, "password")? },
        Some(ElasticsearchAuth::Bearer { token }) => Auth::Bearer(secret(token, "token")?),
    };
    ElasticStore::new(ElasticStoreConfig { spec: spec.clone(), url, auth, alias: spec.index(&p.spec.name) }).map_err(|e| format!("{place}: {e}"))
}

/// True when the pipeline writes to Qdrant or Elasticsearch.
pub fn has_remote_stores(p: &LoadedPipeline) -> bool {
    p.spec.sinks.iter().any(|s| !matches!(s, SinkSpec::Embedded(_)))
}

/// Hybrid search over the production stores; either leg may be absent.
pub struct StoreSearch {
    pub keyword: Option<(Arc<ElasticStore>, Duration)>,
    pub vector: Option<(Arc<QdrantStore>, Duration)>,
}

enum Leg<T> {
    Skipped,
    Done(T),
    Failed(String),
}

async fn with_deadline<T>(name: &str, d: Duration, f: impl std::future::Future<Output = Result<T, String>>) -> Leg<T> {
    match tokio::time::timeout(d, f).await {
        Ok(Ok(v)) => Leg::Done(v),
        Ok(Err(e)) => Leg::Failed(format!("{name} leg failed: {e}")),
        Err(_) => Leg::Failed(format!("{name} leg timed out after {} ms", d.as_millis())),
    }
}

/// Best chunk per document, in rank order.
fn collapse(chunks: Vec<(f32, ChunkPayload, Option<String>)>) -> Vec<(f32, ChunkPayload, Option<String>)> {
    let mut seen = std::collections::HashSet::new();
    chunks.into_iter().filter(|c| seen.insert(c.1.doc_id)).collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#x27;")
}

/// A plain snippet (no highlight) for vector-only hits.
fn plain_snippet(text: &str) -> String {
    let cut: String = text.chars().take(SNIPPET_CHARS).collect();
    escape(&cut)
}

#[async_trait]
impl SearchBackend for StoreSearch {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some((k, _)) = &self.keyword {
            parts.push(format!("elasticsearch {}/{}", k.client().base(), k.alias()));
        }
        if let Some((v, _)) = &self.vector {
            parts.push(format!("qdrant {}", v.collection()));
        }
        parts.join(" + ")
    }

    async fn search(&self, req: &SearchRequest, query_vector: Option<&[f32]>) -> Result<SearchResponse, String> {
        let started = Instant::now();
        let n = (req.top_k * 5).max(MIN_CANDIDATES);
        let want_kw = matches!(req.mode, SearchMode::Hybrid | SearchMode::Keyword);
        let want_vec = matches!(req.mode, SearchMode::Hybrid | SearchMode::Vector);
        let keyword = async {
            match (&self.keyword, want_kw) {
                (Some((es, d)), true) => {
                    with_deadline("keyword (elasticsearch)", *d, async {
                        let hits: Vec<KeywordHit> = es.search_chunks(&req.query, n, &req.filters, &req.access, SNIPPET_CHARS).await?;
                        Ok(hits.into_iter().map(|h| (h.score, h.chunk, h.snippet)).collect::<Vec<_>>())
                    })
                    .await
                }
                (None, true) if req.mode == SearchMode::Keyword => Leg::Failed("keyword search needs an `elasticsearch` sink in this pipeline".into()),
                _ => Leg::Skipped,
            }
        };
        let vector = async {
            match (&self.vector, want_vec, query_vector) {
                (Some((q, d)), true, Some(v)) => {
                    with_deadline("vector (qdrant)", *d, async { Ok(q.search_chunks(v, n, &req.filters, &req.access).await?.into_iter().map(|(s, p)| (s, p, None)).collect::<Vec<_>>()) }).await
                }
                (Some(_), true, None) => Leg::Failed("vector leg needs a query embedding".into()),
                (None, true, _) if req.mode == SearchMode::Vector => Leg::Failed("vector search needs a `qdrant` sink in this pipeline".into()),
                _ => Leg::Skipped,
            }
        };
        let (kw, vec) = tokio::join!(keyword, vector);
        let mut warnings = Vec::new();
        let mut legs_failed = 0;
        let mut take = |leg: Leg<Vec<(f32, ChunkPayload, Option<String>)>>| match leg {
            Leg::Done(v) => Some(collapse(v)),
            Leg::Skipped => None,
            Leg::Failed(w) => {
                tracing::warn!(warning = %w, "search leg failed");
                warnings.push(w);
                legs_failed += 1;
                None
            }
        };
        let (kw, vec) = (take(kw), take(vec));
        if kw.is_none() && vec.is_none() && legs_failed > 0 {
            return Err(warnings.join("; "));
        }
        let kw = kw.unwrap_or_default();
        let vec = vec.unwrap_or_default();
        let kw_rank: HashMap<Uuid, usize> = kw.iter().enumerate().map(|(i, c)| (c.1.doc_id, i)).collect();
        let vec_rank: HashMap<Uuid, usize> = vec.iter().enumerate().map(|(i, c)| (c.1.doc_id, i)).collect();
        let ranked: Vec<(Uuid, f32, Option<usize>, Option<usize>)> = match (kw.is_empty(), vec.is_empty(), req.mode) {
            (_, _, SearchMode::Keyword) | (false, true, _) => kw.iter().enumerate().map(|(i, c)| (c.1.doc_id, c.0, Some(i + 1), None)).collect(),
            (_, _, SearchMode::Vector) | (true, false, _) => vec.iter().enumerate().map(|(i, c)| (c.1.doc_id, c.0, None, Some(i + 1))).collect(),
            _ => {
                let legs = vec![kw.iter().map(|c| c.1.doc_id).collect(), vec.iter().map(|c| c.1.doc_id).collect()];
                rrf_fuse_weighted(&legs, &[KEYWORD_WEIGHT, 1.0], RRF_K).into_iter().map(|(d, s, r)| (d, s, r[0], r[1])).collect()
            }
        };
        let hits = ranked
            .into_iter()
            .take(req.top_k)
            .filter_map(|(doc, score, kr, vr)| {
                // The chunk from the leg where the document ranked higher;
                // the keyword leg's highlight when it has one.
                let chunk = match (kr, vr) {
                    (Some(k), Some(v)) if v < k => &vec[vec_rank[&doc]].1,
                    (Some(_), _) => &kw[kw_rank[&doc]].1,
                    (None, Some(_)) => &vec[vec_rank[&doc]].1,
                    // Every ranked document came from a leg.
                    (None, None) => return None,
                };
                let snippet = kr.and_then(|_| kw[kw_rank[&doc]].2.clone()).unwrap_or_else(|| plain_snippet(&chunk.text));
                Some(Hit {
                    doc_id: doc,
                    chunk_id: chunk.chunk_id,
                    external_id: chunk.external_id.clone(),
                    title: chunk.title.clone(),
                    url: chunk.url.clone(),
                    source: chunk.source.clone(),
                    kind: chunk.kind.clone(),
                    labels: chunk.labels.clone(),
                    snippet,
                    score,
                    updated_at: chunk.updated_at.and_then(chrono::DateTime::from_timestamp_micros).map(|t| t.to_rfc3339()),
                    keyword_rank: kr,
                    vector_rank: vr,
                })
            })
            .collect();
        Ok(SearchResponse { hits, mode: req.mode, took_ms: started.elapsed().as_secs_f64() * 1e3, partial: legs_failed > 0, warnings })
    }

    async fn document_chunks(&self, doc_id: &Uuid) -> Result<Vec<ChunkPayload>, String> {
        if let Some((es, _)) = &self.keyword {
            match es.document_chunks(doc_id).await {
                Ok(c) if !c.is_empty() => return Ok(c),
                Ok(_) => {}
                Err(e) if self.vector.is_none() => return Err(e),
                Err(e) => tracing::warn!(error = %e, "document lookup on elasticsearch failed; trying qdrant"),
            }
        }
        match &self.vector {
            Some((q, _)) => q.document_chunks(doc_id).await,
            None => Ok(Vec::new()),
        }
    }

    async fn chunk_count(&self) -> Option<u64> {
        if let Some((q, _)) = &self.vector {
            return q.count(None).await.ok();
        }
        match &self.keyword {
            Some((es, _)) => es.count().await.ok(),
            None => None,
        }
    }
}

/// What `sluice search --pipeline` / `sluice serve --pipeline` read: the
/// pipeline's Qdrant + Elasticsearch sinks when it has them, else its
/// embedded index (opened read-only). `dim` is the model's vector size.
pub fn open_search_backend(p: &LoadedPipeline, data_dir: &std::path::Path, dim: usize) -> Result<Arc<dyn SearchBackend>, String> {
    let mut search = StoreSearch { keyword: None, vector: None };
    let mut embedded = None;
    for (i, s) in p.spec.sinks.iter().enumerate() {
        match s {
            SinkSpec::Qdrant(q) => search.vector = Some((Arc::new(qdrant_store(p, i, q, dim)?), Duration::from_millis(q.search_timeout_ms))),
            SinkSpec::Elasticsearch(e) => search.keyword = Some((Arc::new(elastic_store(p, i, e)?), Duration::from_millis(e.search_timeout_ms))),
            SinkSpec::Embedded(cfg) => {
                let dir = cfg.path.as_ref().map(|d| p.resolve_path(d)).unwrap_or_else(|| crate::index_dir(data_dir));
                embedded = Some(dir);
            }
        }
    }
    if search.keyword.is_some() || search.vector.is_some() {
        return Ok(Arc::new(search));
    }
    let dir = embedded.ok_or_else(|| format!("{}: the pipeline has no sink to search", p.file))?;
    let index = sluice_index::EmbeddedIndex::open(&dir, false).map_err(|e| e.to_string())?;
    Ok(Arc::new(sluice_index::EmbeddedSearch(Arc::new(index))))
}
