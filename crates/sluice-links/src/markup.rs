//! Link targets in raw markup. Converting a body to text keeps a link's
//! label and drops where it points (`<a href>`, `[label](url)`, Slack's
//! `<url|label>`, ADF `link` marks, Confluence `ac:link` / `ri:page` and
//! Jira issue macros), so a connector reads the targets from the markup
//! before converting and keeps them in `metadata.links`.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

/// A Confluence page link by title (`ri:page ri:content-title`).
pub const PAGE_TITLE: &str = "page-title:";
/// A Jira issue macro in a Confluence page.
pub const JIRA_MACRO: &str = "jira-macro:";
/// A Jira issue link (`fields.issuelinks`), by the linked issue's key.
pub const JIRA_LINK: &str = "jira-link:";
/// An issue a GitLab merge request closes (its `closes_issues`), by URL.
pub const GITLAB_CLOSES: &str = "gitlab-closes:";
/// A person the markup mentions by the system's own id:
/// `person:confluence:<account id or user key>`, `person:jira:<account id>`
/// (an ADF mention), `person:slack:<user id>`.
pub const PERSON: &str = "person:";
/// Targets kept per document.
pub const MAX_TARGETS: usize = 200;

static CONFLUENCE_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<ri:user\b[^>]*?\bri:(?:account-id|userkey|username)="([^"]{1,128})""#)
        .expect("valid regex")
});
static ADF_MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#""type"\s*:\s*"mention"\s*,\s*"attrs"\s*:\s*\{[^{}]{0,400}?"id"\s*:\s*"([^"]{1,128})""#,
    )
    .expect("valid regex")
});
static SLACK_USER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<@([UW][A-Z0-9]{2,20})(?:\|[^>]{0,80})?>").expect("valid regex"));
static HREF_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"https?://[^\s<>"'`|\\\[\]{}()]+"#).expect("valid regex"));
static PAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<ri:page\b[^>]*?\bri:content-title="([^"]{1,400})""#).expect("valid regex")
});
static MACRO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"ac:name="jira"[^>]{0,200}>((?s:.){0,2000}?)</ac:structured-macro>"#)
        .expect("valid regex")
});
static MACRO_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"ac:name="key"\s*>\s*([A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,6})\s*<"#)
        .expect("valid regex")
});

/// The link targets in `raw` (HTML, Confluence storage format, Markdown,
/// Slack mrkdwn or ADF as JSON text): URLs, `page-title:<title>` and
/// `jira-macro:<KEY>`, each once, in a stable order, at most
/// [`MAX_TARGETS`]. Linear in the input (the regex crate's guarantee).
pub fn markup_targets(raw: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    for m in PAGE.captures_iter(raw) {
        if let Some(t) = m.get(1) {
            out.insert(format!("{PAGE_TITLE}{}", unescape(t.as_str())));
        }
    }
    for m in MACRO.captures_iter(raw) {
        if let Some(key) = m
            .get(1)
            .and_then(|b| MACRO_KEY.captures(b.as_str())?.get(1))
        {
            out.insert(format!("{JIRA_MACRO}{}", key.as_str()));
        }
    }
    for (re, system) in [
        (&*CONFLUENCE_USER, "confluence"),
        (&*ADF_MENTION, "jira"),
        (&*SLACK_USER, "slack"),
    ] {
        for m in re.captures_iter(raw) {
            if let Some(id) = m.get(1) {
                out.insert(format!("{PERSON}{system}:{}", unescape(id.as_str())));
            }
        }
    }
    // Page links, macros and people first: a page with hundreds of URLs
    // must not crowd out its precise links when the list is capped.
    let mut urls = BTreeSet::new();
    for m in HREF_URL.find_iter(raw) {
        let u = unescape(m.as_str());
        let u = u.trim_end_matches(['.', ',', ';', ':', '!', '?', '*', '_', '~']);
        if u.len() > "https://".len() && u.len() <= 2048 {
            urls.insert(u.to_string());
        }
    }
    let mut out: Vec<String> = out.into_iter().take(MAX_TARGETS).collect();
    let room = MAX_TARGETS - out.len();
    out.extend(urls.into_iter().take(room));
    out
}

/// The few entities an attribute or href carries.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Adds one target (a URL, or one of the prefixed forms) to `metadata.links`.
pub fn add_target(
    metadata: &mut std::collections::BTreeMap<String, serde_json::Value>,
    target: String,
) {
    merge(metadata, vec![target]);
}

/// Adds the targets of `raw` to a document's `metadata.links` list.
pub fn add_targets(
    metadata: &mut std::collections::BTreeMap<String, serde_json::Value>,
    raw: &str,
) {
    merge(metadata, markup_targets(raw));
}

fn merge(metadata: &mut std::collections::BTreeMap<String, serde_json::Value>, found: Vec<String>) {
    if found.is_empty() {
        return;
    }
    let entry = metadata
        .entry(crate::METADATA_KEY.to_string())
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if let serde_json::Value::Array(list) = entry {
        let mut all: BTreeSet<String> = list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        all.extend(found);
        // Prefixed targets (page links, macros, issue links, people) before URLs.
        let (urls, precise): (Vec<String>, Vec<String>) =
            all.into_iter().partition(|t| t.starts_with("http"));
        *list = precise
            .into_iter()
            .chain(urls)
            .take(MAX_TARGETS)
            .map(serde_json::Value::String)
            .collect();
    }
}
