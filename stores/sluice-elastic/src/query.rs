//! Sluice's filters and ACL as Elasticsearch query DSL (the same on
//! OpenSearch 2).

use serde_json::{Value, json};
use sluice_core::access::{MAX_ACL_SETS, acl_field};
use sluice_core::search::{Access, LinkLookup, SearchFilters};
use uuid::Uuid;

fn micros_to_rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

/// `filter` clauses for the filters plus the caller's access.
pub fn search_filters(filters: &SearchFilters, access: &Access) -> Vec<Value> {
    let mut f = Vec::new();
    if !filters.sources.is_empty() {
        f.push(json!({ "terms": { "source": filters.sources } }));
    }
    if !filters.kinds.is_empty() {
        f.push(json!({ "terms": { "kind": filters.kinds } }));
    }
    if !filters.labels.is_empty() {
        f.push(json!({ "terms": { "labels": filters.labels } }));
    }
    if filters.updated_after.is_some() || filters.updated_before.is_some() {
        let mut r = serde_json::Map::new();
        if let Some(a) = filters.updated_after {
            r.insert("gte".into(), json!(micros_to_rfc3339(a)));
        }
        if let Some(b) = filters.updated_before {
            r.insert("lt".into(), json!(micros_to_rfc3339(b)));
        }
        f.push(json!({ "range": { "updated_at": r } }));
    }
    // The shared access rule (`Access::slot_terms`): every slot holds one
    // of the caller's terms. A chunk without the slots matches nothing.
    if let Some(terms) = access.slot_terms() {
        for i in 0..MAX_ACL_SETS {
            f.push(json!({ "terms": { acl_field(i): terms } }));
        }
    }
    f
}

/// The keyword leg's request: BM25 over title (boosted) and text, with
/// highlighted fragments of the chunk text.
pub fn keyword_query(
    query: &str,
    size: usize,
    filters: &SearchFilters,
    access: &Access,
    snippet_chars: usize,
) -> Value {
    json!({
        "size": size,
        "track_total_hits": false,
        "query": { "bool": {
            "must": [{ "multi_match": { "query": query, "fields": ["title^2", "text"], "type": "best_fields" } }],
            "filter": search_filters(filters, access)
        } },
        "_source": ["doc_id", "chunk_id", "ordinal", "source", "external_id", "kind", "title", "url", "labels", "acl_0", "acl_1", "acl_2", "acl_3", "updated_at", "text"],
        "highlight": {
            "encoder": "html",
            "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
            "fields": { "text": { "fragment_size": snippet_chars, "number_of_fragments": 1, "no_match_size": snippet_chars } }
        }
    })
}

/// `related`'s request: the first chunks `lookup` names that `access` may
/// read; `None` when it names nothing.
pub fn link_query(lookup: &LinkLookup, access: &Access, size: usize) -> Option<Value> {
    let mut filter = search_filters(&SearchFilters::default(), access);
    filter.push(json!({ "term": { "ordinal": 0 } }));
    match lookup {
        LinkLookup::Docs(ids) if ids.is_empty() => return None,
        LinkLookup::Docs(ids) => filter.push(
            json!({ "terms": { "doc_id": ids.iter().map(Uuid::to_string).collect::<Vec<_>>() } }),
        ),
        LinkLookup::Touching { names, targets } => {
            let mut should = Vec::new();
            if !names.is_empty() {
                should.push(json!({ "terms": { "link_names": names } }));
            }
            if !targets.is_empty() {
                should.push(json!({ "terms": { "link_targets": targets } }));
            }
            if should.is_empty() {
                return None;
            }
            filter.push(json!({ "bool": { "should": should, "minimum_should_match": 1 } }));
        }
    }
    Some(json!({
        "size": size,
        "track_total_hits": false,
        "query": { "bool": { "filter": filter } },
        "_source": ["doc_id", "chunk_id", "ordinal", "source", "external_id", "kind", "title", "url", "labels", "acl_0", "acl_1", "acl_2", "acl_3", "updated_at", "link_names", "link_targets", "link_kinds"]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_access_slot_must_hold_one_of_the_callers_terms() {
        let f = search_filters(&SearchFilters::default(), &Access::public_only());
        let want: Vec<Value> = (0..4)
            .map(|i| json!({ "terms": { format!("acl_{i}"): ["*"] } }))
            .collect();
        assert_eq!(f, want, "public only: every slot unused");
        let f = search_filters(
            &SearchFilters::default(),
            &Access::Principals(vec!["confluence:wiki:group:hr".into()]),
        );
        assert_eq!(
            f[0],
            json!({ "terms": { "acl_0": ["*", "confluence:wiki:group:hr"] } })
        );
        assert_eq!(f.len(), 4);
        assert!(search_filters(&SearchFilters::default(), &Access::All).is_empty());
    }

    #[test]
    fn link_lookups_are_first_chunks_under_the_callers_access() {
        let access = Access::Principals(vec!["group:sre".into()]);
        let q = link_query(
            &LinkLookup::Touching {
                names: vec!["jira:PAY-1".into()],
                targets: vec![],
            },
            &access,
            100,
        )
        .unwrap();
        let filter = q["query"]["bool"]["filter"].as_array().unwrap();
        assert_eq!(filter.len(), 6, "4 slots, first chunk, the lookup: {q}");
        assert_eq!(
            filter[3],
            json!({ "terms": { "acl_3": ["*", "group:sre"] } })
        );
        assert_eq!(filter[4], json!({ "term": { "ordinal": 0 } }));
        assert_eq!(
            filter[5]["bool"]["should"],
            json!([{ "terms": { "link_names": ["jira:PAY-1"] } }])
        );
        assert!(
            link_query(
                &LinkLookup::Touching {
                    names: vec![],
                    targets: vec![]
                },
                &access,
                1
            )
            .is_none(),
            "nothing to look up never becomes match-all"
        );
        assert!(link_query(&LinkLookup::Docs(vec![]), &Access::All, 1).is_none());
    }

    #[test]
    fn filters_map_to_terms_and_ranges() {
        let filters = SearchFilters {
            sources: vec!["wiki".into()],
            kinds: vec![],
            labels: vec!["ops".into()],
            updated_after: Some(0),
            updated_before: Some(1_000_000),
        };
        let f = search_filters(&filters, &Access::Principals(vec!["group:sre".into()]));
        assert_eq!(f.len(), 7);
        assert_eq!(
            f[2]["range"]["updated_at"]["gte"],
            "1970-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            f[2]["range"]["updated_at"]["lt"],
            "1970-01-01T00:00:01.000000Z"
        );
        assert_eq!(f[6], json!({ "terms": { "acl_3": ["*", "group:sre"] } }));
        let q = keyword_query("pager", 50, &filters, &Access::All, 240);
        assert_eq!(q["size"], 50);
        assert_eq!(q["query"]["bool"]["filter"].as_array().unwrap().len(), 3);
    }
}
