use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secrets::SecretRef;

/// A pipeline: where records come from, how they are shaped, chunked and
/// embedded, and where they are written.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Unique pipeline name; keys its checkpoints and state.
    pub name: String,
    /// When the daemon runs this pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
    pub sources: Vec<SourceSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<TransformSpec>,
    #[serde(default)]
    pub chunking: ChunkingSpec,
    #[serde(default)]
    pub embedding: EmbeddingSpec,
    #[serde(default = "default_sinks")]
    pub sinks: Vec<SinkSpec>,
    #[serde(default)]
    pub transport: TransportSpec,
    /// When deleting what a complete listing no longer shows may go ahead.
    #[serde(default)]
    pub prune: PruneSpec,
}

/// The mass-deletion guard. A prune (after a full sync or a prune pass)
/// that would remove more than `max_delete_percent` of a source's indexed
/// documents — or anything at all after a listing that came back empty —
/// stops with an error naming the source and the counts, and deletes
/// nothing, unless `allow_mass_delete` (or `sluice run --allow-mass-delete`)
/// says it is expected. An API that answers an empty or truncated listing
/// must never empty the index.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PruneSpec {
    #[serde(default = "default_max_delete_percent")]
    pub max_delete_percent: f64,
    /// The guard applies once more than this many documents would go, so
    /// a small source can lose a few records without tripping it (an
    /// empty listing trips it at any size).
    #[serde(default = "default_guard_floor")]
    pub min_guarded_deletes: usize,
    #[serde(default)]
    pub allow_mass_delete: bool,
}

impl Default for PruneSpec {
    fn default() -> Self {
        PruneSpec {
            max_delete_percent: default_max_delete_percent(),
            min_guarded_deletes: default_guard_floor(),
            allow_mass_delete: false,
        }
    }
}

fn default_max_delete_percent() -> f64 {
    20.0
}

fn default_guard_floor() -> usize {
    5
}

fn default_sinks() -> Vec<SinkSpec> {
    vec![SinkSpec::Embedded(EmbeddedSinkSpec::default())]
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Cron expression: 5 fields (minute precision) or 6-7 fields (with seconds).
    pub cron: String,
    /// IANA time zone name for the cron expression; UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Cron expression for full re-syncs (which also prune deleted records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_sync_cron: Option<String>,
    /// Cron expression for prune passes: list ids only and delete what is
    /// gone at the source (cheaper than a full re-sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_cron: Option<String>,
    /// Cron expression for permission sync passes: list each record's
    /// access only and update it in place in every store (no content, no
    /// embedding), so a revoked permission takes effect within this cadence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_cron: Option<String>,
    /// Each run starts up to this many seconds late (a stable offset per
    /// source), so many sources on one schedule do not hit APIs at once.
    #[serde(default)]
    pub jitter_secs: u64,
    /// A run still going after this long is abandoned; its checkpoint stays
    /// at the last acknowledged page and the next run resumes there.
    #[serde(default = "default_run_timeout")]
    pub run_timeout_secs: u64,
}

fn default_run_timeout() -> u64 {
    6 * 3600
}

/// One source. `type` picks the connector; `settings` are its options
/// (checked by the connector); `credentials` are `${ENV}` references.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Stable id of this source; part of every document id, so renaming it
    /// re-indexes everything.
    pub id: String,
    #[serde(rename = "type")]
    pub source_type: String,
    #[serde(default)]
    pub settings: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials: BTreeMap<String, SecretRef>,
    /// Who may read this source's documents. `restricted` (the default):
    /// the permissions the connector reads from the system, and a record
    /// whose permissions it cannot tell is not indexed. `public`: every
    /// record is readable by every caller, whatever the system says — the
    /// only way to publish a source to everyone; `validate` shows it.
    #[serde(default, skip_serializing_if = "Visibility::is_restricted")]
    pub visibility: Visibility,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Restricted,
    Public,
}

impl Visibility {
    pub fn is_restricted(&self) -> bool {
        *self == Visibility::Restricted
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformSpec {
    /// DataFusion SQL over the table `records`; must keep `source` and
    /// `external_id`. Rows it filters out are not indexed (and are removed
    /// if they were indexed before).
    pub sql: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChunkingSpec {
    /// Upper bound of model tokens per chunk (title context included).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Tokens repeated from the end of one chunk at the start of the next.
    #[serde(default = "default_overlap")]
    pub overlap_tokens: u32,
    /// Start a new chunk at each heading, and prefix chunks with it.
    #[serde(default = "default_true")]
    pub respect_headings: bool,
    /// Documents with a longer body are truncated to this many characters,
    /// with a warning, so one huge record cannot stall a sync.
    #[serde(default = "default_max_doc_chars")]
    pub max_document_chars: usize,
    /// Chunks kept per document; text past them is left out, with a
    /// warning and a dead-letter note, so one document (100,000 headings)
    /// cannot hold a sync's memory.
    #[serde(default = "default_max_chunks")]
    pub max_chunks_per_document: usize,
}

fn default_max_tokens() -> u32 {
    200
}
fn default_overlap() -> u32 {
    32
}
fn default_true() -> bool {
    true
}
fn default_max_doc_chars() -> usize {
    2_000_000
}
fn default_max_chunks() -> usize {
    4_096
}

impl Default for ChunkingSpec {
    fn default() -> Self {
        ChunkingSpec {
            max_tokens: default_max_tokens(),
            overlap_tokens: default_overlap(),
            respect_headings: true,
            max_document_chars: default_max_doc_chars(),
            max_chunks_per_document: default_max_chunks(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// CUDA when the binary was built with it and a GPU answers, else CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

/// Which weights of the model run. Both give the same vector space to within
/// the quality check (`benches/`, `tests/quantised_model.rs`); a change of
/// precision re-embeds every document on the next run, since stored vectors
/// and query vectors must come from the same weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// `model-int8.onnx`: fused graph, dynamic int8 quantisation (CPU).
    #[default]
    Int8,
    /// `model.onnx`: the exported fp32 graph (use with CUDA).
    Fp32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSpec {
    /// Model name; resolved under the model directory.
    #[serde(default = "default_model")]
    pub model: String,
    /// Directory holding `model.onnx` and `tokenizer.json`; defaults to
    /// `$SLUICE_HOME/models/<model>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<String>,
    #[serde(default)]
    pub device: Device,
    #[serde(default)]
    pub precision: Precision,
    /// Texts per ONNX Runtime call.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Intra-op threads; defaults to the number of cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Token limit per text (the model's trained maximum is 256).
    #[serde(default = "default_max_length")]
    pub max_length: usize,
}

fn default_model() -> String {
    "all-MiniLM-L6-v2".into()
}
fn default_batch() -> usize {
    32
}
fn default_max_length() -> usize {
    256
}

impl Default for EmbeddingSpec {
    fn default() -> Self {
        EmbeddingSpec {
            model: default_model(),
            model_dir: None,
            device: Device::Auto,
            precision: Precision::Int8,
            batch_size: default_batch(),
            threads: None,
            max_length: default_max_length(),
        }
    }
}

/// Where chunks are written. Every sink must acknowledge a batch before the
/// source checkpoint advances.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkSpec {
    /// The embedded index (keyword + vector) under the data directory.
    Embedded(EmbeddedSinkSpec),
    /// Vectors and payloads in a Qdrant collection (gRPC).
    Qdrant(crate::stores::QdrantSinkSpec),
    /// Chunk text and payloads in an Elasticsearch 8 / OpenSearch 2 index.
    Elasticsearch(crate::stores::ElasticsearchSinkSpec),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedSinkSpec {
    /// Index directory; defaults to `<data dir>/index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// How records travel from sources to the indexing stages.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TransportSpec {
    /// Sources and indexing in one process, one page at a time.
    InProcess {
        /// Records per Arrow batch through transform → chunk → embed → sinks.
        #[serde(default = "default_batch_records")]
        batch_records: usize,
    },
    /// Through a Kafka topic: `sluice run` and the daemon publish documents;
    /// `sluice worker` processes in one consumer group index them.
    Kafka(KafkaTransportSpec),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaTransportSpec {
    /// `host:port[,host:port…]`; may use `${ENV}` references.
    pub bootstrap_servers: String,
    /// Topic of the pipeline's documents; `sluice.<pipeline name>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Partitions when Sluice creates the topic (an existing topic keeps its
    /// own). More partitions let more workers share the load.
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replication factor when Sluice creates the topics.
    #[serde(default = "default_replication")]
    pub replication: i32,
    /// Where records that cannot be indexed go, with the reason in headers;
    /// `<topic>.dlq` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_topic: Option<String>,
    /// Consumer group of the workers; `sluice-<pipeline name>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// librdkafka settings passed through (SASL, SSL, timeouts), e.g.
    /// `sasl.password: ${KAFKA_PASSWORD}`; `${ENV}` references are resolved at run time.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// Most records per worker batch through transform → chunk → embed → sinks.
    #[serde(default = "default_batch_records")]
    pub batch_records: usize,
    /// How long a worker waits to fill a batch before processing it.
    #[serde(default = "default_linger_ms")]
    pub linger_ms: u64,
}

fn default_partitions() -> i32 {
    6
}
fn default_replication() -> i32 {
    1
}
fn default_linger_ms() -> u64 {
    200
}

impl KafkaTransportSpec {
    pub fn topic(&self, pipeline: &str) -> String {
        self.topic
            .clone()
            .unwrap_or_else(|| format!("sluice.{pipeline}"))
    }
    pub fn dead_letter_topic(&self, pipeline: &str) -> String {
        self.dead_letter_topic
            .clone()
            .unwrap_or_else(|| format!("{}.dlq", self.topic(pipeline)))
    }
    pub fn group(&self, pipeline: &str) -> String {
        self.group
            .clone()
            .unwrap_or_else(|| format!("sluice-{pipeline}"))
    }
}

fn default_batch_records() -> usize {
    256
}

impl Default for TransportSpec {
    fn default() -> Self {
        TransportSpec::InProcess {
            batch_records: default_batch_records(),
        }
    }
}

impl TransportSpec {
    /// Records per Arrow batch through the indexing stages.
    pub fn batch_records(&self) -> usize {
        match self {
            TransportSpec::InProcess { batch_records } => *batch_records,
            TransportSpec::Kafka(k) => k.batch_records,
        }
    }
}
