use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_core::SettingsError;
use sluice_http::HttpSettings;

/// `settings:` of a `type: gitlab` source. Credential: `token` (personal,
/// project or group access token with `read_api` + `read_repository`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitlabSettings {
    /// `https://gitlab.com` or the self-managed instance.
    #[serde(default = "default_base")]
    pub base_url: String,
    /// Group full paths; their projects and all subgroups' projects.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Project full paths (`group/sub/project`).
    #[serde(default)]
    pub projects: Vec<String>,
    #[serde(default = "yes")]
    pub issues: bool,
    #[serde(default = "yes")]
    pub merge_requests: bool,
    #[serde(default = "yes")]
    pub wiki: bool,
    /// Repository files on the default branch matching `file_globs`.
    #[serde(default = "yes")]
    pub files: bool,
    #[serde(default = "default_globs")]
    pub file_globs: Vec<String>,
    /// Larger files are indexed cut to this size, with a warning.
    #[serde(default = "default_file_max")]
    pub file_max_bytes: usize,
    /// Notes kept per issue / merge request (system notes are skipped).
    #[serde(default = "default_max_notes")]
    pub max_notes: usize,
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Incremental runs re-read this far before the watermark.
    #[serde(default = "default_overlap")]
    pub overlap_minutes: i64,
    #[serde(default)]
    pub http: HttpSettings,
}

fn yes() -> bool {
    true
}
fn default_base() -> String {
    "https://gitlab.com".into()
}
fn default_globs() -> Vec<String> {
    vec![
        "**/*.md".into(),
        "**/*.markdown".into(),
        "**/*.txt".into(),
        "**/*.rst".into(),
    ]
}
fn default_file_max() -> usize {
    256 * 1024
}
fn default_max_notes() -> usize {
    500
}
fn default_page_size() -> usize {
    100
}
fn default_overlap() -> i64 {
    5
}

impl GitlabSettings {
    pub fn parse(settings: &BTreeMap<String, Value>) -> Result<GitlabSettings, Vec<SettingsError>> {
        let s: GitlabSettings = sluice_core::parse_settings(settings)?;
        let mut errs = Vec::new();
        let mut err = |path: &str, message: String, hint: Option<&str>| {
            errs.push(SettingsError::new(path, message, hint))
        };
        match url::Url::parse(&s.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                if u.path().contains("/api/") {
                    err(
                        "base_url",
                        "base_url is the instance URL, without /api/v4".into(),
                        Some("e.g. https://gitlab.com"),
                    );
                }
            }
            _ => err(
                "base_url",
                format!("invalid base URL `{}`", s.base_url),
                Some("e.g. https://gitlab.com"),
            ),
        }
        if s.groups.is_empty() && s.projects.is_empty() {
            err(
                "",
                "list `groups` and/or `projects` to sync".into(),
                Some("e.g. groups: [acme/platform] or projects: [acme/platform/api]"),
            );
        }
        for g in &s.file_globs {
            if let Err(e) = glob::Pattern::new(g) {
                err("file_globs", format!("invalid glob `{g}`: {e}"), None);
            }
        }
        if s.page_size == 0 || s.page_size > 100 {
            err(
                "page_size",
                "page_size must be between 1 and 100".into(),
                None,
            );
        }
        if s.overlap_minutes < 0 {
            err("overlap_minutes", "must not be negative".into(), None);
        }
        errs.extend(s.http.problems());
        if errs.is_empty() { Ok(s) } else { Err(errs) }
    }

    /// The same file admission for the main pass and the prune pass.
    pub fn admits_file(&self, path: &str) -> bool {
        FileGlobs::new(&self.file_globs).admits(path)
    }
}

/// `file_globs`, compiled once per source rather than per file.
pub struct FileGlobs(Vec<glob::Pattern>);

impl FileGlobs {
    pub fn new(globs: &[String]) -> FileGlobs {
        let mut out = Vec::new();
        for g in globs {
            out.extend(glob::Pattern::new(g).ok());
            // `**/x` also matches `x` at the repository root.
            if let Some(rest) = g.strip_prefix("**/") {
                out.extend(glob::Pattern::new(rest).ok());
            }
        }
        FileGlobs(out)
    }

    pub fn admits(&self, path: &str) -> bool {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        self.0.iter().any(|p| p.matches_with(path, opts))
    }
}
