//! Index bootstrap: an index template for `<alias>-v*` and the first
//! versioned index `<alias>-v1` from the checked-in mapping, behind the
//! alias Sluice reads and writes. A full re-index builds `<alias>-v(N+1)`
//! and swaps the alias in one `_aliases` call, so searches never see a
//! half-built index.

use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{Body, EsClient, EsError};

/// Settings and mappings of the chunk index (`schemas/elasticsearch/chunks.json`).
pub const MAPPING: &str = include_str!("../../../schemas/elasticsearch/chunks.json");

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavor {
    Elasticsearch(String),
    OpenSearch(String),
}

pub(crate) async fn detect(client: &EsClient) -> Result<Flavor, EsError> {
    let (_, root) = client.send(Method::GET, "/", None, &[]).await?;
    let version = root["version"]["number"]
        .as_str()
        .unwrap_or("unknown")
        .to_string();
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if root["version"]["distribution"].as_str() == Some("opensearch") {
        if major < 2 {
            return Err(EsError {
                message: format!(
                    "OpenSearch {version} at {} is not supported; use OpenSearch 2.x",
                    client.base()
                ),
                transient: false,
                status: None,
            });
        }
        return Ok(Flavor::OpenSearch(version));
    }
    if major < 8 {
        return Err(EsError {
            message: format!(
                "Elasticsearch {version} at {} is not supported; use Elasticsearch 8.x",
                client.base()
            ),
            transient: false,
            status: None,
        });
    }
    Ok(Flavor::Elasticsearch(version))
}

fn mapping() -> Value {
    serde_json::from_str(MAPPING).unwrap_or(Value::Null)
}

/// The concrete index the alias points at, if the alias exists.
pub(crate) async fn alias_target(
    client: &EsClient,
    alias: &str,
) -> Result<Option<String>, EsError> {
    let (status, v) = client
        .send(Method::GET, &format!("/_alias/{alias}"), None, &[404])
        .await?;
    if status == 404 {
        return Ok(None);
    }
    let obj = v.as_object().cloned().unwrap_or_default();
    // With several indexes behind the alias, the write index is the one to use.
    let write = obj
        .iter()
        .find(|(_, i)| i["aliases"][alias]["is_write_index"].as_bool() == Some(true))
        .map(|(k, _)| k.clone());
    Ok(write.or_else(|| obj.keys().max().cloned()))
}

/// Version number of `<alias>-vN`.
pub(crate) fn version_of(alias: &str, index: &str) -> Option<u32> {
    index.strip_prefix(&format!("{alias}-v"))?.parse().ok()
}

pub(crate) async fn put_template(client: &EsClient, alias: &str) -> Result<(), EsError> {
    let m = mapping();
    let body = json!({ "index_patterns": [format!("{alias}-v*")], "priority": 200, "template": { "settings": m["settings"], "mappings": m["mappings"] } });
    client
        .send(
            Method::PUT,
            &format!("/_index_template/{alias}"),
            Some(Body::Json(body)),
            &[],
        )
        .await?;
    Ok(())
}

pub(crate) async fn create_index(client: &EsClient, index: &str) -> Result<(), EsError> {
    let (status, v) = client
        .send(
            Method::PUT,
            &format!("/{index}"),
            Some(Body::Json(mapping())),
            &[400],
        )
        .await?;
    if status == 400 && v["error"]["type"].as_str() != Some("resource_already_exists_exception") {
        return Err(EsError {
            message: format!(
                "creating index `{index}`: {}",
                crate::client::reason(&v, reqwest::StatusCode::BAD_REQUEST)
            ),
            transient: false,
            status: Some(400),
        });
    }
    Ok(())
}

/// Makes sure the alias exists and points at a versioned index; returns that index.
pub(crate) async fn ensure_alias(client: &EsClient, alias: &str) -> Result<String, EsError> {
    put_template(client, alias).await?;
    if let Some(index) = alias_target(client, alias).await? {
        add_later_fields(client, &index).await?;
        return Ok(index);
    }
    // A concrete index with the alias's name would shadow it.
    let (status, _) = client
        .send(Method::HEAD, &format!("/{alias}"), None, &[404])
        .await?;
    if status != 404 {
        return Err(EsError {
            message: format!(
                "`{alias}` is an index, not an alias; Sluice writes through an alias over `{alias}-vN` indexes — choose another `index:` name or reindex it into `{alias}-v1` and add the alias"
            ),
            transient: false,
            status: None,
        });
    }
    let index = format!("{alias}-v1");
    create_index(client, &index).await?;
    let actions = json!({ "actions": [{ "add": { "index": index, "alias": alias, "is_write_index": true } }] });
    client
        .send(Method::POST, "/_aliases", Some(Body::Json(actions)), &[])
        .await?;
    Ok(index)
}

/// Fields added to the mapping after the first release: the access slots
/// and the link graph's fields.
fn later_fields() -> Vec<String> {
    (0..sluice_core::access::MAX_ACL_SETS)
        .map(sluice_core::access::acl_field)
        .chain(["link_names", "link_targets", "link_kinds"].map(String::from))
        .collect()
}

/// Upgrades an index made before the access model or the link graph in
/// place: adds their fields to its mapping (adding fields is allowed on a
/// live index; it is a no-op when they exist). Its old chunks carry no
/// slots, so every restricted query skips them, and no links, so `related`
/// finds nothing through them, until the re-sync the state store schedules
/// rewrites them. When the server refuses, nothing is written (the mapping
/// is strict: every first chunk would be rejected, and a rejected document
/// is removed from every store); `sluice run --full` rebuilds into a new
/// index version.
async fn add_later_fields(client: &EsClient, index: &str) -> Result<(), EsError> {
    let m = mapping();
    let props: serde_json::Map<String, Value> = later_fields()
        .into_iter()
        .filter_map(|f| m["mappings"]["properties"].get(&f).map(|v| (f, v.clone())))
        .collect();
    let body = json!({ "properties": props });
    client
        .send(
            Method::PUT,
            &format!("/{index}/_mapping"),
            Some(Body::Json(body)),
            &[],
        )
        .await
        .map(|_| ())
        .map_err(|e| EsError {
            message: format!(
                "adding the access and link fields to the mapping of `{index}` failed ({}); nothing is written until it succeeds — or run `sluice run --full` to rebuild into a new index version",
                e.message
            ),
            ..e
        })
}

/// Points the alias at `new_index` and away from `old_index` atomically.
pub(crate) async fn swap_alias(
    client: &EsClient,
    alias: &str,
    old_index: &str,
    new_index: &str,
) -> Result<(), EsError> {
    let actions = json!({ "actions": [
        { "remove": { "index": old_index, "alias": alias } },
        { "add": { "index": new_index, "alias": alias, "is_write_index": true } }
    ] });
    client
        .send(Method::POST, "/_aliases", Some(Body::Json(actions)), &[])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_mapping_is_strict_and_covers_every_field() {
        let m = mapping();
        assert_eq!(m["mappings"]["dynamic"], "strict");
        for f in [
            "doc_id",
            "chunk_id",
            "ordinal",
            "source",
            "external_id",
            "kind",
            "title",
            "text",
            "url",
            "labels",
            "acl_0",
            "acl_1",
            "acl_2",
            "acl_3",
            "updated_at",
            "content_hash",
            "author",
            "link_names",
            "link_targets",
            "link_kinds",
        ] {
            assert!(m["mappings"]["properties"][f].is_object(), "{f}");
        }
        assert_eq!(m["mappings"]["properties"]["updated_at"]["type"], "date");
        assert_eq!(m["mappings"]["properties"]["labels"]["type"], "keyword");
        for f in later_fields() {
            assert!(m["mappings"]["properties"][&f].is_object(), "{f}");
        }
    }

    #[test]
    fn versions_parse_from_index_names() {
        assert_eq!(version_of("kb", "kb-v3"), Some(3));
        assert_eq!(version_of("kb", "kb-v"), None);
        assert_eq!(version_of("kb", "other-v1"), None);
    }
}
