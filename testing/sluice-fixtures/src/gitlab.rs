//! GitLab REST v4: groups (with subgroups) → projects, issues, merge
//! requests, notes, wikis, repository tree/blobs/compare, members. Lists
//! are bare arrays with offset pagination in headers (`Link`, `X-Next-Page`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::common::{Clock, Shared, bad_request, not_found, offset_page, param, query_pairs};
use crate::text::{comment_text, topic};

pub type GitlabShared = Arc<Shared<GitlabWorld>>;

#[derive(Debug, Clone)]
pub struct Note {
    pub id: u64,
    pub body: String,
    pub author: String,
    pub system: bool,
    /// An internal note: Reporter+ members only.
    pub internal: bool,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: u64,
    pub iid: u64,
    pub project_id: u64,
    pub title: String,
    pub description: String,
    pub state: String,
    pub confidential: bool,
    pub labels: Vec<String>,
    pub author: String,
    pub assignees: Vec<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub notes: Vec<Note>,
    /// A merge request's closing issues (iids in its project), as GitLab
    /// keeps them: not necessarily written in its description.
    pub closes: Vec<u64>,
    /// A merge request's commits (full SHAs), oldest first.
    pub commits: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: u64,
    pub path: String,
    pub name: String,
    pub namespace: String,
    pub visibility: String,
    pub default_branch: String,
    /// (username, access level: 10 guest, 20 reporter, 30 developer, 40 maintainer).
    pub members: Vec<(String, u32)>,
    /// Commits, oldest first: (sha, path → (blob sha, content)).
    pub commits: Vec<(String, BTreeMap<String, (String, String)>)>,
    /// slug → (title, markdown content).
    pub wiki: BTreeMap<String, (String, String)>,
    /// `issues`, `merge_requests`, `repository`, `wiki` → `enabled` |
    /// `private` | `disabled` (the API's `<feature>_access_level`).
    pub features: BTreeMap<String, String>,
    /// The default branch answers 404 although the project names it.
    pub branch_missing: bool,
    /// The tree of the default branch answers an empty list.
    pub tree_empty: bool,
}

#[derive(Debug, Default)]
pub struct GitlabWorld {
    pub clock: Clock,
    /// Group full paths.
    pub groups: Vec<String>,
    pub projects: Vec<Project>,
    pub issues: BTreeMap<u64, Item>,
    pub merge_requests: BTreeMap<u64, Item>,
    next_id: u64,
}

fn sha(seed: &str) -> String {
    // Deterministic 40-hex "SHA" (FNV-1a, repeated): enough for a fixture.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in seed.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}{:016x}{:08x}", h.rotate_left(17), (h >> 7) as u32)
}

impl GitlabWorld {
    /// Projects under `acme/platform` (a subgroup of `acme`) with issues,
    /// MRs, a wiki and docs; one private project with members.
    pub fn generate(projects: &[(&str, &str, usize)]) -> GitlabWorld {
        let mut w = GitlabWorld {
            next_id: 500,
            groups: vec!["acme".into(), "acme/platform".into()],
            ..Default::default()
        };
        for (path, visibility, n) in projects {
            w.add_project(path, visibility, *n);
        }
        w
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn add_project(&mut self, path: &str, visibility: &str, n: usize) -> u64 {
        let pid = self.id();
        let (namespace, name) = path.rsplit_once('/').unwrap_or(("", path));
        let t = topic(pid);
        let mut files = BTreeMap::new();
        let readme = format!(
            "# {name}\n\n{}\n\n## Setup\n\n```sh\n{}\n```\n",
            t.sentences[0], t.code
        );
        files.insert("README.md".to_string(), (sha(&readme), readme));
        for k in 0..4 {
            let tk = topic(pid + k + 1);
            let doc = format!(
                "# {}\n\n{}\n\n{}\n",
                tk.title, tk.sentences[1], tk.sentences[2]
            );
            files.insert(
                format!("docs/{}.md", tk.title.to_lowercase().replace(' ', "-")),
                (sha(&doc), doc),
            );
        }
        let code = "fn main() {\n    println!(\"hello\");\n}\n".to_string();
        files.insert("src/main.rs".into(), (sha(&code), code));
        let big = "x".repeat(300_000);
        files.insert("docs/huge-log.md".into(), (sha(&big), big));
        let mut wiki = BTreeMap::new();
        wiki.insert(
            "home".to_string(),
            (
                "Home".to_string(),
                format!("# {name} wiki\n\n{}", t.sentences[2]),
            ),
        );
        wiki.insert(
            "runbooks/on-call".to_string(),
            ("On-call".to_string(), topic(pid + 7).sentences.join(" ")),
        );
        let members = vec![
            ("alice".to_string(), 40),
            ("bob".to_string(), 30),
            ("guest-gina".to_string(), 10),
        ];
        self.projects.push(Project {
            id: pid,
            path: path.into(),
            name: name.into(),
            namespace: namespace.into(),
            visibility: visibility.into(),
            default_branch: "main".into(),
            members,
            commits: vec![(sha(&format!("{pid}-c0")), files)],
            wiki,
            features: ["issues", "merge_requests", "repository", "wiki"]
                .into_iter()
                .map(|f| (f.to_string(), "enabled".to_string()))
                .collect(),
            branch_missing: false,
            tree_empty: false,
        });
        let start = self.clock.now - Duration::minutes(2 * n as i64 + 10);
        for k in 0..n {
            for mr in [false, true] {
                let id = self.id();
                let tk = topic(id);
                let at = start + Duration::minutes(2 * k as i64 + mr as i64);
                let notes = (0..(k % 4) + if k % 5 == 0 { 30 } else { 0 })
                    .map(|j| Note {
                        id: id * 100 + j as u64,
                        body: comment_text(j, tk),
                        author: "bob".into(),
                        system: false,
                        internal: false,
                        created: at,
                    })
                    .chain(std::iter::once(Note {
                        id: id * 100 + 99,
                        body: "changed the description".into(),
                        author: "bot".into(),
                        system: true,
                        internal: false,
                        created: at,
                    }))
                    .collect();
                let item = Item {
                    id,
                    iid: k as u64 + 1,
                    project_id: pid,
                    title: format!("{} ({}{})", tk.title, if mr { "!" } else { "#" }, k + 1),
                    description: format!(
                        "## Context\n\n{}\n\n- {}\n- {}\n\n```\n{}\n```\n\n- [x] **Reproduced** on [staging](https://staging.example/x) (see #12, cc @alice)",
                        tk.sentences[0], tk.sentences[1], tk.sentences[2], tk.code
                    ),
                    state: if mr {
                        ["opened", "merged", "closed"][k % 3].into()
                    } else {
                        ["opened", "closed"][k % 2].into()
                    },
                    confidential: !mr && k % 7 == 3,
                    labels: if k % 2 == 0 {
                        vec!["backend".into()]
                    } else {
                        vec!["docs".into(), "backend".into()]
                    },
                    author: "alice".into(),
                    assignees: vec!["carol".into()],
                    created: at,
                    updated: at,
                    notes,
                    closes: if mr && k % 3 == 1 {
                        vec![k as u64 + 1]
                    } else {
                        Vec::new()
                    },
                    commits: if mr {
                        (0..1 + k % 3).map(|c| fake_sha(id, c)).collect()
                    } else {
                        Vec::new()
                    },
                };
                if mr {
                    self.merge_requests.insert(id, item);
                } else {
                    self.issues.insert(id, item);
                }
            }
        }
        pid
    }

    pub fn project(&self, key: &str) -> Option<&Project> {
        self.projects
            .iter()
            .find(|p| p.id.to_string() == key || p.path == key)
    }

    fn project_mut(&mut self, path: &str) -> Option<&mut Project> {
        self.projects.iter_mut().find(|p| p.path == path)
    }

    pub fn issue_mut(&mut self, project: &str, iid: u64, mr: bool) -> Option<&mut Item> {
        let pid = self.project(project)?.id;
        let map = if mr {
            &mut self.merge_requests
        } else {
            &mut self.issues
        };
        map.values_mut()
            .find(|i| i.project_id == pid && i.iid == iid)
    }

    pub fn edit_issue(&mut self, project: &str, iid: u64, mr: bool, title: &str) {
        let now = self.clock.tick();
        if let Some(i) = self.issue_mut(project, iid, mr) {
            i.title = title.into();
            i.updated = now;
        }
    }

    pub fn close_issue(&mut self, project: &str, iid: u64) {
        let now = self.clock.tick();
        if let Some(i) = self.issue_mut(project, iid, false) {
            i.state = "closed".into();
            i.updated = now;
        }
    }

    pub fn delete_issue(&mut self, project: &str, iid: u64, mr: bool) {
        self.clock.tick();
        let Some(pid) = self.project(project).map(|p| p.id) else {
            return;
        };
        let map = if mr {
            &mut self.merge_requests
        } else {
            &mut self.issues
        };
        map.retain(|_, i| !(i.project_id == pid && i.iid == iid));
    }

    /// A new commit on the default branch: `changes` maps a path to new
    /// content, or `None` to delete the file.
    pub fn commit(&mut self, project: &str, changes: &[(&str, Option<&str>)]) {
        self.clock.tick();
        let Some(p) = self.project_mut(project) else {
            return;
        };
        let mut files = p.commits.last().map(|c| c.1.clone()).unwrap_or_default();
        for (path, content) in changes {
            match content {
                Some(c) => {
                    files.insert(path.to_string(), (sha(c), c.to_string()));
                }
                None => {
                    files.remove(*path);
                }
            }
        }
        let n = p.commits.len();
        p.commits.push((sha(&format!("{}-c{n}", p.id)), files));
    }

    pub fn delete_wiki_page(&mut self, project: &str, slug: &str) {
        if let Some(p) = self.project_mut(project) {
            p.wiki.remove(slug);
        }
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn user(name: &str) -> Value {
    json!({ "id": name.len(), "username": name, "name": name, "state": "active", "web_url": format!("https://gitlab.example/{name}") })
}

fn project_json(p: &Project) -> Value {
    let mut v = json!({
        "id": p.id, "name": p.name, "path": p.name, "path_with_namespace": p.path,
        "namespace": { "full_path": p.namespace }, "visibility": p.visibility,
        "default_branch": p.default_branch, "web_url": format!("https://gitlab.example/{}", p.path),
        "archived": false, "last_activity_at": "2026-01-05T09:00:00.000Z",
    });
    for (f, level) in &p.features {
        v[format!("{f}_access_level")] = json!(level);
    }
    v
}

/// A deterministic 40-hex commit SHA.
pub fn fake_sha(item: u64, n: usize) -> String {
    let mut x = item.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (n as u64 + 1);
    (0..5)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{:08x}", x as u32)
        })
        .collect()
}

fn item_json(i: &Item, p: &Project, mr: bool) -> Value {
    let kind = if mr { "merge_requests" } else { "issues" };
    let mut v = json!({
        "id": i.id, "iid": i.iid, "project_id": i.project_id, "title": i.title, "description": i.description,
        "state": i.state, "labels": i.labels, "author": user(&i.author),
        "assignees": i.assignees.iter().map(|a| user(a)).collect::<Vec<_>>(),
        "assignee": i.assignees.first().map(|a| user(a)),
        "created_at": ts(i.created), "updated_at": ts(i.updated),
        "closed_at": if i.state == "closed" { json!(ts(i.updated)) } else { Value::Null },
        "web_url": format!("https://gitlab.example/{}/-/{kind}/{}", p.path, i.iid),
        "user_notes_count": i.notes.iter().filter(|n| !n.system).count(),
    });
    if mr {
        v["source_branch"] = json!(format!("feature-{}", i.iid));
        v["target_branch"] = json!("main");
        v["merged_at"] = if i.state == "merged" {
            json!(ts(i.updated))
        } else {
            Value::Null
        };
        v["draft"] = json!(false);
        v["sha"] = json!(i.commits.last());
        v["merge_commit_sha"] = Value::Null;
        v["squash_commit_sha"] = Value::Null;
    } else {
        v["confidential"] = json!(i.confidential);
    }
    v
}

async fn group_projects(
    State(s): State<GitlabShared>,
    Path(group): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    if !w.groups.contains(&group) {
        return not_found("404 Group Not Found");
    }
    let sub = param(&q, "include_subgroups") == Some("true");
    let items: Vec<Value> = w
        .projects
        .iter()
        .filter(|p| p.namespace == group || (sub && p.namespace.starts_with(&format!("{group}/"))))
        .map(project_json)
        .collect();
    offset_page(
        &format!(
            "/api/v4/groups/{}/projects",
            crate::common::encode_query(&group)
        ),
        &q,
        items,
        20,
    )
}

async fn project(State(s): State<GitlabShared>, Path(id): Path<String>) -> Response {
    let w = s.world();
    match w.project(&id) {
        Some(p) => axum::Json(project_json(p)).into_response(),
        None => not_found("404 Project Not Found"),
    }
}

fn list_items(s: &GitlabShared, id: &str, raw: Option<String>, mr: bool) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(p) = w.project(id) else {
        return not_found("404 Project Not Found");
    };
    let after = match param(&q, "updated_after").map(|t| DateTime::parse_from_rfc3339(t)) {
        Some(Ok(t)) => Some(t.with_timezone(&Utc)),
        Some(Err(_)) => return bad_request("updated_after is invalid"),
        None => None,
    };
    let map = if mr { &w.merge_requests } else { &w.issues };
    let mut items: Vec<&Item> = map
        .values()
        .filter(|i| i.project_id == p.id && after.is_none_or(|a| i.updated >= a))
        .collect();
    if param(&q, "order_by") == Some("updated_at") {
        items.sort_by(|a, b| a.updated.cmp(&b.updated).then(a.id.cmp(&b.id)));
        if param(&q, "sort") != Some("asc") {
            items.reverse();
        }
    }
    let values = items.into_iter().map(|i| item_json(i, p, mr)).collect();
    let kind = if mr { "merge_requests" } else { "issues" };
    offset_page(&format!("/api/v4/projects/{}/{kind}", p.id), &q, values, 20)
}

async fn issues(
    State(s): State<GitlabShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    list_items(&s, &id, raw, false)
}
async fn merge_requests(
    State(s): State<GitlabShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    list_items(&s, &id, raw, true)
}

fn notes(s: &GitlabShared, id: &str, iid: u64, raw: Option<String>, mr: bool) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(p) = w.project(id) else {
        return not_found("404 Project Not Found");
    };
    let map = if mr { &w.merge_requests } else { &w.issues };
    let Some(i) = map.values().find(|i| i.project_id == p.id && i.iid == iid) else {
        return not_found("404 Not found");
    };
    let values = i
        .notes
        .iter()
        .map(|n| json!({ "id": n.id, "body": n.body, "author": user(&n.author), "system": n.system, "internal": n.internal, "created_at": ts(n.created), "updated_at": ts(n.created), "noteable_iid": iid }))
        .collect();
    let kind = if mr { "merge_requests" } else { "issues" };
    offset_page(
        &format!("/api/v4/projects/{}/{kind}/{iid}/notes", p.id),
        &q,
        values,
        20,
    )
}

/// `GET …/merge_requests/{iid}/closes_issues`: the issues merging it closes.
async fn closes_issues(
    State(s): State<GitlabShared>,
    Path((id, iid)): Path<(String, u64)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(p) = w.project(&id) else {
        return not_found("404 Project Not Found");
    };
    let Some(mr) = w
        .merge_requests
        .values()
        .find(|i| i.project_id == p.id && i.iid == iid)
    else {
        return not_found("404 Not found");
    };
    let values = w
        .issues
        .values()
        .filter(|i| i.project_id == p.id && mr.closes.contains(&i.iid))
        .map(|i| item_json(i, p, false))
        .collect();
    offset_page(
        &format!(
            "/api/v4/projects/{}/merge_requests/{iid}/closes_issues",
            p.id
        ),
        &q,
        values,
        20,
    )
}

/// `GET …/merge_requests/{iid}/commits`: newest first, as GitLab lists them.
async fn mr_commits(
    State(s): State<GitlabShared>,
    Path((id, iid)): Path<(String, u64)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(p) = w.project(&id) else {
        return not_found("404 Project Not Found");
    };
    let Some(mr) = w
        .merge_requests
        .values()
        .find(|i| i.project_id == p.id && i.iid == iid)
    else {
        return not_found("404 Not found");
    };
    let values = mr
        .commits
        .iter()
        .rev()
        .map(|sha| json!({ "id": sha, "short_id": &sha[..8], "title": "change", "web_url": format!("https://gitlab.example/{}/-/commit/{sha}", p.path) }))
        .collect();
    offset_page(
        &format!("/api/v4/projects/{}/merge_requests/{iid}/commits", p.id),
        &q,
        values,
        20,
    )
}

async fn issue_notes(
    State(s): State<GitlabShared>,
    Path((id, iid)): Path<(String, u64)>,
    RawQuery(raw): RawQuery,
) -> Response {
    notes(&s, &id, iid, raw, false)
}
async fn mr_notes(
    State(s): State<GitlabShared>,
    Path((id, iid)): Path<(String, u64)>,
    RawQuery(raw): RawQuery,
) -> Response {
    notes(&s, &id, iid, raw, true)
}

async fn wikis(
    State(s): State<GitlabShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(p) = w.project(id.as_str()) else {
        return not_found("404 Project Not Found");
    };
    let with_content =
        param(&q, "with_content") == Some("1") || param(&q, "with_content") == Some("true");
    let v: Vec<Value> = p
        .wiki
        .iter()
        .map(|(slug, (title, content))| {
            let mut e =
                json!({ "slug": slug, "title": title, "format": "markdown", "encoding": "UTF-8" });
            if with_content {
                e["content"] = json!(content);
            }
            e
        })
        .collect();
    axum::Json(Value::Array(v)).into_response()
}

fn snapshot<'a>(p: &'a Project, r: &str) -> Option<&'a BTreeMap<String, (String, String)>> {
    if r == p.default_branch {
        return p.commits.last().map(|c| &c.1);
    }
    p.commits.iter().find(|c| c.0 == r).map(|c| &c.1)
}

async fn branch(
    State(s): State<GitlabShared>,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    let w = s.world();
    let Some(p) = w.project(&id) else {
        return not_found("404 Project Not Found");
    };
    if name != p.default_branch || p.branch_missing {
        return not_found("404 Branch Not Found");
    }
    let head = p.commits.last().map(|c| c.0.clone()).unwrap_or_default();
    axum::Json(json!({ "name": name, "default": true, "commit": { "id": head, "committed_date": "2026-01-05T09:00:00.000Z" } })).into_response()
}

async fn tree(
    State(s): State<GitlabShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(p) = w.project(&id) else {
        return not_found("404 Project Not Found");
    };
    let r = param(&q, "ref").unwrap_or(&p.default_branch).to_string();
    let Some(files) = snapshot(p, &r) else {
        return not_found("404 Tree Not Found");
    };
    let mut dirs: Vec<String> = files
        .keys()
        .filter_map(|f| f.rsplit_once('/').map(|(d, _)| d.to_string()))
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut items: Vec<Value> = dirs.iter().map(|d| json!({ "id": crate::gitlab::sha(d), "name": d.rsplit('/').next(), "type": "tree", "path": d, "mode": "040000" })).collect();
    items.extend(files.iter().map(|(path, (blob, _))| json!({ "id": blob, "name": path.rsplit('/').next(), "type": "blob", "path": path, "mode": "100644" })));
    if p.tree_empty {
        items.clear();
    }
    offset_page(
        &format!("/api/v4/projects/{}/repository/tree", p.id),
        &q,
        items,
        20,
    )
}

async fn blob(State(s): State<GitlabShared>, Path((id, blob)): Path<(String, String)>) -> Response {
    let w = s.world();
    let Some(p) = w.project(&id) else {
        return not_found("404 Project Not Found");
    };
    let found = p
        .commits
        .iter()
        .rev()
        .flat_map(|c| c.1.values())
        .find(|(b, _)| *b == blob);
    match found {
        Some((b, content)) => axum::Json(json!({
            "sha": b, "size": content.len(), "encoding": "base64",
            "content": base64::engine::general_purpose::STANDARD.encode(content),
        }))
        .into_response(),
        None => not_found("404 Blob Not Found"),
    }
}

/// `GET /projects/:id/repository/files/:path?ref=` (path URL-encoded).
async fn file(
    State(s): State<GitlabShared>,
    Path((id, path)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(p) = w.project(&id) else {
        return not_found("404 Project Not Found");
    };
    let r = param(&q, "ref").unwrap_or(&p.default_branch).to_string();
    let Some(files) = snapshot(p, &r) else {
        return not_found("404 Commit Not Found");
    };
    match files.get(&path) {
        Some((b, content)) => axum::Json(json!({
            "file_name": path.rsplit('/').next(), "file_path": path, "size": content.len(), "encoding": "base64",
            "content": base64::engine::general_purpose::STANDARD.encode(content), "ref": r, "blob_id": b,
            "last_commit_id": p.commits.last().map(|c| c.0.clone()),
        }))
        .into_response(),
        None => not_found("404 File Not Found"),
    }
}

async fn compare(
    State(s): State<GitlabShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(p) = w.project(&id) else {
        return not_found("404 Project Not Found");
    };
    let (Some(from), Some(to)) = (
        param(&q, "from").and_then(|f| snapshot(p, f)),
        param(&q, "to").and_then(|t| snapshot(p, t)),
    ) else {
        return not_found("404 Ref Not Found");
    };
    let mut diffs = Vec::new();
    for (path, (b, _)) in to {
        match from.get(path) {
            None => diffs.push(json!({ "old_path": path, "new_path": path, "new_file": true, "renamed_file": false, "deleted_file": false })),
            Some((ob, _)) if ob != b => diffs.push(json!({ "old_path": path, "new_path": path, "new_file": false, "renamed_file": false, "deleted_file": false })),
            _ => {}
        }
    }
    for path in from.keys().filter(|k| !to.contains_key(*k)) {
        diffs.push(json!({ "old_path": path, "new_path": path, "new_file": false, "renamed_file": false, "deleted_file": true }));
    }
    axum::Json(json!({ "commits": [], "diffs": diffs, "compare_timeout": false, "compare_same_ref": false })).into_response()
}

async fn members(
    State(s): State<GitlabShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(p) = w.project(&id) else {
        return not_found("404 Project Not Found");
    };
    let values = p.members.iter().map(|(u, level)| json!({ "id": u.len(), "username": u, "name": u, "state": "active", "access_level": level })).collect();
    offset_page(
        &format!("/api/v4/projects/{}/members/all", p.id),
        &q,
        values,
        2,
    )
}

pub fn router() -> Router<GitlabShared> {
    Router::new()
        .route("/api/v4/groups/{id}/projects", get(group_projects))
        .route("/api/v4/projects/{id}", get(project))
        .route("/api/v4/projects/{id}/issues", get(issues))
        .route("/api/v4/projects/{id}/issues/{iid}/notes", get(issue_notes))
        .route("/api/v4/projects/{id}/merge_requests", get(merge_requests))
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/notes",
            get(mr_notes),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/closes_issues",
            get(closes_issues),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/commits",
            get(mr_commits),
        )
        .route("/api/v4/projects/{id}/wikis", get(wikis))
        .route(
            "/api/v4/projects/{id}/repository/branches/{branch}",
            get(branch),
        )
        .route("/api/v4/projects/{id}/repository/tree", get(tree))
        .route("/api/v4/projects/{id}/repository/blobs/{sha}", get(blob))
        .route("/api/v4/projects/{id}/repository/compare", get(compare))
        .route("/api/v4/projects/{id}/repository/files/{path}", get(file))
        .route("/api/v4/projects/{id}/members/all", get(members))
}
