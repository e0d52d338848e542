//! A recorded-contract fixture server for the Elasticsearch 8 / OpenSearch
//! 2 APIs Sluice calls: `GET /`, index templates, index create/delete/
//! exists, `_alias`/`_aliases`, `_bulk`, `_search` (bool, multi_match,
//! match, term, terms, range, match_all; highlight; sort), `_delete_by_query`,
//! `_count`, `_refresh`. Answers have the servers' response shapes; ranking
//! is a small BM25-like formula, not Lucene's — assert on sets and contents,
//! not scores. Mappings are enforced like `dynamic: strict` (unknown fields
//! and unparseable dates are refused per item), and faults can be scripted:
//! per-item `_bulk` refusals (429/400/409/503), whole-request 503s, slow
//! searches, required credentials.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Elasticsearch8,
    OpenSearch2,
}

/// A scripted per-item `_bulk` refusal: documents whose `field` equals
/// `value` get `status` with `error_type`, `times` times (None: always).
#[derive(Debug, Clone)]
pub struct ItemFault {
    pub field: String,
    pub value: Value,
    pub status: u16,
    pub error_type: String,
    pub reason: String,
    pub times: Option<u32>,
}

#[derive(Default)]
struct Index {
    mapping: Value,
    docs: BTreeMap<String, Value>,
    /// Documents visible to search (updated at refresh).
    visible: BTreeMap<String, Value>,
}

#[derive(Default)]
struct Inner {
    indices: BTreeMap<String, Index>,
    /// alias → (index, is_write_index)
    aliases: BTreeMap<String, Vec<(String, bool)>>,
    templates: BTreeMap<String, Value>,
    item_faults: Vec<ItemFault>,
    /// Next n requests whose path contains the key answer 503.
    request_faults: Vec<(String, u32)>,
    search_delay: Option<Duration>,
    log: Vec<(String, String)>,
}

struct Shared {
    flavor: Flavor,
    /// Expected `Authorization` header value, when auth is on.
    authorization: Option<String>,
    inner: Mutex<Inner>,
}

/// A running fixture on 127.0.0.1; stops when dropped.
pub struct ElasticFixture {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ElasticFixture {
    pub async fn start(flavor: Flavor) -> std::io::Result<ElasticFixture> {
        Self::start_with_auth(flavor, None).await
    }

    /// With `authorization`, every request must send exactly this
    /// `Authorization` header (`ApiKey …`, `Basic …`, `Bearer …`).
    pub async fn start_with_auth(
        flavor: Flavor,
        authorization: Option<String>,
    ) -> std::io::Result<ElasticFixture> {
        let shared = Arc::new(Shared {
            flavor,
            authorization,
            inner: Mutex::new(Inner::default()),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(ElasticFixture {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add_item_fault(&self, f: ItemFault) {
        self.shared.inner.lock().item_faults.push(f);
    }

    /// The next `n` requests whose path contains `path_part` answer 503.
    pub fn fail_requests(&self, path_part: &str, n: u32) {
        self.shared
            .inner
            .lock()
            .request_faults
            .push((path_part.to_string(), n));
    }

    pub fn delay_searches(&self, d: Option<Duration>) {
        self.shared.inner.lock().search_delay = d;
    }

    /// Stored documents of an index or alias (all, refreshed or not).
    pub fn documents(&self, target: &str) -> BTreeMap<String, Value> {
        let g = self.shared.inner.lock();
        resolve(&g, target)
            .iter()
            .filter_map(|i| g.indices.get(i))
            .flat_map(|i| i.docs.clone())
            .collect()
    }

    /// Indexes an alias points at.
    pub fn alias_indices(&self, alias: &str) -> Vec<String> {
        self.shared
            .inner
            .lock()
            .aliases
            .get(alias)
            .map(|v| v.iter().map(|(i, _)| i.clone()).collect())
            .unwrap_or_default()
    }

    pub fn index_names(&self) -> Vec<String> {
        self.shared.inner.lock().indices.keys().cloned().collect()
    }

    pub fn template(&self, name: &str) -> Option<Value> {
        self.shared.inner.lock().templates.get(name).cloned()
    }

    pub fn mapping(&self, index: &str) -> Option<Value> {
        self.shared
            .inner
            .lock()
            .indices
            .get(index)
            .map(|i| i.mapping.clone())
    }

    /// `(method, path)` of every request so far.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared.inner.lock().log.clone()
    }
}

impl Drop for ElasticFixture {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn resolve(g: &Inner, target: &str) -> Vec<String> {
    if let Some(a) = g.aliases.get(target) {
        return a.iter().map(|(i, _)| i.clone()).collect();
    }
    if g.indices.contains_key(target) {
        vec![target.to_string()]
    } else {
        Vec::new()
    }
}

fn write_index(g: &Inner, target: &str) -> Option<String> {
    if let Some(a) = g.aliases.get(target) {
        return a
            .iter()
            .find(|(_, w)| *w)
            .or(a.first())
            .map(|(i, _)| i.clone());
    }
    g.indices.contains_key(target).then(|| target.to_string())
}

fn error(status: StatusCode, kind: &str, reason: &str) -> Response {
    (status, axum::Json(json!({ "error": { "root_cause": [{ "type": kind, "reason": reason }], "type": kind, "reason": reason }, "status": status.as_u16() }))).into_response()
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn not_found_index(name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "index_not_found_exception",
        &format!("no such index [{name}]"),
    )
}

async fn handle(
    State(s): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    {
        let mut g = s.inner.lock();
        g.log.push((method.to_string(), uri.to_string()));
        if let Some(f) = g
            .request_faults
            .iter_mut()
            .find(|(p, n)| *n > 0 && path.contains(p.as_str()))
        {
            f.1 -= 1;
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "cluster_block_exception",
                "blocked by: [SERVICE_UNAVAILABLE/2/no master];",
            );
        }
    }
    if let Some(want) = &s.authorization {
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
            return error(
                StatusCode::UNAUTHORIZED,
                "security_exception",
                "missing authentication credentials for REST request [/]",
            );
        }
    }
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|x| !x.is_empty())
        .collect();
    let json_body = || -> Result<Value, Response> {
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                "parse_exception",
                &format!("request body is not JSON: {e}"),
            )
        })
    };
    // The parsed body, or the 400 answer for a body that is not JSON.
    macro_rules! json_or_return {
        () => {
            match json_body() {
                Ok(b) => b,
                Err(r) => return r,
            }
        };
    }
    match (method.clone(), segs.as_slice()) {
        (Method::GET, []) => ok(root(s.flavor)),
        (Method::PUT, ["_index_template", name]) => {
            let b = json_or_return!();
            s.inner.lock().templates.insert(name.to_string(), b);
            ok(json!({ "acknowledged": true }))
        }
        (Method::GET, ["_alias", alias]) => {
            let g = s.inner.lock();
            match g.aliases.get(*alias) {
                None => (
                    StatusCode::NOT_FOUND,
                    axum::Json(
                        json!({ "error": format!("alias [{alias}] missing"), "status": 404 }),
                    ),
                )
                    .into_response(),
                Some(list) => ok(Value::Object(
                    list.iter()
                        .map(|(i, w)| {
                            (
                                i.clone(),
                                json!({ "aliases": { *alias: { "is_write_index": w } } }),
                            )
                        })
                        .collect(),
                )),
            }
        }
        (Method::POST, ["_aliases"]) => {
            let b = json_or_return!();
            let mut g = s.inner.lock();
            let actions = b["actions"].as_array().cloned().unwrap_or_default();
            // Validate first: the whole call applies or nothing does.
            for a in &actions {
                let (_, body) = a
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap_or_default();
                let index = body["index"].as_str().unwrap_or_default();
                if !g.indices.contains_key(index) {
                    return not_found_index(index);
                }
            }
            for a in actions {
                let Some((op, body)) = a
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .map(|(k, v)| (k.clone(), v.clone()))
                else {
                    continue;
                };
                let (index, alias) = (
                    body["index"].as_str().unwrap_or_default().to_string(),
                    body["alias"].as_str().unwrap_or_default().to_string(),
                );
                let entry = g.aliases.entry(alias.clone()).or_default();
                match op.as_str() {
                    "add" => {
                        let w = body["is_write_index"].as_bool().unwrap_or(false);
                        if w {
                            entry.iter_mut().for_each(|e| e.1 = false);
                        }
                        entry.retain(|(i, _)| *i != index);
                        entry.push((index, w));
                    }
                    "remove" => entry.retain(|(i, _)| *i != index),
                    _ => {}
                }
                if g.aliases.get(&alias).is_some_and(|v| v.is_empty()) {
                    g.aliases.remove(&alias);
                }
            }
            ok(json!({ "acknowledged": true, "errors": false }))
        }
        (Method::POST, ["_bulk"]) | (Method::PUT, ["_bulk"]) => {
            bulk(&s, &body, None, query.get("refresh").map(String::as_str))
        }
        (Method::POST, [target, "_bulk"]) => bulk(
            &s,
            &body,
            Some(target),
            query.get("refresh").map(String::as_str),
        ),
        (Method::POST, [target, "_search"]) | (Method::GET, [target, "_search"]) => {
            let delay = s.inner.lock().search_delay;
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let b = json_or_return!();
            search(&s, target, &b)
        }
        (Method::POST, [target, "_delete_by_query"]) => {
            let b = json_or_return!();
            let mut g = s.inner.lock();
            let names = resolve(&g, target);
            if names.is_empty() {
                return not_found_index(target);
            }
            let refresh = query.get("refresh").is_some_and(|r| r == "true");
            let mut deleted = 0;
            for n in names {
                if let Some(ix) = g.indices.get_mut(&n) {
                    let gone: Vec<String> = ix
                        .docs
                        .iter()
                        .filter(|(_, d)| matches(&b["query"], d))
                        .map(|(k, _)| k.clone())
                        .collect();
                    for k in gone {
                        ix.docs.remove(&k);
                        deleted += 1;
                    }
                    if refresh {
                        ix.visible = ix.docs.clone();
                    }
                }
            }
            ok(
                json!({ "took": 1, "timed_out": false, "total": deleted, "deleted": deleted, "batches": 1, "version_conflicts": 0, "noops": 0,
                "retries": { "bulk": 0, "search": 0 }, "throttled_millis": 0, "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": [] }),
            )
        }
        (Method::POST, [target, "_refresh"]) => {
            let mut g = s.inner.lock();
            for n in resolve(&g, target) {
                if let Some(ix) = g.indices.get_mut(&n) {
                    ix.visible = ix.docs.clone();
                }
            }
            ok(json!({ "_shards": { "total": 1, "successful": 1, "failed": 0 } }))
        }
        (Method::GET, [target, "_count"]) => {
            let g = s.inner.lock();
            let n: usize = resolve(&g, target)
                .iter()
                .filter_map(|i| g.indices.get(i))
                .map(|i| i.visible.len())
                .sum();
            ok(
                json!({ "count": n, "_shards": { "total": 1, "successful": 1, "skipped": 0, "failed": 0 } }),
            )
        }
        (Method::PUT, [target, "_mapping"]) => {
            // Adds fields to a live mapping; an existing field must keep its type.
            let b = json_or_return!();
            let mut g = s.inner.lock();
            let names = resolve(&g, target);
            if names.is_empty() {
                return not_found_index(target);
            }
            let new = b["properties"].as_object().cloned().unwrap_or_default();
            for n in &names {
                let ix = &g.indices[n];
                for (k, v) in &new {
                    if let Some(old) = ix.mapping["properties"].get(k) {
                        if old["type"] != v["type"] {
                            return error(
                                StatusCode::BAD_REQUEST,
                                "illegal_argument_exception",
                                &format!(
                                    "mapper [{k}] cannot be changed from type [{}] to [{}]",
                                    old["type"], v["type"]
                                ),
                            );
                        }
                    }
                }
            }
            for n in names {
                if let Some(ix) = g.indices.get_mut(&n) {
                    if !ix.mapping["properties"].is_object() {
                        ix.mapping["properties"] = json!({});
                    }
                    for (k, v) in &new {
                        ix.mapping["properties"][k] = v.clone();
                    }
                }
            }
            ok(json!({ "acknowledged": true }))
        }
        (Method::HEAD, [target]) => {
            let g = s.inner.lock();
            if resolve(&g, target).is_empty() {
                StatusCode::NOT_FOUND.into_response()
            } else {
                StatusCode::OK.into_response()
            }
        }
        (Method::PUT, [index]) if !index.starts_with('_') => {
            let b = json_or_return!();
            let mut g = s.inner.lock();
            if g.indices.contains_key(*index) || g.aliases.contains_key(*index) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "resource_already_exists_exception",
                    &format!("index [{index}/abc123] already exists"),
                );
            }
            let mut mapping = b["mappings"].clone();
            if mapping.is_null() {
                // Templates apply when the request has no mapping.
                if let Some(t) = g.templates.values().find(|t| {
                    t["index_patterns"].as_array().is_some_and(|p| {
                        p.iter().any(|p| p.as_str().is_some_and(|p| glob(p, index)))
                    })
                }) {
                    mapping = t["template"]["mappings"].clone();
                }
            }
            g.indices.insert(
                index.to_string(),
                Index {
                    mapping,
                    ..Default::default()
                },
            );
            ok(json!({ "acknowledged": true, "shards_acknowledged": true, "index": index }))
        }
        (Method::DELETE, [index]) => {
            let mut g = s.inner.lock();
            if g.indices.remove(*index).is_none() {
                return not_found_index(index);
            }
            for v in g.aliases.values_mut() {
                v.retain(|(i, _)| i != index);
            }
            g.aliases.retain(|_, v| !v.is_empty());
            ok(json!({ "acknowledged": true }))
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            &format!("this fixture does not implement {method} {path}"),
        ),
    }
}

fn glob(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

fn root(flavor: Flavor) -> Value {
    match flavor {
        Flavor::Elasticsearch8 => json!({
            "name": "es01", "cluster_name": "docker-cluster", "cluster_uuid": "2pGYZiJ0RaWVt3VmVE4ozQ",
            "version": { "number": "8.15.3", "build_flavor": "default", "build_type": "docker", "build_hash": "f97532e680b555c3a05e73a74c28afb666923018",
                "build_date": "2024-10-09T22:08:00.328917561Z", "build_snapshot": false, "lucene_version": "9.11.1",
                "minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0" },
            "tagline": "You Know, for Search" }),
        Flavor::OpenSearch2 => json!({
            "name": "opensearch-node1", "cluster_name": "opensearch-cluster", "cluster_uuid": "Xn3Uf1XcRQyUvKLgHkCk1w",
            "version": { "distribution": "opensearch", "number": "2.17.1", "build_type": "tar", "build_hash": "1893d20797e30110e5877170e44d42275ce5951e",
                "build_date": "2024-09-26T21:59:52.691008096Z", "build_snapshot": false, "lucene_version": "9.11.1",
                "minimum_wire_compatibility_version": "7.10.0", "minimum_index_compatibility_version": "7.0.0" },
            "tagline": "The OpenSearch Project: https://opensearch.org/" }),
    }
}

/// Checks a document against a strict mapping; `Err((type, reason))`.
fn check_mapping(mapping: &Value, doc: &Value) -> Result<(), (String, String)> {
    let Some(props) = mapping["properties"].as_object() else {
        return Ok(());
    };
    let strict = mapping["dynamic"].as_str() == Some("strict");
    let Some(obj) = doc.as_object() else {
        return Err((
            "document_parsing_exception".into(),
            "[1:1] root must be an object".into(),
        ));
    };
    for (k, v) in obj {
        let Some(p) = props.get(k) else {
            if strict {
                return Err((
                    "strict_dynamic_mapping_exception".into(),
                    format!(
                        "[1:2] mapping set to strict, dynamic introduction of [{k}] within [_doc] is not allowed"
                    ),
                ));
            }
            continue;
        };
        let bad = |t: &str| {
            Err((
                "document_parsing_exception".into(),
                format!("[1:2] failed to parse field [{k}] of type [{t}] in document"),
            ))
        };
        let values: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for x in values {
            match (p["type"].as_str().unwrap_or(""), x) {
                (_, Value::Null) => {}
                ("date", Value::String(s)) if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
                    return bad("date");
                }
                ("integer" | "long", x) if !x.is_i64() && !x.is_u64() => return bad("integer"),
                ("boolean", x) if !x.is_boolean() => return bad("boolean"),
                _ => {}
            }
        }
    }
    Ok(())
}

fn bulk(s: &Shared, body: &[u8], default_index: Option<&str>, refresh: Option<&str>) -> Response {
    let text = String::from_utf8_lossy(body);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut g = s.inner.lock();
    let mut items = Vec::new();
    let mut errors = false;
    let mut i = 0;
    let mut touched = Vec::new();
    while i < lines.len() {
        let Ok(action) = serde_json::from_str::<Value>(lines[i]) else {
            return error(
                StatusCode::BAD_REQUEST,
                "x_content_parse_exception",
                &format!("[1:1] malformed action/metadata line [{}]", i + 1),
            );
        };
        let Some((op, meta)) = action
            .as_object()
            .and_then(|o| o.iter().next())
            .map(|(k, v)| (k.clone(), v.clone()))
        else {
            return error(
                StatusCode::BAD_REQUEST,
                "illegal_argument_exception",
                "empty action",
            );
        };
        let target = meta["_index"]
            .as_str()
            .map(str::to_string)
            .or(default_index.map(str::to_string))
            .unwrap_or_default();
        let id = meta["_id"].as_str().unwrap_or_default().to_string();
        let doc = if op == "delete" {
            i += 1;
            Value::Null
        } else {
            let Some(line) = lines.get(i + 1) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "illegal_argument_exception",
                    "The bulk request must be terminated by a newline [\\n]",
                );
            };
            i += 2;
            match serde_json::from_str::<Value>(line) {
                Ok(d) => d,
                Err(e) => {
                    errors = true;
                    items.push(json!({ op.clone(): { "_index": target, "_id": id, "status": 400, "error": { "type": "document_parsing_exception", "reason": format!("[1:1] {e}") } } }));
                    continue;
                }
            }
        };
        let Some(index) = write_index(&g, &target) else {
            errors = true;
            items.push(json!({ op.clone(): { "_index": target, "_id": id, "status": 404, "error": { "type": "index_not_found_exception", "reason": format!("no such index [{target}]") } } }));
            continue;
        };
        // Scripted refusals.
        let fault = g
            .item_faults
            .iter_mut()
            .find(|f| f.times != Some(0) && doc.get(&f.field) == Some(&f.value))
            .map(|f| {
                if let Some(t) = f.times.as_mut() {
                    *t -= 1;
                }
                f.clone()
            });
        if let Some(f) = fault {
            errors = true;
            items.push(json!({ op.clone(): { "_index": index, "_id": id, "status": f.status, "error": { "type": f.error_type, "reason": f.reason } } }));
            continue;
        }
        let ix = g.indices.entry(index.clone()).or_default();
        // A partial update merges `doc` into the stored document.
        let doc = if op == "update" {
            let Some(stored) = ix.docs.get(&id) else {
                errors = true;
                items.push(json!({ "update": { "_index": index, "_id": id, "status": 404, "error": { "type": "document_missing_exception", "reason": format!("[{id}]: document missing") } } }));
                continue;
            };
            let mut merged = stored.clone();
            for (k, v) in doc["doc"].as_object().cloned().unwrap_or_default() {
                merged[k] = v;
            }
            merged
        } else {
            doc
        };
        if op != "delete" {
            if let Err((t, r)) = check_mapping(&ix.mapping, &doc) {
                errors = true;
                items.push(json!({ op.clone(): { "_index": index, "_id": id, "status": 400, "error": { "type": t, "reason": r } } }));
                continue;
            }
        }
        let (status, result) = match op.as_str() {
            "delete" => match ix.docs.remove(&id) {
                Some(_) => (200, "deleted"),
                None => (404, "not_found"),
            },
            _ => match ix.docs.insert(id.clone(), doc) {
                Some(_) => (200, "updated"),
                None => (201, "created"),
            },
        };
        touched.push(index.clone());
        items.push(json!({ op.clone(): { "_index": index, "_id": id, "_version": 1, "result": result, "_shards": { "total": 2, "successful": 1, "failed": 0 }, "_seq_no": 0, "_primary_term": 1, "status": status } }));
    }
    if matches!(refresh, Some("true") | Some("wait_for") | Some("")) {
        for t in touched {
            if let Some(ix) = g.indices.get_mut(&t) {
                ix.visible = ix.docs.clone();
            }
        }
    }
    ok(json!({ "took": 2, "errors": errors, "items": items }))
}

fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase())
        .collect()
}

fn field_values(doc: &Value, field: &str) -> Vec<Value> {
    match &doc[field] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        v => vec![v.clone()],
    }
}

fn cmp_json(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(a.as_str()?.cmp(b.as_str()?)),
    }
}

/// Filter semantics of the query DSL subset (scoring is separate).
fn matches(q: &Value, doc: &Value) -> bool {
    let Some((kind, body)) = q.as_object().and_then(|o| o.iter().next()) else {
        return true;
    };
    match kind.as_str() {
        "match_all" => true,
        "term" => body
            .as_object()
            .and_then(|o| o.iter().next())
            .is_some_and(|(f, v)| {
                let v = v.get("value").unwrap_or(v);
                field_values(doc, f).iter().any(|x| x == v)
            }),
        "terms" => body
            .as_object()
            .and_then(|o| o.iter().next())
            .is_some_and(|(f, vs)| {
                let vs = vs.as_array().cloned().unwrap_or_default();
                field_values(doc, f).iter().any(|x| vs.contains(x))
            }),
        "range" => body
            .as_object()
            .and_then(|o| o.iter().next())
            .is_some_and(|(f, r)| {
                field_values(doc, f).iter().any(|x| {
                    r.as_object().is_some_and(|r| {
                        r.iter()
                            .all(|(op, bound)| match (op.as_str(), cmp_json(x, bound)) {
                                ("gte", Some(o)) => o.is_ge(),
                                ("gt", Some(o)) => o.is_gt(),
                                ("lte", Some(o)) => o.is_le(),
                                ("lt", Some(o)) => o.is_lt(),
                                _ => false,
                            })
                    })
                })
            }),
        "multi_match" | "match" => text_score(q, doc, &Default::default()) > 0.0,
        "bool" => {
            let list = |k: &str| match &body[k] {
                Value::Array(a) => a.clone(),
                Value::Null => Vec::new(),
                v => vec![v.clone()],
            };
            let should = list("should");
            let min_should = body["minimum_should_match"].as_u64().unwrap_or(
                if list("must").is_empty() && list("filter").is_empty() {
                    1
                } else {
                    0
                },
            ) as usize;
            list("must").iter().all(|c| matches(c, doc))
                && list("filter").iter().all(|c| matches(c, doc))
                && !list("must_not").iter().any(|c| matches(c, doc))
                && (should.is_empty()
                    || should.iter().filter(|c| matches(c, doc)).count() >= min_should)
        }
        _ => false,
    }
}

/// BM25-like score of the text clauses (multi_match / match) in `q`.
fn text_score(q: &Value, doc: &Value, df: &HashMap<String, f64>) -> f64 {
    let Some((kind, body)) = q.as_object().and_then(|o| o.iter().next()) else {
        return 0.0;
    };
    let (query, fields): (String, Vec<(String, f64)>) = match kind.as_str() {
        "multi_match" => (
            body["query"].as_str().unwrap_or_default().to_string(),
            body["fields"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(|x| x.as_str())
                        .map(|x| match x.split_once('^') {
                            Some((n, b)) => (n.to_string(), b.parse().unwrap_or(1.0)),
                            None => (x.to_string(), 1.0),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "match" => match body.as_object().and_then(|o| o.iter().next()) {
            Some((f, v)) => (
                v.get("query")
                    .unwrap_or(v)
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                vec![(f.clone(), 1.0)],
            ),
            None => return 0.0,
        },
        "bool" => {
            let list = |k: &str| body[k].as_array().cloned().unwrap_or_default();
            return list("must")
                .iter()
                .chain(list("should").iter())
                .map(|c| text_score(c, doc, df))
                .sum();
        }
        _ => return 0.0,
    };
    let terms = tokens(&query);
    let mut best: f64 = 0.0;
    for (field, boost) in fields {
        let toks = tokens(doc[&field].as_str().unwrap_or_default());
        let mut s = 0.0;
        for t in &terms {
            let tf = toks.iter().filter(|x| *x == t).count() as f64;
            if tf > 0.0 {
                let idf = df.get(t).copied().unwrap_or(1.0);
                s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * toks.len() as f64 / 60.0));
            }
        }
        best = best.max(s * boost);
    }
    best
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

fn highlight(text: &str, query_terms: &[String], size: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    for word in text.split_inclusive(' ') {
        if count >= size {
            break;
        }
        count += word.chars().count();
        let core = word.trim_end();
        if tokens(core).iter().any(|t| query_terms.contains(t)) {
            out.push_str("<mark>");
            out.push_str(&escape(core));
            out.push_str("</mark>");
            out.push_str(&word[core.len()..]);
        } else {
            out.push_str(&escape(word));
        }
    }
    out.trim_end().to_string()
}

fn query_text(q: &Value) -> String {
    let Some((kind, body)) = q.as_object().and_then(|o| o.iter().next()) else {
        return String::new();
    };
    match kind.as_str() {
        "multi_match" => body["query"].as_str().unwrap_or_default().to_string(),
        "match" => body
            .as_object()
            .and_then(|o| o.values().next())
            .map(|v| {
                v.get("query")
                    .unwrap_or(v)
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .unwrap_or_default(),
        "bool" => ["must", "should"]
            .iter()
            .flat_map(|k| body[*k].as_array().cloned().unwrap_or_default())
            .map(|c| query_text(&c))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn search(s: &Shared, target: &str, b: &Value) -> Response {
    let g = s.inner.lock();
    let names = resolve(&g, target);
    if names.is_empty() {
        return not_found_index(target);
    }
    let q = if b["query"].is_null() {
        json!({ "match_all": {} })
    } else {
        b["query"].clone()
    };
    let docs: Vec<(&String, &String, &Value)> = names
        .iter()
        .filter_map(|n| g.indices.get(n).map(|i| (n, i)))
        .flat_map(|(n, i)| i.visible.iter().map(move |(id, d)| (n, id, d)))
        .collect();
    let qtext = query_text(&q);
    let terms = tokens(&qtext);
    let n = docs.len().max(1) as f64;
    let df: HashMap<String, f64> = terms
        .iter()
        .map(|t| {
            let c = docs
                .iter()
                .filter(|(_, _, d)| {
                    tokens(&format!(
                        "{} {}",
                        d["title"].as_str().unwrap_or(""),
                        d["text"].as_str().unwrap_or("")
                    ))
                    .contains(t)
                })
                .count() as f64;
            (t.clone(), (1.0 + (n - c + 0.5) / (c + 0.5)).ln())
        })
        .collect();
    let mut hits: Vec<(f64, &String, &String, &Value)> = docs
        .iter()
        .filter(|(_, _, d)| matches(&q, d))
        .map(|(n, id, d)| {
            (
                text_score(&q, d, &df).max(if terms.is_empty() { 1.0 } else { 0.0 }),
                *n,
                *id,
                *d,
            )
        })
        .collect();
    if let Some((field, dir)) = b["sort"]
        .as_array()
        .and_then(|s| s.first())
        .and_then(|s| s.as_object())
        .and_then(|o| o.iter().next())
    {
        let desc = dir.as_str() == Some("desc") || dir["order"].as_str() == Some("desc");
        hits.sort_by(|a, b| {
            let o = cmp_json(&a.3[field.as_str()], &b.3[field.as_str()])
                .unwrap_or(std::cmp::Ordering::Equal);
            if desc { o.reverse() } else { o }
        });
    } else {
        hits.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(b.2)));
    }
    let size = b["size"].as_u64().unwrap_or(10) as usize;
    let fragment = b["highlight"]["fields"]["text"]["fragment_size"]
        .as_u64()
        .unwrap_or(100) as usize;
    let source_fields: Option<Vec<String>> = b["_source"].as_array().map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    });
    let out: Vec<Value> = hits
        .iter()
        .take(size)
        .map(|(score, index, id, d)| {
            let src = match &source_fields {
                Some(f) => Value::Object(f.iter().filter_map(|k| d.get(k).map(|v| (k.clone(), v.clone()))).collect()),
                None => (*d).clone(),
            };
            let mut h = json!({ "_index": index, "_id": id, "_score": score, "_source": src });
            if b["highlight"].is_object() {
                h["highlight"] = json!({ "text": [highlight(d["text"].as_str().unwrap_or(""), &terms, fragment)] });
            }
            h
        })
        .collect();
    let max = out.first().and_then(|h| h["_score"].as_f64());
    ok(
        json!({ "took": 1, "timed_out": false, "_shards": { "total": 1, "successful": 1, "skipped": 0, "failed": 0 },
        "hits": { "total": { "value": hits.len(), "relation": "eq" }, "max_score": max, "hits": out } }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_filters_follow_the_dsl() {
        let d = json!({ "doc_id": "a", "ordinal": 3, "labels": ["ops", "db"], "public": false, "acl": ["group:sre"], "updated_at": "2024-05-01T00:00:00.000000Z" });
        assert!(matches(&json!({ "term": { "doc_id": "a" } }), &d));
        assert!(matches(&json!({ "terms": { "labels": ["x", "db"] } }), &d));
        assert!(matches(
            &json!({ "range": { "ordinal": { "gte": 3 } } }),
            &d
        ));
        assert!(!matches(
            &json!({ "range": { "ordinal": { "gte": 4 } } }),
            &d
        ));
        assert!(matches(
            &json!({ "range": { "updated_at": { "gte": "2024-01-01T00:00:00.000000Z", "lt": "2025-01-01T00:00:00.000000Z" } } }),
            &d
        ));
        let acl = json!({ "bool": { "should": [{ "term": { "public": true } }, { "terms": { "acl": ["group:hr"] } }], "minimum_should_match": 1 } });
        assert!(!matches(&acl, &d));
        assert!(matches(
            &json!({ "bool": { "should": [{ "bool": { "filter": [{ "term": { "doc_id": "a" } }, { "range": { "ordinal": { "gte": 2 } } }] } }], "minimum_should_match": 1 } }),
            &d
        ));
    }

    #[test]
    fn strict_mapping_refuses_unknown_fields_and_bad_dates() {
        let m = json!({ "dynamic": "strict", "properties": { "a": { "type": "keyword" }, "t": { "type": "date" } } });
        assert!(check_mapping(&m, &json!({ "a": "x", "t": "2024-01-01T00:00:00Z" })).is_ok());
        assert_eq!(
            check_mapping(&m, &json!({ "b": 1 })).unwrap_err().0,
            "strict_dynamic_mapping_exception"
        );
        assert_eq!(
            check_mapping(&m, &json!({ "t": "yesterday" }))
                .unwrap_err()
                .0,
            "document_parsing_exception"
        );
    }

    #[test]
    fn highlights_escape_html() {
        assert_eq!(
            highlight("a <b> pager & more", &["pager".into()], 100),
            "a &lt;b&gt; <mark>pager</mark> &amp; more"
        );
    }
}
