//! The document model every source produces and every sink consumes.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::DocAccess;
use crate::ids;

/// What a document is in its source system. Kept closed so filters and
/// facets have a known vocabulary; `Document` covers generic files/records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Page,
    BlogPost,
    Issue,
    Comment,
    Message,
    Thread,
    MergeRequest,
    WikiPage,
    File,
    Attachment,
    Document,
}

impl DocKind {
    pub const ALL: [DocKind; 11] = [
        DocKind::Page,
        DocKind::BlogPost,
        DocKind::Issue,
        DocKind::Comment,
        DocKind::Message,
        DocKind::Thread,
        DocKind::MergeRequest,
        DocKind::WikiPage,
        DocKind::File,
        DocKind::Attachment,
        DocKind::Document,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            DocKind::Page => "page",
            DocKind::BlogPost => "blog_post",
            DocKind::Issue => "issue",
            DocKind::Comment => "comment",
            DocKind::Message => "message",
            DocKind::Thread => "thread",
            DocKind::MergeRequest => "merge_request",
            DocKind::WikiPage => "wiki_page",
            DocKind::File => "file",
            DocKind::Attachment => "attachment",
            DocKind::Document => "document",
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        let alias = match norm.as_str() {
            "mr" => "merge_request",
            "blogpost" => "blog_post",
            "wiki" => "wiki_page",
            other => other,
        };
        DocKind::ALL
            .iter()
            .find(|k| k.as_str() == alias)
            .copied()
            .ok_or_else(|| {
                let names: Vec<_> = DocKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown document kind `{s}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// One source record, normalised. `access` says who may read it; `None`
/// means nobody said, and the engine dead-letters such a document rather
/// than guess (see `access.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub source: String,
    pub external_id: String,
    pub kind: DocKind,
    pub title: String,
    pub body: String,
    pub url: Option<String>,
    pub author: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub parent_id: Option<String>,
    pub thread_id: Option<String>,
    pub breadcrumb: Vec<String>,
    pub labels: Vec<String>,
    pub metadata: BTreeMap<String, serde_json::Value>,
    pub access: Option<DocAccess>,
    /// What converting the record had to give up on (markup nested past a
    /// limit, a body truncated, chunks past the cap). The document is
    /// indexed as converted; the engine records each warning as a
    /// dead-letter note. Not content: it is not hashed or stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Document {
    pub fn new(source: impl Into<String>, external_id: impl Into<String>, kind: DocKind) -> Self {
        Document {
            source: source.into(),
            external_id: external_id.into(),
            kind,
            title: String::new(),
            body: String::new(),
            url: None,
            author: None,
            created_at: None,
            updated_at: None,
            parent_id: None,
            thread_id: None,
            breadcrumb: Vec::new(),
            labels: Vec::new(),
            metadata: BTreeMap::new(),
            access: None,
            warnings: Vec::new(),
        }
    }

    pub fn doc_id(&self) -> Uuid {
        ids::doc_id(&self.source, &self.external_id)
    }

    /// Hash of everything except the body: when only this changes, chunks
    /// keep their vectors and sinks just refresh the payload.
    pub fn meta_hash(&self) -> String {
        let meta = serde_json::json!([
            self.kind,
            self.title,
            self.url,
            self.author,
            self.created_at,
            self.updated_at,
            self.parent_id,
            self.thread_id,
            self.breadcrumb,
            self.labels,
            self.metadata,
            self.access,
        ]);
        ids::content_hash(meta.to_string().as_bytes())
    }

    /// Hash of the whole document; equal hashes mean nothing to do.
    pub fn content_hash(&self) -> String {
        let mut bytes = self.meta_hash().into_bytes();
        bytes.push(0x1f);
        bytes.extend_from_slice(self.body.as_bytes());
        ids::content_hash(&bytes)
    }

    /// Readable by holders of any of `principals` (one set).
    pub fn with_readers<I, S>(mut self, principals: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.access = Some(DocAccess::any_of(principals));
        self
    }
}

/// A piece of a document that gets one embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub chunk_id: Uuid,
    pub doc_id: Uuid,
    pub ordinal: u32,
    /// The exact text embedded and indexed (title context + chunk body).
    pub text: String,
    pub content_hash: String,
    pub token_count: u32,
}

impl Chunk {
    pub fn new(doc_id: Uuid, ordinal: u32, text: String, token_count: u32) -> Self {
        Chunk {
            chunk_id: ids::chunk_id(&doc_id, ordinal),
            doc_id,
            ordinal,
            content_hash: ids::content_hash(text.as_bytes()),
            text,
            token_count,
        }
    }
}

/// A record that could not be turned into a document. It is kept (in the
/// state store) and reported; the rest of its page is still indexed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub source: String,
    /// Where it came from: file:line, URL, offset…
    pub location: String,
    pub external_id: Option<String>,
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_parses_aliases_and_rejects_unknown() {
        assert_eq!("mr".parse::<DocKind>().unwrap(), DocKind::MergeRequest);
        assert_eq!("Blog-Post".parse::<DocKind>().unwrap(), DocKind::BlogPost);
        let err = "ticket".parse::<DocKind>().unwrap_err();
        assert!(err.contains("unknown document kind `ticket`"), "{err}");
        for k in DocKind::ALL {
            assert_eq!(k.as_str().parse::<DocKind>().unwrap(), k);
        }
    }

    #[test]
    fn hashes_track_body_and_meta_separately() {
        let mut d = Document::new("s", "1", DocKind::Page);
        d.title = "T".into();
        d.body = "hello".into();
        let (h, m) = (d.content_hash(), d.meta_hash());
        d.body = "hello!".into();
        assert_ne!(d.content_hash(), h);
        assert_eq!(d.meta_hash(), m);
        d.labels.push("x".into());
        assert_ne!(d.meta_hash(), m);
    }

    #[test]
    fn a_new_document_has_no_access_until_someone_says() {
        let d = Document::new("s", "1", DocKind::Page);
        assert_eq!(d.access, None);
        let d = d.with_readers(["x:y:group:hr"]);
        assert_eq!(d.access, Some(DocAccess::any_of(["x:y:group:hr"])));
    }

    #[test]
    fn chunk_hash_follows_text() {
        let id = ids::doc_id("s", "1");
        let a = Chunk::new(id, 0, "abc".into(), 1);
        let b = Chunk::new(id, 0, "abd".into(), 1);
        assert_eq!(a.chunk_id, b.chunk_id);
        assert_ne!(a.content_hash, b.content_hash);
    }
}
