use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sluice_core::SettingsError;

/// `settings.http` of any HTTP source. The defaults suit a single sync job
/// against a SaaS API; lower `requests_per_second` for shared tenants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Sustained request rate this source may use.
    pub requests_per_second: f64,
    /// Requests allowed back to back before the rate applies.
    pub burst: u32,
    /// Whole-request timeout (connect + response body).
    pub timeout_secs: u64,
    /// Retries of a transient failure (network, 429, 5xx) before the page fails.
    pub max_retries: u32,
    /// First backoff delay; doubles per attempt, with full jitter.
    pub backoff_initial_ms: u64,
    /// Upper bound of one backoff delay.
    pub backoff_max_secs: u64,
    /// A `Retry-After` longer than this fails the page instead of blocking
    /// the run (the next scheduled run resumes from the checkpoint).
    pub max_retry_after_secs: u64,
    /// Responses larger than this fail the page (lower the page `limit`).
    pub max_response_bytes: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            requests_per_second: 10.0,
            burst: 10,
            timeout_secs: 60,
            max_retries: 5,
            backoff_initial_ms: 500,
            backoff_max_secs: 60,
            max_retry_after_secs: 900,
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

impl HttpSettings {
    /// Problems, with paths as they appear under a source's `settings`
    /// (`http.burst`).
    pub fn problems(&self) -> Vec<SettingsError> {
        let mut p = Vec::new();
        if !(self.requests_per_second > 0.0 && self.requests_per_second.is_finite()) {
            p.push(SettingsError::new(
                "http.requests_per_second",
                "must be a positive number",
                None,
            ));
        }
        if self.burst == 0 {
            p.push(SettingsError::new("http.burst", "must be at least 1", None));
        }
        if self.timeout_secs == 0 {
            p.push(SettingsError::new(
                "http.timeout_secs",
                "must be at least 1",
                None,
            ));
        }
        if self.max_response_bytes < 1024 {
            p.push(SettingsError::new(
                "http.max_response_bytes",
                "must be at least 1024",
                None,
            ));
        }
        p
    }
}
