//! Write planning shared by both destinations: which documents of a page
//! are new, changed or unchanged since they were last written, which
//! deletions apply, and which records failed. Decided once per page,
//! whether the page is then indexed here or published to a transport.

use std::collections::{HashMap, HashSet};

use sluice_core::{DeadLetter, DocAccess, Document};
use sluice_state::{DocGraph, DocState, StateStore};
use uuid::Uuid;

use crate::report::ProgressEvent;

/// What writing one page needs from its pipeline, whichever the destination.
pub(crate) struct PageContext<'a> {
    pub pipeline: &'a str,
    /// The pipeline file, to prefix messages with.
    pub file: &'a str,
    pub state: &'a StateStore,
    /// See `Pipeline::state_is_complete`.
    pub state_is_complete: bool,
    /// Records per Arrow batch, sink request and published slice.
    pub batch_records: usize,
    pub max_document_chars: usize,
    /// Sources with `visibility: public`: every record is public.
    pub public_sources: &'a HashSet<String>,
    pub observer: Option<&'a (dyn Fn(&ProgressEvent) + Send + Sync)>,
}

impl PageContext<'_> {
    pub fn notify(&self, e: ProgressEvent) {
        if let Some(o) = self.observer {
            o(&e);
        }
    }
}

/// Dedupes a page's documents (later versions win), stamps the source id,
/// makes every record public for a `visibility: public` source and applies
/// the document size limit.
pub(crate) fn prepare(
    source_id: &str,
    documents: Vec<Document>,
    max_chars: usize,
    public: bool,
) -> Vec<Document> {
    let mut by_id: HashMap<Uuid, Document> = HashMap::new();
    let mut order = Vec::new();
    for mut d in documents {
        d.source = source_id.to_string();
        if public {
            d.access = Some(DocAccess::Public);
        }
        if let Some(u) = &d.url {
            if !safe_link(u) {
                tracing::warn!(source = source_id, external_id = %d.external_id, "document url dropped: only http, https and mailto links are kept");
                d.url = None;
            }
        }
        if d.body.len() > max_chars {
            let cut = d.body.floor_char_boundary(max_chars);
            tracing::warn!(source = source_id, external_id = %d.external_id, chars = d.body.len(), limit = max_chars, "document body truncated (chunking.max_document_chars)");
            d.warnings.push(format!(
                "body of {} characters truncated to chunking.max_document_chars = {max_chars}",
                d.body.len()
            ));
            d.body.truncate(cut);
        }
        let id = d.doc_id();
        if by_id.insert(id, d).is_none() {
            order.push(id);
        }
    }
    order
        .into_iter()
        .filter_map(|id| by_id.remove(&id))
        .collect()
}

/// The access gate (fail closed), after the transform: a document whose
/// access is unknown, malformed or needs more principal sets than stores
/// hold is dead-lettered, and so is one whose access the transform widened
/// (`before` holds each record's access as the source gave it). Returns the
/// admitted documents and the ids refused here: their indexed versions must
/// be removed, not kept, since an older version may carry a broader access.
pub(crate) fn admit_access(
    source_id: &str,
    docs: Vec<Document>,
    before: &HashMap<Uuid, Option<DocAccess>>,
    dead_letters: &mut Vec<DeadLetter>,
) -> (Vec<Document>, HashSet<Uuid>) {
    let mut admitted = Vec::with_capacity(docs.len());
    let mut refused = HashSet::new();
    for d in docs {
        let source = before.get(&d.doc_id()).cloned().flatten();
        let problem = match &d.access {
            None => Some("the record's access is unknown (`public` and `acl` are missing or NULL); it is not indexed — keep both columns in the transform, or set `visibility: public` on the source if everyone may read it".to_string()),
            Some(a) => a.validate().err().or_else(|| source.as_ref().and_then(|s| widened(s, a))),
        };
        match problem {
            None => admitted.push(d),
            Some(error) => {
                refused.insert(d.doc_id());
                dead_letters.push(DeadLetter {
                    source: source_id.to_string(),
                    location: "access".into(),
                    external_id: Some(d.external_id.clone()),
                    error,
                });
            }
        }
    }
    (admitted, refused)
}

/// Why `after` lets someone read what `before` did not, or `None` when it
/// is as narrow or narrower: every set of `before` must contain some set
/// of `after` (a caller then holding a principal of each set of `after`
/// holds one of each set of `before`). Public may become anything.
pub(crate) fn widened(before: &DocAccess, after: &DocAccess) -> Option<String> {
    let DocAccess::AllOf(must) = before else {
        return None;
    };
    let DocAccess::AllOf(sets) = after else {
        return Some("the transform made a restricted record public; only the connector or the source's `visibility: public` can do that".into());
    };
    let uncovered = must.iter().find(|s| {
        !sets
            .iter()
            .any(|t| !t.is_empty() && t.iter().all(|p| s.contains(p)))
    })?;
    Some(format!(
        "the transform widened the record's access: nothing in its output narrows the source's set [{}] (a transform may add sets or drop principals, never drop a set, add principals or merge sets)",
        uncovered.join(", ")
    ))
}

/// Whether a document's `url` may be served as a link: `http`, `https`,
/// `mailto`, or relative. A `javascript:` or `data:` URL from any indexed
/// source would run script in whoever clicks it on the search page.
/// Browsers ignore whitespace and control characters inside a scheme, so
/// they are ignored here too.
pub(crate) fn safe_link(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    match cleaned.find(|c| [':', '/', '?', '#'].contains(&c)) {
        Some(i) if cleaned[i..].starts_with(':') => {
            matches!(&cleaned[..i], "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// Ids of the records that failed (dead letters), and whether any failed without an id.
pub(crate) fn failed_ids(source_id: &str, dead_letters: &[DeadLetter]) -> (HashSet<Uuid>, bool) {
    let mut failed = HashSet::new();
    let mut unidentified = false;
    for dl in dead_letters {
        match &dl.external_id {
            Some(ext) => {
                failed.insert(sluice_core::doc_id(source_id, ext));
            }
            None => unidentified = true,
        }
    }
    (failed, unidentified)
}

/// What the state store knows of these documents (their last write).
pub(crate) fn previous_states(
    state: &StateStore,
    pipeline: &str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, DocState>, String> {
    Ok(state
        .doc_states(pipeline, ids)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|s| (s.doc_id, s))
        .collect())
}

/// Documents whose content changed since their last write (or that are
/// new), in page order, with counts for the report.
pub(crate) struct Changes {
    pub changed: Vec<Document>,
    /// `changed[i]`'s content hash (computed once, here).
    pub content_hashes: Vec<String>,
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
}

pub(crate) fn changes(docs: Vec<Document>, previous: &HashMap<Uuid, DocState>) -> Changes {
    let mut c = Changes {
        changed: Vec::new(),
        content_hashes: Vec::new(),
        added: 0,
        updated: 0,
        unchanged: 0,
    };
    for d in docs {
        let hash = d.content_hash();
        match previous.get(&d.doc_id()) {
            Some(p) if p.content_hash == hash => {
                c.unchanged += 1;
                continue;
            }
            Some(_) => c.updated += 1,
            None => c.added += 1,
        }
        c.changed.push(d);
        c.content_hashes.push(hash);
    }
    c
}

/// What the state store keeps of a written document.
pub(crate) fn doc_state(d: &Document, content_hash: String, chunk_hashes: Vec<String>) -> DocState {
    let access = d
        .access
        .as_ref()
        .and_then(|a| serde_json::to_string(a).ok())
        .unwrap_or_default();
    // The caller replaces `source_access` with the pre-transform access.
    DocState {
        doc_id: d.doc_id(),
        source: d.source.clone(),
        external_id: d.external_id.clone(),
        content_hash,
        meta_hash: d.meta_hash(),
        chunk_hashes,
        source_access: access.clone(),
        access,
        graph: None,
    }
}

/// The document's part of the link graph, as the state store keeps it.
pub(crate) fn doc_graph(d: &Document, settings: &sluice_links::LinkSettings) -> DocGraph {
    let links = sluice_links::extract(d, settings);
    DocGraph {
        kind: d.kind.as_str().to_string(),
        title: d.title.clone(),
        url: d.url.clone(),
        names: links.names,
        edges: links
            .edges
            .into_iter()
            .map(|(k, t)| (k.as_str().to_string(), t))
            .collect(),
    }
}

/// The deletions to apply, once each. With a complete state store (every
/// write is recorded there) an id it does not know was never written;
/// otherwise (a Kafka worker's cache) every candidate is deleted.
pub(crate) fn deletes(
    candidates: &[Uuid],
    previous: &HashMap<Uuid, DocState>,
    state_is_complete: bool,
) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    candidates
        .iter()
        .copied()
        .filter(|id| (!state_is_complete || previous.contains_key(id)) && seen.insert(*id))
        .collect()
}

#[cfg(test)]
mod tests {
    use sluice_core::DocKind;

    use super::*;

    fn doc(ext: &str, body: &str) -> Document {
        let mut d = Document::new("wiki", ext, DocKind::Page);
        d.body = body.into();
        d
    }

    fn state_of(d: &Document) -> DocState {
        doc_state(d, d.content_hash(), Vec::new())
    }

    #[test]
    fn only_http_https_mailto_and_relative_links_are_kept() {
        for ok in [
            "https://wiki.example/x",
            "HTTP://a",
            "mailto:a@b.c",
            "/wiki/spaces/ENG",
            "page?id=1",
            "#top",
        ] {
            assert!(safe_link(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " JaVa\tScRiPt:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "vbscript:x",
            "file:///etc/passwd",
        ] {
            assert!(!safe_link(bad), "{bad}");
        }
        let mut d = doc("x", "");
        d.url = Some("javascript:alert(document.cookie)".into());
        assert_eq!(prepare("wiki", vec![d], 100, false)[0].url, None);
    }

    #[test]
    fn a_transform_may_narrow_access_but_never_widen_it() {
        let src = DocAccess::any_of(["g:a", "g:b"]).and(["u:x"]);
        assert_eq!(widened(&src, &src), None);
        assert_eq!(
            widened(&src, &DocAccess::any_of(["g:a"]).and(["u:x"])),
            None,
            "a principal dropped"
        );
        assert_eq!(widened(&src, &src.and(["g:c"])), None, "a set added");
        assert!(
            widened(&src, &DocAccess::any_of(["g:a", "g:b"])).is_some(),
            "a set dropped"
        );
        assert!(
            widened(&src, &DocAccess::any_of(["g:a", "g:b", "g:c"]).and(["u:x"])).is_some(),
            "a principal added"
        );
        assert!(
            widened(&src, &DocAccess::any_of(["g:a", "g:b", "u:x"])).is_some(),
            "sets merged (AND became OR)"
        );
        assert!(widened(&src, &DocAccess::Public).is_some());
        assert_eq!(
            widened(&DocAccess::Public, &DocAccess::any_of(["g:a"])),
            None
        );
    }

    #[test]
    fn later_versions_win_and_bodies_are_cut_on_a_char_boundary() {
        let docs = prepare(
            "wiki",
            vec![doc("a", "old"), doc("b", "ééé"), doc("a", "new")],
            3,
            false,
        );
        assert_eq!(
            docs.iter()
                .map(|d| (d.external_id.as_str(), d.body.as_str()))
                .collect::<Vec<_>>(),
            vec![("a", "new"), ("b", "é")]
        );
    }

    #[test]
    fn changes_compare_content_hashes() {
        let (a, b, c) = (doc("a", "same"), doc("b", "old"), doc("c", "new doc"));
        let previous: HashMap<Uuid, DocState> = [state_of(&a), state_of(&b)]
            .into_iter()
            .map(|s| (s.doc_id, s))
            .collect();
        let ch = changes(vec![a.clone(), doc("b", "changed"), c.clone()], &previous);
        assert_eq!((ch.added, ch.updated, ch.unchanged), (1, 1, 1));
        assert_eq!(
            ch.changed
                .iter()
                .map(|d| d.external_id.as_str())
                .collect::<Vec<_>>(),
            vec!["b", "c"]
        );
        assert_eq!(
            ch.content_hashes,
            vec![doc("b", "changed").content_hash(), c.content_hash()]
        );
        // Deletes: only known ids with a complete state; each once.
        let ids = vec![a.doc_id(), c.doc_id(), a.doc_id()];
        assert_eq!(deletes(&ids, &previous, true), vec![a.doc_id()]);
        assert_eq!(
            deletes(&ids, &previous, false),
            vec![a.doc_id(), c.doc_id()]
        );
    }

    #[test]
    fn failures_without_an_id_are_flagged() {
        let dl = |ext: Option<&str>| DeadLetter {
            source: "wiki".into(),
            location: "x".into(),
            external_id: ext.map(String::from),
            error: "bad".into(),
        };
        let (ids, unidentified) = failed_ids("wiki", &[dl(Some("a"))]);
        assert!(ids.contains(&sluice_core::doc_id("wiki", "a")) && !unidentified);
        assert!(failed_ids("wiki", &[dl(None)]).1);
    }
}
