//! Confluence source: Cloud (REST v2) and Server/Data Center (REST v1 with
//! CQL). Pages and blog posts become documents with their comments and text
//! attachments folded in, breadcrumbs from ancestors, labels, and an ACL
//! from space permissions and (inherited) page read restrictions.
//!
//! Checkpoints are kept per container (space × content type) in one
//! cursor, so a newly configured space backfills alone. Cloud lists each
//! container newest-first and stops at the watermark; Server/DC asks CQL
//! for `lastmodified >=` the watermark, oldest first.

mod cloud;
mod factory;
mod office;
mod server;
mod settings;

use std::collections::{BTreeMap, HashMap, VecDeque};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sluice_core::{
    DeadLetter, DocAccess, DocKind, Document, ListingScope, Source, SourceError, SourcePage,
    SyncMode,
};
use sluice_http::{Auth, HttpClient, HttpError};

pub use factory::ConfluenceSourceType;
pub use settings::{ConfluenceSettings, ContentType, Deployment};

/// The checkpoint: one watermark (last-modified time) per container.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Marks {
    v: u32,
    marks: BTreeMap<String, DateTime<Utc>>,
}

/// One space × content type, listed as a unit.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    key: String,
    space_id: String,
    space_key: String,
    space_name: String,
    ctype: ContentType,
    /// Only content modified at or after this (incremental runs).
    since: Option<DateTime<Utc>>,
}

pub(crate) struct Listing {
    c: Container,
    next: Option<url::Url>,
    max_seen: Option<DateTime<Utc>>,
    done: bool,
}

/// The parts of one page or blog post, however the API delivered them.
pub(crate) struct ContentParts {
    id: String,
    ctype: ContentType,
    title: String,
    status: String,
    storage: String,
    web_path: Option<String>,
    author: Option<String>,
    created: Option<DateTime<Utc>>,
    modified: Option<DateTime<Utc>>,
    version: Option<u64>,
    parent_id: Option<String>,
    ancestors: Vec<String>,
    labels: Vec<String>,
    comments: Vec<String>,
    attachments: Vec<serde_json::Value>,
    attachment_text: Vec<(String, String)>,
    access: DocAccess,
}

pub struct ConfluenceSource {
    id: String,
    s: ConfluenceSettings,
    http: HttpClient,
    mode: SyncMode,
    marks: BTreeMap<String, DateTime<Utc>>,
    queue: VecDeque<Container>,
    current: Option<Listing>,
    started: DateTime<Utc>,
    /// Space id → readers of its content (qualified principals).
    space_acl: HashMap<String, Vec<String>>,
    /// Content id → read-restriction principals, qualified (empty: unrestricted).
    restrictions: HashMap<String, Vec<String>>,
    /// Page id → title, for breadcrumbs.
    titles: HashMap<String, String>,
    /// User id (account id, user key or name) → display name, for mentions
    /// and authors; ids the user API could not name are remembered too.
    user_names: sluice_text::html::UserNames,
    unnamed: std::collections::HashSet<String>,
}

/// Caches are cleared past this many entries so memory stays bounded.
const CACHE_LIMIT: usize = 20_000;

impl ConfluenceSource {
    /// `credentials`: resolved `email` + `api_token` (Cloud) or `token`.
    pub fn new(
        id: &str,
        s: ConfluenceSettings,
        credentials: &BTreeMap<String, String>,
    ) -> Result<ConfluenceSource, String> {
        let auth = Auth::atlassian(s.deployment == Deployment::Cloud, credentials)?;
        let http = HttpClient::new(&s.base_url, &auth, &s.http)?;
        Ok(ConfluenceSource {
            id: id.to_string(),
            s,
            http,
            mode: SyncMode::Full,
            marks: BTreeMap::new(),
            queue: VecDeque::new(),
            current: None,
            started: Utc::now(),
            space_acl: HashMap::new(),
            restrictions: HashMap::new(),
            titles: HashMap::new(),
            user_names: HashMap::new(),
            unnamed: Default::default(),
        })
    }

    /// Replaces the HTTP client (tests use a virtual clock).
    pub fn with_http(mut self, f: impl FnOnce(HttpClient) -> HttpClient) -> Self {
        self.http = f(self.http);
        self
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    pub(crate) fn err(&self, e: HttpError) -> SourceError {
        e.into_source_error(&self.id)
    }

    fn cursor(&self) -> Option<String> {
        serde_json::to_string(&Marks {
            v: 1,
            marks: self.marks.clone(),
        })
        .ok()
    }

    pub(crate) fn threshold(&self, c: &Container) -> Option<DateTime<Utc>> {
        c.since
            .map(|t| t - Duration::minutes(self.s.overlap_minutes))
    }

    fn trim_caches(&mut self) {
        if self.restrictions.len() > CACHE_LIMIT {
            self.restrictions.clear();
        }
        if self.titles.len() > CACHE_LIMIT {
            self.titles.clear();
        }
        if self.user_names.len() + self.unnamed.len() > CACHE_LIMIT {
            self.user_names.clear();
            self.unnamed.clear();
        }
    }

    /// This source's principal for `local` (`user:…`, `group:…`, `space:…`).
    pub(crate) fn principal(&self, local: &str) -> String {
        sluice_core::access::qualify("confluence", &self.id, local)
    }

    /// Readers of a space's content. A space whose readers could not be
    /// read is not public: its pages get a principal nobody holds until the
    /// identity map grants it (`confluence:<source>:space:<key>`).
    pub(crate) fn space_readers(&self, space_id: &str, space_key: &str) -> Vec<String> {
        match self.space_acl.get(space_id) {
            Some(r) if !r.is_empty() => r.clone(),
            _ => vec![self.principal(&format!("space:{space_key}"))],
        }
    }

    /// The space's readers **and** every read restriction along the chain
    /// (the content and each ancestor): Confluence shows a page only to
    /// whoever passes all of them, so each becomes its own principal set.
    pub(crate) async fn acl_for(
        &mut self,
        space: (&str, &str),
        id: &str,
        ancestors: &[String],
        known: Option<Vec<String>>,
    ) -> Result<DocAccess, HttpError> {
        if let Some(k) = known {
            self.restrictions.insert(id.to_string(), k);
        }
        let mut access = DocAccess::AllOf(vec![self.space_readers(space.0, space.1)]);
        let chain = std::iter::once(id.to_string())
            .chain(ancestors.iter().rev().cloned())
            .collect::<Vec<_>>();
        for cid in chain {
            let r = match self.restrictions.get(&cid) {
                Some(r) => r.clone(),
                None => {
                    let r = self.read_restrictions(&cid).await?;
                    self.restrictions.insert(cid.clone(), r.clone());
                    r
                }
            };
            if !r.is_empty() {
                access = access.and(r);
            }
        }
        Ok(access)
    }

    /// A content's read restriction. Both lists are asked for explicitly
    /// (Server/DC expands only groups by default), and an answer without
    /// them is an error, never "unrestricted": a missed user restriction
    /// would open the page and its subtree to every space reader.
    async fn read_restrictions(&self, id: &str) -> Result<Vec<String>, HttpError> {
        let url = self.http.url(&format!("rest/api/content/{id}/restriction/byOperation/read?expand=restrictions.user,restrictions.group"))?;
        let (v, _): (serde_json::Value, _) = self.http.get_json(&url).await?;
        let r = &v["restrictions"];
        if !r["user"]["results"].is_array() || !r["group"]["results"].is_array() {
            return Err(HttpError { url: sluice_http::redact_url(&url), status: None, message: "the read restriction came back without its user and group lists; the page is not indexed rather than indexed without its restriction".into(), transient: false });
        }
        Ok(self.restriction_principals(r))
    }

    /// Looks up the display names of the users `p` mentions (and its author
    /// on Cloud, where only an account id comes with the page), once per
    /// user per run. A name that cannot be read renders as a placeholder;
    /// it never fails the page.
    pub(crate) async fn learn_users(&mut self, p: &ContentParts) {
        let mut refs: Vec<sluice_text::html::UserRef> = std::iter::once(p.storage.as_str())
            .chain(p.comments.iter().map(String::as_str))
            .flat_map(sluice_text::html::user_refs)
            .collect();
        if self.s.deployment == Deployment::Cloud {
            refs.extend(
                p.author
                    .iter()
                    .map(|a| sluice_text::html::UserRef::AccountId(a.clone())),
            );
        }
        for r in refs {
            let id = r.id().to_string();
            if self.user_names.contains_key(&id) || self.unnamed.contains(&id) {
                continue;
            }
            let (param, value) = match &r {
                sluice_text::html::UserRef::AccountId(a) => ("accountId", a),
                sluice_text::html::UserRef::UserKey(k) => ("key", k),
                sluice_text::html::UserRef::Username(u) => ("username", u),
            };
            let url = match self.http.url(&format!(
                "rest/api/user?{param}={}",
                url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
            )) {
                Ok(u) => u,
                Err(_) => continue,
            };
            match self.http.get_json::<serde_json::Value>(&url).await {
                Ok((v, _)) => match v["displayName"]
                    .as_str()
                    .or(v["publicName"].as_str())
                    .filter(|n| !n.trim().is_empty())
                {
                    Some(n) => {
                        self.user_names.insert(id, n.trim().to_string());
                    }
                    None => {
                        self.unnamed.insert(id);
                    }
                },
                Err(e) => {
                    tracing::warn!(source = %self.id, user = %id, error = %e, "user name not readable; mentions show a placeholder");
                    self.unnamed.insert(id);
                }
            }
        }
    }

    /// A listed result of another type (an attachment or comment that a
    /// content listing returned) is not this container's content: it is
    /// skipped with a log line, never indexed as a page.
    pub(crate) fn foreign_type(&self, item: &serde_json::Value, ctype: ContentType) -> bool {
        let want = match ctype {
            ContentType::Page => "page",
            ContentType::Blogpost => "blogpost",
        };
        match item["type"].as_str() {
            Some(t) if t != want => {
                tracing::info!(source = %self.id, id = %item["id"].as_str().unwrap_or("?"), result_type = t, "skipped a listed result that is not a {want} (attachments are read with their page)");
                true
            }
            _ => false,
        }
    }

    /// The storage body of a listed item; when the listing came without it,
    /// the content is read on its own (`path`), and a body that is still
    /// missing is an error, never an empty page.
    pub(crate) async fn storage_body(
        &self,
        item: &serde_json::Value,
        path: &str,
    ) -> Result<String, HttpError> {
        if let Some(b) = item["body"]["storage"]["value"].as_str() {
            return Ok(b.to_string());
        }
        let url = self.http.url(path)?;
        let (v, _): (serde_json::Value, _) = self.http.get_json(&url).await?;
        match v["body"]["storage"]["value"].as_str() {
            Some(b) => Ok(b.to_string()),
            None => Err(HttpError {
                url: sluice_http::redact_url(&url),
                status: None,
                message: "the content came back without its storage body (body.storage); it is not indexed as an empty page".into(),
                transient: false,
            }),
        }
    }

    pub(crate) fn document(&self, c: &Container, p: ContentParts) -> Document {
        let kind = match p.ctype {
            ContentType::Page => DocKind::Page,
            ContentType::Blogpost => DocKind::BlogPost,
        };
        let mut d = Document::new(&self.id, &p.id, kind);
        d.title = p.title;
        let page = sluice_text::html::convert_with(&p.storage, &self.user_names);
        // Page links (`ri:page`), Jira macros and hrefs, from the storage
        // format as written: the text keeps only their labels.
        sluice_links::markup::add_targets(&mut d.metadata, &p.storage);
        for text in &p.comments {
            sluice_links::markup::add_targets(&mut d.metadata, text);
        }
        d.warnings.extend(page.warnings);
        let mut body = page.text;
        let mut extra = String::new();
        if !p.comments.is_empty() {
            extra.push_str("\n\n## Comments\n");
            for text in &p.comments {
                let c = sluice_text::html::convert_with(text, &self.user_names);
                d.warnings
                    .extend(c.warnings.into_iter().map(|w| format!("a comment: {w}")));
                extra.push_str("\n- ");
                extra.push_str(&c.text.replace('\n', " "));
            }
        }
        for (name, text) in &p.attachment_text {
            extra.push_str(&format!("\n\n## Attachment: {name}\n\n{text}"));
        }
        body.push_str(&extra);
        if body.len() > self.s.max_body_chars {
            let cut = body.floor_char_boundary(self.s.max_body_chars);
            tracing::warn!(source = %self.id, id = %d.external_id, chars = body.len(), limit = self.s.max_body_chars, "Confluence body truncated (settings.max_body_chars)");
            d.warnings.push(format!(
                "body of {} characters truncated to settings.max_body_chars = {}",
                body.len(),
                self.s.max_body_chars
            ));
            body.truncate(cut);
            d.metadata.insert("truncated".into(), true.into());
        }
        d.body = body;
        let base = self.s.base_url.trim_end_matches('/');
        d.url = p.web_path.map(|w| {
            if w.starts_with("http") {
                w
            } else {
                format!("{base}{w}")
            }
        });
        d.author = p
            .author
            .map(|a| self.user_names.get(&a).cloned().unwrap_or(a));
        d.created_at = p.created;
        d.updated_at = p.modified;
        d.parent_id = p.parent_id;
        d.breadcrumb = std::iter::once(c.space_name.clone())
            .chain(
                p.ancestors
                    .iter()
                    .map(|a| self.titles.get(a).cloned().unwrap_or_else(|| a.clone())),
            )
            .collect();
        d.labels = p.labels;
        d.access = Some(p.access);
        d.metadata
            .insert("space".into(), c.space_key.clone().into());
        d.metadata.insert("status".into(), p.status.into());
        if let Some(v) = p.version {
            d.metadata.insert("version".into(), v.into());
        }
        if !p.attachments.is_empty() {
            d.metadata.insert(
                "attachments".into(),
                serde_json::Value::Array(p.attachments),
            );
        }
        d
    }

    /// One listing page (v1 and v2 share the shape): its `results` and
    /// the raw `_links.next`. `hint` follows the error when there are no results.
    pub(crate) async fn fetch_results(
        &self,
        url: &url::Url,
        hint: &str,
    ) -> Result<(Vec<serde_json::Value>, Option<String>), SourceError> {
        let (mut v, _): (serde_json::Value, _) =
            self.http.get_json(url).await.map_err(|e| self.err(e))?;
        let serde_json::Value::Array(items) = v["results"].take() else {
            return Err(SourceError {
                source_id: self.id.clone(),
                location: sluice_http::redact_url(url),
                message: format!("unexpected response: no `results` array{hint}"),
                transient: false,
            });
        };
        Ok((items, v["_links"]["next"].as_str().map(String::from)))
    }

    async fn start_listing(&mut self) -> Result<bool, SourceError> {
        let Some(c) = self.queue.pop_front() else {
            return Ok(false);
        };
        let next = match self.s.deployment {
            Deployment::Cloud => cloud::first_url(self, &c)?,
            Deployment::Server => server::first_url(self, &c)?,
        };
        tracing::info!(source = %self.id, container = %c.key, since = ?c.since, "listing");
        self.current = Some(Listing {
            c,
            next: Some(next),
            max_seen: None,
            done: false,
        });
        Ok(true)
    }
}

/// `user:<accountId|username>` and `group:<name>` from a v1 restrictions
/// object (`{user: {results}, group: {results}}`).
impl ConfluenceSource {
    /// The principals of a read-restriction object, qualified.
    pub(crate) fn restriction_principals(&self, r: &serde_json::Value) -> Vec<String> {
        let mut out = Vec::new();
        for u in r["user"]["results"].as_array().into_iter().flatten() {
            if let Some(id) = u["accountId"]
                .as_str()
                .or(u["username"].as_str())
                .or(u["userKey"].as_str())
            {
                out.push(self.principal(&format!("user:{id}")));
            }
        }
        for g in r["group"]["results"].as_array().into_iter().flatten() {
            if let Some(n) = g["name"].as_str().or(g["id"].as_str()) {
                out.push(self.principal(&format!("group:{n}")));
            }
        }
        out
    }
}

pub(crate) fn parse_time(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| sluice_core::arrow_conv::parse_time(s).ok())
}

pub(crate) fn dead_letter(source: &str, id: &str, location: String, error: String) -> DeadLetter {
    DeadLetter {
        source: source.to_string(),
        location,
        external_id: Some(id.to_string()),
        error,
    }
}

#[async_trait]
impl Source for ConfluenceSource {
    fn id(&self) -> &str {
        &self.id
    }

    async fn open(
        &mut self,
        mode: SyncMode,
        cursor: Option<&str>,
    ) -> Result<ListingScope, SourceError> {
        self.mode = mode;
        self.started = Utc::now();
        self.current = None;
        self.queue.clear();
        self.marks = sluice_core::parse_cursor::<Marks>(&self.id, cursor)?.marks;
        let spaces = match self.s.deployment {
            Deployment::Cloud => cloud::spaces(self).await?,
            Deployment::Server => server::spaces(self).await?,
        };
        let mut containers = Vec::new();
        for (space_id, key, name) in spaces {
            if let Some(p) = self.s.space_principals.get(&key) {
                let readers = p.iter().map(|p| self.principal(p)).collect();
                self.space_acl.insert(space_id.clone(), readers);
            }
            for t in &self.s.content_types {
                let ckey = format!("{key}/{}", t.as_str());
                let since = if mode == SyncMode::Incremental {
                    self.marks.get(&ckey).copied()
                } else {
                    None
                };
                containers.push(Container {
                    key: ckey,
                    space_id: space_id.clone(),
                    space_key: key.clone(),
                    space_name: name.clone(),
                    ctype: *t,
                    since,
                });
            }
        }
        // Marks of spaces no longer configured are dropped.
        let keys: Vec<String> = containers.iter().map(|c| c.key.clone()).collect();
        self.marks.retain(|k, _| keys.contains(k));
        self.queue = containers.into();
        Ok(match mode {
            SyncMode::Incremental => ListingScope::Changes,
            SyncMode::Full | SyncMode::Prune | SyncMode::Permissions => ListingScope::Complete,
        })
    }

    async fn next_page(&mut self) -> Result<Option<SourcePage>, SourceError> {
        loop {
            if self.current.is_none() && !self.start_listing().await? {
                return Ok(None);
            }
            let listing = self.current.as_mut().expect("set above");
            if listing.done || listing.next.is_none() {
                let l = self.current.take().expect("set above");
                // The container is complete: its watermark moves to the
                // newest change seen (never past the run's start).
                if self.mode != SyncMode::Prune {
                    if let Some(seen) = l.max_seen {
                        let mark = seen.min(self.started);
                        let old = self.marks.get(&l.c.key).copied();
                        self.marks
                            .insert(l.c.key.clone(), old.map_or(mark, |o| o.max(mark)));
                    }
                }
                return Ok(Some(SourcePage {
                    cursor: if self.mode == SyncMode::Prune {
                        None
                    } else {
                        self.cursor()
                    },
                    ..Default::default()
                }));
            }
            let mut l = self.current.take().expect("set above");
            let url = l.next.take().expect("checked above");
            let result = match self.s.deployment {
                Deployment::Cloud => cloud::page_items(self, &mut l, url).await,
                Deployment::Server => server::page_items(self, &mut l, url).await,
            };
            self.current = Some(l);
            let mut page = result?;
            self.trim_caches();
            page.cursor = if self.mode == SyncMode::Prune {
                None
            } else {
                self.cursor()
            };
            return Ok(Some(page));
        }
    }
}

#[cfg(test)]
mod tests;
