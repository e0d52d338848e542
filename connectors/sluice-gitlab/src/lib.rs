//! GitLab source (REST v4, gitlab.com and self-managed): issues and merge
//! requests with their notes, wiki pages, and repository files from the
//! default branch. Lists follow the `Link: rel="next"` header, so offset
//! and keyset pagination work alike.
//!
//! The checkpoint keeps an `updated_at` watermark per project and list
//! (`updated_after` minus an overlap), and the default branch's head commit
//! per project: an unchanged head skips the repository, a moved one fetches
//! only the files the compare API reports as changed.

mod factory;
mod settings;

use std::collections::{BTreeMap, VecDeque};

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_core::{
    DeadLetter, DocAccess, DocKind, Document, ListingScope, Source, SourceError, SourcePage,
    SyncMode,
};
use sluice_http::{Auth, HttpClient, HttpError, link_next};
use url::Url;

pub use factory::GitlabSourceType;
pub use settings::{FileGlobs, GitlabSettings};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Marks {
    v: u32,
    /// `<project id>/issues` | `<project id>/merge_requests` → updated_at.
    marks: BTreeMap<String, DateTime<Utc>>,
    /// project id → default-branch head commit indexed.
    heads: BTreeMap<String, String>,
}

/// Commit SHAs kept per merge request (its names stay bounded).
const MAX_COMMITS: usize = 48;
/// GitLab roles (`access_level`).
const GUEST: u64 = 10;
const REPORTER: u64 = 20;

/// A project feature with its own access level. Who may read what Sluice
/// indexes from it (the table in connectors/README.md):
///
/// | feature level | public project | internal project | private project |
/// |---|---|---|---|
/// | `enabled` | everyone | signed-in users | members ≥ min role |
/// | `private` (members only) | members ≥ min role | members ≥ min role | members ≥ min role |
/// | `disabled` | not indexed | not indexed | not indexed |
///
/// The minimum role is Guest for issues and wiki, Reporter for merge
/// requests and repository files (Guests cannot read code of a project
/// they may not otherwise see). Confidential issues additionally need
/// Reporter+, or being the author or an assignee; internal notes are
/// left out of the issue's document.
#[derive(Debug, Clone, Copy)]
enum Feature {
    Issues,
    MergeRequests,
    Repository,
    Wiki,
}

impl Feature {
    fn name(self) -> &'static str {
        match self {
            Feature::Issues => "issues",
            Feature::MergeRequests => "merge_requests",
            Feature::Repository => "repository",
            Feature::Wiki => "wiki",
        }
    }

    fn min_role(self) -> u64 {
        match self {
            Feature::Issues | Feature::Wiki => GUEST,
            Feature::MergeRequests | Feature::Repository => REPORTER,
        }
    }
}

#[derive(Debug, Clone)]
struct Project {
    id: u64,
    path: String,
    web_url: String,
    default_branch: Option<String>,
    /// GitLab says the repository has no commits (`empty_repo`).
    empty_repo: bool,
    /// Who may read each feature's documents; `None`: the feature is
    /// disabled and nothing of it is indexed.
    issues: Option<DocAccess>,
    merge_requests: Option<DocAccess>,
    repository: Option<DocAccess>,
    wiki: Option<DocAccess>,
    /// Reporter+ members: who may read confidential issues.
    reporters: Vec<String>,
}

enum Work {
    Items {
        p: Project,
        mr: bool,
        next: Url,
    },
    Wiki {
        p: Project,
    },
    Tree {
        p: Project,
        head: String,
        next: Url,
    },
    Diff {
        p: Project,
        head: String,
        changes: VecDeque<(String, bool)>,
    },
}

pub struct GitlabSource {
    id: String,
    s: GitlabSettings,
    globs: FileGlobs,
    http: HttpClient,
    mode: SyncMode,
    cursor: Marks,
    started: DateTime<Utc>,
    queue: VecDeque<Work>,
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl GitlabSource {
    pub fn new(
        id: &str,
        s: GitlabSettings,
        credentials: &BTreeMap<String, String>,
    ) -> Result<GitlabSource, String> {
        let token = credentials
            .get("token")
            .cloned()
            .ok_or("missing credential `token` (credentials.token: ${GITLAB_TOKEN})")?;
        let http = HttpClient::new(
            &s.base_url,
            &Auth::Header {
                name: "PRIVATE-TOKEN".into(),
                value: token,
            },
            &s.http,
        )?;
        Ok(GitlabSource {
            id: id.into(),
            globs: FileGlobs::new(&s.file_globs),
            s,
            http,
            mode: SyncMode::Full,
            cursor: Marks::default(),
            started: Utc::now(),
            queue: VecDeque::new(),
        })
    }

    pub fn with_http(mut self, f: impl FnOnce(HttpClient) -> HttpClient) -> Self {
        self.http = f(self.http);
        self
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn err(&self, e: HttpError) -> SourceError {
        e.into_source_error(&self.id)
    }

    async fn get(&self, path: &str) -> Result<(Value, Option<Url>), HttpError> {
        let url = self.http.url(path)?;
        self.get_url(&url).await
    }

    async fn get_url(&self, url: &Url) -> Result<(Value, Option<Url>), HttpError> {
        let (v, resp) = self.http.get_json::<Value>(url).await?;
        let next = match link_next(&resp.headers) {
            Some(l) => Some(self.http.url(&l)?),
            None => None,
        };
        Ok((v, next))
    }

    /// Every element of a paginated list.
    async fn all(&self, path: &str, cap: usize) -> Result<Vec<Value>, HttpError> {
        let (mut out, mut next) = (Vec::new(), Some(self.http.url(path)?));
        while let Some(u) = next.take() {
            let (v, n) = self.get_url(&u).await?;
            out.extend(v.as_array().cloned().unwrap_or_default());
            if out.len() >= cap {
                out.truncate(cap);
                break;
            }
            next = n;
        }
        Ok(out)
    }

    async fn projects(&self) -> Result<Vec<Value>, SourceError> {
        let mut out: Vec<Value> = Vec::new();
        for g in &self.s.groups {
            let list = self
                .all(&format!("api/v4/groups/{}/projects?include_subgroups=true&archived=false&per_page=100&order_by=id&sort=asc", enc(g)), usize::MAX)
                .await
                .map_err(|e| self.not_found_hint(e, &format!("group `{g}` not found or not visible to the token; check settings.groups")))?;
            out.extend(list);
        }
        for p in &self.s.projects {
            let (v, _) = self
                .get(&format!("api/v4/projects/{}", enc(p)))
                .await
                .map_err(|e| self.not_found_hint(e, &format!("project `{p}` not found or not visible to the token; check settings.projects")))?;
            out.push(v);
        }
        out.sort_by_key(|p| p["id"].as_u64());
        out.dedup_by_key(|p| p["id"].as_u64());
        Ok(out)
    }

    fn not_found_hint(&self, e: HttpError, msg: &str) -> SourceError {
        if e.status == Some(404) {
            SourceError {
                source_id: self.id.clone(),
                location: e.url,
                message: msg.into(),
                transient: false,
            }
        } else {
            self.err(e)
        }
    }

    /// This source's principal for `local` (`user:…`, `project:…`).
    fn principal(&self, local: &str) -> String {
        sluice_core::access::qualify("gitlab", &self.id, local)
    }

    async fn project(&self, v: &Value) -> Result<Project, SourceError> {
        let id = v["id"].as_u64().unwrap_or_default();
        let path = v["path_with_namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // The prune pass lists ids only; it needs no member list.
        let members = if self.mode != SyncMode::Prune {
            self.all(
                &format!("api/v4/projects/{id}/members/all?per_page=100"),
                usize::MAX,
            )
            .await
            .map_err(|e| self.err(e))?
        } else {
            Vec::new()
        };
        let active: Vec<&Value> = members
            .iter()
            .filter(|m| m["state"].as_str().unwrap_or("active") == "active")
            .collect();
        let at_least = |role: u64| -> Vec<String> {
            active
                .iter()
                .filter(|m| m["access_level"].as_u64().unwrap_or(0) >= role)
                .filter_map(|m| m["username"].as_str())
                .map(|u| self.principal(&format!("user:{u}")))
                .collect()
        };
        let feature = |f: Feature| -> Option<DocAccess> {
            let level = v[format!("{}_access_level", f.name())].as_str();
            let enabled_flag = v[format!("{}_enabled", f.name())].as_bool();
            let members_only = || {
                let m = at_least(f.min_role());
                // Nobody listed: a principal nobody holds until the identity map grants it.
                DocAccess::any_of(if m.is_empty() {
                    vec![self.principal(&format!("project:{path}"))]
                } else {
                    m
                })
            };
            match (level, enabled_flag) {
                (Some("disabled"), _) | (None, Some(false)) => None,
                (Some("enabled") | Some("public"), _) => Some(match v["visibility"].as_str() {
                    Some("public") => DocAccess::Public,
                    Some("internal") => DocAccess::any_of([self.principal("signed-in")]),
                    // Private, or a visibility we cannot read: members only.
                    _ => members_only(),
                }),
                // `private` (members only), or a level we cannot read.
                _ => Some(members_only()),
            }
        };
        Ok(Project {
            id,
            path: path.clone(),
            web_url: v["web_url"]
                .as_str()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            default_branch: v["default_branch"].as_str().map(String::from),
            empty_repo: v["empty_repo"].as_bool().unwrap_or(false),
            issues: feature(Feature::Issues),
            merge_requests: feature(Feature::MergeRequests),
            repository: feature(Feature::Repository),
            wiki: feature(Feature::Wiki),
            reporters: at_least(REPORTER),
        })
    }

    fn items_url(&self, p: &Project, mr: bool) -> Result<Url, HttpError> {
        let kind = if mr { "merge_requests" } else { "issues" };
        // The prune pass orders by creation: page numbers over an order that
        // edits cannot change never skip an item (ordered by `updated_at`,
        // an item edited during the listing moves to the end and another
        // slides past a page boundary unseen — and a prune would delete it).
        let order = if self.mode == SyncMode::Prune {
            "created_at"
        } else {
            "updated_at"
        };
        let mut path = format!(
            "api/v4/projects/{}/{kind}?scope=all&state=all&order_by={order}&sort=asc&per_page={}",
            p.id, self.s.page_size
        );
        if self.mode == SyncMode::Incremental {
            if let Some(t) = self.cursor.marks.get(&format!("{}/{kind}", p.id)) {
                let since = *t - Duration::minutes(self.s.overlap_minutes);
                path.push_str(&format!(
                    "&updated_after={}",
                    enc(&since.to_rfc3339_opts(SecondsFormat::Secs, true))
                ));
            }
        }
        self.http.url(&path)
    }

    async fn item_document(&self, p: &Project, v: &Value, mr: bool) -> Result<Document, HttpError> {
        let iid = v["iid"].as_u64().unwrap_or_default();
        let kind = if mr { "merge_requests" } else { "issues" };
        let sigil = if mr { '!' } else { '#' };
        let mut d = Document::new(
            &self.id,
            format!("{}:{}:{iid}", if mr { "mr" } else { "issue" }, p.id),
            if mr {
                DocKind::MergeRequest
            } else {
                DocKind::Issue
            },
        );
        d.title = v["title"].as_str().unwrap_or_default().to_string();
        let mut body =
            sluice_text::markdown::markdown_to_text(v["description"].as_str().unwrap_or_default());
        // Link targets from the Markdown as written: the text keeps labels only.
        sluice_links::markup::add_targets(
            &mut d.metadata,
            v["description"].as_str().unwrap_or_default(),
        );
        let notes = self.all(&format!("api/v4/projects/{}/{kind}/{iid}/notes?sort=asc&order_by=created_at&per_page=100", p.id), self.s.max_notes + 50).await?;
        let notes: Vec<&Value> = notes
            .iter()
            .filter(|n| !n["system"].as_bool().unwrap_or(false))
            .collect();
        // Internal notes are for Reporter+ members only: fewer people than
        // may read the item, so they never join its document.
        let (notes, internal): (Vec<&Value>, Vec<&Value>) = notes.into_iter().partition(|n| {
            !n["internal"].as_bool().unwrap_or(false)
                && !n["confidential"].as_bool().unwrap_or(false)
        });
        let notes: Vec<&Value> = notes.into_iter().take(self.s.max_notes).collect();
        if !internal.is_empty() {
            d.metadata
                .insert("internal_notes_omitted".into(), internal.len().into());
        }
        if !notes.is_empty() {
            body.push_str("\n\n## Notes\n");
            for n in notes {
                sluice_links::markup::add_targets(
                    &mut d.metadata,
                    n["body"].as_str().unwrap_or_default(),
                );
                let who = n["author"]["username"].as_str().unwrap_or("unknown");
                body.push_str(&format!(
                    "\n- {who}: {}",
                    sluice_text::markdown::markdown_to_text(n["body"].as_str().unwrap_or_default())
                        .replace('\n', " ")
                ));
            }
        }
        if mr {
            // The issues merging it closes, as GitLab keeps them (closing
            // patterns, and links made in the UI, which the text lacks).
            let closes = self
                .all(
                    &format!(
                        "api/v4/projects/{}/merge_requests/{iid}/closes_issues?per_page=100",
                        p.id
                    ),
                    500,
                )
                .await?;
            for issue in &closes {
                if let Some(u) = issue["web_url"].as_str() {
                    sluice_links::markup::add_target(
                        &mut d.metadata,
                        format!("{}{u}", sluice_links::markup::GITLAB_CLOSES),
                    );
                }
            }
            // Its commits, so a commit URL or `group/project@sha` anywhere
            // resolves to it: the head, merge and squash commits it
            // carries, and the ones it lists (one request per changed MR).
            // Not listed (a token without repository access: 403, or a
            // source branch gone: 404): the SHAs the MR carries still count.
            let listed = match self
                .all(
                    &format!(
                        "api/v4/projects/{}/merge_requests/{iid}/commits?per_page=100",
                        p.id
                    ),
                    MAX_COMMITS,
                )
                .await
            {
                Ok(l) => l,
                Err(e) if matches!(e.status, Some(403 | 404)) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            let mut shas: Vec<String> = Vec::new();
            for sha in ["merge_commit_sha", "squash_commit_sha", "sha"]
                .iter()
                .filter_map(|k| v[*k].as_str())
                .chain(listed.iter().filter_map(|c| c["id"].as_str()))
            {
                if !shas.iter().any(|s| s == sha) && shas.len() < MAX_COMMITS {
                    shas.push(sha.to_string());
                }
            }
            if !shas.is_empty() {
                d.metadata
                    .insert(sluice_links::COMMITS_KEY.into(), shas.into());
            }
        }
        d.body = body;
        d.url = v["web_url"].as_str().map(String::from);
        d.author = v["author"]["username"].as_str().map(String::from);
        d.created_at = parse_time(&v["created_at"]);
        d.updated_at = parse_time(&v["updated_at"]);
        d.labels = v["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(String::from))
            .collect();
        d.breadcrumb = p.path.split('/').map(String::from).collect();
        d.metadata.insert("project".into(), p.path.clone().into());
        d.metadata
            .insert("reference".into(), format!("{}{sigil}{iid}", p.path).into());
        d.metadata.insert("state".into(), v["state"].clone());
        let assignees: Vec<Value> = v["assignees"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["username"].as_str().map(Value::from))
            .collect();
        if !assignees.is_empty() {
            d.metadata
                .insert("assignees".into(), Value::Array(assignees.clone()));
        }
        if mr {
            for k in ["source_branch", "target_branch", "merged_at"] {
                if !v[k].is_null() {
                    d.metadata.insert(k.into(), v[k].clone());
                }
            }
        }
        if v["confidential"].as_bool() == Some(true) {
            d.metadata.insert("confidential".into(), true.into());
        }
        d.access = Some(self.item_access(p, v, mr));
        Ok(d)
    }

    /// Who may read an issue or merge request (see `Feature`).
    fn item_access(&self, p: &Project, v: &Value, mr: bool) -> DocAccess {
        let feature = if mr { &p.merge_requests } else { &p.issues };
        // Listed only when the feature is enabled (see `open`).
        let base = feature
            .clone()
            .unwrap_or_else(|| DocAccess::any_of([self.principal(&format!("project:{}", p.path))]));
        if v["confidential"].as_bool() != Some(false) && !mr {
            // Confidential (or not stated): who may read the issues feature
            // AND (Reporter+ members, the author or an assignee).
            let mut acl = p.reporters.clone();
            acl.extend(
                v["author"]["username"]
                    .as_str()
                    .map(|a| self.principal(&format!("user:{a}"))),
            );
            acl.extend(
                v["assignees"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a["username"].as_str())
                    .map(|a| self.principal(&format!("user:{a}"))),
            );
            base.and(acl)
        } else {
            base
        }
    }

    fn file_document(
        &self,
        p: &Project,
        path: &str,
        head: &str,
        content: &[u8],
        blob: Option<&str>,
    ) -> Document {
        let mut d = Document::new(&self.id, format!("file:{}:{path}", p.id), DocKind::File);
        d.title = path.to_string();
        let mut text = String::from_utf8_lossy(content).into_owned();
        if text.len() > self.s.file_max_bytes {
            let cut = text.floor_char_boundary(self.s.file_max_bytes);
            tracing::warn!(source = %self.id, project = %p.path, path, bytes = text.len(), limit = self.s.file_max_bytes, "file truncated (settings.file_max_bytes)");
            text.truncate(cut);
            d.metadata.insert("truncated".into(), true.into());
        }
        d.body = text;
        let branch = p.default_branch.as_deref().unwrap_or("HEAD");
        d.url = Some(format!("{}/-/blob/{branch}/{path}", p.web_url));
        d.breadcrumb = p
            .path
            .split('/')
            .map(String::from)
            .chain(
                path.split('/')
                    .rev()
                    .skip(1)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .map(String::from),
            )
            .collect();
        d.metadata.insert("project".into(), p.path.clone().into());
        d.metadata.insert("commit".into(), head.into());
        if let Some(b) = blob {
            d.metadata.insert("blob".into(), b.into());
        }
        d.access = Some(p.repository.clone().unwrap_or_else(|| {
            DocAccess::any_of([self.principal(&format!("project:{}", p.path))])
        }));
        d
    }

    async fn head(&self, p: &Project) -> Result<Option<String>, HttpError> {
        let Some(branch) = &p.default_branch else {
            return Ok(None);
        };
        let (v, _) = self
            .get(&format!(
                "api/v4/projects/{}/repository/branches/{}",
                p.id,
                enc(branch)
            ))
            .await?;
        Ok(v["commit"]["id"].as_str().map(String::from))
    }

    fn tree_url(&self, p: &Project, head: &str) -> Result<Url, HttpError> {
        self.http.url(&format!("api/v4/projects/{}/repository/tree?recursive=true&ref={}&per_page=100&pagination=keyset", p.id, enc(head)))
    }

    async fn plan_files(&mut self, p: &Project) -> Result<(), SourceError> {
        let known = self.cursor.heads.get(&p.id.to_string()).cloned();
        let head = match self.head(p).await {
            Ok(Some(h)) => h,
            // An empty repository (GitLab says so: no default branch, or
            // `empty_repo`); the engine's mass-deletion guard still weighs
            // what a prune removes.
            Ok(None) => return Ok(()),
            Err(HttpError {
                status: Some(404), ..
            }) if p.empty_repo => return Ok(()),
            // The project names a default branch that answers 404: an
            // inconsistent answer, not an empty repository. A complete
            // listing without its files would prune them all, so stop.
            Err(HttpError {
                status: Some(404), ..
            }) => {
                return Err(SourceError {
                    source_id: self.id.clone(),
                    location: format!("project {}", p.path),
                    message: format!(
                        "the default branch `{}` of project {} answers 404 although the project names it{}; nothing is indexed or pruned from it (this clears once GitLab serves the branch again)",
                        p.default_branch.as_deref().unwrap_or("?"),
                        p.path,
                        if known.is_some() {
                            " and its files are indexed"
                        } else {
                            ""
                        }
                    ),
                    transient: false,
                });
            }
            Err(e) => return Err(self.err(e)),
        };
        if self.mode == SyncMode::Incremental {
            if let Some(old) = known {
                if old == head {
                    return Ok(());
                }
                let cmp = self
                    .get(&format!(
                        "api/v4/projects/{}/repository/compare?from={}&to={}&straight=true",
                        p.id,
                        enc(&old),
                        enc(&head)
                    ))
                    .await;
                match cmp {
                    Ok((v, _)) => {
                        let mut changes = VecDeque::new();
                        for d in v["diffs"].as_array().into_iter().flatten() {
                            let (old_path, new_path) = (
                                d["old_path"].as_str().unwrap_or(""),
                                d["new_path"].as_str().unwrap_or(""),
                            );
                            if d["deleted_file"].as_bool() == Some(true) {
                                changes.push_back((old_path.to_string(), true));
                                continue;
                            }
                            if d["renamed_file"].as_bool() == Some(true) {
                                changes.push_back((old_path.to_string(), true));
                            }
                            changes.push_back((new_path.to_string(), false));
                        }
                        changes.retain(|(path, _)| self.globs.admits(path));
                        self.queue.push_back(Work::Diff {
                            p: p.clone(),
                            head,
                            changes,
                        });
                        return Ok(());
                    }
                    // The old commit is gone (force push): list the tree again.
                    Err(e) if e.status == Some(404) => {
                        tracing::warn!(source = %self.id, project = %p.path, "compare failed; re-listing the repository")
                    }
                    Err(e) => return Err(self.err(e)),
                }
            }
        }
        let next = self.tree_url(p, &head).map_err(|e| self.err(e))?;
        self.queue.push_back(Work::Tree {
            p: p.clone(),
            head,
            next,
        });
        Ok(())
    }

    fn encode_cursor(&self) -> Option<String> {
        serde_json::to_string(&self.cursor).ok()
    }

    async fn run_items(
        &mut self,
        p: Project,
        mr: bool,
        url: Url,
        page: &mut SourcePage,
    ) -> Result<Option<Url>, SourceError> {
        let (v, next) = self.get_url(&url).await.map_err(|e| self.err(e))?;
        let Some(items) = v.as_array() else {
            return Err(SourceError {
                source_id: self.id.clone(),
                location: sluice_http::redact_url(&url),
                message: "unexpected response: not a JSON array".into(),
                transient: false,
            });
        };
        let mut max_seen: Option<DateTime<Utc>> = None;
        for it in items {
            let Some(iid) = it["iid"].as_u64() else {
                page.dead_letters.push(DeadLetter {
                    source: self.id.clone(),
                    location: sluice_http::redact_url(&url),
                    external_id: None,
                    error: "item without `iid`".into(),
                });
                continue;
            };
            let ext = format!("{}:{}:{iid}", if mr { "mr" } else { "issue" }, p.id);
            if self.mode == SyncMode::Prune {
                page.live_ids.push(ext);
                continue;
            }
            // The permission pass: the listing carries all access depends on.
            if self.mode == SyncMode::Permissions {
                page.access.push((ext, self.item_access(&p, it, mr)));
                continue;
            }
            if let Some(t) = parse_time(&it["updated_at"]) {
                max_seen = Some(max_seen.map_or(t, |m| m.max(t)));
            }
            match self.item_document(&p, it, mr).await {
                Ok(d) => page.documents.push(d),
                Err(e) if e.transient => return Err(self.err(e)),
                Err(e) if e.status == Some(404) => page.deleted.push(ext),
                Err(e) => page.dead_letters.push(DeadLetter {
                    source: self.id.clone(),
                    location: e.url.clone(),
                    external_id: Some(ext),
                    error: e.to_string(),
                }),
            }
        }
        if let Some(seen) = max_seen {
            let key = format!("{}/{}", p.id, if mr { "merge_requests" } else { "issues" });
            let mark = seen.min(self.started);
            let old = self.cursor.marks.get(&key).copied();
            self.cursor
                .marks
                .insert(key, old.map_or(mark, |o| o.max(mark)));
        }
        if let Some(n) = &next {
            self.queue.push_front(Work::Items {
                p,
                mr,
                next: n.clone(),
            });
        }
        Ok(next)
    }
}

fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

#[async_trait]
impl Source for GitlabSource {
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
        self.queue.clear();
        self.cursor = sluice_core::parse_cursor(&self.id, cursor)?;
        let projects = self.projects().await?;
        for v in &projects {
            let p = self.project(v).await?;
            if self.s.issues && p.issues.is_some() {
                let next = self.items_url(&p, false).map_err(|e| self.err(e))?;
                self.queue.push_back(Work::Items {
                    p: p.clone(),
                    mr: false,
                    next,
                });
            }
            if self.s.merge_requests && p.merge_requests.is_some() {
                let next = self.items_url(&p, true).map_err(|e| self.err(e))?;
                self.queue.push_back(Work::Items {
                    p: p.clone(),
                    mr: true,
                    next,
                });
            }
            if self.s.wiki && p.wiki.is_some() {
                self.queue.push_back(Work::Wiki { p: p.clone() });
            }
            if self.s.files && p.repository.is_some() {
                self.plan_files(&p).await?;
            }
        }
        let ids: Vec<String> = projects
            .iter()
            .filter_map(|p| p["id"].as_u64())
            .map(|i| i.to_string())
            .collect();
        self.cursor
            .marks
            .retain(|k, _| ids.iter().any(|i| k.starts_with(&format!("{i}/"))));
        self.cursor.heads.retain(|k, _| ids.contains(k));
        Ok(match mode {
            SyncMode::Incremental => ListingScope::Changes,
            SyncMode::Full | SyncMode::Prune | SyncMode::Permissions => ListingScope::Complete,
        })
    }

    async fn next_page(&mut self) -> Result<Option<SourcePage>, SourceError> {
        let Some(work) = self.queue.pop_front() else {
            return Ok(None);
        };
        let mut page = SourcePage::default();
        match work {
            Work::Items { p, mr, next } => {
                self.run_items(p, mr, next, &mut page).await?;
            }
            Work::Wiki { p } => {
                let content = if matches!(self.mode, SyncMode::Prune | SyncMode::Permissions) {
                    0
                } else {
                    1
                };
                match self
                    .get(&format!(
                        "api/v4/projects/{}/wikis?with_content={content}",
                        p.id
                    ))
                    .await
                {
                    Ok((v, _)) => {
                        for w in v.as_array().into_iter().flatten() {
                            let Some(slug) = w["slug"].as_str() else {
                                continue;
                            };
                            let ext = format!("wiki:{}:{slug}", p.id);
                            if self.mode == SyncMode::Prune {
                                page.live_ids.push(ext);
                                continue;
                            }
                            if self.mode == SyncMode::Permissions {
                                page.access.push((
                                    ext,
                                    p.wiki.clone().unwrap_or_else(|| {
                                        DocAccess::any_of([
                                            self.principal(&format!("project:{}", p.path))
                                        ])
                                    }),
                                ));
                                continue;
                            }
                            let mut d = Document::new(&self.id, ext, DocKind::WikiPage);
                            d.title = w["title"].as_str().unwrap_or(slug).to_string();
                            let content = w["content"].as_str().unwrap_or_default();
                            // Markdown pages read as rendered; other formats (AsciiDoc, RDoc, Org) as written.
                            d.body = if w["format"].as_str().is_none_or(|f| f == "markdown") {
                                sluice_text::markdown::markdown_to_text(content)
                            } else {
                                content.to_string()
                            };
                            d.url = Some(format!("{}/-/wikis/{slug}", p.web_url));
                            d.breadcrumb = p
                                .path
                                .split('/')
                                .map(String::from)
                                .chain(std::iter::once("wiki".to_string()))
                                .collect();
                            d.metadata.insert("project".into(), p.path.clone().into());
                            d.metadata.insert("format".into(), w["format"].clone());
                            d.access = Some(p.wiki.clone().unwrap_or_else(|| {
                                DocAccess::any_of([self.principal(&format!("project:{}", p.path))])
                            }));
                            page.documents.push(d);
                        }
                    }
                    // Wiki disabled for the project: nothing to index.
                    Err(e) if e.status == Some(404) || e.status == Some(403) => {}
                    Err(e) => return Err(self.err(e)),
                }
            }
            Work::Tree { p, head, next } => {
                let (v, more) = self.get_url(&next).await.map_err(|e| self.err(e))?;
                let Some(entries) = v.as_array() else {
                    return Err(SourceError {
                        source_id: self.id.clone(),
                        location: sluice_http::redact_url(&next),
                        message: "unexpected response: the repository tree is not a JSON array"
                            .into(),
                        transient: false,
                    });
                };
                // A branch with a head commit and no files at all is a
                // reshaped answer (a wrong ref, a tree GitLab could not
                // read), not a repository whose files were all deleted.
                if entries.is_empty()
                    && more.is_none()
                    && self.tree_url(&p, &head).is_ok_and(|first| first == next)
                {
                    return Err(SourceError {
                        source_id: self.id.clone(),
                        location: format!("project {}", p.path),
                        message: format!(
                            "the tree of branch `{}` (commit {head}) of project {} came back empty; nothing is indexed or pruned from it",
                            p.default_branch.as_deref().unwrap_or("?"),
                            p.path
                        ),
                        transient: false,
                    });
                }
                for entry in entries {
                    let (Some(path), Some(blob)) = (entry["path"].as_str(), entry["id"].as_str())
                    else {
                        continue;
                    };
                    if entry["type"] != "blob" || !self.globs.admits(path) {
                        continue;
                    }
                    let ext = format!("file:{}:{path}", p.id);
                    if self.mode == SyncMode::Prune {
                        page.live_ids.push(ext);
                        continue;
                    }
                    if self.mode == SyncMode::Permissions {
                        page.access.push((
                            ext,
                            p.repository.clone().unwrap_or_else(|| {
                                DocAccess::any_of([self.principal(&format!("project:{}", p.path))])
                            }),
                        ));
                        continue;
                    }
                    match self
                        .get(&format!("api/v4/projects/{}/repository/blobs/{blob}", p.id))
                        .await
                    {
                        Ok((b, _)) => match base64::engine::general_purpose::STANDARD
                            .decode(b["content"].as_str().unwrap_or("").replace('\n', ""))
                        {
                            Ok(bytes) => page.documents.push(self.file_document(
                                &p,
                                path,
                                &head,
                                &bytes,
                                Some(blob),
                            )),
                            Err(e) => page.dead_letters.push(DeadLetter {
                                source: self.id.clone(),
                                location: format!("{}:{path}", p.path),
                                external_id: Some(ext),
                                error: format!("blob content is not base64: {e}"),
                            }),
                        },
                        Err(e) if e.transient => return Err(self.err(e)),
                        Err(e) => page.dead_letters.push(DeadLetter {
                            source: self.id.clone(),
                            location: e.url.clone(),
                            external_id: Some(ext),
                            error: e.to_string(),
                        }),
                    }
                }
                match more {
                    Some(n) => self.queue.push_front(Work::Tree { p, head, next: n }),
                    None if self.mode != SyncMode::Prune => {
                        self.cursor.heads.insert(p.id.to_string(), head);
                    }
                    None => {}
                }
            }
            Work::Diff {
                p,
                head,
                mut changes,
            } => {
                // Bounded pages: at most page_size files per page.
                for _ in 0..self.s.page_size {
                    let Some((path, deleted)) = changes.pop_front() else {
                        break;
                    };
                    let ext = format!("file:{}:{path}", p.id);
                    if deleted {
                        page.deleted.push(ext);
                        continue;
                    }
                    match self
                        .get(&format!(
                            "api/v4/projects/{}/repository/files/{}?ref={}",
                            p.id,
                            enc(&path),
                            enc(&head)
                        ))
                        .await
                    {
                        Ok((f, _)) => match base64::engine::general_purpose::STANDARD
                            .decode(f["content"].as_str().unwrap_or("").replace('\n', ""))
                        {
                            Ok(bytes) => page.documents.push(self.file_document(
                                &p,
                                &path,
                                &head,
                                &bytes,
                                f["blob_id"].as_str(),
                            )),
                            Err(e) => page.dead_letters.push(DeadLetter {
                                source: self.id.clone(),
                                location: format!("{}:{path}", p.path),
                                external_id: Some(ext),
                                error: format!("file content is not base64: {e}"),
                            }),
                        },
                        Err(e) if e.transient => return Err(self.err(e)),
                        // Deleted again after the compare.
                        Err(e) if e.status == Some(404) => page.deleted.push(ext),
                        Err(e) => page.dead_letters.push(DeadLetter {
                            source: self.id.clone(),
                            location: e.url.clone(),
                            external_id: Some(ext),
                            error: e.to_string(),
                        }),
                    }
                }
                if changes.is_empty() {
                    self.cursor.heads.insert(p.id.to_string(), head);
                } else {
                    self.queue.push_front(Work::Diff { p, head, changes });
                }
            }
        }
        if self.mode != SyncMode::Prune {
            page.cursor = self.encode_cursor();
        }
        Ok(Some(page))
    }
}

#[cfg(test)]
mod tests;
