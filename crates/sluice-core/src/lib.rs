//! Sluice's shared contracts: the document model, stable ids, Arrow schemas,
//! and the `Source` / `Sink` traits every connector and store plugs into.

pub mod arrow_conv;
pub mod ids;
pub mod model;
pub mod settings;
pub mod sink;
pub mod source;

pub use ids::{chunk_id, content_hash, doc_id};
pub use model::{Chunk, DeadLetter, DocKind, Document};
pub use sink::{chunk_record, ChunkWrite, DocumentWrite, Sink, SinkAck, SinkBatch, SinkError, SinkRejection};
pub use settings::{SettingsError, parse_cursor, parse_settings};
pub use source::{ListingScope, Source, SourceError, SourcePage, SyncMode};
