//! Confluence Server / Data Center, REST v1: CQL search with `expand`, so a
//! page of results carries bodies, labels, ancestors, restrictions and
//! comments in one request; offset pagination through `_links.next`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sluice_core::{SourceError, SourcePage, SyncMode};
use url::Url;

use crate::{ConfluenceSource, Container, ContentParts, parse_time};

/// `_links.next` of a v1 response is relative to the base URL including
/// its context path (`/confluence`), not to the origin.
fn follow(src: &ConfluenceSource, next: &str) -> Result<Url, SourceError> {
    src.http
        .url(next.trim_start_matches('/'))
        .map_err(|e| src.err(e))
}

pub(crate) async fn spaces(
    src: &mut ConfluenceSource,
) -> Result<Vec<(String, String, String)>, SourceError> {
    let mut url = src.http.url("rest/api/space").map_err(|e| src.err(e))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("limit", "100");
        for k in &src.s.spaces {
            q.append_pair("spaceKey", k);
        }
    }
    let mut out = Vec::new();
    let mut next = Some(url);
    while let Some(u) = next.take() {
        let (v, _): (Value, _) = src.http.get_json(&u).await.map_err(|e| src.err(e))?;
        for s in v["results"].as_array().into_iter().flatten() {
            if let Some(key) = s["key"].as_str() {
                out.push((
                    key.to_string(),
                    key.to_string(),
                    s["name"].as_str().unwrap_or(key).to_string(),
                ));
            }
        }
        if let Some(n) = v["_links"]["next"].as_str() {
            next = Some(follow(src, n)?);
        }
    }
    let missing: Vec<&str> = src
        .s
        .spaces
        .iter()
        .filter(|k| !out.iter().any(|(_, key, _)| key == *k))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(SourceError {
            source_id: src.id.clone(),
            location: format!("{}/rest/api/space", src.s.base_url.trim_end_matches('/')),
            message: format!(
                "space(s) {} not found or not visible to this account; check settings.spaces",
                missing.join(", ")
            ),
            transient: false,
        });
    }
    for (_, key, _) in &out {
        if !src.s.space_principals.contains_key(key) {
            tracing::warn!(source = %src.id, space = %key, "Server/DC exposes no space permissions over REST: its pages are readable by `confluence:{}:space:{key}` only; set settings.space_principals.{key} or grant it in the identity map", src.id);
        }
    }
    Ok(out)
}

/// The CQL for a container. The prune and permission passes use the same
/// query without the date, so every pass admits exactly the same content,
/// ordered by creation: `start` offsets over an order that edits cannot
/// change never skip a page (ordered by `lastmodified`, a page edited
/// during the listing jumps to the end and another slides past a page
/// boundary unseen — and a prune would delete it).
pub(crate) fn cql(src: &ConfluenceSource, c: &Container, since: Option<DateTime<Utc>>) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut parts = vec![
        format!("space = {}", quote(&c.space_key)),
        format!("type = {}", c.ctype.as_str()),
    ];
    if src.s.include_archived {
        parts.push("status in (current, archived)".into());
    }
    if let Some(t) = since {
        let tz: chrono_tz::Tz = src.s.timezone.parse().unwrap_or(chrono_tz::UTC);
        parts.push(format!(
            "lastmodified >= \"{}\"",
            t.with_timezone(&tz).format("%Y-%m-%d %H:%M")
        ));
    }
    let list = |v: &[String]| v.iter().map(|l| quote(l)).collect::<Vec<_>>().join(", ");
    if !src.s.include_labels.is_empty() {
        parts.push(format!("label in ({})", list(&src.s.include_labels)));
    }
    if !src.s.exclude_labels.is_empty() {
        parts.push(format!("label not in ({})", list(&src.s.exclude_labels)));
    }
    if let Some(extra) = &src.s.cql {
        parts.push(format!("({extra})"));
    }
    let order = if matches!(src.mode, SyncMode::Prune | SyncMode::Permissions) {
        "created asc"
    } else {
        "lastmodified asc"
    };
    format!("{} order by {order}", parts.join(" AND "))
}

pub(crate) fn first_url(src: &ConfluenceSource, c: &Container) -> Result<Url, SourceError> {
    let prune = src.mode == SyncMode::Prune;
    let permissions = src.mode == SyncMode::Permissions;
    let since = if prune || permissions {
        None
    } else {
        src.threshold(c)
    };
    let mut url = src
        .http
        .url("rest/api/content/search")
        .map_err(|e| src.err(e))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("cql", &cql(src, c, since));
        if prune {
            q.append_pair("limit", "100");
        } else if permissions {
            // Ancestors and read restrictions only: no bodies, no comments.
            q.append_pair("limit", "100");
            q.append_pair("expand", "ancestors,restrictions.read.restrictions.user,restrictions.read.restrictions.group");
        } else {
            q.append_pair("limit", &src.s.page_size.to_string());
            let mut expand = vec![
                "body.storage",
                "version",
                "history",
                "ancestors",
                "metadata.labels",
                "space",
            ];
            expand.extend([
                "restrictions.read.restrictions.user",
                "restrictions.read.restrictions.group",
            ]);
            if src.s.include_comments {
                expand.push("children.comment.body.storage");
            }
            q.append_pair("expand", &expand.join(","));
        }
    }
    Ok(url)
}

pub(crate) async fn page_items(
    src: &mut ConfluenceSource,
    l: &mut crate::Listing,
    url: Url,
) -> Result<SourcePage, SourceError> {
    let permissions = src.mode == SyncMode::Permissions;
    let (items, next) = src.fetch_results(&url, "").await?;
    l.next = match next {
        Some(n) => Some(follow(src, &n)?),
        None => None,
    };
    let mut page = SourcePage::default();
    for item in &items {
        let Some(id) = item["id"].as_str().map(String::from) else {
            page.dead_letters.push(sluice_core::DeadLetter {
                source: src.id.clone(),
                location: sluice_http::redact_url(&url),
                external_id: None,
                error: "a listed item has no `id`".into(),
            });
            continue;
        };
        if src.foreign_type(item, l.c.ctype) {
            continue;
        }
        let status = item["status"].as_str().unwrap_or("current");
        if !src.s.admits_status(status) {
            page.deleted.push(id);
            continue;
        }
        if src.mode == SyncMode::Prune {
            page.live_ids.push(id);
            continue;
        }
        let modified = parse_time(&item["version"]["when"]);
        if let Some(m) = modified {
            l.max_seen = Some(l.max_seen.map_or(m, |s| s.max(m)));
        }
        let labels: Vec<String> = item["metadata"]["labels"]["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["name"].as_str().map(String::from))
            .collect();
        // The CQL applies the label filters; the permission pass does not expand labels.
        if !permissions && !src.s.admits_labels(&labels) {
            page.deleted.push(id);
            continue;
        }
        let mut ancestors = Vec::new();
        for a in item["ancestors"].as_array().into_iter().flatten() {
            if let Some(aid) = a["id"].as_str() {
                src.titles.insert(
                    aid.to_string(),
                    a["title"].as_str().unwrap_or("").to_string(),
                );
                ancestors.push(aid.to_string());
            }
        }
        let known = item
            .get("restrictions")
            .map(|r| src.restriction_principals(&r["read"]["restrictions"]));
        let acl = match src
            .acl_for((&l.c.space_id, &l.c.space_key), &id, &ancestors, known)
            .await
        {
            Ok(a) => a,
            Err(e) if e.transient => return Err(src.err(e)),
            Err(e) => {
                page.dead_letters.push(crate::dead_letter(
                    &src.id,
                    &id,
                    e.url.clone(),
                    e.to_string(),
                ));
                continue;
            }
        };
        if permissions {
            page.access.push((id, acl));
            continue;
        }
        let comments: Vec<String> = item["children"]["comment"]["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["body"]["storage"]["value"].as_str().map(String::from))
            .take(src.s.max_comments)
            .collect();
        let storage = match src
            .storage_body(item, &format!("rest/api/content/{id}?expand=body.storage"))
            .await
        {
            Ok(b) => b,
            Err(e) if e.transient => return Err(src.err(e)),
            Err(e) if e.status == Some(404) => {
                page.deleted.push(id);
                continue;
            }
            Err(e) => {
                page.dead_letters.push(crate::dead_letter(
                    &src.id,
                    &id,
                    e.url.clone(),
                    e.to_string(),
                ));
                continue;
            }
        };
        let parts = ContentParts {
            id: id.clone(),
            ctype: l.c.ctype,
            title: item["title"].as_str().unwrap_or("").to_string(),
            status: status.to_string(),
            storage,
            web_path: item["_links"]["webui"].as_str().map(String::from),
            author: item["history"]["createdBy"]["displayName"]
                .as_str()
                .or(item["history"]["createdBy"]["username"].as_str())
                .or(item["history"]["createdBy"]["accountId"].as_str())
                .map(String::from),
            created: parse_time(&item["history"]["createdDate"]),
            modified,
            version: item["version"]["number"].as_u64(),
            parent_id: ancestors.last().cloned(),
            ancestors,
            labels,
            comments,
            attachments: Vec::new(),
            attachment_text: Vec::new(),
            access: acl,
        };
        src.learn_users(&parts).await;
        page.documents.push(src.document(&l.c, parts));
    }
    // Oldest first: the watermark may advance page by page.
    if let Some(seen) = l.max_seen {
        let mark = seen.min(src.started);
        let old = src.marks.get(&l.c.key).copied();
        src.marks
            .insert(l.c.key.clone(), old.map_or(mark, |o| o.max(mark)));
    }
    if l.next.is_none() {
        l.done = true;
    }
    Ok(page)
}
