use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_core::SettingsError;
use sluice_http::HttpSettings;

/// `settings:` of a `type: slack` source. Credential: `token`, a bot token
/// (`xoxb-…`) with `channels:read`, `channels:history`, `groups:read`,
/// `groups:history`, `users:read`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    #[serde(default = "default_base")]
    pub base_url: String,
    /// Channel names or ids; empty means every channel the bot is a member of.
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default = "yes")]
    pub include_private: bool,
    /// Incremental runs re-read this far back (late replies and edits).
    #[serde(default = "default_lookback")]
    pub lookback_hours: i64,
    /// A thread's replies later than this after its part's first message
    /// start a new document part.
    #[serde(default = "default_window")]
    pub thread_window_hours: i64,
    /// `https://acme.slack.com`, for permalinks.
    #[serde(default)]
    pub workspace_url: Option<String>,
    /// Messages per `conversations.history` request.
    #[serde(default = "default_page")]
    pub page_size: usize,
    /// Tier 2 methods (`conversations.list`, `users.list`, `conversations.members`).
    #[serde(default = "default_tier2")]
    pub tier2_per_minute: f64,
    /// Tier 3 methods (`conversations.history`, `conversations.replies`).
    #[serde(default = "default_tier3")]
    pub tier3_per_minute: f64,
    /// Timeouts, retries, response limits (its rate settings are replaced
    /// by the per-tier ones).
    #[serde(default)]
    pub http: HttpSettings,
}

/// `settings:` of a `type: slack_export` source.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackExportSettings {
    /// The export's `.zip` or unpacked directory, relative to the pipeline file.
    pub path: String,
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default = "yes")]
    pub include_private: bool,
    #[serde(default = "default_window")]
    pub thread_window_hours: i64,
    #[serde(default)]
    pub workspace_url: Option<String>,
}

fn yes() -> bool {
    true
}
fn default_base() -> String {
    "https://slack.com/api".into()
}
fn default_lookback() -> i64 {
    72
}
fn default_window() -> i64 {
    24
}
fn default_page() -> usize {
    200
}
fn default_tier2() -> f64 {
    20.0
}
fn default_tier3() -> f64 {
    50.0
}

impl SlackSettings {
    pub fn parse(settings: &BTreeMap<String, Value>) -> Result<SlackSettings, Vec<SettingsError>> {
        let s: SlackSettings = sluice_core::parse_settings(settings)?;
        let mut errs = Vec::new();
        let mut err = |path: &str, message: String, hint: Option<&str>| {
            errs.push(SettingsError::new(path, message, hint))
        };
        if !matches!(
            url::Url::parse(&s.base_url)
                .map(|u| u.scheme().to_string())
                .as_deref(),
            Ok("http" | "https")
        ) {
            err(
                "base_url",
                format!("invalid base URL `{}`", s.base_url),
                Some("https://slack.com/api"),
            );
        }
        if s.lookback_hours < 0 {
            err("lookback_hours", "must not be negative".into(), None);
        }
        if s.thread_window_hours < 1 {
            err("thread_window_hours", "must be at least 1".into(), None);
        }
        if s.page_size == 0 || s.page_size > 999 {
            err(
                "page_size",
                "page_size must be between 1 and 999".into(),
                Some("apps not from the Slack Marketplace may be limited to 15"),
            );
        }
        for (f, v) in [
            ("tier2_per_minute", s.tier2_per_minute),
            ("tier3_per_minute", s.tier3_per_minute),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                err(f, "must be a positive number".into(), None);
            }
        }
        if errs.is_empty() { Ok(s) } else { Err(errs) }
    }
}

impl SlackExportSettings {
    pub fn parse(
        settings: &BTreeMap<String, Value>,
    ) -> Result<SlackExportSettings, Vec<SettingsError>> {
        let s: SlackExportSettings = sluice_core::parse_settings(settings)?;
        if s.thread_window_hours < 1 {
            return Err(vec![SettingsError {
                path: "thread_window_hours".into(),
                message: "must be at least 1".into(),
                hint: None,
            }]);
        }
        Ok(s)
    }
}
