//! `related` on the remote stores: each document's links ride on its first
//! chunk (`link_names`, `link_targets`, `link_kinds`), so a search server
//! that has no state store still answers. Two requests per call, both under
//! the caller's access (the same filter as a hit's): the documents asked
//! about, then every document that answers to one of their targets or
//! refers to one of their names.

use std::collections::{BTreeSet, HashMap};

use sluice_core::search::{LinkLookup, LinkedChunk, MAX_LINKED_DOCS, Related};
use uuid::Uuid;

/// What `from` links to (`out`) and what links to it (`in`) among `found`.
pub(crate) fn candidates(starts: &[LinkedChunk], found: &[LinkedChunk]) -> Vec<(Uuid, Related)> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_target: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
    for (i, d) in found.iter().enumerate() {
        for n in &d.links.names {
            by_name.entry(n).or_default().push(i);
        }
        for (kind, t) in &d.links.edges {
            by_target.entry(t).or_default().push((i, kind));
        }
    }
    let related = |d: &LinkedChunk, edge: &str, direction: &str| Related {
        doc_id: d.chunk.doc_id,
        external_id: d.chunk.external_id.clone(),
        title: d.chunk.title.clone(),
        url: d.chunk.url.clone(),
        source: d.chunk.source.clone(),
        kind: d.chunk.kind.clone(),
        edge: edge.to_string(),
        direction: direction.to_string(),
    };
    let mut out = Vec::new();
    for s in starts {
        let from = s.chunk.doc_id;
        for (kind, t) in &s.links.edges {
            for &i in by_name.get(t.as_str()).into_iter().flatten() {
                out.push((from, related(&found[i], kind, "out")));
            }
        }
        for n in &s.links.names {
            for &(i, kind) in by_target.get(n.as_str()).into_iter().flatten() {
                out.push((from, related(&found[i], kind, "in")));
            }
        }
    }
    out
}

/// The lookup for `starts`' neighbours; `None` when they have no links.
pub(crate) fn neighbours(starts: &[LinkedChunk]) -> Option<LinkLookup> {
    let mut names = BTreeSet::new();
    let mut targets = BTreeSet::new();
    for s in starts {
        // Documents the starts refer to answer to the starts' targets;
        // people are never documents.
        for (kind, t) in &s.links.edges {
            if kind != sluice_links::EdgeKind::MentionsPerson.as_str() {
                names.insert(t.clone());
            }
        }
        // Documents referring to the starts name one of the starts' names.
        targets.extend(s.links.names.iter().cloned());
    }
    (!names.is_empty() || !targets.is_empty()).then(|| LinkLookup::Touching {
        names: names.into_iter().collect(),
        targets: targets.into_iter().collect(),
    })
}

/// The documents linked to each of `ids`, through `lookup` (a store's
/// `link_lookup` under the caller's access); `None` when the store keeps
/// no links.
pub(crate) async fn related_through<F, Fut>(
    lookup: F,
    ids: &[Uuid],
    per_doc: usize,
) -> Option<Result<HashMap<Uuid, Vec<Related>>, String>>
where
    F: Fn(LinkLookup, usize) -> Fut,
    Fut: std::future::Future<Output = Option<Result<Vec<LinkedChunk>, String>>>,
{
    let starts = match lookup(LinkLookup::Docs(ids.to_vec()), ids.len()).await? {
        Ok(s) => s,
        Err(e) => return Some(Err(e)),
    };
    let Some(next) = neighbours(&starts) else {
        return Some(Ok(HashMap::new()));
    };
    let mut found = match lookup(next, MAX_LINKED_DOCS).await? {
        Ok(f) => f,
        Err(e) => return Some(Err(e)),
    };
    // One popular target filled the shared cap: ask per document, so a hub
    // cannot crowd out every other hit's links.
    if found.len() >= MAX_LINKED_DOCS && starts.len() > 1 {
        let per_start = futures::future::join_all(
            starts
                .iter()
                .filter_map(|s| neighbours(std::slice::from_ref(s)))
                .map(|l| lookup(l, MAX_LINKED_DOCS)),
        )
        .await;
        let mut seen = std::collections::HashSet::new();
        found.clear();
        for r in per_start.into_iter().flatten() {
            match r {
                Ok(docs) => {
                    found.extend(docs.into_iter().filter(|d| seen.insert(d.chunk.chunk_id)))
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
    Some(Ok(sluice_links::choose_related(
        candidates(&starts, &found),
        per_doc,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::LinkFields;
    use sluice_core::search::ChunkPayload;

    fn doc(id: u128, title: &str, names: &[&str], edges: &[(&str, &str)]) -> LinkedChunk {
        LinkedChunk {
            chunk: ChunkPayload {
                chunk_id: Uuid::from_u128(id + 1000),
                doc_id: Uuid::from_u128(id),
                ordinal: 0,
                source: "s".into(),
                external_id: title.into(),
                kind: "page".into(),
                title: title.into(),
                url: None,
                labels: vec![],
                acl: vec![],
                updated_at: None,
                text: String::new(),
            },
            links: LinkFields {
                names: names.iter().map(|s| s.to_string()).collect(),
                edges: edges
                    .iter()
                    .map(|(k, t)| (k.to_string(), t.to_string()))
                    .collect(),
            },
        }
    }

    #[test]
    fn outgoing_and_incoming_links_are_found_from_both_ends() {
        let incident = doc(
            1,
            "Incident",
            &["doc:wiki:1", "page-title:incident"],
            &[("mentions", "jira:PAY-1"), ("mentions_person", "person:u1")],
        );
        let issue = doc(2, "PAY-1", &["doc:jira:2", "jira:PAY-1"], &[]);
        let thread = doc(
            3,
            "Thread",
            &["doc:slack:3"],
            &[("links_to", "page-title:incident")],
        );
        let unrelated = doc(4, "Other", &["doc:wiki:4"], &[("mentions", "jira:OPS-9")]);
        let Some(LinkLookup::Touching { names, targets }) =
            neighbours(std::slice::from_ref(&incident))
        else {
            panic!("a lookup");
        };
        assert_eq!(names, ["jira:PAY-1"], "people are not looked up");
        assert_eq!(targets, ["doc:wiki:1", "page-title:incident"]);
        let found = [issue, thread, unrelated];
        let got = sluice_links::choose_related(candidates(&[incident], &found), 10);
        let got: Vec<(&str, &str, &str)> = got[&Uuid::from_u128(1)]
            .iter()
            .map(|r| (r.title.as_str(), r.edge.as_str(), r.direction.as_str()))
            .collect();
        assert_eq!(
            got,
            [("Thread", "links_to", "in"), ("PAY-1", "mentions", "out")]
        );
        assert!(neighbours(&[doc(5, "Alone", &[], &[])]).is_none());
    }
}
