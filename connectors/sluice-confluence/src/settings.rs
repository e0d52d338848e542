use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_core::SettingsError;
use sluice_http::HttpSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Deployment {
    /// Atlassian Cloud: REST v2, e-mail + API token.
    Cloud,
    /// Server / Data Center: REST v1 with CQL, personal access token.
    Server,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    Page,
    Blogpost,
}

impl ContentType {
    pub fn as_str(&self) -> &'static str {
        match self {
            ContentType::Page => "page",
            ContentType::Blogpost => "blogpost",
        }
    }
}

/// `settings:` of a `type: confluence` source. Credentials: `email` and
/// `api_token` (Cloud) or `token` (Server/DC personal access token).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfluenceSettings {
    /// Cloud: `https://acme.atlassian.net/wiki`; Server/DC: the base URL
    /// including any context path, e.g. `https://confluence.corp/confluence`.
    pub base_url: String,
    #[serde(default = "default_deployment")]
    pub deployment: Deployment,
    /// Space keys to sync; empty means every space the account can read.
    #[serde(default)]
    pub spaces: Vec<String>,
    #[serde(default = "default_types")]
    pub content_types: Vec<ContentType>,
    /// Only content carrying at least one of these labels.
    #[serde(default)]
    pub include_labels: Vec<String>,
    /// Never content carrying any of these labels.
    #[serde(default)]
    pub exclude_labels: Vec<String>,
    /// Extra CQL ANDed to every query (Server/DC only: Cloud v2 has no CQL
    /// listing; use the label filters there).
    #[serde(default)]
    pub cql: Option<String>,
    /// Archived content is indexed only when true; otherwise it is removed.
    #[serde(default)]
    pub include_archived: bool,
    /// Footer and inline comments are appended to their page.
    #[serde(default = "yes")]
    pub include_comments: bool,
    /// Attachment metadata goes into the page's metadata; text attachments
    /// (text/*, JSON, XML, HTML) up to `attachment_max_bytes` into its body.
    #[serde(default = "yes")]
    pub include_attachments: bool,
    #[serde(default = "default_attachment_max")]
    pub attachment_max_bytes: u64,
    /// Readers of each space's content, by space key (`group:engineering`,
    /// `user:alice`, names in this Confluence; stored qualified as
    /// `confluence:<source id>:group:engineering`). Server/DC exposes no
    /// space permissions over REST, so set this there; on Cloud it replaces
    /// the permissions read from the API for the spaces listed. Page read
    /// restrictions still apply on top.
    #[serde(default)]
    pub space_principals: BTreeMap<String, Vec<String>>,
    /// Items per list request (Cloud ≤ 250, Server ≤ 100 with bodies).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Page bodies longer than this are truncated with a warning.
    #[serde(default = "default_max_body")]
    pub max_body_chars: usize,
    /// Comments kept per page (newest first are not guaranteed; the API order).
    #[serde(default = "default_max_comments")]
    pub max_comments: usize,
    /// Incremental runs re-read this far before the last watermark, so
    /// clock skew and minute-precision CQL dates lose nothing.
    #[serde(default = "default_overlap")]
    pub overlap_minutes: i64,
    /// Time zone CQL dates are written in (Server/DC reads them in the
    /// account's zone). IANA name.
    #[serde(default = "default_tz")]
    pub timezone: String,
    #[serde(default)]
    pub http: HttpSettings,
}

fn yes() -> bool {
    true
}
fn default_deployment() -> Deployment {
    Deployment::Cloud
}
fn default_types() -> Vec<ContentType> {
    vec![ContentType::Page, ContentType::Blogpost]
}
fn default_attachment_max() -> u64 {
    5 * 1024 * 1024
}
fn default_page_size() -> usize {
    50
}
fn default_max_body() -> usize {
    1_000_000
}
fn default_max_comments() -> usize {
    200
}
fn default_overlap() -> i64 {
    10
}
fn default_tz() -> String {
    "UTC".into()
}

impl ConfluenceSettings {
    pub fn parse(
        settings: &BTreeMap<String, Value>,
    ) -> Result<ConfluenceSettings, Vec<SettingsError>> {
        let s: ConfluenceSettings = sluice_core::parse_settings(settings)?;
        let mut errs = Vec::new();
        let mut err = |path: &str, message: String, hint: Option<&str>| {
            errs.push(SettingsError::new(path, message, hint))
        };
        match url::Url::parse(&s.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                if s.deployment == Deployment::Cloud
                    && !u.path().trim_end_matches('/').ends_with("/wiki")
                {
                    err(
                        "base_url",
                        format!(
                            "a Confluence Cloud base URL ends in /wiki, got `{}`",
                            s.base_url
                        ),
                        Some("e.g. https://acme.atlassian.net/wiki"),
                    );
                }
            }
            _ => err(
                "base_url",
                format!("invalid base URL `{}`", s.base_url),
                Some("e.g. https://acme.atlassian.net/wiki"),
            ),
        }
        if s.cql.is_some() && s.deployment == Deployment::Cloud {
            err(
                "cql",
                "`cql` needs `deployment: server`: Cloud REST v2 lists content without CQL".into(),
                Some("use include_labels / exclude_labels on Cloud"),
            );
        }
        if let Some(c) = &s.cql {
            if c.to_ascii_lowercase().contains("order by") {
                err(
                    "cql",
                    "`cql` must not contain ORDER BY (the connector orders by lastmodified)".into(),
                    None,
                );
            }
        }
        if s.content_types.is_empty() {
            err(
                "content_types",
                "list at least one of page, blogpost".into(),
                None,
            );
        }
        let max = if s.deployment == Deployment::Cloud {
            250
        } else {
            100
        };
        if s.page_size == 0 || s.page_size > max {
            err(
                "page_size",
                format!("page_size must be between 1 and {max}"),
                None,
            );
        }
        if s.overlap_minutes < 0 {
            err("overlap_minutes", "must not be negative".into(), None);
        }
        if s.timezone.parse::<chrono_tz::Tz>().is_err() {
            err(
                "timezone",
                format!("unknown time zone `{}`", s.timezone),
                Some("an IANA name such as Europe/Berlin"),
            );
        }
        for k in &s.spaces {
            if k.is_empty() || k.contains(['"', ',', ' ']) {
                err(
                    "spaces",
                    format!("`{k}` is not a space key"),
                    Some("space keys look like ENG or ~alice"),
                );
            }
        }
        for l in s.include_labels.iter().chain(&s.exclude_labels) {
            if l.is_empty() || l.contains(['"', ',', ' ']) {
                err(
                    "include_labels",
                    format!("`{l}` is not a Confluence label"),
                    Some("labels are lowercase words without spaces"),
                );
            }
        }
        errs.extend(s.http.problems());
        if errs.is_empty() { Ok(s) } else { Err(errs) }
    }

    /// The credential names this deployment needs.
    pub fn credential_names(&self) -> &'static [&'static str] {
        sluice_http::atlassian_credentials(self.deployment == Deployment::Cloud)
    }

    /// The same admission rule for the main pass and the prune pass.
    pub fn admits_labels(&self, labels: &[String]) -> bool {
        (self.include_labels.is_empty() || labels.iter().any(|l| self.include_labels.contains(l)))
            && !labels.iter().any(|l| self.exclude_labels.contains(l))
    }

    pub fn admits_status(&self, status: &str) -> bool {
        status == "current" || (self.include_archived && status == "archived")
    }
}
