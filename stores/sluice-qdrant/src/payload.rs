//! A chunk's point payload (`sluice_core::chunk_record`) and reading it back.

use std::collections::HashMap;

use qdrant_client::Payload;
use qdrant_client::qdrant::Value;
use sluice_core::search::ChunkPayload;
use sluice_core::{Chunk, Document};
use uuid::Uuid;

pub fn chunk_payload(
    doc: &Document,
    chunk: &Chunk,
    links: Option<&sluice_core::LinkFields>,
) -> Payload {
    Payload::from(sluice_core::chunk_record(doc, chunk, links))
}

fn text(p: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    p.get(key).and_then(|v| v.as_str()).map(|s| s.to_string())
}

fn strings(p: &serde_json::Map<String, serde_json::Value>, key: &str) -> Vec<String> {
    p.get(key)
        .and_then(|v| v.as_array())
        .map(|l| {
            l.iter()
                .filter_map(|x| x.as_str().map(|s| s.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The links stored on a document's first chunk (`sluice_core::LinkFields`).
pub fn links_from_payload(payload: &HashMap<String, Value>) -> Option<sluice_core::LinkFields> {
    match serde_json::to_value(payload).ok()? {
        serde_json::Value::Object(m) => sluice_core::LinkFields::from_record(&m),
        _ => None,
    }
}

/// Reads a point payload back; `None` when it is not a Sluice chunk.
pub fn from_payload(payload: &HashMap<String, Value>) -> Option<ChunkPayload> {
    let p = match serde_json::to_value(payload).ok()? {
        serde_json::Value::Object(m) => m,
        _ => return None,
    };
    Some(ChunkPayload {
        chunk_id: Uuid::parse_str(&text(&p, "chunk_id")?).ok()?,
        doc_id: Uuid::parse_str(&text(&p, "doc_id")?).ok()?,
        ordinal: p.get("ordinal").and_then(|v| v.as_u64()).unwrap_or(0) as u32,
        source: text(&p, "source")?,
        external_id: text(&p, "external_id")?,
        kind: text(&p, "kind").unwrap_or_default(),
        title: text(&p, "title").unwrap_or_default(),
        url: text(&p, "url"),
        labels: strings(&p, "labels"),
        acl: sluice_core::access::slots_from_record(&p),
        updated_at: text(&p, "updated_at")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.timestamp_micros()),
        text: text(&p, "text").unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sluice_core::DocKind;

    #[test]
    fn payload_round_trips() {
        let mut d = Document::new("wiki", "p-1", DocKind::Page);
        d.title = "Runbook".into();
        d.labels = vec!["ops".into()];
        d.access = Some(sluice_core::DocAccess::any_of(["c:w:group:sre"]).and(["c:w:user:ann"]));
        d.updated_at = chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456);
        let c = Chunk::new(d.doc_id(), 2, "Restart the pager".into(), 4);
        let p: HashMap<String, Value> = chunk_payload(&d, &c, None).into();
        assert_eq!(
            serde_json::to_value(&p).unwrap()["acl_0"],
            json!(["c:w:group:sre"])
        );
        assert_eq!(serde_json::to_value(&p).unwrap()["acl_2"], json!(["*"]));
        let back = from_payload(&p).unwrap();
        assert_eq!(back.chunk_id, c.chunk_id);
        assert_eq!(back.ordinal, 2);
        assert_eq!(back.labels, vec!["ops".to_string()]);
        assert_eq!(sluice_core::DocAccess::from_slots(&back.acl), d.access);
        assert_eq!(back.updated_at, Some(1_700_000_000_123_456));
        assert_eq!(back.text, "Restart the pager");
        assert_eq!(back.url, None);
        assert_eq!(links_from_payload(&p), None, "no links: none written");
    }

    #[test]
    fn the_first_chunk_carries_the_links_and_later_ones_do_not() {
        let d = Document::new("wiki", "p-1", DocKind::Page);
        let links = sluice_core::LinkFields {
            names: vec!["jira:PAY-1".into(), "doc:wiki:p-1".into()],
            edges: vec![
                ("mentions".into(), "jira:OPS-2".into()),
                ("links_to".into(), "page-title:runbook".into()),
            ],
        };
        let first = Chunk::new(d.doc_id(), 0, "a".into(), 1);
        let p: HashMap<String, Value> = chunk_payload(&d, &first, Some(&links)).into();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json["link_targets"],
            json!(["jira:OPS-2", "page-title:runbook"])
        );
        assert_eq!(json["link_kinds"], json!(["mentions", "links_to"]));
        assert_eq!(links_from_payload(&p), Some(links.clone()));
        let second = Chunk::new(d.doc_id(), 1, "b".into(), 1);
        let p: HashMap<String, Value> = chunk_payload(&d, &second, Some(&links)).into();
        assert_eq!(links_from_payload(&p), None);
    }

    #[test]
    fn foreign_points_are_skipped() {
        let p: HashMap<String, Value> = Payload::from(serde_json::Map::from_iter([(
            "city".to_string(),
            json!("Berlin"),
        )]))
        .into();
        assert!(from_payload(&p).is_none());
    }
}
