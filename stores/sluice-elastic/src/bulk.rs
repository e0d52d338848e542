//! `_bulk` request building and per-item response handling. A 200 answer
//! can still carry `"errors": true`: each item has its own status. Items
//! refused with 429/5xx (and 409 version conflicts from a concurrent
//! writer) are worth another try; other 4xx (mapping errors) will fail the
//! same way every time, so the document is dead-lettered with the reason.

use serde_json::{Value, json};

use crate::client::status_is_transient;

/// One `index` operation: the chunk document under its deterministic id.
/// What a `_bulk` operation does with its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BulkAction {
    /// Replace the whole document.
    Index,
    /// Merge these fields into the existing document (`{"doc": …}`); a
    /// missing document answers 404.
    Update,
}

pub(crate) fn action_lines(
    out: &mut String,
    action: BulkAction,
    index: &str,
    id: &str,
    doc: &Value,
) {
    let (name, body) = match action {
        BulkAction::Index => ("index", doc.clone()),
        BulkAction::Update => ("update", json!({ "doc": doc })),
    };
    out.push_str(&json!({ name: { "_index": index, "_id": id } }).to_string());
    out.push('\n');
    out.push_str(&body.to_string());
    out.push('\n');
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemFailure {
    /// Position of the operation in the request.
    pub position: usize,
    pub status: u16,
    pub reason: String,
}

impl ItemFailure {
    pub fn retryable(&self) -> bool {
        status_is_transient(self.status) || self.status == 409 || self.status >= 500
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkOutcome {
    pub succeeded: usize,
    pub failed: Vec<ItemFailure>,
}

/// Reads a `_bulk` answer for `expected` operations.
pub fn parse_bulk_response(v: &Value, expected: usize) -> Result<BulkOutcome, String> {
    let items = v["items"].as_array().ok_or_else(|| {
        format!(
            "_bulk answer without `items`: {}",
            v.to_string().chars().take(200).collect::<String>()
        )
    })?;
    if items.len() != expected {
        return Err(format!(
            "_bulk answered {} items for {expected} operations",
            items.len()
        ));
    }
    let mut out = BulkOutcome::default();
    for (position, item) in items.iter().enumerate() {
        // {"index": {...}} / {"delete": {...}} / {"create": {...}}
        let body = item
            .as_object()
            .and_then(|o| o.values().next())
            .cloned()
            .unwrap_or(Value::Null);
        let status = body["status"].as_u64().unwrap_or(0) as u16;
        if (200..300).contains(&status) {
            out.succeeded += 1;
            continue;
        }
        let e = &body["error"];
        let reason = match (e["type"].as_str(), e["reason"].as_str()) {
            (Some(t), Some(r)) => {
                let cause = e["caused_by"]["reason"]
                    .as_str()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default();
                format!("{t}: {r}{cause}")
            }
            _ => format!("status {status}: {e}"),
        };
        out.failed.push(ItemFailure {
            position,
            status,
            reason,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_answer_splits_into_ok_retryable_and_rejected() {
        // Shape of an Elasticsearch 8 answer with errors (trimmed).
        let v = json!({"took": 3, "errors": true, "items": [
            {"index": {"_index": "kb-v1", "_id": "a", "_version": 1, "result": "created", "status": 201}},
            {"index": {"_index": "kb-v1", "_id": "b", "status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "rejected execution of coordinating operation"}}},
            {"index": {"_index": "kb-v1", "_id": "c", "status": 400, "error": {"type": "document_parsing_exception", "reason": "[1:20] failed to parse field [updated_at] of type [date]", "caused_by": {"type": "illegal_argument_exception", "reason": "failed to parse date field [yesterday]"}}}},
            {"index": {"_index": "kb-v1", "_id": "d", "status": 409, "error": {"type": "version_conflict_engine_exception", "reason": "[d]: version conflict"}}},
            {"index": {"_index": "kb-v1", "_id": "e", "status": 503, "error": {"type": "unavailable_shards_exception", "reason": "primary shard is not active"}}}
        ]});
        let out = parse_bulk_response(&v, 5).unwrap();
        assert_eq!(out.succeeded, 1);
        let retry: Vec<usize> = out
            .failed
            .iter()
            .filter(|f| f.retryable())
            .map(|f| f.position)
            .collect();
        assert_eq!(retry, vec![1, 3, 4]);
        let rejected: Vec<&ItemFailure> = out.failed.iter().filter(|f| !f.retryable()).collect();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].position, 2);
        assert!(
            rejected[0].reason.contains("document_parsing_exception")
                && rejected[0].reason.contains("failed to parse date field"),
            "{}",
            rejected[0].reason
        );
    }

    #[test]
    fn item_count_mismatch_is_an_error() {
        let v = json!({"took": 1, "errors": false, "items": [{"index": {"status": 201}}]});
        assert!(parse_bulk_response(&v, 2).is_err());
        assert!(parse_bulk_response(&json!({"error": "x"}), 1).is_err());
    }

    #[test]
    fn ndjson_lines_end_with_newline() {
        let mut s = String::new();
        action_lines(
            &mut s,
            BulkAction::Index,
            "kb",
            "1",
            &json!({"text": "a\nb"}),
        );
        assert_eq!(s.lines().count(), 2);
        assert!(s.ends_with('\n'));
        let mut u = String::new();
        action_lines(
            &mut u,
            BulkAction::Update,
            "kb",
            "1",
            &json!({"acl_0": ["*"]}),
        );
        let lines: Vec<Value> = u
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            vec![
                json!({"update": {"_index": "kb", "_id": "1"}}),
                json!({"doc": {"acl_0": ["*"]}})
            ]
        );
    }
}
