//! Jira Cloud REST v3 (`/search/jql` with `nextPageToken`, ADF bodies) and
//! Jira Server/DC REST v2 (`/search` with `startAt`, wiki-markup bodies).
//! JQL dates are read in the calling user's time zone, as Jira does.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::common::{
    Clock, Shared, bad_request, decode_cursor, encode_cursor, not_found, param, query_pairs,
};
use crate::text::{adf_description, comment_text, topic, wiki_markup};

pub type JiraShared = Arc<Shared<JiraWorld>>;

#[derive(Debug, Clone)]
pub struct Project {
    pub id: u64,
    pub key: String,
    pub name: String,
    /// Users with the Browse Projects permission.
    pub browse_users: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SecurityLevel {
    pub id: u64,
    pub name: String,
    /// Users who may see issues at this level.
    pub users: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub id: u64,
    pub key: String,
    pub project: String,
    pub summary: String,
    pub topic: u64,
    pub version: u32,
    /// Replaces the generated description after an edit (plain paragraph).
    pub description: Option<String>,
    pub status: String,
    pub priority: String,
    pub issue_type: String,
    pub assignee: Option<String>,
    pub reporter: String,
    pub labels: Vec<String>,
    pub components: Vec<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub comments: usize,
    /// Comment numbers visible to one project role only (`visibility`).
    pub restricted_comments: Vec<usize>,
    pub security: Option<SecurityLevel>,
    /// Remote links (`issue/{key}/remotelink`): (URL, title).
    pub remote_links: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct JiraWorld {
    pub clock: Clock,
    /// The API user's profile time zone (JQL dates are in this zone).
    pub time_zone: String,
    pub projects: Vec<Project>,
    pub issues: BTreeMap<u64, Issue>,
    /// Issues edited right after the first search page is served (a user
    /// editing while a listing is in progress).
    pub edit_during_listing: Vec<String>,
    /// Server/DC search answers without `total` (a reshaped response).
    pub omit_total: bool,
    /// The user directory (`/user?username=`): name → display name.
    pub users: BTreeMap<String, String>,
    next_id: u64,
}

impl JiraWorld {
    pub fn generate(projects: &[(&str, usize)]) -> JiraWorld {
        let mut w = JiraWorld {
            clock: Clock::default(),
            time_zone: "America/New_York".into(),
            projects: Vec::new(),
            issues: BTreeMap::new(),
            edit_during_listing: Vec::new(),
            omit_total: false,
            users: BTreeMap::from([
                ("jdoe".to_string(), "Jane Doe".to_string()),
                ("asmith".to_string(), "Alan Smith".to_string()),
            ]),
            next_id: 10_000,
        };
        for (key, n) in projects {
            w.add_project(key, *n);
        }
        w
    }

    pub fn add_project(&mut self, key: &str, n: usize) {
        self.next_id += 1;
        let users = if self.projects.is_empty() {
            vec![
                "557058:alice".to_string(),
                "557058:bob".to_string(),
                "557058:carol".to_string(),
            ]
        } else {
            vec!["557058:alice".to_string(), "557058:dave".to_string()]
        };
        self.projects.push(Project {
            id: self.next_id,
            key: key.into(),
            name: format!("{key} project"),
            browse_users: users,
        });
        let start = self.clock.now - Duration::minutes(n as i64 + 10);
        for k in 0..n {
            self.next_id += 1;
            let id = self.next_id;
            let t = topic(id);
            let at = start + Duration::minutes(k as i64);
            let security = (k % 11 == 4).then(|| SecurityLevel {
                id: 10_100,
                name: "Security team".into(),
                users: vec!["557058:alice".into()],
            });
            self.issues.insert(
                id,
                Issue {
                    id,
                    key: format!("{key}-{}", k + 1),
                    project: key.into(),
                    summary: format!("{} ({key}-{})", t.title, k + 1),
                    topic: id,
                    version: 1,
                    description: None,
                    status: ["To Do", "In Progress", "Done"][k % 3].into(),
                    priority: ["Medium", "High", "Low"][k % 3].into(),
                    issue_type: if k % 4 == 0 {
                        "Bug".into()
                    } else {
                        "Task".into()
                    },
                    assignee: (k % 2 == 0).then(|| "557058:carol".to_string()),
                    reporter: "557058:dana".into(),
                    labels: if k % 5 == 0 {
                        vec!["customer".into(), "backend".into()]
                    } else {
                        vec!["backend".into()]
                    },
                    components: vec!["api".into()],
                    created: at,
                    updated: at,
                    comments: if k % 6 == 0 { 23 } else { k % 3 },
                    restricted_comments: Vec::new(),
                    security,
                    remote_links: if k % 4 == 1 {
                        vec![(
                            format!(
                                "https://gitlab.example/acme/platform/api/-/merge_requests/{}",
                                k + 1
                            ),
                            format!("MR !{}", k + 1),
                        )]
                    } else {
                        Vec::new()
                    },
                },
            );
        }
    }

    pub fn find(&self, key: &str) -> Option<&Issue> {
        self.issues
            .values()
            .find(|i| i.key == key || i.id.to_string() == key)
    }

    fn id_of(&self, key: &str) -> Option<u64> {
        self.find(key).map(|i| i.id)
    }

    pub fn edit(&mut self, key: &str, summary: Option<&str>, description: Option<&str>) {
        let now = self.clock.tick();
        if let Some(id) = self.id_of(key) {
            let i = self.issues.get_mut(&id).expect("present");
            if let Some(s) = summary {
                i.summary = s.into();
            }
            if let Some(d) = description {
                i.description = Some(d.into());
            }
            i.version += 1;
            i.updated = now;
        }
    }

    pub fn add_comment(&mut self, key: &str) {
        let now = self.clock.tick();
        if let Some(id) = self.id_of(key) {
            let i = self.issues.get_mut(&id).expect("present");
            i.comments += 1;
            i.updated = now;
        }
    }

    pub fn delete(&mut self, key: &str) {
        self.clock.tick();
        if let Some(id) = self.id_of(key) {
            self.issues.remove(&id);
        }
    }

    pub fn keys(&self, project: &str) -> Vec<String> {
        self.issues
            .values()
            .filter(|i| i.project == project)
            .map(|i| i.key.clone())
            .collect()
    }

    fn tz(&self) -> Tz {
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }
}

/// Jira's timestamp format: `2026-01-05T04:00:00.000-0500`.
fn jira_ts(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%.3f%z")
        .to_string()
}

fn user(id: &str) -> Value {
    let name = id.rsplit(':').next().unwrap_or(id);
    json!({ "accountId": id, "displayName": format!("{}{}", name[..1].to_uppercase(), &name[1..]), "active": true, "timeZone": "UTC" })
}

#[derive(Debug, Default)]
struct Jql {
    projects: Vec<String>,
    updated_since: Option<DateTime<Utc>>,
    labels_in: Vec<String>,
    labels_not_in: Vec<String>,
    types: Vec<String>,
    not_status: Vec<String>,
    descending: bool,
    /// `ORDER BY key`: by issue number, which edits do not change.
    by_key: bool,
    /// `id in (…)`.
    ids: Option<Vec<u64>>,
}

fn values(s: &str) -> Vec<String> {
    s.trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn parse_jql(jql: &str, tz: Tz) -> Result<Jql, String> {
    let lower = jql.to_ascii_lowercase();
    let (body, order) = match lower.find("order by") {
        Some(i) => (&jql[..i], Some(&lower[i..])),
        None => (jql, None),
    };
    let mut q = Jql {
        descending: order.is_some_and(|o| o.contains("updated desc")),
        by_key: order.is_some_and(|o| o.trim_start_matches("order by").trim().starts_with("key")),
        ..Default::default()
    };
    if lower.contains(" or ") {
        return Err("Error in the JQL Query: the fixture server supports AND only.".into());
    }
    for raw in body.split(" AND ").flat_map(|p| p.split(" and ")) {
        let c = raw
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        if c.is_empty() {
            continue;
        }
        let lc = c.to_ascii_lowercase();
        let after = |prefix: &str| c[prefix.len()..].trim().trim_matches('"').to_string();
        if let Some(rest) = lc.strip_prefix("id in ") {
            let ids = values(&c[c.len() - rest.len()..])
                .iter()
                .map(|v| v.parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| format!("Error in the JQL Query: bad issue id in `{c}`."))?;
            q.ids = Some(
                ids.into_iter()
                    .filter_map(|i| u64::try_from(i).ok())
                    .collect(),
            );
        } else if let Some(rest) = lc.strip_prefix("project in ") {
            q.projects.extend(values(&c[c.len() - rest.len()..]));
        } else if lc.starts_with("project = ") {
            q.projects.push(after("project = "));
        } else if lc.starts_with("updated >= ") {
            let v = after("updated >= ");
            let naive = NaiveDateTime::parse_from_str(&v, "%Y/%m/%d %H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(&v, "%Y-%m-%d %H:%M"))
                .or_else(|_| {
                    NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                })
                .map_err(|_| {
                    format!(
                        "Error in the JQL Query: Date value '{v}' for field 'updated' is invalid."
                    )
                })?;
            let local = tz
                .from_local_datetime(&naive)
                .earliest()
                .ok_or("Error in the JQL Query: nonexistent local time")?;
            q.updated_since = Some(local.with_timezone(&Utc));
        } else if let Some(rest) = lc.strip_prefix("labels not in ") {
            q.labels_not_in.extend(values(&c[c.len() - rest.len()..]));
        } else if let Some(rest) = lc.strip_prefix("labels in ") {
            q.labels_in.extend(values(&c[c.len() - rest.len()..]));
        } else if lc.starts_with("labels = ") {
            q.labels_in.push(after("labels = "));
        } else if lc.starts_with("labels != ") {
            q.labels_not_in.push(after("labels != "));
        } else if lc.starts_with("issuetype = ") {
            q.types.push(after("issuetype = "));
        } else if lc.starts_with("status != ") {
            q.not_status.push(after("status != "));
        } else {
            return Err(format!(
                "Error in the JQL Query: the fixture does not understand `{c}`."
            ));
        }
    }
    Ok(q)
}

fn matching<'a>(w: &'a JiraWorld, q: &Jql) -> Vec<&'a Issue> {
    let mut v: Vec<&Issue> = w
        .issues
        .values()
        .filter(|i| {
            (q.projects.is_empty() || q.projects.contains(&i.project))
                && q.updated_since.is_none_or(|t| i.updated >= t)
                && (q.labels_in.is_empty() || i.labels.iter().any(|l| q.labels_in.contains(l)))
                && !i.labels.iter().any(|l| q.labels_not_in.contains(l))
                && (q.types.is_empty() || q.types.contains(&i.issue_type))
                && !q.not_status.contains(&i.status)
                && q.ids.as_ref().is_none_or(|ids| ids.contains(&i.id))
        })
        .collect();
    if q.by_key {
        v.sort_by_key(|i| i.id);
    } else {
        v.sort_by(|a, b| a.updated.cmp(&b.updated).then(a.id.cmp(&b.id)));
    }
    if q.descending {
        v.reverse();
    }
    v
}

/// Comments embedded in an issue are cut at this many (Jira embeds a
/// limited list; the connector must page `/comment` for the rest).
const EMBEDDED_COMMENTS: usize = 5;

fn comment_json(i: &Issue, n: usize, v3: bool, tz: Tz) -> Value {
    let text = comment_text(n, topic(i.topic));
    let restricted = i.restricted_comments.contains(&n);
    let text = if restricted {
        format!("RESTRICTED-{n}: {text}")
    } else {
        text
    };
    let body = if v3 {
        json!({ "type": "doc", "version": 1, "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": text }] }] })
    } else {
        json!(text)
    };
    let mut v = json!({
        "id": format!("{}{n:03}", i.id),
        "author": user(&format!("557058:commenter{}", n % 4)),
        "body": body,
        "created": jira_ts(i.created, tz),
        "updated": jira_ts(i.created, tz),
        "jsdPublic": !restricted,
    });
    if restricted {
        v["visibility"] =
            json!({ "type": "role", "value": "Developers", "identifier": "Developers" });
    }
    v
}

fn issue_json(i: &Issue, fields: &[String], v3: bool, base: &str, tz: Tz) -> Value {
    let all = fields.iter().any(|f| f == "*all");
    let want = |f: &str| all || fields.iter().any(|x| x == f);
    let mut f = serde_json::Map::new();
    let t = topic(i.topic);
    if want("summary") {
        f.insert("summary".into(), json!(i.summary));
    }
    if want("description") {
        let d = match (&i.description, v3) {
            (Some(text), true) => {
                json!({ "type": "doc", "version": 1, "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": text }] }] })
            }
            (Some(text), false) => json!(text),
            (None, true) => adf_description(&i.key, i.version, t),
            (None, false) => json!(wiki_markup(&i.key, i.version, t)),
        };
        f.insert("description".into(), d);
    }
    if want("status") {
        let cat = if i.status == "Done" {
            "done"
        } else if i.status == "To Do" {
            "new"
        } else {
            "indeterminate"
        };
        f.insert(
            "status".into(),
            json!({ "name": i.status, "statusCategory": { "key": cat } }),
        );
    }
    if want("priority") {
        f.insert("priority".into(), json!({ "name": i.priority }));
    }
    if want("issuetype") {
        f.insert(
            "issuetype".into(),
            json!({ "name": i.issue_type, "subtask": false }),
        );
    }
    if want("assignee") {
        f.insert(
            "assignee".into(),
            i.assignee.as_deref().map(user).unwrap_or(Value::Null),
        );
    }
    if want("reporter") {
        f.insert("reporter".into(), user(&i.reporter));
    }
    if want("labels") {
        f.insert("labels".into(), json!(i.labels));
    }
    if want("components") {
        f.insert(
            "components".into(),
            json!(
                i.components
                    .iter()
                    .map(|c| json!({ "name": c }))
                    .collect::<Vec<_>>()
            ),
        );
    }
    if want("project") {
        f.insert(
            "project".into(),
            json!({ "key": i.project, "name": format!("{} project", i.project) }),
        );
    }
    if want("created") {
        f.insert("created".into(), json!(jira_ts(i.created, tz)));
    }
    if want("updated") {
        f.insert("updated".into(), json!(jira_ts(i.updated, tz)));
    }
    if want("security") {
        f.insert(
            "security".into(),
            i.security
                .as_ref()
                .map(|s| json!({ "id": s.id.to_string(), "name": s.name }))
                .unwrap_or(Value::Null),
        );
    }
    if want("comment") {
        let shown: Vec<Value> = (0..i.comments.min(EMBEDDED_COMMENTS))
            .map(|n| comment_json(i, n, v3, tz))
            .collect();
        f.insert("comment".into(), json!({ "comments": shown, "maxResults": EMBEDDED_COMMENTS, "total": i.comments, "startAt": 0 }));
    }
    json!({ "id": i.id.to_string(), "key": i.key, "self": format!("{base}/rest/api/{}/issue/{}", if v3 { 3 } else { 2 }, i.id), "fields": f })
}

fn fields_param(q: &[(String, String)]) -> Vec<String> {
    param(q, "fields")
        .map(|f| f.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default()
}

/// `GET /rest/api/2/user?username=…` (or `accountId`): a display name, or 404.
async fn user_by_name(State(s): State<JiraShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    match param(&q, "username")
        .or(param(&q, "accountId"))
        .and_then(|u| w.users.get(u))
    {
        Some(name) => axum::Json(
            json!({ "name": param(&q, "username"), "displayName": name, "active": true }),
        )
        .into_response(),
        None => crate::common::not_found("The user named does not exist"),
    }
}

async fn myself(State(s): State<JiraShared>) -> Response {
    let w = s.world();
    axum::Json(json!({ "accountId": "557058:sluice-bot", "displayName": "Sluice bot", "emailAddress": "fixture@example.com", "timeZone": w.time_zone, "active": true })).into_response()
}

async fn projects(State(s): State<JiraShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let start: usize = param(&q, "startAt")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let max: usize = param(&q, "maxResults")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let values: Vec<Value> = w
        .projects
        .iter()
        .skip(start)
        .take(max)
        .map(|p| json!({ "id": p.id.to_string(), "key": p.key, "name": p.name }))
        .collect();
    let is_last = start + values.len() >= w.projects.len();
    axum::Json(json!({ "values": values, "startAt": start, "maxResults": max, "total": w.projects.len(), "isLast": is_last })).into_response()
}

async fn projects_v2(State(s): State<JiraShared>) -> Response {
    let w = s.world();
    axum::Json(Value::Array(
        w.projects
            .iter()
            .map(|p| json!({ "id": p.id.to_string(), "key": p.key, "name": p.name }))
            .collect(),
    ))
    .into_response()
}

async fn search_jql(State(s): State<JiraShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let tz = w.tz();
    let jql = match parse_jql(param(&q, "jql").unwrap_or(""), tz) {
        Ok(j) => j,
        Err(e) => {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(json!({ "errorMessages": [e], "errors": {} })),
            )
                .into_response();
        }
    };
    let max: usize = param(&q, "maxResults")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .clamp(1, 5000);
    // Jira caps pages by fields requested: bodies make pages smaller.
    let fields = fields_param(&q);
    let cap = if fields
        .iter()
        .any(|f| f == "description" || f == "comment" || f == "*all")
    {
        100
    } else {
        5000
    };
    let max = max.min(cap);
    let offset = match param(&q, "nextPageToken") {
        Some(t) => match decode_cursor(t) {
            Some(o) => o,
            None => return bad_request("Invalid nextPageToken"),
        },
        None => 0,
    };
    let all = matching(&w, &jql);
    let end = (offset + max).min(all.len());
    let issues: Vec<Value> = all[offset.min(end)..end]
        .iter()
        .map(|i| issue_json(i, &fields, true, "", tz))
        .collect();
    let mut body = json!({ "issues": issues, "isLast": end >= all.len() });
    if end < all.len() {
        body["nextPageToken"] = json!(encode_cursor(end));
    }
    axum::Json(body).into_response()
}

async fn search_v2(State(s): State<JiraShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let mut w = s.world();
    let tz = w.tz();
    let jql = match parse_jql(param(&q, "jql").unwrap_or(""), tz) {
        Ok(j) => j,
        Err(e) => {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(json!({ "errorMessages": [e], "errors": {} })),
            )
                .into_response();
        }
    };
    let start: usize = param(&q, "startAt")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let max: usize = param(&q, "maxResults")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let fields = fields_param(&q);
    let all = matching(&w, &jql);
    let issues: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|i| issue_json(i, &fields, false, "", tz))
        .collect();
    let total = all.len();
    if start == 0 {
        for key in std::mem::take(&mut w.edit_during_listing) {
            w.edit(&key, Some("edited while a listing was in progress"), None);
        }
    }
    let mut body = json!({ "startAt": start, "maxResults": max, "total": total, "issues": issues });
    if w.omit_total {
        body.as_object_mut().map(|o| o.remove("total"));
    }
    axum::Json(body).into_response()
}

fn comments(s: &JiraShared, key: &str, raw: Option<String>, v3: bool) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let tz = w.tz();
    let Some(i) = w.find(key) else {
        return not_found("Issue does not exist or you do not have permission to see it.");
    };
    let start: usize = param(&q, "startAt")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let max: usize = param(&q, "maxResults")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .clamp(1, 10);
    let comments: Vec<Value> = (start..i.comments.min(start + max))
        .map(|n| comment_json(i, n, v3, tz))
        .collect();
    axum::Json(
        json!({ "startAt": start, "maxResults": max, "total": i.comments, "comments": comments }),
    )
    .into_response()
}

/// `issue/{key}/remotelink`: the issue's links to other systems.
async fn remote_links(State(s): State<JiraShared>, Path(key): Path<String>) -> Response {
    let w = s.world();
    let Some(i) = w.find(&key) else {
        return not_found("Issue does not exist or you do not have permission to see it.");
    };
    let links: Vec<Value> = i
        .remote_links
        .iter()
        .enumerate()
        .map(|(n, (url, title))| json!({"id": 10_000 + n, "object": {"url": url, "title": title}}))
        .collect();
    axum::Json(Value::Array(links)).into_response()
}

async fn comments_v3(
    State(s): State<JiraShared>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    comments(&s, &key, raw, true)
}
async fn comments_v2(
    State(s): State<JiraShared>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    comments(&s, &key, raw, false)
}

/// `user/permission/search`: who holds BROWSE_PROJECTS on a project, or
/// may see one issue (issue security levels narrow it).
async fn permission_search(State(s): State<JiraShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    if param(&q, "permissions") != Some("BROWSE_PROJECTS") {
        return bad_request("permissions must be BROWSE_PROJECTS in the fixture");
    }
    let users: Vec<String> = if let Some(k) = param(&q, "issueKey") {
        let Some(i) = w.find(k) else {
            return not_found("Issue does not exist");
        };
        let project = w.projects.iter().find(|p| p.key == i.project);
        let base = project.map(|p| p.browse_users.clone()).unwrap_or_default();
        match &i.security {
            Some(level) => base
                .into_iter()
                .filter(|u| level.users.contains(u))
                .collect(),
            None => base,
        }
    } else if let Some(k) = param(&q, "projectKey") {
        match w.projects.iter().find(|p| p.key == k) {
            Some(p) => p.browse_users.clone(),
            None => return not_found("No project could be found"),
        }
    } else {
        return bad_request("projectKey or issueKey is required");
    };
    let start: usize = param(&q, "startAt")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let max: usize = param(&q, "maxResults")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .clamp(1, 2);
    let page: Vec<Value> = users
        .iter()
        .skip(start)
        .take(max)
        .map(|u| user(u))
        .collect();
    axum::Json(Value::Array(page)).into_response()
}

pub fn router() -> Router<JiraShared> {
    Router::new()
        .route("/rest/api/3/myself", get(myself))
        .route("/rest/api/2/myself", get(myself))
        .route("/rest/api/2/user", get(user_by_name))
        .route("/rest/api/3/project/search", get(projects))
        .route("/rest/api/2/project", get(projects_v2))
        .route("/rest/api/3/search/jql", get(search_jql))
        .route("/rest/api/2/search", get(search_v2))
        .route("/rest/api/3/issue/{key}/comment", get(comments_v3))
        .route("/rest/api/3/issue/{key}/remotelink", get(remote_links))
        .route("/rest/api/2/issue/{key}/remotelink", get(remote_links))
        .route("/rest/api/2/issue/{key}/comment", get(comments_v2))
        .route("/rest/api/3/user/permission/search", get(permission_search))
        .route("/rest/api/2/user/permission/search", get(permission_search))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_dates_are_in_the_users_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let q = parse_jql(
            r#"project = "ENG" AND updated >= "2026/01/05 04:00" ORDER BY updated ASC"#,
            tz,
        )
        .unwrap();
        assert_eq!(
            q.updated_since.unwrap().to_rfc3339(),
            "2026-01-05T09:00:00+00:00"
        );
        assert_eq!(q.projects, vec!["ENG"]);
        assert!(parse_jql("project = A OR project = B", tz).is_err());
    }
}
