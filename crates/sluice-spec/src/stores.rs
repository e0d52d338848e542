//! Settings of the production stores: Qdrant (vectors) and Elasticsearch or
//! OpenSearch (keywords). Secrets are `${ENV}` references.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secrets::SecretRef;

/// Vectors in a Qdrant collection, written over gRPC.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QdrantSinkSpec {
    /// gRPC endpoint, e.g. `http://localhost:6334`; may use `${ENV}` references.
    pub url: String,
    /// Collection name; `sluice_<pipeline name>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// API key sent as the `api-key` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<SecretRef>,
    /// Vector distance when Sluice creates the collection; an existing
    /// collection must use the same one.
    #[serde(default)]
    pub distance: QdrantDistance,
    /// HNSW index options when Sluice creates the collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hnsw: Option<QdrantHnswSpec>,
    /// Vector quantization when Sluice creates the collection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<QdrantQuantizationSpec>,
    /// Keep the original vectors on disk (memory-mapped) instead of in RAM.
    #[serde(default)]
    pub on_disk: bool,
    /// Points per upsert request.
    #[serde(default = "default_batch_points")]
    pub batch_points: usize,
    /// Per-request timeout.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Attempts per request on transient errors (unavailable, timeouts,
    /// overload) before the batch fails; the checkpoint does not advance.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// How long the vector leg of a search may take before the keyword
    /// leg's results are returned alone, marked partial.
    #[serde(default = "default_search_timeout_ms")]
    pub search_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QdrantDistance {
    #[default]
    Cosine,
    Dot,
    Euclid,
    Manhattan,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QdrantHnswSpec {
    /// Edges per node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<u64>,
    /// Neighbours considered while building.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ef_construct: Option<u64>,
    /// Below this many KB of vectors a segment is searched exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_scan_threshold: Option<u64>,
    /// Keep the HNSW graph on disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_disk: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum QdrantQuantizationSpec {
    /// int8 scalar quantization.
    Scalar {
        /// Quantile for the value range (0.5..=1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quantile: Option<f32>,
        /// Keep quantized vectors in RAM.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        always_ram: Option<bool>,
    },
    /// 1-bit binary quantization.
    Binary {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        always_ram: Option<bool>,
    },
}

impl QdrantSinkSpec {
    pub fn collection(&self, pipeline: &str) -> String {
        self.collection
            .clone()
            .unwrap_or_else(|| format!("sluice_{}", pipeline.replace(['-', '.'], "_")))
    }
}

/// Keyword index in Elasticsearch 8.x or OpenSearch 2.x, written with `_bulk`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchSinkSpec {
    /// HTTP endpoint, e.g. `http://localhost:9200`; may use `${ENV}` references.
    pub url: String,
    /// The alias Sluice writes and searches through; it points at a
    /// versioned index (`<alias>-v1`, …) so a full re-index can swap
    /// atomically. `sluice-<pipeline name>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<ElasticsearchAuth>,
    /// When written chunks become searchable: `false` (at the next refresh
    /// interval; fastest), `wait_for` (the bulk call waits for it) or `true`
    /// (forces a refresh; costly).
    #[serde(default)]
    pub refresh: RefreshPolicy,
    /// Operations per `_bulk` request.
    #[serde(default = "default_bulk_actions")]
    pub bulk_actions: usize,
    /// Per-request timeout.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Attempts per request, and per item rejected with 429/5xx, before the
    /// batch fails; the checkpoint does not advance.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// How long the keyword leg of a search may take before the vector
    /// leg's results are returned alone, marked partial.
    #[serde(default = "default_search_timeout_ms")]
    pub search_timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ElasticsearchAuth {
    /// `Authorization: ApiKey <key>` (the base64 `id:api_key` Elasticsearch returns as `encoded`).
    ApiKey { key: SecretRef },
    /// HTTP basic auth.
    Basic {
        username: String,
        password: SecretRef,
    },
    /// `Authorization: Bearer <token>` (service tokens, OAuth).
    Bearer { token: SecretRef },
}

/// `refresh:` accepts `false`, `true` or `wait_for` (YAML booleans or strings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RefreshPolicy {
    #[default]
    False,
    True,
    WaitFor,
}

impl Serialize for RefreshPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RefreshPolicy::False => s.serialize_bool(false),
            RefreshPolicy::True => s.serialize_bool(true),
            RefreshPolicy::WaitFor => s.serialize_str("wait_for"),
        }
    }
}

impl<'de> Deserialize<'de> for RefreshPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(false) => Ok(RefreshPolicy::False),
            Raw::Bool(true) => Ok(RefreshPolicy::True),
            Raw::Text(t) => match t.as_str() {
                "false" => Ok(RefreshPolicy::False),
                "true" => Ok(RefreshPolicy::True),
                "wait_for" => Ok(RefreshPolicy::WaitFor),
                other => Err(serde::de::Error::custom(format!(
                    "unknown refresh policy `{other}`; use false, true or wait_for"
                ))),
            },
        }
    }
}

impl JsonSchema for RefreshPolicy {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RefreshPolicy".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "When written chunks become searchable: false, true or wait_for.",
            "anyOf": [{ "type": "boolean" }, { "type": "string", "enum": ["false", "true", "wait_for"] }]
        })
    }
}

impl RefreshPolicy {
    pub fn as_param(&self) -> &'static str {
        match self {
            RefreshPolicy::False => "false",
            RefreshPolicy::True => "true",
            RefreshPolicy::WaitFor => "wait_for",
        }
    }
}

impl ElasticsearchSinkSpec {
    pub fn index(&self, pipeline: &str) -> String {
        self.index
            .clone()
            .unwrap_or_else(|| format!("sluice-{}", pipeline.to_ascii_lowercase()))
    }
}

fn default_batch_points() -> usize {
    256
}
fn default_bulk_actions() -> usize {
    500
}
fn default_timeout_secs() -> u64 {
    30
}
fn default_attempts() -> u32 {
    6
}
fn default_search_timeout_ms() -> u64 {
    2000
}
