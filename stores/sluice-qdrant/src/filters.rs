//! Sluice's filters as Qdrant filters. Every field used here has a payload
//! index (see `bootstrap::PAYLOAD_INDEXES`), so filtering stays cheap at
//! collection scale.

use qdrant_client::qdrant::{Condition, DatetimeRange, Filter, Range};
use sluice_core::access::{MAX_ACL_SETS, acl_field};
use sluice_core::search::{Access, LinkLookup, SearchFilters};
use uuid::Uuid;

fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

/// The search filters plus the caller's access; `None` when nothing restricts.
pub fn search_filter(filters: &SearchFilters, access: &Access) -> Option<Filter> {
    let mut must = Vec::new();
    if !filters.sources.is_empty() {
        must.push(Condition::matches("source", filters.sources.clone()));
    }
    if !filters.kinds.is_empty() {
        must.push(Condition::matches("kind", filters.kinds.clone()));
    }
    if !filters.labels.is_empty() {
        must.push(Condition::matches("labels", filters.labels.clone()));
    }
    if filters.updated_after.is_some() || filters.updated_before.is_some() {
        must.push(Condition::datetime_range(
            "updated_at",
            DatetimeRange {
                gte: filters.updated_after.map(timestamp),
                lt: filters.updated_before.map(timestamp),
                ..Default::default()
            },
        ));
    }
    // The shared access rule (`Access::slot_terms`): every slot holds one
    // of the caller's terms. A point without the slots matches nothing.
    if let Some(terms) = access.slot_terms() {
        for i in 0..MAX_ACL_SETS {
            must.push(Condition::matches(acl_field(i), terms.clone()));
        }
    }
    if must.is_empty() {
        None
    } else {
        Some(Filter::must(must))
    }
}

/// The first chunks `lookup` names that `access` may read; `None` when it
/// names nothing (an empty `should` would match every point).
pub(crate) fn link_filter(lookup: &LinkLookup, access: &Access) -> Option<Filter> {
    let mut f = search_filter(&SearchFilters::default(), access).unwrap_or_default();
    f.must.push(Condition::matches("ordinal", 0i64));
    match lookup {
        LinkLookup::Docs(ids) if ids.is_empty() => return None,
        LinkLookup::Docs(ids) => f.must.push(Condition::matches(
            "doc_id",
            ids.iter().map(Uuid::to_string).collect::<Vec<_>>(),
        )),
        LinkLookup::Touching { names, targets } => {
            if !names.is_empty() {
                f.should
                    .push(Condition::matches("link_names", names.clone()));
            }
            if !targets.is_empty() {
                f.should
                    .push(Condition::matches("link_targets", targets.clone()));
            }
            if f.should.is_empty() {
                return None;
            }
        }
    }
    Some(f)
}

/// Every chunk of these documents.
pub(crate) fn documents(ids: &[Uuid]) -> Filter {
    Filter::must([Condition::matches(
        "doc_id",
        ids.iter().map(Uuid::to_string).collect::<Vec<_>>(),
    )])
}

/// Chunks left over from longer earlier versions: for each `(doc, count)`,
/// the chunks with `ordinal >= count`.
pub(crate) fn stale_chunks(docs: &[(Uuid, u32)]) -> Filter {
    Filter::should(docs.iter().map(|(id, count)| {
        Filter::must([
            Condition::matches("doc_id", id.to_string()),
            Condition::range(
                "ordinal",
                Range {
                    gte: Some(f64::from(*count)),
                    ..Default::default()
                },
            ),
        ])
        .into()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qdrant_client::qdrant::condition::ConditionOneOf;

    fn keys(c: &qdrant_client::qdrant::Condition) -> Option<String> {
        match &c.condition_one_of {
            Some(ConditionOneOf::Field(f)) => Some(f.key.clone()),
            _ => None,
        }
    }

    #[test]
    fn link_lookups_are_first_chunks_under_the_callers_access() {
        let access = Access::Principals(vec!["group:sre".into()]);
        let f = link_filter(
            &LinkLookup::Touching {
                names: vec!["jira:PAY-1".into()],
                targets: vec!["doc:wiki:1".into()],
            },
            &access,
        )
        .unwrap();
        let must: Vec<String> = f.must.iter().filter_map(keys).collect();
        assert_eq!(must, ["acl_0", "acl_1", "acl_2", "acl_3", "ordinal"]);
        let should: Vec<String> = f.should.iter().filter_map(keys).collect();
        assert_eq!(should, ["link_names", "link_targets"]);
        let none = LinkLookup::Touching {
            names: vec![],
            targets: vec![],
        };
        assert!(
            link_filter(&none, &access).is_none(),
            "nothing to look up never becomes match-all"
        );
        assert!(link_filter(&LinkLookup::Docs(vec![]), &Access::All).is_none());
        let docs = link_filter(&LinkLookup::Docs(vec![Uuid::nil()]), &Access::All).unwrap();
        let must: Vec<String> = docs.must.iter().filter_map(keys).collect();
        assert_eq!(must, ["ordinal", "doc_id"]);
        assert!(docs.should.is_empty());
    }

    #[test]
    fn no_filter_for_trusted_unfiltered_search() {
        assert!(search_filter(&SearchFilters::default(), &Access::All).is_none());
    }

    #[test]
    fn every_access_slot_is_a_condition() {
        let f = search_filter(&SearchFilters::default(), &Access::public_only()).unwrap();
        assert_eq!(f.must.len(), 4, "one per slot");
        for (i, c) in f.must.iter().enumerate() {
            let Some(ConditionOneOf::Field(field)) = &c.condition_one_of else {
                panic!("{f:?}")
            };
            assert_eq!(field.key, format!("acl_{i}"));
        }
    }

    #[test]
    fn every_filter_becomes_a_condition() {
        let filters = SearchFilters {
            sources: vec!["wiki".into()],
            kinds: vec!["page".into()],
            labels: vec!["ops".into()],
            updated_after: Some(1_500_000),
            updated_before: None,
        };
        let f = search_filter(&filters, &Access::Principals(vec!["group:sre".into()])).unwrap();
        assert_eq!(f.must.len(), 8);
        let Some(ConditionOneOf::Field(range)) = &f.must[3].condition_one_of else {
            panic!()
        };
        let gte = range.datetime_range.as_ref().unwrap().gte.unwrap();
        assert_eq!((gte.seconds, gte.nanos), (1, 500_000_000));
        let Some(ConditionOneOf::Field(acl)) = &f.must[7].condition_one_of else {
            panic!()
        };
        assert_eq!(acl.key, "acl_3");
    }

    #[test]
    fn stale_chunk_filter_has_one_clause_per_document() {
        let f = stale_chunks(&[(Uuid::from_u128(1), 3), (Uuid::from_u128(2), 0)]);
        assert_eq!(f.should.len(), 2);
    }
}
