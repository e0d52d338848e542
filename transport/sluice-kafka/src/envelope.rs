//! The record format on the topic: one Kafka record per document.
//!
//! Per-record JSON rather than an Arrow IPC batch per message, because the
//! key must be the document id: Kafka orders records per key within a
//! partition, so every version of a document stays in order (last write
//! wins), log compaction keeps the newest version, and a deletion is the
//! standard tombstone (the key with no value). Workers build Arrow batches
//! from what they consume.
//!
//! Value: `{"v": 1, "pipeline": …, "document": {…}}`. A tombstone has no
//! value, so it carries one header, `sluice-tombstone`, with
//! `{"v": 1, "pipeline": …, "source": …}` to say where it belongs. Upserts
//! carry no headers: the envelope already says all of it, and brokers that
//! store headers in a table (tansu's SQLite engine looks them up per record
//! without an index) slow down with every header stored. Decoding checks the version, the
//! fields, and that the key is the id the document's source and external
//! id produce, so a record can never land under another document.

use rdkafka::message::{Header, Headers, OwnedHeaders};
use serde::{Deserialize, Serialize};
use sluice_core::Document;
use uuid::Uuid;

pub const ENVELOPE_VERSION: u32 = 1;
/// The one header of a tombstone: `{"v": 1, "pipeline": …, "source": …}`.
pub const HEADER_TOMBSTONE: &str = "sluice-tombstone";

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    v: u32,
    pipeline: &'a str,
    document: &'a Document,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeIn {
    v: u32,
    pipeline: String,
    document: Document,
}

/// What a consumed record means.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Upsert {
        pipeline: String,
        document: Box<Document>,
    },
    Delete {
        pipeline: String,
        source: String,
        doc_id: Uuid,
    },
}

impl Record {
    pub fn doc_id(&self) -> Uuid {
        match self {
            Record::Upsert { document, .. } => {
                sluice_core::doc_id(&document.source, &document.external_id)
            }
            Record::Delete { doc_id, .. } => *doc_id,
        }
    }
}

/// Why a record could not be decoded (it goes to the dead-letter topic).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TombstoneHeader {
    v: u32,
    pipeline: String,
    source: String,
}

fn headers(pipeline: &str, source: &str) -> OwnedHeaders {
    let h = TombstoneHeader {
        v: ENVELOPE_VERSION,
        pipeline: pipeline.to_string(),
        source: source.to_string(),
    };
    // Serializing strings cannot fail.
    let json = serde_json::to_vec(&h).unwrap_or_default();
    OwnedHeaders::new().insert(Header {
        key: HEADER_TOMBSTONE,
        value: Some(&json),
    })
}

/// Key and value of a document's record.
pub fn encode_upsert(pipeline: &str, document: &Document) -> (String, Vec<u8>) {
    let key = sluice_core::doc_id(&document.source, &document.external_id).to_string();
    // Serializing owned strings and JSON values cannot fail.
    let value = serde_json::to_vec(&EnvelopeOut {
        v: ENVELOPE_VERSION,
        pipeline,
        document,
    })
    .unwrap_or_default();
    (key, value)
}

/// Key and headers of a deletion (a tombstone: no value).
pub fn encode_delete(pipeline: &str, source: &str, doc_id: Uuid) -> (String, OwnedHeaders) {
    (doc_id.to_string(), headers(pipeline, source))
}

fn header<'a, H: Headers>(h: Option<&'a H>, name: &str) -> Option<&'a [u8]> {
    h?.iter().find(|x| x.key == name).and_then(|x| x.value)
}

/// Decodes a consumed record (key, value, headers).
pub fn decode<H: Headers>(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    hdrs: Option<&H>,
) -> Result<Record, DecodeError> {
    let key =
        key.ok_or_else(|| DecodeError("record without a key (expected a document id)".into()))?;
    let key = std::str::from_utf8(key)
        .ok()
        .and_then(|k| Uuid::parse_str(k).ok())
        .ok_or_else(|| DecodeError("the key is not a document id (UUID)".into()))?;
    match value {
        None => {
            let raw = header(hdrs, HEADER_TOMBSTONE).ok_or_else(|| {
                DecodeError(format!("tombstone without a `{HEADER_TOMBSTONE}` header"))
            })?;
            let probe: serde_json::Value = serde_json::from_slice(raw).map_err(|e| {
                DecodeError(format!("the `{HEADER_TOMBSTONE}` header is not JSON: {e}"))
            })?;
            match probe.get("v").and_then(|v| v.as_u64()) {
                Some(v) if v == u64::from(ENVELOPE_VERSION) => {}
                Some(v) => {
                    return Err(DecodeError(format!(
                        "tombstone of envelope version {v}; this worker reads {ENVELOPE_VERSION}"
                    )));
                }
                None => {
                    return Err(DecodeError(format!(
                        "the `{HEADER_TOMBSTONE}` header has no version `v`"
                    )));
                }
            }
            let h: TombstoneHeader = serde_json::from_value(probe)
                .map_err(|e| DecodeError(format!("the `{HEADER_TOMBSTONE}` header: {e}")))?;
            Ok(Record::Delete {
                pipeline: h.pipeline,
                source: h.source,
                doc_id: key,
            })
        }
        Some(bytes) => {
            // The version first, so a newer producer gets a clear message.
            let probe: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| DecodeError(format!("the value is not JSON: {e}")))?;
            match probe.get("v").and_then(|v| v.as_u64()) {
                Some(v) if v == u64::from(ENVELOPE_VERSION) => {}
                Some(v) => {
                    return Err(DecodeError(format!(
                        "envelope version {v}; this worker reads {ENVELOPE_VERSION}"
                    )));
                }
                None => return Err(DecodeError("the value has no envelope version `v`".into())),
            }
            let env: EnvelopeIn = serde_json::from_value(probe)
                .map_err(|e| DecodeError(format!("not a Sluice envelope: {e}")))?;
            let d = &env.document;
            if d.source.is_empty() || d.external_id.is_empty() {
                return Err(DecodeError(
                    "the document has no source or external_id".into(),
                ));
            }
            let expected = sluice_core::doc_id(&d.source, &d.external_id);
            if expected != key {
                return Err(DecodeError(format!(
                    "the key {key} is not the id of {}/{} ({expected})",
                    d.source, d.external_id
                )));
            }
            let _ = env.v;
            Ok(Record::Upsert {
                pipeline: env.pipeline,
                document: Box::new(env.document),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::DocKind;

    fn doc(id: &str) -> Document {
        let mut d = Document::new("wiki", id, DocKind::Page);
        d.title = "Rollback".into();
        d.body = "Roll back with `deploy --undo`.".into();
        d.access = Some(
            sluice_core::DocAccess::any_of(["files:wiki:group:eng"]).and(["files:wiki:user:ann"]),
        );
        d
    }

    #[test]
    fn upserts_and_tombstones_round_trip() {
        let d = doc("42");
        let (key, value) = encode_upsert("kb", &d);
        assert_eq!(key, sluice_core::doc_id("wiki", "42").to_string());
        let none: Option<&OwnedHeaders> = None;
        let r = decode(Some(key.as_bytes()), Some(&value), none).unwrap();
        assert_eq!(
            r,
            Record::Upsert {
                pipeline: "kb".into(),
                document: Box::new(d)
            }
        );
        let id = sluice_core::doc_id("wiki", "7");
        let (key, h) = encode_delete("kb", "wiki", id);
        assert_eq!(
            decode(Some(key.as_bytes()), None, Some(&h)).unwrap(),
            Record::Delete {
                pipeline: "kb".into(),
                source: "wiki".into(),
                doc_id: id
            }
        );
    }

    #[test]
    fn bad_records_are_refused_with_the_reason() {
        let (key, value) = encode_upsert("kb", &doc("42"));
        let (_, h) = encode_delete("kb", "wiki", sluice_core::doc_id("wiki", "42"));
        let none: Option<&OwnedHeaders> = None;
        let err = |k: Option<&[u8]>, v: Option<&[u8]>, h: Option<&OwnedHeaders>| {
            decode(k, v, h).unwrap_err().0
        };
        assert!(err(None, Some(&value), Some(&h)).contains("without a key"));
        assert!(err(Some(b"not-a-uuid"), Some(&value), Some(&h)).contains("not a document id"));
        assert!(err(Some(key.as_bytes()), Some(b"{oops"), Some(&h)).contains("not JSON"));
        assert!(
            err(
                Some(key.as_bytes()),
                Some(br#"{"v": 2, "pipeline": "kb", "document": {}}"#),
                Some(&h)
            )
            .contains("version 2")
        );
        assert!(
            err(
                Some(key.as_bytes()),
                Some(br#"{"pipeline": "kb"}"#),
                Some(&h)
            )
            .contains("no envelope version")
        );
        assert!(
            err(
                Some(key.as_bytes()),
                Some(br#"{"v": 1, "pipeline": "kb", "document": {"title": 3}}"#),
                Some(&h)
            )
            .contains("not a Sluice envelope")
        );
        // A valid envelope under another document's key.
        let other = sluice_core::doc_id("wiki", "43").to_string();
        assert!(
            err(Some(other.as_bytes()), Some(&value), Some(&h))
                .contains("is not the id of wiki/42")
        );
        assert!(err(Some(key.as_bytes()), None, none).contains("tombstone without"));
    }
}
