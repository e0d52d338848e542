//! Who may read a document, and the one check every store applies.
//!
//! The model fails closed. A document is readable by everyone only when its
//! connector (a public GitLab project) or the pipeline author
//! (`visibility: public` on the source) said so. Otherwise its access is a
//! *conjunction of principal sets*: a caller must hold at least one
//! principal of every set. Real permission systems nest (a Confluence page
//! is readable when the space permits **and** each restricted ancestor
//! permits; GitLab needs membership **and** a feature's access level), and
//! a flat list cannot say that.
//!
//! Stores keep the sets in `MAX_ACL_SETS` indexed keyword fields
//! (`acl_0 … acl_3`) so every backend filters before its top-k. Unused slots,
//! and all slots of a public document, hold `ANY`; the caller's principals
//! always include `ANY`. A slot with no principals matches nobody, and a
//! chunk without the slots (written before this model) matches nobody: both
//! fail closed.

use serde::{Deserialize, Serialize};

/// Most principal sets one document may need (the `acl_N` fields). A
/// document that needs more is dead-lettered with the reason.
pub const MAX_ACL_SETS: usize = 4;

/// A principal nobody holds: the access of a record whose real access could
/// not be read (quarantined until a sync reads it). The identity map and
/// API keys refuse principals in the `sluice:` namespace.
pub const QUARANTINE: &str = "sluice:quarantine";

/// The filler of unused slots. Principals are qualified (`system:instance:
/// kind:id`) or written by the pipeline author, and `*` is rejected as a
/// principal, so it cannot collide with a real one.
pub const ANY: &str = "*";

/// A principal of one system instance, `system:instance:local` — e.g.
/// `confluence:acme-wiki:group:hr`, where the instance is the pipeline's
/// source id. Same-named groups of two systems (or two sources) never match
/// each other; the identity map says which a caller holds.
pub fn qualify(system: &str, instance: &str, local: &str) -> String {
    format!("{system}:{instance}:{local}")
}

/// The stored field name of slot `i`.
pub fn acl_field(i: usize) -> String {
    format!("acl_{i}")
}

/// The slots a store keeps for a document: its access's, or (when nobody
/// said, which the engine never lets through) slots that match nobody.
pub fn stored_slots(access: Option<&DocAccess>) -> Vec<Vec<String>> {
    match access {
        Some(a) => a.slots(),
        None => vec![Vec::new(); MAX_ACL_SETS],
    }
}

/// The slots of a stored chunk record (a Qdrant payload, an Elasticsearch
/// `_source`); empty when any is missing (a chunk written before the access
/// model), which only `Access::All` reads.
pub fn slots_from_record(record: &serde_json::Map<String, serde_json::Value>) -> Vec<Vec<String>> {
    let mut slots = Vec::with_capacity(MAX_ACL_SETS);
    for i in 0..MAX_ACL_SETS {
        let Some(list) = record.get(&acl_field(i)).and_then(|v| v.as_array()) else {
            return Vec::new();
        };
        slots.push(
            list.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect(),
        );
    }
    slots
}

/// A document's access.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocAccess {
    /// Readable by every caller, including unauthenticated ones.
    Public,
    /// Readable by a caller holding a principal of every set.
    AllOf(Vec<Vec<String>>),
}

impl DocAccess {
    /// Readable by holders of any of `principals` (one set).
    pub fn any_of<I, S>(principals: I) -> DocAccess
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        DocAccess::AllOf(vec![normalise(
            principals.into_iter().map(Into::into).collect(),
        )])
    }

    /// This access narrowed by one more set (e.g. a comment's visibility on
    /// top of its issue's access). Narrowing public gives just the set.
    pub fn and<I, S>(&self, principals: I) -> DocAccess
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let set = normalise(principals.into_iter().map(Into::into).collect());
        match self {
            DocAccess::Public => DocAccess::AllOf(vec![set]),
            DocAccess::AllOf(sets) => {
                let mut sets = sets.clone();
                if !sets.contains(&set) {
                    sets.push(set);
                }
                DocAccess::AllOf(sets)
            }
        }
    }

    /// Checks the shape a store can hold: 1..=`MAX_ACL_SETS` sets, none
    /// empty, no blank or `*` principal. The message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let DocAccess::AllOf(sets) = self else {
            return Ok(());
        };
        if sets.is_empty() {
            return Err("the access has no principal sets: nobody could read the document (use `public` only when the source is public)".into());
        }
        if sets.len() > MAX_ACL_SETS {
            return Err(format!(
                "the access needs {} principal sets; stores hold at most {MAX_ACL_SETS} (acl_0…acl_{}), so the document is not indexed",
                sets.len(),
                MAX_ACL_SETS - 1
            ));
        }
        for (i, set) in sets.iter().enumerate() {
            if set.is_empty() {
                return Err(format!(
                    "access set {i} has no principals: nobody could read the document"
                ));
            }
            if let Some(p) = set
                .iter()
                .find(|p| p.trim().is_empty() || p.as_str() == ANY)
            {
                return Err(format!(
                    "access set {i} holds the principal `{p}`, which is not allowed (blank or `*`)"
                ));
            }
        }
        Ok(())
    }

    /// The `MAX_ACL_SETS` stored slots; slots that match nobody when the
    /// access is not valid (`validate`), so no caller of a store can turn a
    /// malformed access into a public one.
    pub fn slots(&self) -> Vec<Vec<String>> {
        if self.validate().is_err() {
            return vec![Vec::new(); MAX_ACL_SETS];
        }
        let mut slots = match self {
            DocAccess::Public => Vec::new(),
            DocAccess::AllOf(sets) => sets
                .iter()
                .take(MAX_ACL_SETS)
                .map(|s| normalise(s.clone()))
                .collect(),
        };
        while slots.len() < MAX_ACL_SETS {
            slots.push(vec![ANY.to_string()]);
        }
        slots
    }

    /// Reads stored slots back (`None` when they are not a valid stored form).
    pub fn from_slots(slots: &[Vec<String>]) -> Option<DocAccess> {
        if slots.len() != MAX_ACL_SETS {
            return None;
        }
        let sets: Vec<Vec<String>> = slots
            .iter()
            .filter(|s| !(s.len() == 1 && s[0] == ANY))
            .cloned()
            .collect();
        if sets.is_empty() {
            Some(DocAccess::Public)
        } else {
            Some(DocAccess::AllOf(sets))
        }
    }

    /// Every principal named (for the identity report and tests).
    pub fn principals(&self) -> Vec<&str> {
        match self {
            DocAccess::Public => Vec::new(),
            DocAccess::AllOf(sets) => sets.iter().flatten().map(String::as_str).collect(),
        }
    }
}

fn normalise(mut set: Vec<String>) -> Vec<String> {
    set.sort();
    set.dedup();
    set
}

/// Who is asking. Search never returns a document whose access the caller
/// does not satisfy; `All` is for trusted local use (operators on the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    All,
    /// The caller's principals as stored (qualified); public documents are
    /// always visible.
    Principals(Vec<String>),
}

impl Access {
    pub fn public_only() -> Access {
        Access::Principals(Vec::new())
    }

    /// The terms each `acl_N` slot must contain one of, or `None` when
    /// nothing restricts (`All`). The single definition of the query-side
    /// check: the embedded index, Qdrant and Elasticsearch each turn it into
    /// "for every slot N: `acl_N` ∈ terms", and `allows` is the same rule in
    /// memory.
    pub fn slot_terms(&self) -> Option<Vec<String>> {
        match self {
            Access::All => None,
            Access::Principals(p) => {
                let mut terms: Vec<String> =
                    p.iter().filter(|p| p.as_str() != ANY).cloned().collect();
                terms.push(ANY.to_string());
                terms.sort();
                terms.dedup();
                Some(terms)
            }
        }
    }

    /// True when a chunk with these stored slots is readable. Anything but
    /// exactly `MAX_ACL_SETS` slots (a chunk stored before the access
    /// model) is readable by `All` only.
    pub fn allows(&self, slots: &[Vec<String>]) -> bool {
        let Some(terms) = self.slot_terms() else {
            return true;
        };
        slots.len() == MAX_ACL_SETS
            && slots
                .iter()
                .all(|slot| slot.iter().any(|p| terms.contains(p)))
    }

    pub fn allows_doc(&self, access: &DocAccess) -> bool {
        self.allows(&access.slots())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(p: &[&str]) -> Access {
        Access::Principals(p.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn public_is_readable_by_everyone_and_restricted_by_its_sets_only() {
        assert!(Access::public_only().allows_doc(&DocAccess::Public));
        let hr = DocAccess::any_of(["confluence:wiki:group:hr"]);
        assert!(!Access::public_only().allows_doc(&hr));
        assert!(
            !who(&["slack:acme:group:hr"]).allows_doc(&hr),
            "a same-named group of another system"
        );
        assert!(who(&["confluence:wiki:group:hr"]).allows_doc(&hr));
        assert!(Access::All.allows_doc(&hr));
    }

    #[test]
    fn every_set_must_match() {
        // Space readers AND the restricted parent's readers.
        let page = DocAccess::any_of(["c:w:group:staff", "c:w:user:bob"]).and(["c:w:user:ann"]);
        assert!(!who(&["c:w:group:staff"]).allows_doc(&page));
        assert!(!who(&["c:w:user:ann"]).allows_doc(&page));
        assert!(who(&["c:w:group:staff", "c:w:user:ann"]).allows_doc(&page));
        assert_eq!(page.slots()[2], vec![ANY.to_string()]);
    }

    #[test]
    fn a_caller_cannot_claim_the_filler() {
        let page = DocAccess::any_of(["c:w:group:staff"]);
        assert!(!who(&["*"]).allows_doc(&page));
        assert!(DocAccess::any_of(["*"]).validate().is_err());
    }

    #[test]
    fn bad_shapes_are_refused_with_the_reason() {
        assert!(
            DocAccess::AllOf(vec![])
                .validate()
                .unwrap_err()
                .contains("no principal sets")
        );
        assert!(
            DocAccess::AllOf(vec![vec![]])
                .validate()
                .unwrap_err()
                .contains("set 0 has no principals")
        );
        let five = DocAccess::AllOf((0..5).map(|i| vec![format!("u:{i}")]).collect());
        assert!(five.validate().unwrap_err().contains("at most 4"));
        assert!(DocAccess::any_of(["a"]).validate().is_ok());
        assert!(DocAccess::Public.validate().is_ok());
    }

    #[test]
    fn invalid_access_is_stored_as_nobody() {
        for bad in [
            DocAccess::AllOf(vec![]),
            DocAccess::AllOf((0..5).map(|i| vec![format!("u:{i}")]).collect()),
            DocAccess::any_of(["*"]),
        ] {
            let slots = bad.slots();
            assert!(!who(&["u:0", "*"]).allows(&slots), "{bad:?}");
            assert!(!Access::public_only().allows(&slots), "{bad:?}");
        }
    }

    #[test]
    fn slots_round_trip_and_old_chunks_are_hidden() {
        for a in [
            DocAccess::Public,
            DocAccess::any_of(["b", "a"]),
            DocAccess::any_of(["a"]).and(["b"]).and(["c"]),
        ] {
            assert_eq!(DocAccess::from_slots(&a.slots()), Some(a.clone()));
        }
        // A chunk stored before the access model carries no slots.
        assert!(!Access::public_only().allows(&[]));
        assert!(!who(&["a"]).allows(&[vec!["a".into()]]));
        assert!(Access::All.allows(&[]));
        // An empty slot matches nobody.
        let mut slots = DocAccess::Public.slots();
        slots[1].clear();
        assert!(!who(&["a"]).allows(&slots));
    }
}
