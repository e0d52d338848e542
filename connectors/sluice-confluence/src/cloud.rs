//! Confluence Cloud, REST v2: cursor pagination through `_links.next`.

use serde_json::Value;
use sluice_core::{Document, SourceError, SourcePage, SyncMode};
use sluice_http::HttpError;
use url::Url;

use crate::{ConfluenceSource, Container, ContentParts, ContentType, dead_letter, parse_time};

fn kind_path(t: ContentType) -> &'static str {
    match t {
        ContentType::Page => "pages",
        ContentType::Blogpost => "blogposts",
    }
}

/// Every `results` item of a v2 list, following `_links.next`.
async fn list_all(
    src: &ConfluenceSource,
    first: &str,
    cap: usize,
) -> Result<Vec<Value>, HttpError> {
    let mut out = Vec::new();
    let mut next = Some(src.http.url(first)?);
    while let Some(url) = next.take() {
        let (v, _): (Value, _) = src.http.get_json(&url).await?;
        out.extend(v["results"].as_array().cloned().unwrap_or_default());
        if out.len() >= cap {
            out.truncate(cap);
            break;
        }
        if let Some(n) = v["_links"]["next"].as_str() {
            next = Some(src.http.url(n)?);
        }
    }
    Ok(out)
}

pub(crate) async fn spaces(
    src: &mut ConfluenceSource,
) -> Result<Vec<(String, String, String)>, SourceError> {
    let mut path = "api/v2/spaces?limit=250".to_string();
    if !src.s.spaces.is_empty() {
        path.push_str(&format!("&keys={}", src.s.spaces.join(",")));
    }
    let items = list_all(src, &path, usize::MAX)
        .await
        .map_err(|e| src.err(e))?;
    let spaces: Vec<(String, String, String)> = items
        .iter()
        .filter_map(|s| {
            Some((
                s["id"].as_str()?.to_string(),
                s["key"].as_str()?.to_string(),
                s["name"].as_str().unwrap_or("").to_string(),
            ))
        })
        .collect();
    let missing: Vec<&String> = src
        .s
        .spaces
        .iter()
        .filter(|k| !spaces.iter().any(|(_, key, _)| key == *k))
        .collect();
    if !missing.is_empty() {
        return Err(SourceError {
            source_id: src.id.clone(),
            location: format!("{}/api/v2/spaces", src.s.base_url.trim_end_matches('/')),
            message: format!(
                "space(s) {} not found or not visible to this account; check settings.spaces and the account's space permissions",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            transient: false,
        });
    }
    {
        for (id, key, _) in &spaces {
            if src.s.space_principals.contains_key(key) {
                continue;
            }
            let perms = list_all(
                src,
                &format!("api/v2/spaces/{id}/permissions?limit=250"),
                usize::MAX,
            )
            .await
            .map_err(|e| src.err(e))?;
            let mut readers: Vec<String> = perms
                .iter()
                .filter(|p| {
                    p["operation"]["key"] == "read" && p["operation"]["targetType"] == "space"
                })
                .filter_map(|p| {
                    let pid = p["principal"]["id"].as_str()?;
                    match p["principal"]["type"].as_str()? {
                        "user" => Some(src.principal(&format!("user:{pid}"))),
                        "group" => Some(src.principal(&format!("group:{pid}"))),
                        _ => None,
                    }
                })
                .collect();
            readers.sort();
            readers.dedup();
            if readers.is_empty() {
                // Fail closed: `space_readers` gives its pages a principal
                // nobody holds until the identity map grants it.
                tracing::warn!(source = %src.id, space = %key, "no readable space permissions: its pages are readable by `confluence:{}:space:{key}` only (grant it in the identity map or set settings.space_principals)", src.id);
            }
            src.space_acl.insert(id.clone(), readers);
        }
    }
    Ok(spaces)
}

pub(crate) fn first_url(src: &ConfluenceSource, c: &Container) -> Result<Url, SourceError> {
    let mut q = vec![format!("limit={}", src.s.page_size)];
    // The prune and permission passes list live content without bodies.
    if matches!(src.mode, SyncMode::Prune | SyncMode::Permissions) {
        q.push("status=current".into());
        if src.s.include_archived {
            q.push("status=archived".into());
        }
        q.push("sort=id".into());
    } else {
        // Trashed and archived items come back too: they are deletions.
        q.extend([
            "status=current".into(),
            "status=archived".into(),
            "status=trashed".into(),
            "body-format=storage".into(),
        ]);
        q.push(if c.since.is_some() {
            "sort=-modified-date".into()
        } else {
            "sort=id".into()
        });
    }
    src.http
        .url(&format!(
            "api/v2/spaces/{}/{}?{}",
            c.space_id,
            kind_path(c.ctype),
            q.join("&")
        ))
        .map_err(|e| src.err(e))
}

async fn labels(
    src: &ConfluenceSource,
    t: ContentType,
    id: &str,
) -> Result<Vec<String>, HttpError> {
    let items = list_all(
        src,
        &format!("api/v2/{}/{id}/labels?limit=200", kind_path(t)),
        usize::MAX,
    )
    .await?;
    Ok(items
        .iter()
        .filter_map(|l| l["name"].as_str().map(String::from))
        .collect())
}

pub(crate) async fn page_items(
    src: &mut ConfluenceSource,
    l: &mut crate::Listing,
    url: Url,
) -> Result<SourcePage, SourceError> {
    let (items, next) = src
        .fetch_results(&url, " (is base_url the Confluence Cloud /wiki URL?)")
        .await?;
    l.next = match next {
        Some(n) => Some(src.http.url(&n).map_err(|e| src.err(e))?),
        None => None,
    };
    let threshold = src.threshold(&l.c);
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
        let modified = parse_time(&item["version"]["createdAt"]);
        if let (Some(t), Some(m)) = (threshold, modified) {
            if m < t {
                // Newest-first listing: everything after this is older.
                l.done = true;
                break;
            }
        }
        if let Some(m) = modified {
            l.max_seen = Some(l.max_seen.map_or(m, |s| s.max(m)));
        }
        let status = item["status"].as_str().unwrap_or("current");
        if !src.s.admits_status(status) {
            page.deleted.push(id);
            continue;
        }
        if matches!(src.mode, SyncMode::Prune | SyncMode::Permissions) {
            // Same admission as the main pass: status (the listing) and labels.
            let admitted = if src.s.include_labels.is_empty() && src.s.exclude_labels.is_empty() {
                true
            } else {
                match labels(src, l.c.ctype, &id).await {
                    Ok(ls) => src.s.admits_labels(&ls),
                    Err(e) if e.status == Some(404) => false,
                    Err(e) => return Err(src.err(e)),
                }
            };
            if !admitted {
                continue;
            }
            if src.mode == SyncMode::Prune {
                page.live_ids.push(id);
                continue;
            }
            // Permission pass: ancestors and restrictions only.
            let access = async {
                let ancestors = if l.c.ctype == ContentType::Page && item["parentId"].is_string() {
                    list_all(
                        src,
                        &format!("api/v2/pages/{id}/ancestors?limit=250"),
                        usize::MAX,
                    )
                    .await?
                    .iter()
                    .filter_map(|a| a["id"].as_str().map(String::from))
                    .collect()
                } else {
                    Vec::new()
                };
                src.acl_for((&l.c.space_id, &l.c.space_key), &id, &ancestors, None)
                    .await
            };
            match access.await {
                Ok(a) => page.access.push((id, a)),
                Err(e) if e.transient => return Err(src.err(e)),
                Err(e) if e.status == Some(404) => page.deleted.push(id),
                Err(e) => {
                    page.dead_letters
                        .push(dead_letter(&src.id, &id, e.url.clone(), e.to_string()))
                }
            }
            continue;
        }
        match build(src, &l.c, item, &id).await {
            Ok(Some(doc)) => page.documents.push(doc),
            Ok(None) => page.deleted.push(id),
            Err(e) if e.transient => return Err(src.err(e)),
            // Gone between the listing and the detail request.
            Err(e) if e.status == Some(404) => page.deleted.push(id),
            Err(e) => {
                let loc = e.url.clone();
                page.dead_letters
                    .push(dead_letter(&src.id, &id, loc, e.to_string()));
            }
        }
    }
    if l.next.is_none() {
        l.done = true;
    }
    Ok(page)
}

/// The document for one listed item, or `None` when the label filters
/// exclude it.
async fn build(
    src: &mut ConfluenceSource,
    c: &Container,
    item: &Value,
    id: &str,
) -> Result<Option<Document>, HttpError> {
    let labels = labels(src, c.ctype, id).await?;
    if !src.s.admits_labels(&labels) {
        return Ok(None);
    }
    let kp = kind_path(c.ctype);
    let mut ancestors = Vec::new();
    if c.ctype == ContentType::Page && item["parentId"].is_string() {
        let items = list_all(
            src,
            &format!("api/v2/pages/{id}/ancestors?limit=250"),
            usize::MAX,
        )
        .await?;
        ancestors = items
            .iter()
            .filter_map(|a| a["id"].as_str().map(String::from))
            .collect();
        for a in &ancestors {
            if !src.titles.contains_key(a) {
                let url = src.http.url(&format!("api/v2/pages/{a}"))?;
                let title = match src.http.get_json::<Value>(&url).await {
                    Ok((v, _)) => v["title"].as_str().unwrap_or("").to_string(),
                    Err(e) if e.status == Some(404) || e.status == Some(403) => String::new(),
                    Err(e) => return Err(e),
                };
                src.titles.insert(a.clone(), title);
            }
        }
    }
    let mut comments = Vec::new();
    if src.s.include_comments {
        let max = src.s.max_comments;
        for which in ["footer-comments", "inline-comments"] {
            if which == "inline-comments" && c.ctype == ContentType::Blogpost {
                continue;
            }
            let left = max.saturating_sub(comments.len());
            if left == 0 {
                break;
            }
            let items = list_all(
                src,
                &format!("api/v2/{kp}/{id}/{which}?body-format=storage&limit=100"),
                left,
            )
            .await?;
            comments.extend(
                items
                    .iter()
                    .filter_map(|c| c["body"]["storage"]["value"].as_str().map(String::from)),
            );
        }
    }
    let (mut attachments, mut attachment_text) = (Vec::new(), Vec::new());
    if src.s.include_attachments {
        for a in list_all(src, &format!("api/v2/{kp}/{id}/attachments?limit=100"), 500).await? {
            let title = a["title"].as_str().unwrap_or("").to_string();
            let media = a["mediaType"].as_str().unwrap_or("").to_string();
            let size = a["fileSize"].as_u64().unwrap_or(u64::MAX);
            let link = a["downloadLink"].as_str().unwrap_or("");
            attachments.push(serde_json::json!({ "id": a["id"], "title": title, "media_type": media, "size": a["fileSize"] }));
            let office = crate::office::is_office(&media, &title);
            if (is_text(&media) || office) && size <= src.s.attachment_max_bytes && !link.is_empty()
            {
                let url = src.http.url(link.trim_start_matches('/'))?;
                match src.http.get(&url).await {
                    Ok(r) if office => match crate::office::office_text(&r.body) {
                        Some(text) => attachment_text.push((title, text)),
                        None => {
                            tracing::warn!(source = %src.id, attachment = %title, "unreadable Office file; metadata only")
                        }
                    },
                    Ok(r) => {
                        let raw = String::from_utf8_lossy(&r.body).into_owned();
                        let text = if media.contains("html") {
                            sluice_text::html_to_text(&raw)
                        } else {
                            raw
                        };
                        attachment_text.push((title, text));
                    }
                    Err(e) if e.transient => return Err(e),
                    Err(e) => {
                        tracing::warn!(source = %src.id, attachment = %title, error = %e, "attachment text skipped")
                    }
                }
            }
        }
    }
    let acl = src
        .acl_for((&c.space_id, &c.space_key), id, &ancestors, None)
        .await?;
    let storage = src
        .storage_body(item, &format!("api/v2/{kp}/{id}?body-format=storage"))
        .await?;
    let parts = ContentParts {
        id: id.to_string(),
        ctype: c.ctype,
        title: item["title"].as_str().unwrap_or("").to_string(),
        status: item["status"].as_str().unwrap_or("current").to_string(),
        storage,
        web_path: item["_links"]["webui"].as_str().map(String::from),
        author: item["authorId"].as_str().map(String::from),
        created: parse_time(&item["createdAt"]),
        modified: parse_time(&item["version"]["createdAt"]),
        version: item["version"]["number"].as_u64(),
        parent_id: item["parentId"].as_str().map(String::from),
        ancestors,
        labels,
        comments,
        attachments,
        attachment_text,
        access: acl,
    };
    src.learn_users(&parts).await;
    Ok(Some(src.document(c, parts)))
}

pub(crate) fn is_text(media: &str) -> bool {
    media.starts_with("text/")
        || matches!(
            media,
            "application/json"
                | "application/xml"
                | "application/xhtml+xml"
                | "application/x-yaml"
                | "application/yaml"
        )
}
