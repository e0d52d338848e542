//! What the last complete run read from each file, so an unchanged file is
//! not read or parsed again: its records are listed as live by id.
//!
//! The manifest travels as the source's cursor. The engine commits a cursor
//! only with the page that carries it, after every destination acknowledged
//! that page, and this source puts it on its last page only: a manifest
//! therefore describes records that are all committed. A crash mid-run
//! leaves the previous manifest (files changed since are read again, and
//! their unchanged records cost a hash). A reset checkpoint (`--full`, a new
//! embedding model, a state migration) gives no cursor, so every file is
//! read: the skip never hides a rewrite the engine asked for.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped when the meaning of an entry changes; an older manifest is ignored.
const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub size: u64,
    /// RFC 3339, as the object store reports it.
    pub modified: String,
    /// SHA-256 of the bytes, hex: a touched but unchanged file is not parsed.
    pub sha256: String,
    /// External ids of the documents the file gave.
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    version: u32,
    /// Hash of the source's settings: another mapping, glob or format makes
    /// other documents from the same bytes.
    settings: String,
    pub files: BTreeMap<String, FileEntry>,
}

impl Manifest {
    pub fn new(settings_fingerprint: String) -> Manifest {
        Manifest {
            version: VERSION,
            settings: settings_fingerprint,
            files: BTreeMap::new(),
        }
    }

    /// The manifest in `cursor` if it was written by this version for these
    /// settings; anything else (absent, garbled, older, other settings) is
    /// no manifest, and every file is read.
    pub fn from_cursor(cursor: Option<&str>, settings_fingerprint: &str) -> Option<Manifest> {
        let m: Manifest = serde_json::from_str(cursor?).ok()?;
        (m.version == VERSION && m.settings == settings_fingerprint).then_some(m)
    }

    pub fn to_cursor(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub fn fingerprint(settings: &impl Serialize) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(settings).unwrap_or_default(),
    ))
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_manifest_of_this_version_and_these_settings_is_used() {
        let mut m = Manifest::new("s1".into());
        m.files.insert(
            "a.md".into(),
            FileEntry {
                size: 3,
                modified: "t".into(),
                sha256: "h".into(),
                ids: vec!["a".into()],
            },
        );
        let c = m.to_cursor();
        assert_eq!(Manifest::from_cursor(Some(&c), "s1"), Some(m.clone()));
        assert_eq!(
            Manifest::from_cursor(Some(&c), "s2"),
            None,
            "other settings"
        );
        assert_eq!(Manifest::from_cursor(None, "s1"), None);
        assert_eq!(Manifest::from_cursor(Some("{not json"), "s1"), None);
        let old = c.replace("\"version\":1", "\"version\":0");
        assert_eq!(
            Manifest::from_cursor(Some(&old), "s1"),
            None,
            "older version"
        );
    }
}
