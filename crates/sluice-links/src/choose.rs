//! Which linked documents to show per document, wherever the graph is read
//! from (the state store or a remote store's link fields): each linked
//! document once, by its strongest edge, strongest first.

use std::collections::HashMap;

use sluice_core::search::Related;
use uuid::Uuid;

use crate::EdgeKind;

/// `candidates`: (document asked about, a document linked to it that the
/// caller may read). Returns at most `per_doc` per document asked about;
/// a candidate with an unknown edge type or linking to itself is dropped.
pub fn choose_related(
    candidates: impl IntoIterator<Item = (Uuid, Related)>,
    per_doc: usize,
) -> HashMap<Uuid, Vec<Related>> {
    // (strength, outgoing) and the document, per linked document.
    type Best = HashMap<Uuid, ((u8, bool), Related)>;
    let mut by_from: HashMap<Uuid, Best> = HashMap::new();
    for (from, r) in candidates {
        if r.doc_id == from {
            continue;
        }
        let Some(kind) = EdgeKind::parse(&r.edge) else {
            continue;
        };
        let rank = (kind.strength(), r.direction == "out");
        let entry = by_from.entry(from).or_default();
        if entry.get(&r.doc_id).is_none_or(|(have, _)| rank > *have) {
            entry.insert(r.doc_id, (rank, r));
        }
    }
    by_from
        .into_iter()
        .map(|(from, docs)| {
            let mut docs: Vec<_> = docs.into_values().collect();
            docs.sort_by(|a, b| {
                b.0.cmp(&a.0)
                    .then_with(|| a.1.title.cmp(&b.1.title))
                    .then_with(|| a.1.doc_id.cmp(&b.1.doc_id))
            });
            (from, docs.into_iter().take(per_doc).map(|d| d.1).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(id: u128, title: &str, edge: &str, dir: &str) -> Related {
        Related {
            doc_id: Uuid::from_u128(id),
            external_id: title.into(),
            title: title.into(),
            url: None,
            source: "s".into(),
            kind: "page".into(),
            edge: edge.into(),
            direction: dir.into(),
        }
    }

    #[test]
    fn each_document_once_by_its_strongest_edge_then_by_title() {
        let a = Uuid::from_u128(1);
        let got = choose_related(
            [
                (a, rel(2, "Beta", "mentions", "in")),
                (a, rel(2, "Beta", "closes", "in")),
                (a, rel(3, "Alpha", "mentions", "out")),
                (a, rel(4, "Gamma", "mentions", "in")),
                (a, rel(1, "self", "closes", "out")),
                (a, rel(5, "odd", "likes", "out")),
            ],
            10,
        );
        let titles: Vec<(&str, &str)> = got[&a]
            .iter()
            .map(|r| (r.title.as_str(), r.edge.as_str()))
            .collect();
        // closes beats mentions; at equal strength an outgoing edge first.
        assert_eq!(
            titles,
            [
                ("Beta", "closes"),
                ("Alpha", "mentions"),
                ("Gamma", "mentions")
            ]
        );
        assert_eq!(
            choose_related([(a, rel(2, "B", "closes", "in"))], 0)[&a].len(),
            0
        );
    }
}
