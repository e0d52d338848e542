use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_core::SettingsError;
use sluice_http::HttpSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Deployment {
    /// Jira Cloud: REST v3 `search/jql` (token pagination), e-mail + API token.
    Cloud,
    /// Jira Server / Data Center: REST v2 `search` (startAt), personal access token.
    Server,
}

/// `settings:` of a `type: jira` source. Credentials: `email` and
/// `api_token` (Cloud) or `token` (Server/DC).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JiraSettings {
    /// `https://acme.atlassian.net` or the Server/DC base URL.
    pub base_url: String,
    #[serde(default = "default_deployment")]
    pub deployment: Deployment,
    /// Project keys; empty means every project the account can browse.
    #[serde(default)]
    pub projects: Vec<String>,
    /// Extra JQL ANDed to every query, e.g. `labels != secret` (no ORDER BY).
    #[serde(default)]
    pub jql: Option<String>,
    #[serde(default = "yes")]
    pub include_comments: bool,
    /// Read each changed issue's remote links (one request per issue):
    /// links to pages, merge requests and threads become `links_to` edges
    /// of the link graph. Off by default for the extra requests.
    #[serde(default)]
    pub remote_links: bool,
    /// Comments kept per issue (more are fetched page by page up to this).
    #[serde(default = "default_max_comments")]
    pub max_comments: usize,
    /// Issues per search request (≤ 100 with bodies).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Issue bodies (description + comments) longer than this are truncated.
    #[serde(default = "default_max_body")]
    pub max_body_chars: usize,
    /// Incremental runs re-read this far before the watermark: JQL dates
    /// have minute precision.
    #[serde(default = "default_overlap")]
    pub overlap_minutes: i64,
    #[serde(default)]
    pub http: HttpSettings,
}

fn yes() -> bool {
    true
}
fn default_deployment() -> Deployment {
    Deployment::Cloud
}
fn default_max_comments() -> usize {
    500
}
fn default_page_size() -> usize {
    50
}
fn default_max_body() -> usize {
    1_000_000
}
fn default_overlap() -> i64 {
    10
}

impl JiraSettings {
    pub fn parse(settings: &BTreeMap<String, Value>) -> Result<JiraSettings, Vec<SettingsError>> {
        let s: JiraSettings = sluice_core::parse_settings(settings)?;
        let mut errs = Vec::new();
        let mut err = |path: &str, message: String, hint: Option<&str>| {
            errs.push(SettingsError::new(path, message, hint))
        };
        match url::Url::parse(&s.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => err(
                "base_url",
                format!("invalid base URL `{}`", s.base_url),
                Some("e.g. https://acme.atlassian.net"),
            ),
        }
        if let Some(j) = &s.jql {
            let l = j.to_ascii_lowercase();
            if l.contains("order by") {
                err(
                    "jql",
                    "`jql` must not contain ORDER BY (the connector orders by updated)".into(),
                    None,
                );
            }
            if j.trim().is_empty() {
                err(
                    "jql",
                    "`jql` is empty".into(),
                    Some("remove it or write a filter such as `labels != secret`"),
                );
            }
        }
        if s.page_size == 0 || s.page_size > 100 {
            err(
                "page_size",
                "page_size must be between 1 and 100".into(),
                None,
            );
        }
        if s.overlap_minutes < 1 {
            err(
                "overlap_minutes",
                "must be at least 1: JQL dates have minute precision".into(),
                None,
            );
        }
        for k in &s.projects {
            if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                err(
                    "projects",
                    format!("`{k}` is not a project key"),
                    Some("project keys look like ENG or OPS2"),
                );
            }
        }
        errs.extend(s.http.problems());
        if errs.is_empty() { Ok(s) } else { Err(errs) }
    }

    pub fn credential_names(&self) -> &'static [&'static str] {
        sluice_http::atlassian_credentials(self.deployment == Deployment::Cloud)
    }

    /// The JQL for one project. The prune pass uses the same query without
    /// the date, so both passes admit exactly the same issues, ordered by
    /// key: `startAt` pages over an order that edits cannot change never
    /// skip an issue (ordered by `updated`, an issue edited during the
    /// listing moves to the end and another slides past a page boundary
    /// unseen — and a prune would delete it).
    pub fn project_jql(&self, project: &str, since_local: Option<&str>, prune: bool) -> String {
        let mut parts = vec![format!("project = \"{project}\"")];
        if let Some(j) = &self.jql {
            parts.push(format!("({j})"));
        }
        if let Some(t) = since_local {
            parts.push(format!("updated >= \"{t}\""));
        }
        let order = if prune {
            "key ASC"
        } else {
            "updated ASC, key ASC"
        };
        format!("{} ORDER BY {order}", parts.join(" AND "))
    }
}
