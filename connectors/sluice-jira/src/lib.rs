//! Jira source: Cloud (REST v3 `search/jql`, `nextPageToken`, ADF bodies)
//! and Server/Data Center (REST v2 `search`, `startAt`, wiki markup).
//! Each issue is one document: summary, description and all comments, with
//! status, priority, type, people, labels and components as fields, and an
//! ACL from project browse permissions narrowed by issue security levels.
//!
//! Checkpoints hold one `updated` watermark per project. JQL dates have
//! minute precision and are read in the API user's profile time zone, so
//! the connector asks Jira for that zone (`/myself`) and re-reads an
//! overlap window before the watermark.

mod factory;
/// ADF and wiki markup → text (shared with the files source, in sluice-text).
pub use sluice_text::adf;
mod settings;

use std::collections::{BTreeMap, HashMap, VecDeque};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_core::{
    DeadLetter, DocAccess, DocKind, Document, ListingScope, Source, SourceError, SourcePage,
    SyncMode,
};
use sluice_http::{Auth, HttpClient, HttpError};
use url::Url;

pub use factory::JiraSourceType;
pub use settings::{Deployment, JiraSettings};

const FIELDS: &str = "summary,description,status,priority,issuetype,assignee,reporter,labels,components,project,created,updated,comment,security,issuelinks";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Marks {
    v: u32,
    marks: BTreeMap<String, DateTime<Utc>>,
}

struct Listing {
    project: String,
    since: Option<DateTime<Utc>>,
    /// Cloud: the next page token; Server: the next startAt.
    token: Option<String>,
    start_at: usize,
    first: bool,
    done: bool,
}

pub struct JiraSource {
    id: String,
    s: JiraSettings,
    http: HttpClient,
    mode: SyncMode,
    tz: chrono_tz::Tz,
    marks: BTreeMap<String, DateTime<Utc>>,
    queue: VecDeque<(String, Option<DateTime<Utc>>)>,
    current: Option<Listing>,
    /// Issues listed by the listings before the current one (progress).
    listed_before: u64,
    started: DateTime<Utc>,
    project_acl: HashMap<String, Vec<String>>,
    /// `fetch`: the listing is narrowed to these issue ids.
    only_ids: Option<Vec<String>>,
    /// `[~user]` mentions in wiki markup: user name or account id →
    /// display name (`None`: the user API does not know them).
    user_names: std::sync::Mutex<HashMap<String, Option<String>>>,
}

/// `KEY: summary`; an issue without a summary is named by its key and the
/// first words of its description (never `KEY: `).
pub fn issue_title(key: &str, summary: &str, body: &str) -> String {
    let summary = summary.split_whitespace().collect::<Vec<_>>().join(" ");
    if !summary.is_empty() {
        return format!("{key}: {summary}");
    }
    let unmark = |l: &str| -> String {
        let l = l.trim().trim_start_matches('#').trim_start();
        let l = l.strip_prefix("- ").unwrap_or(l);
        let l = l
            .strip_prefix("[x] ")
            .or(l.strip_prefix("[ ] "))
            .unwrap_or(l);
        l.trim().to_string()
    };
    let first = body
        .lines()
        .map(unmark)
        .find(|l| !l.is_empty() && !l.starts_with("```"))
        .unwrap_or_default();
    let words: Vec<&str> = first.split_whitespace().take(10).collect();
    if words.is_empty() {
        return key.to_string();
    }
    let more = first.split_whitespace().nth(words.len()).is_some();
    format!("{key}: {}{}", words.join(" "), if more { "…" } else { "" })
}

/// Jira timestamps: `2026-01-05T04:00:00.000-0500` (offset without colon).
pub fn parse_jira_time(v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?;
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl JiraSource {
    pub fn new(
        id: &str,
        s: JiraSettings,
        credentials: &BTreeMap<String, String>,
    ) -> Result<JiraSource, String> {
        let auth = Auth::atlassian(s.deployment == Deployment::Cloud, credentials)?;
        let http = HttpClient::new(&s.base_url, &auth, &s.http)?;
        Ok(JiraSource {
            id: id.to_string(),
            s,
            http,
            mode: SyncMode::Full,
            tz: chrono_tz::UTC,
            marks: BTreeMap::new(),
            queue: VecDeque::new(),
            current: None,
            listed_before: 0,
            started: Utc::now(),
            project_acl: HashMap::new(),
            only_ids: None,
            user_names: Default::default(),
        })
    }

    pub fn with_http(mut self, f: impl FnOnce(HttpClient) -> HttpClient) -> Self {
        self.http = f(self.http);
        self
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn api(&self) -> &'static str {
        match self.s.deployment {
            Deployment::Cloud => "rest/api/3",
            Deployment::Server => "rest/api/2",
        }
    }

    fn err(&self, e: HttpError) -> SourceError {
        e.into_source_error(&self.id)
    }

    fn cursor(&self) -> Option<String> {
        serde_json::to_string(&Marks {
            v: 1,
            marks: self.marks.clone(),
        })
        .ok()
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, HttpError> {
        let mut url = self.http.url(path)?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(self.http.get_json::<Value>(&url).await?.0)
    }

    async fn projects(&self) -> Result<Vec<String>, SourceError> {
        if !self.s.projects.is_empty() {
            return Ok(self.s.projects.clone());
        }
        let mut out = Vec::new();
        match self.s.deployment {
            Deployment::Cloud => {
                let mut start = 0usize;
                loop {
                    let v = self
                        .get(
                            "rest/api/3/project/search",
                            &[("startAt", start.to_string()), ("maxResults", "50".into())],
                        )
                        .await
                        .map_err(|e| self.err(e))?;
                    let vals = v["values"].as_array().cloned().unwrap_or_default();
                    out.extend(
                        vals.iter()
                            .filter_map(|p| p["key"].as_str().map(String::from)),
                    );
                    if v["isLast"].as_bool().unwrap_or(true) || vals.is_empty() {
                        break;
                    }
                    start += vals.len();
                }
            }
            Deployment::Server => {
                let v = self
                    .get("rest/api/2/project", &[])
                    .await
                    .map_err(|e| self.err(e))?;
                out.extend(
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["key"].as_str().map(String::from)),
                );
            }
        }
        Ok(out)
    }

    /// Users holding BROWSE_PROJECTS, for a project or (narrowed by issue
    /// security) for one issue.
    /// This source's principal for `local` (`user:…`, `project:…`).
    fn principal(&self, local: &str) -> String {
        sluice_core::access::qualify("jira", &self.id, local)
    }

    async fn browsers(&self, scope: (&str, &str)) -> Result<Vec<String>, HttpError> {
        let mut out = Vec::new();
        let mut start = 0usize;
        loop {
            let page = 100usize;
            let v = self
                .get(
                    &format!("{}/user/permission/search", self.api()),
                    &[
                        ("permissions", "BROWSE_PROJECTS".into()),
                        (scope.0, scope.1.to_string()),
                        ("startAt", start.to_string()),
                        ("maxResults", page.to_string()),
                    ],
                )
                .await?;
            let users = v.as_array().cloned().unwrap_or_default();
            out.extend(
                users
                    .iter()
                    .filter(|u| u["active"].as_bool().unwrap_or(true))
                    .filter_map(|u| {
                        u["accountId"]
                            .as_str()
                            .or(u["name"].as_str())
                            .or(u["key"].as_str())
                            .map(|id| self.principal(&format!("user:{id}")))
                    }),
            );
            // The API may return fewer than asked even mid-list; stop on empty.
            if users.is_empty() {
                break;
            }
            start += users.len();
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn search_url(&self, l: &Listing) -> Result<Url, HttpError> {
        let prune = self.mode == SyncMode::Prune;
        let permissions = self.mode == SyncMode::Permissions;
        let since = if prune || permissions {
            None
        } else {
            l.since.map(|t| {
                (t - Duration::minutes(self.s.overlap_minutes))
                    .with_timezone(&self.tz)
                    .format("%Y/%m/%d %H:%M")
                    .to_string()
            })
        };
        let mut jql = self
            .s
            .project_jql(&l.project, since.as_deref(), prune || permissions);
        if let Some(ids) = &self.only_ids {
            // Ids are Jira's numeric issue ids; anything else never matches.
            let ids: Vec<&str> = ids
                .iter()
                .map(String::as_str)
                .filter(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
                .collect();
            let list = if ids.is_empty() {
                "-1".to_string()
            } else {
                ids.join(", ")
            };
            jql = match jql.split_once(" ORDER BY ") {
                Some((body, order)) => format!("{body} AND id in ({list}) ORDER BY {order}"),
                None => format!("{jql} AND id in ({list})"),
            };
        }
        // The prune pass lists keys; the permission pass the fields access
        // depends on; neither reads bodies or comments.
        let (fields, size) = match self.mode {
            SyncMode::Prune => ("key", 1000),
            SyncMode::Permissions => ("project,security", 1000),
            _ => (FIELDS, self.s.page_size),
        };
        let path = match self.s.deployment {
            Deployment::Cloud => "rest/api/3/search/jql",
            Deployment::Server => "rest/api/2/search",
        };
        let mut url = self.http.url(path)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("jql", &jql);
            q.append_pair("maxResults", &size.to_string());
            q.append_pair("fields", fields);
            match self.s.deployment {
                Deployment::Cloud => {
                    if let Some(t) = &l.token {
                        q.append_pair("nextPageToken", t);
                    }
                }
                Deployment::Server => {
                    q.append_pair("startAt", &l.start_at.to_string());
                }
            }
        }
        Ok(url)
    }

    /// The issue's comments that everyone who can see the issue can see.
    /// A comment with a `visibility` (a role or group) is readable by fewer
    /// people than its issue, so it never joins the issue's document; it is
    /// left out (counted in `metadata.restricted_comments_omitted`).
    async fn comments(
        &self,
        key: &str,
        embedded: &Value,
    ) -> Result<(Vec<Comment>, usize), HttpError> {
        let mut all: Vec<Value> = embedded["comments"].as_array().cloned().unwrap_or_default();
        let total = embedded["total"].as_u64().unwrap_or(all.len() as u64) as usize;
        let want = total.min(self.s.max_comments);
        while all.len() < want {
            let v = self
                .get(
                    &format!("{}/issue/{key}/comment", self.api()),
                    &[
                        ("startAt", all.len().to_string()),
                        ("maxResults", "100".into()),
                    ],
                )
                .await?;
            let page = v["comments"].as_array().cloned().unwrap_or_default();
            if page.is_empty() {
                break;
            }
            all.extend(page);
        }
        // Jira Service Management marks agent-only comments `jsdPublic:
        // false` (without a `visibility`): those are left out too.
        let (open, restricted): (Vec<&Value>, Vec<&Value>) = all
            .iter()
            .partition(|c| c["visibility"].is_null() && c["jsdPublic"].as_bool() != Some(false));
        let omitted = restricted.len();
        let mut out: Vec<Comment> = Vec::new();
        for c in open {
            out.push(self.comment(c).await);
        }
        out.truncate(self.s.max_comments);
        Ok((out, omitted))
    }

    /// Author, text, and what converting it gave up on.
    async fn comment(&self, c: &Value) -> Comment {
        let who = c["author"]["displayName"]
            .as_str()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or("unknown user")
            .to_string();
        let (text, warning) = self.body_text(&c["body"]).await;
        (who, text, warning, raw_body(&c["body"]))
    }

    async fn body_text(&self, v: &Value) -> (String, Option<String>) {
        match v {
            Value::String(s) => {
                let users = self.mentioned_users(s).await;
                (adf::wiki_to_text_with(s, &users), None)
            }
            Value::Object(_) => adf::adf_to_text(v),
            _ => (String::new(), None),
        }
    }

    /// Display names of the users wiki markup mentions (`[~name]`,
    /// `[~accountid:…]`), read through the user API once per user per run.
    /// A user the API cannot name renders as a placeholder; it never fails
    /// the issue.
    async fn mentioned_users(&self, wiki: &str) -> HashMap<String, String> {
        let mut ids = Vec::new();
        let mut rest = wiki;
        while let Some(at) = rest.find("[~") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(']') else { break };
            let id = rest[..end].trim().to_string();
            if !id.is_empty() && id.len() < 200 && !ids.contains(&id) {
                ids.push(id);
            }
            rest = &rest[end..];
        }
        let mut names = HashMap::new();
        for id in ids {
            let (key, value) = match id.strip_prefix("accountid:") {
                Some(a) => (a.to_string(), ("accountId", a.to_string())),
                None => (id.clone(), ("username", id.clone())),
            };
            let known = self
                .user_names
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .cloned();
            let name = match known {
                Some(n) => n,
                None => {
                    let n = match self
                        .get(&format!("{}/user", self.api()), &[(value.0, value.1)])
                        .await
                    {
                        Ok(v) => v["displayName"]
                            .as_str()
                            .filter(|n| !n.trim().is_empty())
                            .map(String::from),
                        Err(e) => {
                            tracing::debug!(source = %self.id, user = %key, error = %e, "user name not readable; the mention shows a placeholder");
                            None
                        }
                    };
                    let mut cache = self.user_names.lock().unwrap_or_else(|e| e.into_inner());
                    if cache.len() > 20_000 {
                        cache.clear();
                    }
                    cache.insert(key.clone(), n.clone());
                    n
                }
            };
            if let Some(n) = name {
                names.insert(key, n);
            }
        }
        names
    }

    async fn document(&self, issue: &Value) -> Result<Result<Document, String>, HttpError> {
        let Some(id) = issue["id"].as_str() else {
            return Ok(Err("issue without `id`".into()));
        };
        let Some(key) = issue["key"].as_str() else {
            return Ok(Err("issue without `key`".into()));
        };
        let f = &issue["fields"];
        if !f.is_object() {
            return Ok(Err(format!("issue {key} has no `fields` object")));
        }
        let mut d = Document::new(&self.id, id, DocKind::Issue);
        let (mut body, warning) = self.body_text(&f["description"]).await;
        // Link targets (URLs, link marks, smart links) from the markup as
        // written, and the issue's links to other issues.
        sluice_links::markup::add_targets(&mut d.metadata, &raw_body(&f["description"]));
        if self.s.remote_links {
            let links = self
                .get(&format!("{}/issue/{key}/remotelink", self.api()), &[])
                .await?;
            for l in links.as_array().into_iter().flatten() {
                if let Some(u) = l["object"]["url"].as_str() {
                    sluice_links::markup::add_target(&mut d.metadata, u.to_string());
                }
            }
        }
        for l in f["issuelinks"].as_array().into_iter().flatten() {
            for side in ["outwardIssue", "inwardIssue"] {
                if let Some(k) = l[side]["key"].as_str() {
                    sluice_links::markup::add_target(
                        &mut d.metadata,
                        format!("{}{k}", sluice_links::markup::JIRA_LINK),
                    );
                }
            }
        }
        d.title = issue_title(key, f["summary"].as_str().unwrap_or(""), &body);
        d.warnings
            .extend(warning.map(|w| format!("the description: {w}")));
        if self.s.include_comments {
            let (comments, omitted) = self.comments(key, &f["comment"]).await?;
            if omitted > 0 {
                d.metadata
                    .insert("restricted_comments_omitted".into(), omitted.into());
            }
            if !comments.is_empty() {
                body.push_str("\n\n## Comments\n");
                for (who, text, warning, raw) in comments {
                    sluice_links::markup::add_targets(&mut d.metadata, &raw);
                    body.push_str(&format!("\n- {who}: {}", text.replace('\n', " ")));
                    d.warnings
                        .extend(warning.map(|w| format!("a comment by {who}: {w}")));
                }
            }
        }
        if body.len() > self.s.max_body_chars {
            let cut = body.floor_char_boundary(self.s.max_body_chars);
            tracing::warn!(source = %self.id, issue = key, chars = body.len(), limit = self.s.max_body_chars, "Jira issue body truncated (settings.max_body_chars)");
            d.warnings.push(format!(
                "body of {} characters truncated to settings.max_body_chars = {}",
                body.len(),
                self.s.max_body_chars
            ));
            body.truncate(cut);
            d.metadata.insert("truncated".into(), true.into());
        }
        d.body = body;
        d.url = Some(format!(
            "{}/browse/{key}",
            self.s.base_url.trim_end_matches('/')
        ));
        d.author = f["reporter"]["displayName"]
            .as_str()
            .or(f["reporter"]["accountId"].as_str())
            .map(String::from);
        d.created_at = parse_jira_time(&f["created"]);
        d.updated_at = parse_jira_time(&f["updated"]);
        d.labels = f["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(String::from))
            .collect();
        let project = f["project"]["key"].as_str().unwrap_or("").to_string();
        d.breadcrumb = vec![
            f["project"]["name"]
                .as_str()
                .unwrap_or(&project)
                .to_string(),
        ];
        let mut meta = |k: &str, v: Value| {
            if !v.is_null() {
                d.metadata.insert(k.into(), v);
            }
        };
        meta("key", key.into());
        meta("project", project.clone().into());
        meta("status", f["status"]["name"].clone());
        meta(
            "status_category",
            f["status"]["statusCategory"]["key"].clone(),
        );
        meta("priority", f["priority"]["name"].clone());
        meta("issue_type", f["issuetype"]["name"].clone());
        meta("assignee", f["assignee"]["displayName"].clone());
        let components: Vec<Value> = f["components"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(|s| Value::from(s)))
            .collect();
        if !components.is_empty() {
            meta("components", Value::Array(components));
        }
        if let Some(level) = f["security"]["name"].as_str() {
            d.metadata.insert("security_level".into(), level.into());
        }
        d.access = Some(self.issue_access(f, key, &project).await?);
        Ok(Ok(d))
    }

    /// Who may read an issue: its project's browsers, or, with a security
    /// level (any non-null `security`), whoever Jira says may browse this
    /// issue with the level applied.
    async fn issue_access(
        &self,
        f: &Value,
        key: &str,
        project: &str,
    ) -> Result<DocAccess, HttpError> {
        Ok(if !f["security"].is_null() {
            let users = self.browsers(("issueKey", key)).await?;
            DocAccess::any_of(if users.is_empty() {
                vec![self.principal(&format!("project:{project}:restricted"))]
            } else {
                users
            })
        } else {
            DocAccess::any_of(
                self.project_acl
                    .get(project)
                    .cloned()
                    .unwrap_or_else(|| vec![self.principal(&format!("project:{project}"))]),
            )
        })
    }
}

#[async_trait]
impl Source for JiraSource {
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
        self.marks = sluice_core::parse_cursor::<Marks>(&self.id, cursor)?.marks;
        // JQL dates are read in the API user's zone.
        let me = self
            .get(&format!("{}/myself", self.api()), &[])
            .await
            .map_err(|e| self.err(e))?;
        self.tz = me["timeZone"]
            .as_str()
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        let projects = self.projects().await?;
        if mode != SyncMode::Prune {
            for p in &projects {
                let users = match self.browsers(("projectKey", p)).await {
                    Ok(u) => u,
                    Err(e) if e.status == Some(404) => {
                        return Err(SourceError {
                            source_id: self.id.clone(),
                            location: e.url,
                            message: format!(
                                "project `{p}` not found or not visible to this account; check settings.projects"
                            ),
                            transient: false,
                        });
                    }
                    Err(e) => return Err(self.err(e)),
                };
                // Nobody listed: a principal nobody holds until the identity map grants it.
                self.project_acl.insert(
                    p.clone(),
                    if users.is_empty() {
                        vec![self.principal(&format!("project:{p}"))]
                    } else {
                        users
                    },
                );
            }
        }
        self.marks.retain(|k, _| projects.contains(k));
        self.queue = projects
            .into_iter()
            .map(|p| {
                let since = if mode == SyncMode::Incremental {
                    self.marks.get(&p).copied()
                } else {
                    None
                };
                (p, since)
            })
            .collect();
        Ok(match mode {
            SyncMode::Incremental => ListingScope::Changes,
            SyncMode::Full | SyncMode::Prune | SyncMode::Permissions => ListingScope::Complete,
        })
    }

    async fn fetch(&mut self, external_ids: &[String]) -> Result<Option<SourcePage>, SourceError> {
        let mut out = SourcePage::default();
        for part in external_ids.chunks(100) {
            self.open(SyncMode::Full, None).await?;
            self.only_ids = Some(part.to_vec());
            let mut seen = std::collections::HashSet::new();
            let result = async {
                while let Some(p) = self.next_page().await? {
                    seen.extend(p.documents.iter().map(|d| d.external_id.clone()));
                    seen.extend(p.dead_letters.iter().filter_map(|d| d.external_id.clone()));
                    seen.extend(p.deleted.iter().cloned());
                    out.documents.extend(p.documents);
                    out.dead_letters.extend(p.dead_letters);
                    out.deleted.extend(p.deleted);
                }
                Ok::<(), SourceError>(())
            }
            .await;
            self.only_ids = None;
            result?;
            // Not found by id within the configured scope: gone, moved out
            // of scope, or no longer visible to this account.
            out.deleted
                .extend(part.iter().filter(|id| !seen.contains(*id)).cloned());
        }
        Ok(Some(out))
    }

    async fn next_page(&mut self) -> Result<Option<SourcePage>, SourceError> {
        loop {
            if self.current.as_ref().is_none_or(|l| l.done) {
                match self.queue.pop_front() {
                    Some((project, since)) => {
                        tracing::info!(source = %self.id, project = %project, since = ?since, "listing");
                        self.listed_before +=
                            self.current.as_ref().map_or(0, |l| l.start_at as u64);
                        self.current = Some(Listing {
                            project,
                            since,
                            token: None,
                            start_at: 0,
                            first: true,
                            done: false,
                        });
                    }
                    None => return Ok(None),
                }
            }
            let l = self.current.as_ref().expect("set above");
            let url = self.search_url(l).map_err(|e| self.err(e))?;
            let (v, _): (Value, _) = self.http.get_json(&url).await.map_err(|e| self.err(e))?;
            let Some(issues) = v["issues"].as_array() else {
                return Err(SourceError {
                    source_id: self.id.clone(),
                    location: sluice_http::redact_url(&url),
                    message: "unexpected response: no `issues` array".into(),
                    transient: false,
                });
            };
            // Server/DC pages by `startAt` up to `total`: without `total` the
            // end of the listing is unknown, and stopping early would make a
            // prune delete every issue after this page.
            if self.s.deployment == Deployment::Server && !v["total"].is_u64() {
                return Err(SourceError {
                    source_id: self.id.clone(),
                    location: sluice_http::redact_url(&url),
                    message: "unexpected response: the search answered without `total`, so the listing cannot tell where it ends; nothing is pruned".into(),
                    transient: false,
                });
            }
            let mut page = SourcePage::default();
            let mut max_seen: Option<DateTime<Utc>> = None;
            for issue in issues {
                if self.mode == SyncMode::Prune {
                    match issue["id"].as_str() {
                        Some(id) => page.live_ids.push(id.to_string()),
                        None => page.dead_letters.push(DeadLetter {
                            source: self.id.clone(),
                            location: sluice_http::redact_url(&url),
                            external_id: None,
                            error: "issue without `id`".into(),
                        }),
                    }
                    continue;
                }
                if self.mode == SyncMode::Permissions {
                    let (Some(id), Some(key)) = (issue["id"].as_str(), issue["key"].as_str())
                    else {
                        continue;
                    };
                    let project = issue["fields"]["project"]["key"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    match self.issue_access(&issue["fields"], key, &project).await {
                        Ok(a) => page.access.push((id.to_string(), a)),
                        Err(e) if e.transient => return Err(self.err(e)),
                        Err(e) if e.status == Some(404) => {}
                        Err(e) => page.dead_letters.push(DeadLetter {
                            source: self.id.clone(),
                            location: e.url.clone(),
                            external_id: Some(id.to_string()),
                            error: e.to_string(),
                        }),
                    }
                    continue;
                }
                if let Some(t) = parse_jira_time(&issue["fields"]["updated"]) {
                    max_seen = Some(max_seen.map_or(t, |m| m.max(t)));
                }
                match self.document(issue).await {
                    Ok(Ok(d)) => page.documents.push(d),
                    Ok(Err(msg)) => page.dead_letters.push(DeadLetter {
                        source: self.id.clone(),
                        location: format!(
                            "{} (issue {})",
                            sluice_http::redact_url(&url),
                            issue["key"].as_str().unwrap_or("?")
                        ),
                        external_id: issue["id"].as_str().map(String::from),
                        error: msg,
                    }),
                    Err(e) if e.transient => return Err(self.err(e)),
                    // Deleted between the search and the comment request.
                    Err(e) if e.status == Some(404) => {
                        if let Some(id) = issue["id"].as_str() {
                            page.deleted.push(id.to_string());
                        }
                    }
                    Err(e) => page.dead_letters.push(DeadLetter {
                        source: self.id.clone(),
                        location: e.url.clone(),
                        external_id: issue["id"].as_str().map(String::from),
                        error: e.to_string(),
                    }),
                }
            }
            let n = issues.len();
            let l = self.current.as_mut().expect("set above");
            l.first = false;
            match self.s.deployment {
                Deployment::Cloud => {
                    l.token = v["nextPageToken"].as_str().map(String::from);
                    l.done =
                        v["isLast"].as_bool().unwrap_or(l.token.is_none()) || l.token.is_none();
                }
                Deployment::Server => {
                    l.start_at += n;
                    let total = v["total"].as_u64().unwrap_or_default() as usize;
                    l.done = n == 0 || l.start_at >= total;
                    page.expected_total = Some(self.listed_before + total as u64);
                }
            }
            // Oldest first: the project's watermark may advance page by page.
            if self.mode != SyncMode::Prune {
                if let Some(seen) = max_seen {
                    let project = l.project.clone();
                    let mark = seen.min(self.started);
                    let old = self.marks.get(&project).copied();
                    self.marks
                        .insert(project, old.map_or(mark, |o| o.max(mark)));
                }
                page.cursor = self.cursor();
            }
            return Ok(Some(page));
        }
    }
}

#[cfg(test)]
mod tests;

/// A readable comment: author, text, what converting gave up on, the body as written.
type Comment = (String, String, Option<String>, String);

/// A body as written (ADF as its JSON), for reading link targets.
fn raw_body(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
