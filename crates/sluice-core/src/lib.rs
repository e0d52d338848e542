//! Sluice's shared contracts: the document model, stable ids, Arrow schemas,
//! the `Source` / `Sink` / `Publisher` traits every connector, store and
//! transport plugs into, the search contract, and the registry of factories
//! that builds them.

pub mod access;
pub mod arrow_conv;
pub mod embed;
pub mod failpoint;
pub mod ids;
pub mod model;
pub mod redact;
pub mod registry;
pub mod retry;
pub mod runtime;
pub mod search;
pub mod settings;
pub mod sink;
pub mod source;
pub mod transport;

pub use access::{Access, DocAccess, MAX_ACL_SETS};
pub use embed::{EmbedError, TextEmbedder};
pub use ids::{chunk_id, content_hash, doc_id};
pub use model::{Chunk, DeadLetter, DocKind, Document};
pub use registry::{
    ComponentKind, CredentialNeeds, NotAvailable, OpenedStore, Registry, SourceContext,
    SourceFactory, StoreContext, StoreFactory, StoreSearch, TransportContext, TransportFactory,
};
pub use retry::{Backoff, RetryPolicy, retry};
pub use runtime::run_blocking;
pub use settings::{SettingsError, parse_cursor, parse_settings, settings_schema};
pub use sink::{
    AccessUpdate, ChunkWrite, DocumentWrite, LinkFields, Sink, SinkAck, SinkBatch, SinkError,
    SinkRejection, chunk_record,
};
pub use source::{ListingScope, Source, SourceError, SourcePage, SyncMode, fetch_by_listing};
pub use transport::{PublishAck, PublishError, Publisher};
