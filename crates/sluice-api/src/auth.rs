//! API keys: each maps to principals that filter every search by document
//! ACLs, and to its own request budget. Keys are stored as SHA-256 hashes
//! only (`sluice keygen` prints a new key and its entry), so the key file
//! is not a secret.
//!
//! ```yaml
//! keys:
//!   - name: intranet-search
//!     sha256: 5e8848…          # sha256 of the key, hex
//!     principals: [group:engineering]
//!     requests_per_minute: 600
//! ```

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sluice_index::Access;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    keys: Vec<KeyEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    name: String,
    sha256: String,
    #[serde(default)]
    principals: Vec<String>,
    /// Reads every document regardless of ACLs (trusted back ends only).
    #[serde(default)]
    all_access: bool,
    #[serde(default = "default_rpm")]
    requests_per_minute: u32,
}

fn default_rpm() -> u32 {
    600
}

/// Who a request acts as.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub access: Access,
}

struct Key {
    caller: Caller,
    limiter: DefaultDirectRateLimiter,
}

pub struct ApiKeys {
    by_hash: HashMap<String, Key>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: hashes stay out of logs too.
        let names: Vec<&str> = self.by_hash.values().map(|k| k.caller.name.as_str()).collect();
        f.debug_struct("ApiKeys").field("names", &names).finish()
    }
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl ApiKeys {
    pub fn load(path: &Path) -> Result<ApiKeys, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        ApiKeys::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<ApiKeys, String> {
        let file: KeyFile = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let mut by_hash = HashMap::new();
        for (i, k) in file.keys.into_iter().enumerate() {
            let h = k.sha256.trim().to_ascii_lowercase();
            if h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("keys[{i}] ({}): sha256 must be 64 hex digits (from `sluice keygen`)", k.name));
            }
            if !k.all_access && k.principals.iter().any(|p| !p.contains(':')) {
                return Err(format!("keys[{i}] ({}): principals look like user:alice or group:eng", k.name));
            }
            let rpm = NonZeroU32::new(k.requests_per_minute).ok_or_else(|| format!("keys[{i}] ({}): requests_per_minute must be at least 1", k.name))?;
            let access = if k.all_access { Access::All } else { Access::Principals(k.principals) };
            let limiter = RateLimiter::direct(Quota::per_minute(rpm));
            if by_hash.insert(h, Key { caller: Caller { name: k.name.clone(), access }, limiter }).is_some() {
                return Err(format!("keys[{i}] ({}): the same key is listed twice", k.name));
            }
        }
        Ok(ApiKeys { by_hash })
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

fn deny(status: StatusCode, msg: &str) -> Response {
    let mut r = (status, axum::Json(serde_json::json!({ "error": msg }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer"));
    }
    r
}

/// Checks the key (`Authorization: Bearer …` or `X-API-Key`), applies its
/// budget, and hands its `Caller` to the handler.
pub async fn require_key(State(keys): State<Arc<ApiKeys>>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| req.headers().get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .map(String::from);
    let Some(key) = presented else {
        return deny(StatusCode::UNAUTHORIZED, "missing API key: send `Authorization: Bearer <key>` or `X-API-Key`");
    };
    let Some(entry) = keys.by_hash.get(&hash_key(&key)) else {
        return deny(StatusCode::UNAUTHORIZED, "unknown API key");
    };
    if let Err(not_until) = entry.limiter.check() {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
        let mut r = deny(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded for this key");
        r.headers_mut().insert("retry-after", HeaderValue::from(wait.as_secs().max(1)));
        return r;
    }
    req.extensions_mut().insert(entry.caller.clone());
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_checked() {
        let h = hash_key("slk_test");
        assert_eq!(h.len(), 64);
        let ok = ApiKeys::parse(&format!("keys:\n  - name: a\n    sha256: {h}\n    principals: [user:alice]\n")).unwrap();
        assert_eq!(ok.len(), 1);
        assert!(ApiKeys::parse("keys:\n  - name: a\n    sha256: nothex\n").unwrap_err().contains("64 hex"));
        assert!(ApiKeys::parse(&format!("keys:\n  - name: a\n    sha256: {h}\n    principals: [alice]\n")).unwrap_err().contains("user:alice"));
        assert!(ApiKeys::parse(&format!("keys:\n  - {{name: a, sha256: {h}}}\n  - {{name: b, sha256: {h}}}\n")).unwrap_err().contains("twice"));
        assert!(ApiKeys::parse("keys:\n  - name: a\n    sha: x\n").is_err());
    }
}
