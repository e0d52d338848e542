//! Confluence Cloud REST v2 (+ the v1 restriction endpoint Cloud still
//! serves) and Confluence Server/DC REST v1 with CQL search.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::{Value, json};

use crate::common::{
    Clock, Shared, bad_request, decode_cursor, encode_cursor, not_found, param, params, query_pairs,
};
use crate::text::{comment_text, storage_body, topic};

pub type ConfluenceShared = Arc<Shared<ConfluenceWorld>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    Page,
    BlogPost,
}

#[derive(Debug, Clone)]
pub struct Space {
    pub id: u64,
    pub key: String,
    pub name: String,
    /// (principal type, id): ("group", "engineering"), ("user", "557058:bob").
    pub read_principals: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: u64,
    pub title: String,
    pub media_type: String,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Content {
    pub id: u64,
    pub space_id: u64,
    pub kind: ContentKind,
    pub title: String,
    /// current | archived | trashed
    pub status: String,
    pub parent_id: Option<u64>,
    pub version: u32,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub author: String,
    pub topic: u64,
    /// Replaces the generated body after an edit.
    pub body: Option<String>,
    pub labels: Vec<String>,
    pub restricted_users: Vec<String>,
    pub restricted_groups: Vec<String>,
    pub footer_comments: usize,
    pub inline_comments: usize,
    pub attachments: Vec<Attachment>,
}

impl Content {
    pub fn body(&self) -> String {
        self.body
            .clone()
            .unwrap_or_else(|| storage_body(self.id, self.version, topic(self.topic)))
    }
}

#[derive(Debug, Default)]
pub struct ConfluenceWorld {
    pub clock: Clock,
    pub spaces: Vec<Space>,
    pub contents: BTreeMap<u64, Content>,
    /// The user directory: account id, user key or user name → display name.
    pub users: BTreeMap<String, String>,
    /// Listings leave bodies out even when asked (some CQL and search
    /// paths do): the connector must read each body on its own.
    pub listings_without_bodies: bool,
    /// Content listings also return an attachment result, as
    /// content-listing endpoints may.
    pub attachment_in_listings: bool,
    next_id: u64,
}

impl ConfluenceWorld {
    /// Spaces with `n` items each: a page tree (every 10th item a blog
    /// post), labels, a restricted subtree, comments, and attachments.
    pub fn generate(spaces: &[(&str, usize)]) -> ConfluenceWorld {
        let mut w = ConfluenceWorld {
            next_id: 100_000,
            ..Default::default()
        };
        // The generated pages mention `557058:owner-0` … `owner-6`; the
        // last one has left and the user API no longer knows them.
        for (n, name) in [
            "Ada Lovelace",
            "Grace Hopper",
            "Alan Turing",
            "Edsger Dijkstra",
            "Barbara Liskov",
            "Donald Knuth",
        ]
        .iter()
        .enumerate()
        {
            w.users
                .insert(format!("557058:owner-{n}"), name.to_string());
        }
        for (n, name) in [
            "Katherine Johnson",
            "Margaret Hamilton",
            "Dennis Ritchie",
            "Frances Allen",
            "Ken Thompson",
        ]
        .iter()
        .enumerate()
        {
            w.users
                .insert(format!("557058:author-{n}"), name.to_string());
        }
        for (key, n) in spaces {
            w.add_space(key, *n);
        }
        w
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn add_space(&mut self, key: &str, n: usize) -> u64 {
        let space_id = self.id();
        let principals = if self.spaces.is_empty() {
            vec![("group".to_string(), "confluence-users".to_string())]
        } else {
            vec![
                ("group".to_string(), "engineering".to_string()),
                ("user".to_string(), "557058:bob".to_string()),
            ]
        };
        self.spaces.push(Space {
            id: space_id,
            key: key.to_string(),
            name: format!("{key} space"),
            read_principals: principals,
        });
        let mut page_ids: Vec<u64> = Vec::new();
        let start = self.clock.now - Duration::minutes(n as i64 + 10);
        for k in 0..n {
            let id = self.id();
            let kind = if k % 10 == 9 {
                ContentKind::BlogPost
            } else {
                ContentKind::Page
            };
            let parent_id = match kind {
                ContentKind::Page if !page_ids.is_empty() => {
                    Some(page_ids[(page_ids.len() - 1) / 4])
                }
                _ => None,
            };
            let t = topic(id);
            let at = start + Duration::minutes(k as i64);
            let mut labels = vec![if k % 2 == 0 {
                "runbook".to_string()
            } else {
                "howto".to_string()
            }];
            if k % 13 == 12 {
                labels.push("draft".to_string());
            }
            let (restricted_users, restricted_groups) = if k % 17 == 5 {
                (vec!["557058:alice".to_string()], vec!["sre".to_string()])
            } else {
                (vec![], vec![])
            };
            let mut attachments = Vec::new();
            if k % 8 == 3 {
                let aid = self.id();
                attachments.push(Attachment {
                    id: aid,
                    title: "runbook-notes.txt".into(),
                    media_type: "text/plain".into(),
                    content: format!("Attachment notes for {}: {}", t.title, t.sentences[2])
                        .into_bytes(),
                });
                let did = self.id();
                attachments.push(Attachment {
                    id: did,
                    title: "design-review.docx".into(),
                    media_type:
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                            .into(),
                    content: docx(&[&format!("Design review: {}", t.title), t.sentences[1]]),
                });
                let bid = self.id();
                attachments.push(Attachment {
                    id: bid,
                    title: "diagram.png".into(),
                    media_type: "image/png".into(),
                    content: vec![0x89, b'P', b'N', b'G'],
                });
            }
            self.contents.insert(
                id,
                Content {
                    id,
                    space_id,
                    kind,
                    title: format!("{} ({key}-{k})", t.title),
                    status: "current".into(),
                    parent_id,
                    version: 1,
                    created: at,
                    modified: at,
                    author: format!("557058:author-{}", k % 5),
                    topic: id,
                    body: None,
                    labels,
                    restricted_users,
                    restricted_groups,
                    footer_comments: if k % 3 == 0 { 3 } else { 0 },
                    inline_comments: if k % 5 == 0 { 1 } else { 0 },
                    attachments,
                },
            );
            if kind == ContentKind::Page {
                page_ids.push(id);
            }
        }
        space_id
    }

    pub fn space_id(&self, key: &str) -> Option<u64> {
        self.spaces.iter().find(|s| s.key == key).map(|s| s.id)
    }

    /// Ids of content in a space with a status, in id order.
    pub fn ids(&self, space_key: &str, status: &str) -> Vec<u64> {
        let sid = self.space_id(space_key);
        self.contents
            .values()
            .filter(|c| Some(c.space_id) == sid && c.status == status)
            .map(|c| c.id)
            .collect()
    }

    fn touch(&mut self, id: u64, f: impl FnOnce(&mut Content)) {
        let now = self.clock.tick();
        if let Some(c) = self.contents.get_mut(&id) {
            f(c);
            c.version += 1;
            c.modified = now;
        }
    }

    pub fn edit(&mut self, id: u64, storage: &str) {
        let s = storage.to_string();
        self.touch(id, |c| c.body = Some(s));
    }
    pub fn retitle(&mut self, id: u64, title: &str) {
        let t = title.to_string();
        self.touch(id, |c| c.title = t);
    }
    pub fn set_status(&mut self, id: u64, status: &str) {
        let s = status.to_string();
        self.touch(id, |c| c.status = s);
    }
    pub fn set_labels(&mut self, id: u64, labels: &[&str]) {
        let l: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        self.touch(id, |c| c.labels = l);
    }
    /// Deletes for good (purged from the trash): it just disappears.
    pub fn purge(&mut self, id: u64) {
        self.clock.tick();
        self.contents.remove(&id);
    }
    pub fn restrict(&mut self, id: u64, users: &[&str], groups: &[&str]) {
        // Restrictions do not bump the page version in Confluence.
        if let Some(c) = self.contents.get_mut(&id) {
            c.restricted_users = users.iter().map(|s| s.to_string()).collect();
            c.restricted_groups = groups.iter().map(|s| s.to_string()).collect();
        }
    }

    fn ancestors(&self, id: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let mut cur = self.contents.get(&id).and_then(|c| c.parent_id);
        while let Some(p) = cur {
            out.push(p);
            cur = self.contents.get(&p).and_then(|c| c.parent_id);
        }
        out.reverse();
        out
    }

    fn space(&self, id: u64) -> Option<&Space> {
        self.spaces.iter().find(|s| s.id == id)
    }
}

/// A minimal Word document (the parts a text extractor reads).
pub fn docx(paragraphs: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let body: String = paragraphs
        .iter()
        .map(|p| {
            format!(
                "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                p.replace('&', "&amp;").replace('<', "&lt;")
            )
        })
        .collect();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>"
    );
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        let _ = w.start_file("[Content_Types].xml", opts);
        let _ = w.write_all(b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>");
        let _ = w.start_file("word/document.xml", opts);
        let _ = w.write_all(xml.as_bytes());
        let _ = w.finish();
    }
    buf.into_inner()
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn limit(q: &[(String, String)], default: usize, max: usize) -> usize {
    param(q, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(default)
        .clamp(1, max)
}

/// A v2 list response with `_links.next` and a `Link` header.
fn v2_page(
    path: &str,
    q: &[(String, String)],
    items: Vec<Value>,
    default_limit: usize,
) -> Response {
    let lim = limit(q, default_limit, 250);
    let offset = param(q, "cursor").and_then(decode_cursor).unwrap_or(0);
    let end = (offset + lim).min(items.len());
    let results: Vec<Value> = items
        .get(offset..end)
        .map(|s| s.to_vec())
        .unwrap_or_default();
    let mut links = json!({ "base": "/wiki" });
    let mut next_link = None;
    if end < items.len() {
        let mut kept: Vec<String> = q
            .iter()
            .filter(|(k, _)| k != "cursor")
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        kept.push(format!("cursor={}", encode_cursor(end)));
        let next = format!("{path}?{}", kept.join("&"));
        links["next"] = json!(next);
        next_link = Some(next);
    }
    let mut r = axum::Json(json!({ "results": results, "_links": links })).into_response();
    if let Some(n) = next_link {
        if let Ok(v) = HeaderValue::from_str(&format!("<{n}>; rel=\"next\"")) {
            r.headers_mut().insert("link", v);
        }
    }
    r
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn kind_path(k: ContentKind) -> &'static str {
    match k {
        ContentKind::Page => "pages",
        ContentKind::BlogPost => "blogposts",
    }
}

fn v2_content(w: &ConfluenceWorld, c: &Content, with_body: bool) -> Value {
    let key = w
        .space(c.space_id)
        .map(|s| s.key.clone())
        .unwrap_or_default();
    let mut v = json!({
        "id": c.id.to_string(),
        "status": c.status,
        "title": c.title,
        "spaceId": c.space_id.to_string(),
        "authorId": c.author,
        "createdAt": ts(c.created),
        "version": { "number": c.version, "message": "", "createdAt": ts(c.modified), "authorId": c.author },
        "_links": {
            "webui": format!("/spaces/{key}/{}/{}/{}", kind_path(c.kind), c.id, c.title.replace(' ', "+")),
            "tinyui": format!("/x/{}", c.id),
        },
    });
    if c.kind == ContentKind::Page {
        v["parentId"] = json!(c.parent_id.map(|p| p.to_string()));
        v["parentType"] = json!(c.parent_id.map(|_| "page"));
    }
    if with_body {
        v["body"] = json!({ "storage": { "value": c.body(), "representation": "storage" } });
    }
    v
}

async fn spaces(State(s): State<ConfluenceShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let keys = params(&q, "keys");
    let w = s.world();
    let items: Vec<Value> = w
        .spaces
        .iter()
        .filter(|sp| keys.is_empty() || keys.contains(&sp.key.as_str()))
        .map(|sp| json!({ "id": sp.id.to_string(), "key": sp.key, "name": sp.name, "type": "global", "status": "current", "_links": { "webui": format!("/spaces/{}", sp.key) } }))
        .collect();
    v2_page("/wiki/api/v2/spaces", &q, items, 25)
}

async fn space_permissions(
    State(s): State<ConfluenceShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(sp) = id.parse().ok().and_then(|id| w.space(id)) else {
        return not_found("space not found");
    };
    let mut items: Vec<Value> = Vec::new();
    for (n, (t, pid)) in sp.read_principals.iter().enumerate() {
        items.push(json!({ "id": format!("{}{n}", sp.id), "principal": { "type": t, "id": pid }, "operation": { "key": "read", "targetType": "space" } }));
        items.push(json!({ "id": format!("{}{n}w", sp.id), "principal": { "type": t, "id": pid }, "operation": { "key": "create", "targetType": "page" } }));
    }
    // Someone who may administer but not read: must not become a reader.
    items.push(json!({ "id": "admin", "principal": { "type": "group", "id": "site-admins" }, "operation": { "key": "administer", "targetType": "space" } }));
    v2_page(
        &format!("/wiki/api/v2/spaces/{id}/permissions"),
        &q,
        items,
        25,
    )
}

fn list_in_space(
    s: &ConfluenceShared,
    id: &str,
    raw: Option<String>,
    kind: ContentKind,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(space_id) = id.parse::<u64>().ok().filter(|id| w.space(*id).is_some()) else {
        return not_found("space not found");
    };
    let mut statuses = params(&q, "status");
    if statuses.is_empty() {
        statuses = vec!["current"];
    }
    let with_body = param(&q, "body-format") == Some("storage");
    let mut items: Vec<&Content> = w
        .contents
        .values()
        .filter(|c| {
            c.space_id == space_id && c.kind == kind && statuses.contains(&c.status.as_str())
        })
        .collect();
    match param(&q, "sort") {
        Some("-modified-date") => {
            items.sort_by(|a, b| b.modified.cmp(&a.modified).then(b.id.cmp(&a.id)))
        }
        Some("modified-date") => {
            items.sort_by(|a, b| a.modified.cmp(&b.modified).then(a.id.cmp(&b.id)))
        }
        Some("id") | None => {}
        Some(other) => return bad_request(&format!("invalid sort `{other}`")),
    }
    let mut values: Vec<Value> = items
        .into_iter()
        .map(|c| v2_content(&w, c, with_body && !w.listings_without_bodies))
        .collect();
    if w.attachment_in_listings {
        values.insert(0, json!({ "id": "att900001", "type": "attachment", "status": "current", "title": "budget.xlsx", "mediaType": "application/vnd.ms-excel" }));
    }
    v2_page(
        &format!("/wiki/api/v2/spaces/{id}/{}", kind_path(kind)),
        &q,
        values,
        25,
    )
}

async fn space_pages(
    State(s): State<ConfluenceShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    list_in_space(&s, &id, raw, ContentKind::Page)
}
async fn space_blogposts(
    State(s): State<ConfluenceShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    list_in_space(&s, &id, raw, ContentKind::BlogPost)
}

fn find(w: &ConfluenceWorld, id: &str) -> Option<Content> {
    id.parse::<u64>()
        .ok()
        .and_then(|id| w.contents.get(&id))
        .cloned()
}

/// `GET rest/api/user?accountId=…` (Cloud), `?key=…` or `?username=…`
/// (Server/DC): the user's display name, or 404.
async fn user(State(s): State<ConfluenceShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let id = param(&q, "accountId")
        .or(param(&q, "key"))
        .or(param(&q, "username"));
    match id.and_then(|id| w.users.get(id).map(|n| (id, n))) {
        Some((id, name)) => axum::Json(json!({ "type": "known", "accountId": id, "userKey": id, "username": id, "displayName": name, "publicName": name })).into_response(),
        None => not_found("No user found"),
    }
}

/// `GET rest/api/content/{id}?expand=body.storage` (Server/DC).
async fn v1_content_by_id(
    State(s): State<ConfluenceShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(c) = find(&w, &id) else {
        return not_found("Content not found");
    };
    let mut v = json!({ "id": c.id.to_string(), "type": if c.kind == ContentKind::Page { "page" } else { "blogpost" }, "status": c.status, "title": c.title });
    if params(&q, "expand")
        .iter()
        .any(|e| e.split(',').any(|x| x == "body.storage"))
    {
        v["body"] = json!({ "storage": { "value": c.body(), "representation": "storage" } });
    }
    axum::Json(v).into_response()
}

async fn content_by_id(
    State(s): State<ConfluenceShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    match find(&w, &id) {
        Some(c) => axum::Json(v2_content(
            &w,
            &c,
            param(&q, "body-format") == Some("storage"),
        ))
        .into_response(),
        None => not_found("Content not found"),
    }
}

async fn ancestors(State(s): State<ConfluenceShared>, Path(id): Path<String>) -> Response {
    let w = s.world();
    let Some(c) = find(&w, &id) else {
        return not_found("Content not found");
    };
    let results: Vec<Value> = w
        .ancestors(c.id)
        .into_iter()
        .map(|a| json!({ "id": a.to_string(), "type": "page" }))
        .collect();
    axum::Json(json!({ "results": results, "_links": {} })).into_response()
}

async fn labels(
    State(s): State<ConfluenceShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(c) = find(&w, &id) else {
        return not_found("Content not found");
    };
    let items = c
        .labels
        .iter()
        .enumerate()
        .map(|(n, l)| json!({ "id": format!("{}{n}", c.id), "name": l, "prefix": "global" }))
        .collect();
    v2_page(
        &format!("/wiki/api/v2/{}/{id}/labels", kind_path(c.kind)),
        &q,
        items,
        25,
    )
}

fn comments(s: &ConfluenceShared, id: &str, raw: Option<String>, inline: bool) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(c) = find(&w, id) else {
        return not_found("Content not found");
    };
    let n = if inline {
        c.inline_comments
    } else {
        c.footer_comments
    };
    let t = topic(c.topic);
    let items = (0..n)
        .map(|i| {
            let text = if inline { format!("Inline note {i}: double-check this step.") } else { comment_text(i, t) };
            json!({
                "id": format!("{}{}{i}", c.id, if inline { 9 } else { 8 }),
                "status": "current",
                "title": format!("Re: {}", c.title),
                "authorId": format!("557058:commenter-{i}"),
                "createdAt": ts(c.created),
                "version": { "number": 1, "createdAt": ts(c.created) },
                "body": { "storage": { "value": format!("<p>{text}</p>"), "representation": "storage" } },
            })
        })
        .collect();
    let which = if inline {
        "inline-comments"
    } else {
        "footer-comments"
    };
    v2_page(
        &format!("/wiki/api/v2/{}/{id}/{which}", kind_path(c.kind)),
        &q,
        items,
        25,
    )
}

async fn footer_comments(
    State(s): State<ConfluenceShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    comments(&s, &id, raw, false)
}
async fn inline_comments(
    State(s): State<ConfluenceShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    comments(&s, &id, raw, true)
}

async fn attachments(
    State(s): State<ConfluenceShared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw.as_deref());
    let w = s.world();
    let Some(c) = find(&w, &id) else {
        return not_found("Content not found");
    };
    let items = c
        .attachments
        .iter()
        .map(|a| {
            json!({
                "id": format!("att{}", a.id),
                "status": "current",
                "title": a.title,
                "mediaType": a.media_type,
                "fileSize": a.content.len(),
                "pageId": c.id.to_string(),
                "version": { "number": 1, "createdAt": ts(c.created) },
                "webuiLink": format!("/pages/viewpageattachments.action?pageId={}", c.id),
                "downloadLink": format!("/download/attachments/{}/{}", c.id, a.title),
            })
        })
        .collect();
    v2_page(
        &format!("/wiki/api/v2/{}/{id}/attachments", kind_path(c.kind)),
        &q,
        items,
        25,
    )
}

async fn download(
    State(s): State<ConfluenceShared>,
    Path((page, file)): Path<(String, String)>,
) -> Response {
    let w = s.world();
    let Some(c) = find(&w, &page) else {
        return not_found("Content not found");
    };
    match c.attachments.iter().find(|a| a.title == file) {
        Some(a) => ([("content-type", a.media_type.clone())], a.content.clone()).into_response(),
        None => not_found("attachment not found"),
    }
}

fn restriction_json(c: &Content) -> Value {
    json!({
        "operation": "read",
        "restrictions": {
            "user": { "results": c.restricted_users.iter().map(|u| json!({ "type": "known", "accountId": u, "username": u })).collect::<Vec<_>>(), "size": c.restricted_users.len() },
            "group": { "results": c.restricted_groups.iter().map(|g| json!({ "type": "group", "name": g, "id": g })).collect::<Vec<_>>(), "size": c.restricted_groups.len() },
        },
    })
}

async fn read_restrictions(State(s): State<ConfluenceShared>, Path(id): Path<String>) -> Response {
    let w = s.world();
    match find(&w, &id) {
        Some(c) => axum::Json(restriction_json(&c)).into_response(),
        None => not_found("Content not found"),
    }
}

// ---- Server / Data Center: REST v1 with CQL ----

#[derive(Debug, Default)]
struct Cql {
    spaces: Vec<String>,
    types: Vec<String>,
    statuses: Vec<String>,
    modified_since: Option<DateTime<Utc>>,
    label_in: Vec<String>,
    label_not_in: Vec<String>,
}

fn split_and(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut depth) = (Vec::new(), String::new(), false, 0);
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            quoted = !quoted;
        } else if !quoted && c == '(' {
            depth += 1;
        } else if !quoted && c == ')' {
            depth -= 1;
        }
        if !quoted
            && depth == 0
            && chars[i..]
                .iter()
                .take(5)
                .collect::<String>()
                .to_ascii_lowercase()
                == " and "
        {
            out.push(cur.trim().to_string());
            cur.clear();
            i += 5;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn list_values(s: &str) -> Vec<String> {
    s.trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn parse_cql(cql: &str) -> Result<Cql, String> {
    let lower = cql.to_ascii_lowercase();
    let body = match lower.find(" order by ") {
        Some(i) => &cql[..i],
        None => cql,
    };
    let mut q = Cql::default();
    for clause in split_and(body) {
        let c = clause
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        let lc = c.to_ascii_lowercase();
        let value = |op: &str| c[op.len()..].trim().trim_matches('"').to_string();
        if let Some(rest) = lc.strip_prefix("space in ") {
            q.spaces.extend(list_values(&c[c.len() - rest.len()..]));
        } else if lc.starts_with("space = ") || lc.starts_with("space=") {
            q.spaces.push(
                c.split_once('=')
                    .map(|(_, v)| v.trim().trim_matches('"').to_string())
                    .unwrap_or_default(),
            );
        } else if let Some(rest) = lc.strip_prefix("type in ") {
            q.types.extend(list_values(&c[c.len() - rest.len()..]));
        } else if lc.starts_with("type = ") {
            q.types.push(value("type = "));
        } else if let Some(rest) = lc.strip_prefix("status in ") {
            q.statuses.extend(list_values(&c[c.len() - rest.len()..]));
        } else if lc.starts_with("lastmodified >= ") {
            let v = value("lastmodified >= ");
            let t = NaiveDateTime::parse_from_str(&v, "%Y-%m-%d %H:%M")
                .map_err(|_| format!("bad date `{v}` (expected yyyy-MM-dd HH:mm)"))?;
            q.modified_since = Some(t.and_utc());
        } else if let Some(rest) = lc.strip_prefix("label not in ") {
            q.label_not_in
                .extend(list_values(&c[c.len() - rest.len()..]));
        } else if let Some(rest) = lc.strip_prefix("label in ") {
            q.label_in.extend(list_values(&c[c.len() - rest.len()..]));
        } else if lc.starts_with("label = ") {
            q.label_in.push(value("label = "));
        } else if lc.starts_with("label != ") {
            q.label_not_in.push(value("label != "));
        } else {
            return Err(format!("Could not parse cql : {clause}"));
        }
    }
    Ok(q)
}

async fn cql_search(State(s): State<ConfluenceShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let Some(cql) = param(&q, "cql") else {
        return bad_request("cql is required");
    };
    let parsed = match parse_cql(cql) {
        Ok(p) => p,
        Err(e) => return bad_request(&e),
    };
    let expand = params(&q, "expand");
    let start: usize = param(&q, "start").and_then(|v| v.parse().ok()).unwrap_or(0);
    let lim = limit(&q, 25, 100);
    let w = s.world();
    let statuses = if parsed.statuses.is_empty() {
        vec!["current".to_string()]
    } else {
        parsed.statuses.clone()
    };
    let mut items: Vec<&Content> = w
        .contents
        .values()
        .filter(|c| {
            let key = w.space(c.space_id).map(|s| s.key.as_str()).unwrap_or("");
            let ty = match c.kind {
                ContentKind::Page => "page",
                ContentKind::BlogPost => "blogpost",
            };
            (parsed.spaces.is_empty() || parsed.spaces.iter().any(|s| s == key))
                && (parsed.types.is_empty() || parsed.types.iter().any(|t| t == ty))
                && statuses.contains(&c.status)
                && parsed.modified_since.is_none_or(|t| c.modified >= t)
                && (parsed.label_in.is_empty()
                    || c.labels.iter().any(|l| parsed.label_in.contains(l)))
                && !c.labels.iter().any(|l| parsed.label_not_in.contains(l))
        })
        .collect();
    items.sort_by(|a, b| a.modified.cmp(&b.modified).then(a.id.cmp(&b.id)));
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(lim)
        .map(|c| {
            let sp = w.space(c.space_id);
            let mut v = json!({
                "id": c.id.to_string(),
                "type": if c.kind == ContentKind::Page { "page" } else { "blogpost" },
                "status": c.status,
                "title": c.title,
                "_links": { "webui": format!("/display/{}/{}", sp.map(|s| s.key.as_str()).unwrap_or(""), c.title.replace(' ', "+")), "self": format!("/rest/api/content/{}", c.id) },
                "_expandable": {},
            });
            let has = |e: &str| expand.iter().any(|x| *x == e || x.starts_with(&format!("{e}.")));
            if has("space") {
                v["space"] = json!({ "key": sp.map(|s| s.key.clone()), "name": sp.map(|s| s.name.clone()) });
            }
            if has("version") {
                v["version"] = json!({ "number": c.version, "when": ts(c.modified), "by": { "username": c.author, "displayName": c.author } });
            }
            if has("history") {
                v["history"] = json!({ "createdDate": ts(c.created), "createdBy": { "username": c.author, "displayName": c.author } });
            }
            if has("ancestors") {
                v["ancestors"] = json!(w.ancestors(c.id).into_iter().filter_map(|a| w.contents.get(&a)).map(|a| json!({ "id": a.id.to_string(), "title": a.title, "type": "page" })).collect::<Vec<_>>());
            }
            if has("metadata.labels") {
                v["metadata"] = json!({ "labels": { "results": c.labels.iter().map(|l| json!({ "prefix": "global", "name": l })).collect::<Vec<_>>() } });
            }
            if has("body.storage") && !w.listings_without_bodies {
                v["body"] = json!({ "storage": { "value": c.body(), "representation": "storage" } });
            }
            if has("restrictions.read.restrictions.user") || has("restrictions.read.restrictions.group") {
                v["restrictions"] = json!({ "read": restriction_json(c) });
            }
            if has("children.comment.body.storage") {
                let t = topic(c.topic);
                v["children"] = json!({ "comment": { "results": (0..c.footer_comments).map(|i| json!({ "id": format!("{}8{i}", c.id), "type": "comment", "body": { "storage": { "value": format!("<p>{}</p>", comment_text(i, t)) } } })).collect::<Vec<_>>(), "size": c.footer_comments } });
            }
            v
        })
        .collect();
    let size = page.len();
    let mut links = json!({ "base": "", "context": "" });
    if start + size < total {
        let kept: Vec<String> = q
            .iter()
            .filter(|(k, _)| k != "start")
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        links["next"] = json!(format!(
            "/rest/api/content/search?{}&start={}",
            kept.join("&"),
            start + size
        ));
    }
    axum::Json(
        json!({ "results": page, "start": start, "limit": lim, "size": size, "_links": links }),
    )
    .into_response()
}

async fn v1_spaces(State(s): State<ConfluenceShared>, RawQuery(raw): RawQuery) -> Response {
    let q = query_pairs(raw.as_deref());
    let keys: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "spaceKey")
        .map(|(_, v)| v.as_str())
        .collect();
    let w = s.world();
    let results: Vec<Value> = w
        .spaces
        .iter()
        .filter(|sp| keys.is_empty() || keys.contains(&sp.key.as_str()))
        .map(|sp| json!({ "id": sp.id, "key": sp.key, "name": sp.name, "type": "global", "_links": { "webui": format!("/display/{}", sp.key) } }))
        .collect();
    let size = results.len();
    axum::Json(json!({ "results": results, "start": 0, "limit": 100, "size": size, "_links": {} }))
        .into_response()
}

pub fn router() -> Router<ConfluenceShared> {
    Router::new()
        .route("/wiki/api/v2/spaces", get(spaces))
        .route(
            "/wiki/api/v2/spaces/{id}/permissions",
            get(space_permissions),
        )
        .route("/wiki/api/v2/spaces/{id}/pages", get(space_pages))
        .route("/wiki/api/v2/spaces/{id}/blogposts", get(space_blogposts))
        .route("/wiki/api/v2/pages/{id}", get(content_by_id))
        .route("/wiki/api/v2/blogposts/{id}", get(content_by_id))
        .route("/wiki/api/v2/pages/{id}/ancestors", get(ancestors))
        .route("/wiki/api/v2/pages/{id}/labels", get(labels))
        .route("/wiki/api/v2/blogposts/{id}/labels", get(labels))
        .route(
            "/wiki/api/v2/pages/{id}/footer-comments",
            get(footer_comments),
        )
        .route(
            "/wiki/api/v2/blogposts/{id}/footer-comments",
            get(footer_comments),
        )
        .route(
            "/wiki/api/v2/pages/{id}/inline-comments",
            get(inline_comments),
        )
        .route(
            "/wiki/api/v2/blogposts/{id}/inline-comments",
            get(inline_comments),
        )
        .route("/wiki/api/v2/pages/{id}/attachments", get(attachments))
        .route("/wiki/api/v2/blogposts/{id}/attachments", get(attachments))
        .route("/wiki/download/attachments/{page}/{file}", get(download))
        .route(
            "/wiki/rest/api/content/{id}/restriction/byOperation/read",
            get(read_restrictions),
        )
        .route("/rest/api/content/search", get(cql_search))
        .route("/rest/api/content/{id}", get(v1_content_by_id))
        .route("/rest/api/user", get(user))
        .route("/wiki/rest/api/user", get(user))
        .route("/rest/api/space", get(v1_spaces))
        .route(
            "/rest/api/content/{id}/restriction/byOperation/read",
            get(read_restrictions),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cql_subset_parses() {
        let q = parse_cql(r#"space in ("ENG","OPS") AND type in (page, blogpost) AND lastmodified >= "2026-01-05 08:00" AND label not in ("draft") order by lastmodified asc"#).unwrap();
        assert_eq!(q.spaces, vec!["ENG", "OPS"]);
        assert_eq!(q.types, vec!["page", "blogpost"]);
        assert_eq!(q.label_not_in, vec!["draft"]);
        assert!(q.modified_since.is_some());
        assert!(parse_cql("creator = bob OR x = y").is_err());
    }
}
