//! Qdrant's gRPC API over the real Qdrant engine (`qdrant-edge`, one
//! `EdgeShard` per collection). Requests are translated field by field;
//! filters go through Qdrant's REST filter format, which the engine's own
//! types deserialize. Implemented: collection create/get/exists/list/delete,
//! payload index creation, upsert, delete (ids or filter), get, search,
//! scroll, count, health check. Faults can be injected per call kind.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use qdrant_client::qdrant::collections_server::{Collections, CollectionsServer};
use qdrant_client::qdrant::points_server::{Points, PointsServer};
use qdrant_client::qdrant::qdrant_server::{Qdrant, QdrantServer};
use qdrant_client::qdrant::{self as pb};
use qdrant_edge as edge;
use serde_json::{Value as Json, json};
use tonic::{Request, Response, Status};

/// Which calls a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    Upsert,
    Delete,
    Search,
    Get,
    SetPayload,
}

struct Collection {
    shard: Arc<edge::EdgeShard>,
    size: u64,
    distance: pb::Distance,
    indexed: HashMap<String, i32>,
}

#[derive(Default)]
struct Faults {
    /// The next n calls of a kind fail with UNAVAILABLE.
    unavailable: HashMap<Call, u32>,
    /// Calls of a kind wait this long first.
    delay: HashMap<Call, Duration>,
}

struct State {
    dir: PathBuf,
    collections: Mutex<HashMap<String, Arc<Mutex<Collection>>>>,
    faults: Mutex<Faults>,
    api_key: Option<String>,
    calls: Mutex<HashMap<Call, u64>>,
    op_id: AtomicU64,
    served: AtomicU32,
}

/// A running server on 127.0.0.1; stops when dropped.
pub struct QdrantEdgeServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl QdrantEdgeServer {
    /// Starts on a free port with its data in a temporary directory.
    pub async fn start() -> std::io::Result<QdrantEdgeServer> {
        let dir = tempfile::tempdir()?;
        let mut s = Self::start_in(dir.path().to_path_buf(), None).await?;
        s._dir = Some(dir);
        Ok(s)
    }

    /// Starts with data under `dir`; with `api_key`, requests must send it.
    pub async fn start_in(
        dir: PathBuf,
        api_key: Option<String>,
    ) -> std::io::Result<QdrantEdgeServer> {
        std::fs::create_dir_all(&dir)?;
        let state = Arc::new(State {
            dir,
            collections: Mutex::new(HashMap::new()),
            faults: Mutex::new(Faults::default()),
            api_key,
            calls: Mutex::new(HashMap::new()),
            op_id: AtomicU64::new(1),
            served: AtomicU32::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let svc = Service(state.clone());
        let check = state.clone();
        let auth = move |req: Request<()>| -> Result<Request<()>, Status> {
            match &check.api_key {
                None => Ok(req),
                Some(k)
                    if req.metadata().get("api-key").and_then(|v| v.to_str().ok())
                        == Some(k.as_str()) =>
                {
                    Ok(req)
                }
                Some(_) => Err(Status::unauthenticated(
                    "Must provide an API key or an Authorization bearer token",
                )),
            }
        };
        let router = tonic::transport::Server::builder()
            .add_service(CollectionsServer::with_interceptor(
                svc.clone(),
                auth.clone(),
            ))
            .add_service(PointsServer::with_interceptor(svc.clone(), auth))
            .add_service(QdrantServer::new(svc));
        tokio::spawn(async move {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            if let Err(e) = router
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await
            {
                tracing::error!(error = %e, "qdrant test server stopped");
            }
        });
        Ok(QdrantEdgeServer {
            addr,
            state,
            stop: Some(stop),
            _dir: None,
        })
    }

    /// `http://127.0.0.1:PORT`, for `qdrant-client`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` calls of `call` fail with UNAVAILABLE (a restarting server).
    pub fn fail_next(&self, call: Call, n: u32) {
        self.state.faults.lock().unavailable.insert(call, n);
    }

    /// Every `call` waits `d` before answering (a slow or overloaded server).
    pub fn delay(&self, call: Call, d: Duration) {
        self.state.faults.lock().delay.insert(call, d);
    }

    /// Calls of this kind answered so far (including injected failures).
    pub fn calls(&self, call: Call) -> u64 {
        self.state.calls.lock().get(&call).copied().unwrap_or(0)
    }

    /// Payload indexes of a collection: field → Qdrant `PayloadSchemaType` number.
    pub fn payload_indexes(&self, collection: &str) -> HashMap<String, i32> {
        self.state
            .collections
            .lock()
            .get(collection)
            .map(|c| c.lock().indexed.clone())
            .unwrap_or_default()
    }
}

impl Drop for QdrantEdgeServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        // The shards flush their segments when dropped: drop them now,
        // while their temporary directory (dropped after this) still exists,
        // not later with the server task.
        self.state.collections.lock().clear();
    }
}

#[derive(Clone)]
struct Service(Arc<State>);

fn internal(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

fn unimplemented(call: &str) -> Status {
    Status::unimplemented(format!(
        "{call} is not implemented by the sluice test server"
    ))
}

fn bad(e: impl std::fmt::Display) -> Status {
    Status::invalid_argument(e.to_string())
}

impl Service {
    async fn enter(&self, call: Call) -> Result<Instant, Status> {
        *self.0.calls.lock().entry(call).or_default() += 1;
        let (fail, delay) = {
            let mut f = self.0.faults.lock();
            let fail = match f.unavailable.get_mut(&call) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            };
            (fail, f.delay.get(&call).copied())
        };
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        if fail {
            return Err(Status::unavailable("injected fault: service unavailable"));
        }
        self.0.served.fetch_add(1, Ordering::Relaxed);
        Ok(Instant::now())
    }

    fn collection(&self, name: &str) -> Result<Arc<Mutex<Collection>>, Status> {
        self.0.collections.lock().get(name).cloned().ok_or_else(|| {
            Status::not_found(format!("Not found: Collection `{name}` doesn't exist!"))
        })
    }

    fn update(&self, name: &str, op: edge::UpdateOperation) -> Result<pb::UpdateResult, Status> {
        let c = self.collection(name)?;
        let shard = c.lock().shard.clone();
        shard
            .update(op)
            .map_err(|e| bad(format!("Wrong input: {e}")))?;
        Ok(pb::UpdateResult {
            operation_id: Some(self.0.op_id.fetch_add(1, Ordering::Relaxed)),
            status: pb::UpdateStatus::Completed as i32,
        })
    }
}

fn took(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

// ---- conversions -------------------------------------------------------

fn point_id(id: &pb::PointId) -> Result<edge::PointId, Status> {
    match &id.point_id_options {
        Some(pb::point_id::PointIdOptions::Num(n)) => Ok(edge::PointId::NumId(*n)),
        Some(pb::point_id::PointIdOptions::Uuid(u)) => edge::external::uuid::Uuid::parse_str(u)
            .map(edge::PointId::Uuid)
            .map_err(|e| bad(format!("Unable to parse UUID: {u}: {e}"))),
        None => Err(bad("point id is empty")),
    }
}

fn to_pb_id(id: &edge::PointId) -> pb::PointId {
    match id {
        edge::PointId::NumId(n) => pb::PointId::from(*n),
        edge::PointId::Uuid(u) => pb::PointId::from(u.to_string()),
    }
}

fn payload_json(p: &HashMap<String, pb::Value>) -> Result<serde_json::Map<String, Json>, Status> {
    match serde_json::to_value(p).map_err(internal)? {
        Json::Object(m) => Ok(m),
        _ => Err(bad("payload must be an object")),
    }
}

fn from_json_payload(p: Option<&edge::Payload>) -> HashMap<String, pb::Value> {
    p.map(|p| {
        p.0.iter()
            .map(|(k, v)| (k.clone(), pb::Value::from(v.clone())))
            .collect()
    })
    .unwrap_or_default()
}

#[allow(deprecated)]
fn dense(v: &pb::Vector) -> Option<Vec<f32>> {
    match &v.vector {
        Some(pb::vector::Vector::Dense(d)) => Some(d.data.clone()),
        Some(_) => None,
        None => Some(v.data.clone()),
    }
}

#[allow(deprecated)]
fn vectors_output(v: Option<&edge::VectorStructInternal>) -> Option<pb::VectorsOutput> {
    match v? {
        edge::VectorStructInternal::Single(d) => Some(pb::VectorsOutput {
            vectors_options: Some(pb::vectors_output::VectorsOptions::Vector(
                pb::VectorOutput {
                    vector: Some(pb::vector_output::Vector::Dense(pb::DenseVector {
                        data: d.clone(),
                    })),
                    ..Default::default()
                },
            )),
        }),
        _ => None,
    }
}

fn rfc3339(t: &prost_types_ts::Timestamp) -> String {
    chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

mod prost_types_ts {
    pub use qdrant_client::qdrant::Timestamp;
}

fn range_json(lt: Option<Json>, gt: Option<Json>, gte: Option<Json>, lte: Option<Json>) -> Json {
    let mut m = serde_json::Map::new();
    for (k, v) in [("lt", lt), ("gt", gt), ("gte", gte), ("lte", lte)] {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    }
    Json::Object(m)
}

/// A gRPC filter in Qdrant's REST filter format.
fn filter_json(f: &pb::Filter) -> Result<Json, Status> {
    let list = |cs: &[pb::Condition]| cs.iter().map(condition_json).collect::<Result<Vec<_>, _>>();
    let mut m = serde_json::Map::new();
    if !f.must.is_empty() {
        m.insert("must".into(), Json::Array(list(&f.must)?));
    }
    if !f.should.is_empty() {
        m.insert("should".into(), Json::Array(list(&f.should)?));
    }
    if !f.must_not.is_empty() {
        m.insert("must_not".into(), Json::Array(list(&f.must_not)?));
    }
    if let Some(ms) = &f.min_should {
        m.insert(
            "min_should".into(),
            json!({ "conditions": list(&ms.conditions)?, "min_count": ms.min_count }),
        );
    }
    Ok(Json::Object(m))
}

fn condition_json(c: &pb::Condition) -> Result<Json, Status> {
    use pb::condition::ConditionOneOf as C;
    use pb::r#match::MatchValue as M;
    match c
        .condition_one_of
        .as_ref()
        .ok_or_else(|| bad("empty condition"))?
    {
        C::Filter(f) => filter_json(f),
        C::IsEmpty(e) => Ok(json!({ "is_empty": { "key": e.key } })),
        C::IsNull(e) => Ok(json!({ "is_null": { "key": e.key } })),
        C::HasId(h) => Ok(
            json!({ "has_id": h.has_id.iter().map(|i| point_id(i).map(|p| serde_json::to_value(p).unwrap_or(Json::Null))).collect::<Result<Vec<_>, _>>()? }),
        ),
        C::Field(fc) => {
            let key = fc.key.clone();
            if let Some(m) = fc.r#match.as_ref().and_then(|m| m.match_value.as_ref()) {
                let m = match m {
                    M::Keyword(s) => json!({ "value": s }),
                    M::Integer(i) => json!({ "value": i }),
                    M::Boolean(b) => json!({ "value": b }),
                    M::Text(t) => json!({ "text": t }),
                    M::Phrase(t) => json!({ "phrase": t }),
                    M::TextAny(t) => json!({ "text_any": t }),
                    M::Keywords(k) => json!({ "any": k.strings }),
                    M::Integers(k) => json!({ "any": k.integers }),
                    M::ExceptKeywords(k) => json!({ "except": k.strings }),
                    M::ExceptIntegers(k) => json!({ "except": k.integers }),
                    M::Prefix(_) | M::Substring(_) => {
                        return Err(Status::unimplemented(
                            "prefix/substring match is not supported by this test server",
                        ));
                    }
                };
                return Ok(json!({ "key": key, "match": m }));
            }
            if let Some(r) = &fc.range {
                let n = |x: Option<f64>| x.map(|v| json!(v));
                return Ok(
                    json!({ "key": key, "range": range_json(n(r.lt), n(r.gt), n(r.gte), n(r.lte)) }),
                );
            }
            if let Some(r) = &fc.datetime_range {
                let t =
                    |x: &Option<prost_types_ts::Timestamp>| x.as_ref().map(|v| json!(rfc3339(v)));
                return Ok(
                    json!({ "key": key, "range": range_json(t(&r.lt), t(&r.gt), t(&r.gte), t(&r.lte)) }),
                );
            }
            if fc.is_empty == Some(true) {
                return Ok(json!({ "is_empty": { "key": key } }));
            }
            if fc.is_null == Some(true) {
                return Ok(json!({ "is_null": { "key": key } }));
            }
            Err(Status::unimplemented(format!(
                "field condition on `{key}` is not supported by this test server"
            )))
        }
        other => Err(Status::unimplemented(format!(
            "condition {other:?} is not supported by this test server"
        ))),
    }
}

fn edge_filter(f: Option<&pb::Filter>) -> Result<Option<edge::Filter>, Status> {
    match f {
        None => Ok(None),
        Some(f) => serde_json::from_value(filter_json(f)?)
            .map(Some)
            .map_err(|e| bad(format!("Format error in filter: {e}"))),
    }
}

fn wants_payload(s: Option<&pb::WithPayloadSelector>, default: bool) -> bool {
    match s.and_then(|s| s.selector_options.as_ref()) {
        Some(pb::with_payload_selector::SelectorOptions::Enable(b)) => *b,
        Some(_) => true,
        None => default,
    }
}

fn wants_vectors(s: Option<&pb::WithVectorsSelector>) -> bool {
    matches!(
        s.and_then(|s| s.selector_options.as_ref()),
        Some(pb::with_vectors_selector::SelectorOptions::Enable(true))
            | Some(pb::with_vectors_selector::SelectorOptions::Include(_))
    )
}

fn edge_distance(d: pb::Distance) -> Result<edge::Distance, Status> {
    match d {
        pb::Distance::Cosine => Ok(edge::Distance::Cosine),
        pb::Distance::Euclid => Ok(edge::Distance::Euclid),
        pb::Distance::Dot => Ok(edge::Distance::Dot),
        pb::Distance::Manhattan => Ok(edge::Distance::Manhattan),
        pb::Distance::UnknownDistance => Err(bad("unknown distance")),
    }
}

fn schema_type(t: i32) -> Result<edge::PayloadSchemaType, Status> {
    Ok(match pb::FieldType::try_from(t).map_err(bad)? {
        pb::FieldType::Keyword => edge::PayloadSchemaType::Keyword,
        pb::FieldType::Integer => edge::PayloadSchemaType::Integer,
        pb::FieldType::Float => edge::PayloadSchemaType::Float,
        pb::FieldType::Geo => edge::PayloadSchemaType::Geo,
        pb::FieldType::Text => edge::PayloadSchemaType::Text,
        pb::FieldType::Bool => edge::PayloadSchemaType::Bool,
        pb::FieldType::Datetime => edge::PayloadSchemaType::Datetime,
        pb::FieldType::Uuid => edge::PayloadSchemaType::Uuid,
    })
}

// ---- services ----------------------------------------------------------

#[tonic::async_trait]
impl Qdrant for Service {
    async fn health_check(
        &self,
        _: Request<pb::HealthCheckRequest>,
    ) -> Result<Response<pb::HealthCheckReply>, Status> {
        Ok(Response::new(pb::HealthCheckReply {
            title: "qdrant - vector search engine (sluice test server over qdrant-edge 0.7.2)"
                .into(),
            version: "1.16.0".into(),
            commit: None,
        }))
    }
}

#[tonic::async_trait]
impl Collections for Service {
    async fn get(
        &self,
        req: Request<pb::GetCollectionInfoRequest>,
    ) -> Result<Response<pb::GetCollectionInfoResponse>, Status> {
        let t = Instant::now();
        let c = self.collection(&req.get_ref().collection_name)?;
        let c = c.lock();
        let info = c.shard.info();
        let payload_schema = c
            .indexed
            .iter()
            .map(|(k, t)| {
                (
                    k.clone(),
                    pb::PayloadSchemaInfo {
                        data_type: *t,
                        params: None,
                        points: None,
                    },
                )
            })
            .collect();
        Ok(Response::new(pb::GetCollectionInfoResponse {
            result: Some(pb::CollectionInfo {
                status: pb::CollectionStatus::Green as i32,
                segments_count: info.segments_count as u64,
                points_count: Some(info.points_count as u64),
                indexed_vectors_count: Some(info.indexed_vectors_count as u64),
                payload_schema,
                config: Some(pb::CollectionConfig {
                    params: Some(pb::CollectionParams {
                        shard_number: 1,
                        vectors_config: Some(pb::VectorsConfig {
                            config: Some(pb::vectors_config::Config::Params(pb::VectorParams {
                                size: c.size,
                                distance: c.distance as i32,
                                ..Default::default()
                            })),
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            time: took(t),
        }))
    }

    async fn list(
        &self,
        _: Request<pb::ListCollectionsRequest>,
    ) -> Result<Response<pb::ListCollectionsResponse>, Status> {
        let names: Vec<String> = self.0.collections.lock().keys().cloned().collect();
        Ok(Response::new(pb::ListCollectionsResponse {
            collections: names
                .into_iter()
                .map(|name| pb::CollectionDescription { name })
                .collect(),
            time: 0.0,
        }))
    }

    async fn create(
        &self,
        req: Request<pb::CreateCollection>,
    ) -> Result<Response<pb::CollectionOperationResponse>, Status> {
        let t = Instant::now();
        let r = req.into_inner();
        let Some(pb::vectors_config::Config::Params(params)) =
            r.vectors_config.and_then(|v| v.config)
        else {
            return Err(bad(
                "this test server supports one unnamed dense vector per point",
            ));
        };
        let distance = pb::Distance::try_from(params.distance).map_err(bad)?;
        let mut collections = self.0.collections.lock();
        if collections.contains_key(&r.collection_name) {
            return Err(bad(format!(
                "Wrong input: Collection `{}` already exists!",
                r.collection_name
            )));
        }
        let dir = self.0.dir.join(&r.collection_name);
        std::fs::create_dir_all(&dir).map_err(internal)?;
        #[allow(deprecated)]
        let on_disk = params.on_disk.unwrap_or(false);
        let vector =
            edge::EdgeVectorParamsBuilder::new(params.size as usize, edge_distance(distance)?)
                .on_disk(on_disk)
                .build();
        let config = edge::EdgeConfigBuilder::new()
            .vector(edge::DEFAULT_VECTOR_NAME, vector)
            .build();
        let shard = edge::EdgeShard::new(&dir, config).map_err(internal)?;
        collections.insert(
            r.collection_name,
            Arc::new(Mutex::new(Collection {
                shard: Arc::new(shard),
                size: params.size,
                distance,
                indexed: HashMap::new(),
            })),
        );
        Ok(Response::new(pb::CollectionOperationResponse {
            result: true,
            time: took(t),
        }))
    }

    async fn delete(
        &self,
        req: Request<pb::DeleteCollection>,
    ) -> Result<Response<pb::CollectionOperationResponse>, Status> {
        let removed = self
            .0
            .collections
            .lock()
            .remove(&req.get_ref().collection_name);
        Ok(Response::new(pb::CollectionOperationResponse {
            result: removed.is_some(),
            time: 0.0,
        }))
    }

    async fn collection_exists(
        &self,
        req: Request<pb::CollectionExistsRequest>,
    ) -> Result<Response<pb::CollectionExistsResponse>, Status> {
        let exists = self
            .0
            .collections
            .lock()
            .contains_key(&req.get_ref().collection_name);
        Ok(Response::new(pb::CollectionExistsResponse {
            result: Some(pb::CollectionExists { exists }),
            time: 0.0,
        }))
    }

    async fn update(
        &self,
        _: Request<pb::UpdateCollection>,
    ) -> Result<Response<pb::CollectionOperationResponse>, Status> {
        Err(unimplemented("update"))
    }

    async fn update_aliases(
        &self,
        _: Request<pb::ChangeAliases>,
    ) -> Result<Response<pb::CollectionOperationResponse>, Status> {
        Err(unimplemented("update_aliases"))
    }

    async fn list_collection_aliases(
        &self,
        _: Request<pb::ListCollectionAliasesRequest>,
    ) -> Result<Response<pb::ListAliasesResponse>, Status> {
        Err(unimplemented("list_collection_aliases"))
    }

    async fn list_aliases(
        &self,
        _: Request<pb::ListAliasesRequest>,
    ) -> Result<Response<pb::ListAliasesResponse>, Status> {
        Err(unimplemented("list_aliases"))
    }

    async fn collection_cluster_info(
        &self,
        _: Request<pb::CollectionClusterInfoRequest>,
    ) -> Result<Response<pb::CollectionClusterInfoResponse>, Status> {
        Err(unimplemented("collection_cluster_info"))
    }

    async fn update_collection_cluster_setup(
        &self,
        _: Request<pb::UpdateCollectionClusterSetupRequest>,
    ) -> Result<Response<pb::UpdateCollectionClusterSetupResponse>, Status> {
        Err(unimplemented("update_collection_cluster_setup"))
    }

    async fn create_shard_key(
        &self,
        _: Request<pb::CreateShardKeyRequest>,
    ) -> Result<Response<pb::CreateShardKeyResponse>, Status> {
        Err(unimplemented("create_shard_key"))
    }

    async fn delete_shard_key(
        &self,
        _: Request<pb::DeleteShardKeyRequest>,
    ) -> Result<Response<pb::DeleteShardKeyResponse>, Status> {
        Err(unimplemented("delete_shard_key"))
    }

    async fn list_shard_keys(
        &self,
        _: Request<pb::ListShardKeysRequest>,
    ) -> Result<Response<pb::ListShardKeysResponse>, Status> {
        Err(unimplemented("list_shard_keys"))
    }
}

#[tonic::async_trait]
impl Points for Service {
    async fn upsert(
        &self,
        req: Request<pb::UpsertPoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let t = self.enter(Call::Upsert).await?;
        let r = req.into_inner();
        let size = self.collection(&r.collection_name)?.lock().size as usize;
        let mut points = Vec::with_capacity(r.points.len());
        for p in &r.points {
            let id = point_id(p.id.as_ref().ok_or_else(|| bad("point without id"))?)?;
            let vector = match p.vectors.as_ref().and_then(|v| v.vectors_options.as_ref()) {
                Some(pb::vectors::VectorsOptions::Vector(v)) => {
                    dense(v).ok_or_else(|| bad("only dense vectors are supported"))?
                }
                _ => return Err(bad("only one unnamed dense vector per point is supported")),
            };
            if vector.len() != size {
                return Err(bad(format!(
                    "Wrong input: Vector dimension error: expected dim: {size}, got {}",
                    vector.len()
                )));
            }
            points.push(edge::PointStructPersisted {
                id,
                vector: edge::VectorStructPersisted::Single(vector),
                payload: Some(edge::Payload(payload_json(&p.payload)?)),
            });
        }
        let op = edge::UpdateOperation::PointOperation(edge::PointOperations::UpsertPoints(
            edge::PointInsertOperations::PointsList(points),
        ));
        let result = self.update(&r.collection_name, op)?;
        Ok(Response::new(pb::PointsOperationResponse {
            result: Some(result),
            time: took(t),
            usage: None,
        }))
    }

    async fn delete(
        &self,
        req: Request<pb::DeletePoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let t = self.enter(Call::Delete).await?;
        let r = req.into_inner();
        let op = match r.points.and_then(|p| p.points_selector_one_of) {
            Some(pb::points_selector::PointsSelectorOneOf::Points(ids)) => {
                edge::PointOperations::DeletePoints {
                    ids: ids.ids.iter().map(point_id).collect::<Result<_, _>>()?,
                }
            }
            Some(pb::points_selector::PointsSelectorOneOf::Filter(f)) => {
                edge::PointOperations::DeletePointsByFilter(
                    edge_filter(Some(&f))?.unwrap_or_default(),
                )
            }
            None => return Err(bad("delete needs points or a filter")),
        };
        let result = self.update(
            &r.collection_name,
            edge::UpdateOperation::PointOperation(op),
        )?;
        Ok(Response::new(pb::PointsOperationResponse {
            result: Some(result),
            time: took(t),
            usage: None,
        }))
    }

    async fn get(&self, req: Request<pb::GetPoints>) -> Result<Response<pb::GetResponse>, Status> {
        let t = self.enter(Call::Get).await?;
        let r = req.into_inner();
        let shard = self.collection(&r.collection_name)?.lock().shard.clone();
        let ids = r.ids.iter().map(point_id).collect::<Result<Vec<_>, _>>()?;
        let records = shard
            .retrieve(
                &ids,
                Some(edge::WithPayloadInterface::Bool(wants_payload(
                    r.with_payload.as_ref(),
                    true,
                ))),
                Some(edge::WithVector::Bool(wants_vectors(
                    r.with_vectors.as_ref(),
                ))),
            )
            .map_err(internal)?;
        let result = records
            .iter()
            .map(|p| pb::RetrievedPoint {
                id: Some(to_pb_id(&p.id)),
                payload: from_json_payload(p.payload.as_ref()),
                vectors: vectors_output(p.vector.as_ref()),
                shard_key: None,
                order_value: None,
            })
            .collect();
        Ok(Response::new(pb::GetResponse {
            result,
            time: took(t),
            usage: None,
        }))
    }

    async fn search(
        &self,
        req: Request<pb::SearchPoints>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let t = self.enter(Call::Search).await?;
        let r = req.into_inner();
        let shard = self.collection(&r.collection_name)?.lock().shard.clone();
        let request = edge::SearchRequest {
            query: edge::QueryEnum::Nearest(edge::NamedQuery::default_dense(r.vector.clone())),
            filter: edge_filter(r.filter.as_ref())?,
            params: None,
            limit: r.limit as usize,
            offset: r.offset.unwrap_or(0) as usize,
            with_payload: Some(edge::WithPayloadInterface::Bool(wants_payload(
                r.with_payload.as_ref(),
                false,
            ))),
            with_vector: Some(edge::WithVector::Bool(wants_vectors(
                r.with_vectors.as_ref(),
            ))),
            score_threshold: r.score_threshold,
        };
        let points = shard
            .search(request)
            .map_err(|e| bad(format!("Wrong input: {e}")))?;
        let result = points
            .iter()
            .map(|p| pb::ScoredPoint {
                id: Some(to_pb_id(&p.id)),
                payload: from_json_payload(p.payload.as_ref()),
                score: p.score,
                version: p.version,
                vectors: vectors_output(p.vector.as_ref()),
                ..Default::default()
            })
            .collect();
        Ok(Response::new(pb::SearchResponse {
            result,
            time: took(t),
            usage: None,
        }))
    }

    async fn scroll(
        &self,
        req: Request<pb::ScrollPoints>,
    ) -> Result<Response<pb::ScrollResponse>, Status> {
        let t = Instant::now();
        let r = req.into_inner();
        let shard = self.collection(&r.collection_name)?.lock().shard.clone();
        let request = edge::ScrollRequest {
            offset: r.offset.as_ref().map(point_id).transpose()?,
            limit: Some(r.limit.unwrap_or(10) as usize),
            filter: edge_filter(r.filter.as_ref())?,
            with_payload: Some(edge::WithPayloadInterface::Bool(wants_payload(
                r.with_payload.as_ref(),
                true,
            ))),
            with_vector: edge::WithVector::Bool(wants_vectors(r.with_vectors.as_ref())),
            order_by: None,
        };
        let (records, next) = shard
            .scroll(request)
            .map_err(|e| bad(format!("Wrong input: {e}")))?;
        let result = records
            .iter()
            .map(|p| pb::RetrievedPoint {
                id: Some(to_pb_id(&p.id)),
                payload: from_json_payload(p.payload.as_ref()),
                vectors: vectors_output(p.vector.as_ref()),
                shard_key: None,
                order_value: None,
            })
            .collect();
        Ok(Response::new(pb::ScrollResponse {
            next_page_offset: next.as_ref().map(to_pb_id),
            result,
            time: took(t),
            usage: None,
        }))
    }

    async fn count(
        &self,
        req: Request<pb::CountPoints>,
    ) -> Result<Response<pb::CountResponse>, Status> {
        let t = Instant::now();
        let r = req.into_inner();
        let shard = self.collection(&r.collection_name)?.lock().shard.clone();
        let count = shard
            .count(edge::CountRequest {
                filter: edge_filter(r.filter.as_ref())?,
                exact: true,
            })
            .map_err(internal)?;
        Ok(Response::new(pb::CountResponse {
            result: Some(pb::CountResult {
                count: count as u64,
            }),
            time: took(t),
            usage: None,
        }))
    }

    async fn create_field_index(
        &self,
        req: Request<pb::CreateFieldIndexCollection>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let t = Instant::now();
        let r = req.into_inner();
        let kind = r.field_type.ok_or_else(|| bad("field_type is required"))?;
        let op = edge::UpdateOperation::FieldIndexOperation(
            edge::FieldIndexOperations::CreateIndex(edge::CreateIndex {
                field_name: edge::JsonPath::try_from(r.field_name.as_str())
                    .map_err(|_| bad(format!("bad field name `{}`", r.field_name)))?,
                field_schema: Some(edge::PayloadFieldSchema::FieldType(schema_type(kind)?)),
            }),
        );
        let result = self.update(&r.collection_name, op)?;
        self.collection(&r.collection_name)?
            .lock()
            .indexed
            .insert(r.field_name, kind);
        Ok(Response::new(pb::PointsOperationResponse {
            result: Some(result),
            time: took(t),
            usage: None,
        }))
    }

    async fn update_vectors(
        &self,
        _: Request<pb::UpdatePointVectors>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        Err(unimplemented("update_vectors"))
    }

    async fn delete_vectors(
        &self,
        _: Request<pb::DeletePointVectors>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        Err(unimplemented("delete_vectors"))
    }

    /// Sets the given keys on the selected points (ids or a filter),
    /// keeping every other key and the vectors.
    async fn set_payload(
        &self,
        req: Request<pb::SetPayloadPoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        let t = self.enter(Call::SetPayload).await?;
        let r = req.into_inner();
        if r.key.is_some() {
            return Err(bad("nested payload keys are not supported here"));
        }
        let payload = edge::Payload(payload_json(&r.payload)?);
        let (points, filter) = match r.points_selector.and_then(|p| p.points_selector_one_of) {
            Some(pb::points_selector::PointsSelectorOneOf::Points(ids)) => (
                Some(
                    ids.ids
                        .iter()
                        .map(point_id)
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                None,
            ),
            Some(pb::points_selector::PointsSelectorOneOf::Filter(f)) => {
                (None, edge_filter(Some(&f))?)
            }
            None => return Err(bad("set_payload needs points or a filter")),
        };
        let op = edge::PayloadOps::SetPayload(edge::SetPayloadOp {
            payload,
            points,
            filter,
            key: None,
        });
        let result = self.update(
            &r.collection_name,
            edge::UpdateOperation::PayloadOperation(op),
        )?;
        Ok(Response::new(pb::PointsOperationResponse {
            result: Some(result),
            time: took(t),
            usage: None,
        }))
    }

    async fn overwrite_payload(
        &self,
        _: Request<pb::SetPayloadPoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        Err(unimplemented("overwrite_payload"))
    }

    async fn delete_payload(
        &self,
        _: Request<pb::DeletePayloadPoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        Err(unimplemented("delete_payload"))
    }

    async fn clear_payload(
        &self,
        _: Request<pb::ClearPayloadPoints>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        Err(unimplemented("clear_payload"))
    }

    async fn delete_field_index(
        &self,
        _: Request<pb::DeleteFieldIndexCollection>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        Err(unimplemented("delete_field_index"))
    }

    async fn create_vector_name(
        &self,
        _: Request<pb::CreateVectorNameRequest>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        Err(unimplemented("create_vector_name"))
    }

    async fn delete_vector_name(
        &self,
        _: Request<pb::DeleteVectorNameRequest>,
    ) -> Result<Response<pb::PointsOperationResponse>, Status> {
        Err(unimplemented("delete_vector_name"))
    }

    async fn search_batch(
        &self,
        _: Request<pb::SearchBatchPoints>,
    ) -> Result<Response<pb::SearchBatchResponse>, Status> {
        Err(unimplemented("search_batch"))
    }

    async fn search_groups(
        &self,
        _: Request<pb::SearchPointGroups>,
    ) -> Result<Response<pb::SearchGroupsResponse>, Status> {
        Err(unimplemented("search_groups"))
    }

    async fn recommend(
        &self,
        _: Request<pb::RecommendPoints>,
    ) -> Result<Response<pb::RecommendResponse>, Status> {
        Err(unimplemented("recommend"))
    }

    async fn recommend_batch(
        &self,
        _: Request<pb::RecommendBatchPoints>,
    ) -> Result<Response<pb::RecommendBatchResponse>, Status> {
        Err(unimplemented("recommend_batch"))
    }

    async fn recommend_groups(
        &self,
        _: Request<pb::RecommendPointGroups>,
    ) -> Result<Response<pb::RecommendGroupsResponse>, Status> {
        Err(unimplemented("recommend_groups"))
    }

    async fn discover(
        &self,
        _: Request<pb::DiscoverPoints>,
    ) -> Result<Response<pb::DiscoverResponse>, Status> {
        Err(unimplemented("discover"))
    }

    async fn discover_batch(
        &self,
        _: Request<pb::DiscoverBatchPoints>,
    ) -> Result<Response<pb::DiscoverBatchResponse>, Status> {
        Err(unimplemented("discover_batch"))
    }

    async fn update_batch(
        &self,
        _: Request<pb::UpdateBatchPoints>,
    ) -> Result<Response<pb::UpdateBatchResponse>, Status> {
        Err(unimplemented("update_batch"))
    }

    async fn query(
        &self,
        _: Request<pb::QueryPoints>,
    ) -> Result<Response<pb::QueryResponse>, Status> {
        Err(unimplemented("query"))
    }

    async fn query_batch(
        &self,
        _: Request<pb::QueryBatchPoints>,
    ) -> Result<Response<pb::QueryBatchResponse>, Status> {
        Err(unimplemented("query_batch"))
    }

    async fn query_groups(
        &self,
        _: Request<pb::QueryPointGroups>,
    ) -> Result<Response<pb::QueryGroupsResponse>, Status> {
        Err(unimplemented("query_groups"))
    }

    async fn facet(
        &self,
        _: Request<pb::FacetCounts>,
    ) -> Result<Response<pb::FacetResponse>, Status> {
        Err(unimplemented("facet"))
    }

    async fn search_matrix_pairs(
        &self,
        _: Request<pb::SearchMatrixPoints>,
    ) -> Result<Response<pb::SearchMatrixPairsResponse>, Status> {
        Err(unimplemented("search_matrix_pairs"))
    }

    async fn search_matrix_offsets(
        &self,
        _: Request<pb::SearchMatrixPoints>,
    ) -> Result<Response<pb::SearchMatrixOffsetsResponse>, Status> {
        Err(unimplemented("search_matrix_offsets"))
    }
}
