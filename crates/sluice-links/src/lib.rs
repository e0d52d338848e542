//! The cross-source link graph, extraction side: what each document is
//! called (its *names*) and what it refers to (typed *edges* to names).
//! Deterministic and offline: the references the sources themselves carry,
//! no model and no network.
//!
//! A reference is stored as a name, not as a document id, and resolved
//! when the graph is read (a join of edge targets with names). So a
//! Slack thread that mentions `PAY-1432` before the Jira source indexed
//! that issue links to it as soon as the issue arrives, and deleting a
//! document (its names and edges) removes every link to and from it.
//!
//! Names (see [`names`]):
//! - `doc:<source>:<external id>`, what a parent id refers to;
//! - `jira:<KEY>` for a Jira issue (its `/browse/KEY` URL or key-shaped id);
//! - `gitlab:<group/project>#<iid>` and `gitlab:<group/project>!<iid>`;
//! - `gitlab-commit:<group/project>@<first 7 hex of the SHA>` for each
//!   commit of a merge request (its `metadata.commits`), so a commit URL
//!   or `group/project@sha` reference resolves to the merge request;
//! - `confluence:<host>:<page id>` and `page-title:<title>` for pages;
//! - `slack:<channel>:<thread ts>` for a Slack thread's permalink;
//! - `url:<normalised URL>` for any document with a URL.
//!
//! Edges ([`EdgeKind`]) are read from the converted text (code blocks and
//! inline code skipped) and from the link targets a connector found in the
//! raw markup ([`markup_targets`], kept under the document's
//! `metadata.links`, because converting to text drops link targets).

mod choose;
pub mod markup;

use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use sluice_core::{DocKind, Document};

pub use choose::choose_related;
pub use markup::markup_targets;

/// The document metadata key where connectors keep [`markup_targets`].
pub const METADATA_KEY: &str = "links";

/// Bounds on what one document contributes (hostile input stays small).
pub const MAX_EDGES: usize = 500;
pub const MAX_NAMES: usize = 64;

/// The document metadata key where the GitLab connector keeps a merge
/// request's commit SHAs.
pub const COMMITS_KEY: &str = "commits";

/// How one document refers to another, named from the referring side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Its parent: a Confluence page's parent page, a Slack thread part's first part.
    ChildOf,
    /// A closing reference: `Closes #12`, `fixes group/project#7`.
    Closes,
    /// A Jira issue macro in a Confluence page.
    Embeds,
    /// A link: a URL of an indexed system, a Confluence page link (`ac:link` / `ri:page`).
    LinksTo,
    /// A Jira issue key or GitLab reference in the text.
    Mentions,
    /// A person mentioned (`@handle`); people are not documents.
    MentionsPerson,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 6] = [
        EdgeKind::ChildOf,
        EdgeKind::Closes,
        EdgeKind::Embeds,
        EdgeKind::LinksTo,
        EdgeKind::Mentions,
        EdgeKind::MentionsPerson,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::ChildOf => "child_of",
            EdgeKind::Closes => "closes",
            EdgeKind::Embeds => "embeds",
            EdgeKind::LinksTo => "links_to",
            EdgeKind::Mentions => "mentions",
            EdgeKind::MentionsPerson => "mentions_person",
        }
    }

    pub fn parse(s: &str) -> Option<EdgeKind> {
        EdgeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Which of two edges between the same documents to show: the more
    /// specific relation first.
    pub fn strength(self) -> u8 {
        match self {
            EdgeKind::Closes => 5,
            EdgeKind::ChildOf => 4,
            EdgeKind::Embeds => 3,
            EdgeKind::LinksTo => 2,
            EdgeKind::Mentions => 1,
            EdgeKind::MentionsPerson => 0,
        }
    }
}

/// What restricts extraction beyond the text itself.
#[derive(Debug, Clone, Default)]
pub struct LinkSettings {
    /// Jira project keys the pipeline reads (`PAY`, `OPS`). When known,
    /// only keys of these projects are references; when not (a files
    /// source holding a Jira export), any key-shaped word is kept and only
    /// those naming an indexed issue ever resolve.
    pub jira_projects: Option<BTreeSet<String>>,
}

/// One document's part of the graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocLinks {
    pub names: Vec<String>,
    pub edges: Vec<(EdgeKind, String)>,
}

/// The names and edges of `doc`.
pub fn extract(doc: &Document, settings: &LinkSettings) -> DocLinks {
    let names = names(doc);
    let own: HashSet<&str> = names.iter().map(String::as_str).collect();
    let project = names
        .iter()
        .find_map(|n| n.strip_prefix("gitlab:"))
        .and_then(|r| r.rsplit_once(['#', '!']).map(|(p, _)| p.to_string()));
    let mut edges: BTreeSet<(EdgeKind, String)> = BTreeSet::new();
    let mut add = |kind: EdgeKind, target: String| {
        if edges.len() < MAX_EDGES && !own.contains(target.as_str()) {
            edges.insert((kind, target));
        }
    };
    if let Some(parent) = doc.parent_id.as_deref().filter(|p| !p.is_empty()) {
        add(EdgeKind::ChildOf, format!("doc:{}:{parent}", doc.source));
    }
    if let Some(serde_json::Value::Array(targets)) = doc.metadata.get(METADATA_KEY) {
        for t in targets.iter().filter_map(|t| t.as_str()) {
            if let Some(title) = t.strip_prefix(markup::PAGE_TITLE) {
                add(EdgeKind::LinksTo, page_title_name(title));
            } else if t.starts_with(markup::PERSON) {
                add(EdgeKind::MentionsPerson, t.to_string());
            } else if let Some(u) = t.strip_prefix(markup::GITLAB_CLOSES) {
                if let Some(name) = url_names(u).into_iter().next() {
                    add(EdgeKind::Closes, name);
                }
            } else if let Some(key) = t.strip_prefix(markup::JIRA_LINK) {
                if is_jira_key(key) {
                    add(EdgeKind::LinksTo, format!("jira:{key}"));
                }
            } else if let Some(key) = t.strip_prefix(markup::JIRA_MACRO) {
                if jira_key_allowed(key, settings) {
                    add(EdgeKind::Embeds, format!("jira:{key}"));
                }
            } else if let Some(name) = url_names(t).into_iter().next() {
                add(EdgeKind::LinksTo, name);
            }
        }
    }
    let mut text = String::with_capacity(doc.title.len() + doc.body.len() + 1);
    text.push_str(&doc.title);
    text.push('\n');
    text.push_str(&doc.body);
    let text = without_code(&text);
    // URLs first, then blanked, so a key inside a URL is not read twice.
    let mut rest = text.clone();
    for m in URL.find_iter(&text) {
        let u = trim_url(m.as_str());
        if let Some(name) = url_names(u).into_iter().next() {
            add(EdgeKind::LinksTo, name);
        }
        rest.replace_range(m.range(), &" ".repeat(m.len()));
    }
    let text = rest;
    let mut closed = HashSet::new();
    for c in CLOSING.captures_iter(&text) {
        if let Some(r) = c.get(1) {
            let reference = r.as_str();
            let target = match reference.strip_prefix('#') {
                Some(n) => project.as_ref().map(|p| format!("gitlab:{p}#{n}")),
                None => Some(format!("gitlab:{}", reference.to_ascii_lowercase())),
            };
            if let Some(t) = target {
                closed.insert(t.clone());
                add(EdgeKind::Closes, t);
            }
        }
    }
    for m in GITLAB_REF.find_iter(&text) {
        if bounded(&text, m.start(), m.end(), b"/._-") {
            let t = format!("gitlab:{}", m.as_str().to_ascii_lowercase());
            if !closed.contains(&t) {
                add(EdgeKind::Mentions, t);
            }
        }
    }
    if let Some(p) = &project {
        for c in SHORT_REF.captures_iter(&text) {
            if let (Some(sep), Some(n)) = (c.get(2), c.get(3)) {
                let t = format!("gitlab:{p}{}{}", sep.as_str(), n.as_str());
                if !closed.contains(&t) {
                    add(EdgeKind::Mentions, t);
                }
            }
        }
    }
    for c in COMMIT_REF.captures_iter(&text) {
        if let (Some(project), Some(sha)) = (c.get(1), c.get(2))
            && bounded(&text, c.get(0).map_or(0, |m| m.start()), sha.end(), b"/._-")
        {
            add(
                EdgeKind::Mentions,
                commit_name(project.as_str(), sha.as_str()),
            );
        }
    }
    for m in JIRA_KEY.find_iter(&text) {
        if bounded(&text, m.start(), m.end(), b"/._-") && !version_like(&text, m.end()) {
            let key = m.as_str();
            if jira_key_allowed(key, settings) {
                add(EdgeKind::Mentions, format!("jira:{key}"));
            }
        }
    }
    for c in PERSON.captures_iter(&text) {
        if let Some(h) = c.get(1) {
            let handle = h.as_str().trim_end_matches(['.', '-']);
            if !handle.is_empty() {
                add(
                    EdgeKind::MentionsPerson,
                    format!("person:{}", handle.to_lowercase()),
                );
            }
        }
    }
    DocLinks {
        names,
        edges: edges.into_iter().collect(),
    }
}

fn jira_key_allowed(key: &str, settings: &LinkSettings) -> bool {
    match (&settings.jira_projects, key.split_once('-')) {
        (Some(projects), Some((project, _))) => projects.contains(project),
        (None, Some(_)) => true,
        _ => false,
    }
}

/// The names `doc` answers to, most specific first.
pub fn names(doc: &Document) -> Vec<String> {
    let mut out = vec![format!("doc:{}:{}", doc.source, doc.external_id)];
    if let Some(u) = &doc.url {
        out.extend(url_names(u));
    }
    let id = doc.external_id.as_str();
    if doc.kind == DocKind::Issue && is_jira_key(id) {
        out.push(format!("jira:{id}"));
    }
    if matches!(doc.kind, DocKind::Issue | DocKind::MergeRequest)
        && GITLAB_REF
            .find(id)
            .is_some_and(|m| m.range() == (0..id.len()))
    {
        out.push(format!("gitlab:{}", id.to_ascii_lowercase()));
    }
    if matches!(
        doc.kind,
        DocKind::Page | DocKind::BlogPost | DocKind::WikiPage
    ) && !doc.title.trim().is_empty()
    {
        out.push(page_title_name(&doc.title));
    }
    // A merge request answers to its commits (after the other names: past
    // `MAX_NAMES`, the last commits are the ones left out).
    let project = out
        .iter()
        .find_map(|n| n.strip_prefix("gitlab:"))
        .and_then(|r| r.split_once('!').map(|(p, _)| p.to_string()));
    if let (DocKind::MergeRequest, Some(p), Some(serde_json::Value::Array(shas))) =
        (&doc.kind, project, doc.metadata.get(COMMITS_KEY))
    {
        for sha in shas.iter().filter_map(|s| s.as_str()) {
            if sha.len() >= 7 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push(commit_name(&p, sha));
            }
        }
    }
    let mut seen = HashSet::new();
    out.retain(|n| seen.insert(n.clone()));
    out.truncate(MAX_NAMES);
    out
}

/// `gitlab-commit:<project>@<sha7>`: seven hex digits, the shortest
/// abbreviation Git and GitLab show, so short and full SHAs meet.
fn commit_name(project: &str, sha: &str) -> String {
    format!(
        "gitlab-commit:{}@{}",
        project.to_ascii_lowercase(),
        sha[..7].to_ascii_lowercase()
    )
}

fn page_title_name(title: &str) -> String {
    let t: Vec<&str> = title.split_whitespace().collect();
    format!("page-title:{}", t.join(" ").to_lowercase())
}

fn is_jira_key(s: &str) -> bool {
    JIRA_KEY.find(s).is_some_and(|m| m.range() == (0..s.len()))
}

/// The names a URL can stand for, the system's own first: a Jira issue,
/// GitLab issue or merge request, Confluence page or Slack thread, then
/// the normalised URL itself. Empty for what is not an http(s) URL.
pub fn url_names(raw: &str) -> Vec<String> {
    let Ok(u) = url::Url::parse(raw.trim()) else {
        return Vec::new();
    };
    if !matches!(u.scheme(), "http" | "https") {
        return Vec::new();
    }
    let Some(host) = u.host_str().map(str::to_ascii_lowercase) else {
        return Vec::new();
    };
    let path = u.path();
    let query = |k: &str| {
        u.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    let mut out = Vec::new();
    if let Some(key) = path
        .split_once("/browse/")
        .map(|(_, k)| k.trim_end_matches('/'))
        .filter(|k| is_jira_key(k))
        .map(str::to_string)
        .or_else(|| query("selectedIssue").filter(|k| is_jira_key(k)))
    {
        out.push(format!("jira:{key}"));
    }
    if let Some((project, rest)) = path.trim_start_matches('/').split_once("/-/") {
        let mut parts = rest.split('/');
        let sep = match parts.next() {
            Some("issues") => Some('#'),
            Some("merge_requests") => Some('!'),
            _ => None,
        };
        if let (Some(sep), Some(n)) = (sep, parts.next().filter(|n| is_number(n))) {
            out.push(format!("gitlab:{}{sep}{n}", project.to_ascii_lowercase()));
        }
        let mut parts = rest.split('/');
        if let (Some("commit"), Some(sha)) = (parts.next(), parts.next())
            && (7..=64).contains(&sha.len())
            && sha.bytes().all(|b| b.is_ascii_hexdigit())
        {
            out.push(commit_name(project, sha));
        }
    }
    let page = path
        .split_once("/pages/")
        .and_then(|(_, r)| r.split('/').next())
        .filter(|id| is_number(id))
        .map(str::to_string)
        .or_else(|| query("pageId").filter(|id| is_number(id)));
    if let Some(id) = page {
        out.push(format!("confluence:{host}:{id}"));
    }
    if let Some(rest) = path.strip_prefix("/archives/") {
        let mut parts = rest.split('/');
        if let (Some(channel), Some(p)) = (parts.next(), parts.next()) {
            let ts = query("thread_ts").or_else(|| {
                p.strip_prefix('p')
                    .filter(|d| d.len() > 6 && is_number(d))
                    .map(|d| format!("{}.{}", &d[..d.len() - 6], &d[d.len() - 6..]))
            });
            if let Some(ts) = ts {
                out.push(format!("slack:{channel}:{ts}"));
            }
        }
    }
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = path.trim_end_matches('/');
    let query = u.query().map(|q| format!("?{q}")).unwrap_or_default();
    out.push(format!("url:{}://{host}{port}{path}{query}", u.scheme()));
    out
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"https?://[^\s<>"'`|\\\[\]{}]+"#).expect("valid regex"));
static JIRA_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,6}").expect("valid regex"));
static GITLAB_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)+[#!][0-9]{1,9}")
        .expect("valid regex")
});
/// GitLab's cross-project commit reference, `group/project@9ba12248`.
static COMMIT_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)+)@([0-9a-f]{7,40})\b")
        .expect("valid regex")
});
static SHORT_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|[\s(\[,;])([#!])([0-9]{1,9})\b").expect("valid regex"));
static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:clos(?:e|es|ed|ing)|fix(?:|es|ed|ing)|resolv(?:e|es|ed|ing)|implement(?:s|ed|ing)?)\b:?\s+((?:[A-Za-z0-9][A-Za-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)+)?#[0-9]{1,9})\b",
    )
    .expect("valid regex")
});
static PERSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s(,;])@([A-Za-z][A-Za-z0-9_.-]{1,38})").expect("valid regex")
});

/// A match stands alone: no word character or one of `joiners` just before
/// it, and no word character just after.
fn bounded(text: &str, start: usize, end: usize, joiners: &[u8]) -> bool {
    let b = text.as_bytes();
    let before = start.checked_sub(1).map(|i| b[i]);
    let after = b.get(end).copied();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    before.is_none_or(|c| !word(c) && !joiners.contains(&c)) && after.is_none_or(|c| !word(c))
}

/// `ABC-1.2`, `ABC-1-rc`: a version, not an issue key.
fn version_like(text: &str, end: usize) -> bool {
    let b = text.as_bytes();
    matches!(b.get(end), Some(b'.' | b'-')) && b.get(end + 1).is_some_and(u8::is_ascii_digit)
}

/// Longest URL read; longer ones are not links anyone wrote by hand.
const MAX_URL: usize = 2048;

fn trim_url(u: &str) -> &str {
    let mut u = u.trim_end_matches(['.', ',', ';', ':', '!', '?', '*', '_', '~']);
    if u.len() > MAX_URL {
        return "";
    }
    // A closing parenthesis belongs to the URL only when it opened one
    // (counted once: linear however many there are).
    let opened = u.matches('(').count();
    let mut closed = u.matches(')').count();
    while u.ends_with(')') && opened < closed {
        u = u[..u.len() - 1].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        closed -= 1;
    }
    u
}

/// The text with fenced code blocks and inline code blanked (same
/// length in bytes, so offsets stay): references in code are not links.
/// A fence counts wherever it stands: a Slack message's code starts on its
/// `[HH:MM] Author:` line. An unclosed fence blanks the rest.
pub fn without_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, segment) in text.split("```").enumerate() {
        if i > 0 {
            out.push_str("   ");
        }
        if i % 2 == 1 {
            out.extend(segment.bytes().map(|b| if b == b'\n' { '\n' } else { ' ' }));
            continue;
        }
        for (j, line) in segment.split('\n').enumerate() {
            if j > 0 {
                out.push('\n');
            }
            let mut in_code = false;
            for c in line.chars() {
                if c == '`' {
                    in_code = !in_code;
                    out.push(' ');
                } else if in_code {
                    out.extend(std::iter::repeat_n(' ', c.len_utf8()));
                } else {
                    out.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
