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
    #[serde(default)]
    keys: Vec<KeyEntry>,
    #[serde(default)]
    jwt: Option<JwtSettings>,
}

/// Bearer JWTs from an identity provider: `sub` becomes `user:<sub>`, each
/// entry of the groups claim `group:<name>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JwtSettings {
    /// Required `aud`.
    audience: String,
    /// Required `iss`, when set.
    #[serde(default)]
    issuer: Option<String>,
    /// HS256: the environment variable holding the shared secret.
    #[serde(default)]
    hs256_secret_env: Option<String>,
    /// RS256: a JWK Set file (relative to the key file).
    #[serde(default)]
    jwks_file: Option<String>,
    #[serde(default = "default_groups_claim")]
    groups_claim: String,
    /// Budget per token subject.
    #[serde(default = "default_rpm")]
    requests_per_minute: u32,
}

fn default_groups_claim() -> String {
    "groups".into()
}

struct JwtVerifier {
    hs256: Option<jsonwebtoken::DecodingKey>,
    rs256: HashMap<String, jsonwebtoken::DecodingKey>,
    audience: String,
    issuer: Option<String>,
    groups_claim: String,
    limiter: governor::DefaultKeyedRateLimiter<String>,
}

impl JwtVerifier {
    fn new(s: JwtSettings, base: &Path) -> Result<JwtVerifier, String> {
        let hs256 = match &s.hs256_secret_env {
            None => None,
            Some(var) => {
                let secret = std::env::var(var).map_err(|_| format!("jwt.hs256_secret_env: environment variable `{var}` is not set"))?;
                if secret.len() < 32 {
                    return Err(format!("jwt.hs256_secret_env: `{var}` must hold at least 32 bytes"));
                }
                Some(jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()))
            }
        };
        let mut rs256 = HashMap::new();
        if let Some(f) = &s.jwks_file {
            let path = base.join(f);
            let text = std::fs::read_to_string(&path).map_err(|e| format!("jwt.jwks_file {}: {e}", path.display()))?;
            let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&text).map_err(|e| format!("jwt.jwks_file {}: not a JWK Set ({e})", path.display()))?;
            for (i, k) in set.keys.iter().enumerate() {
                let kid = k.common.key_id.clone().unwrap_or_else(|| format!("#{i}"));
                let key = jsonwebtoken::DecodingKey::from_jwk(k).map_err(|e| format!("jwt.jwks_file: key {kid}: {e}"))?;
                rs256.insert(kid, key);
            }
        }
        if hs256.is_none() && rs256.is_empty() {
            return Err("jwt: set hs256_secret_env and/or jwks_file".into());
        }
        let rpm = NonZeroU32::new(s.requests_per_minute).ok_or("jwt.requests_per_minute must be at least 1")?;
        Ok(JwtVerifier { hs256, rs256, audience: s.audience, issuer: s.issuer, groups_claim: s.groups_claim, limiter: RateLimiter::keyed(Quota::per_minute(rpm)) })
    }

    /// The caller a valid token stands for, or why it is refused.
    fn verify(&self, token: &str) -> Result<Caller, String> {
        use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
        let header = decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        let key = match header.alg {
            Algorithm::HS256 => self.hs256.as_ref().ok_or("HS256 tokens are not accepted here")?,
            Algorithm::RS256 => match &header.kid {
                Some(kid) => self.rs256.get(kid).ok_or_else(|| format!("unknown signing key `{kid}`"))?,
                None if self.rs256.len() == 1 => self.rs256.values().next().ok_or("no RS256 key")?,
                None => return Err("the token names no key (`kid`)".into()),
            },
            other => return Err(format!("algorithm {other:?} is not accepted (HS256 or RS256)")),
        };
        let mut v = Validation::new(header.alg);
        v.set_audience(&[&self.audience]);
        if let Some(iss) = &self.issuer {
            v.set_issuer(&[iss]);
        }
        v.set_required_spec_claims(&["exp", "sub", "aud"]);
        v.leeway = 30;
        let data = decode::<serde_json::Value>(token, key, &v).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "token expired".to_string(),
            jsonwebtoken::errors::ErrorKind::InvalidAudience => "token is for another audience".to_string(),
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => "token from another issuer".to_string(),
            jsonwebtoken::errors::ErrorKind::InvalidSignature => "bad token signature".to_string(),
            _ => format!("invalid token: {e}"),
        })?;
        let sub = data.claims["sub"].as_str().ok_or("the token has no `sub`")?.to_string();
        let mut principals = vec![format!("user:{sub}")];
        principals.extend(data.claims[self.groups_claim.as_str()].as_array().into_iter().flatten().filter_map(|g| g.as_str()).map(|g| format!("group:{g}")));
        Ok(Caller { name: format!("jwt:{sub}"), access: Access::Principals(principals) })
    }
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
    jwt: Option<JwtVerifier>,
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
        let base = path.parent().unwrap_or(Path::new("."));
        ApiKeys::parse_in(&text, base).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<ApiKeys, String> {
        ApiKeys::parse_in(text, Path::new("."))
    }

    /// `base` resolves `jwt.jwks_file`.
    pub fn parse_in(text: &str, base: &Path) -> Result<ApiKeys, String> {
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
        let jwt = file.jwt.map(|j| JwtVerifier::new(j, base)).transpose()?;
        if by_hash.is_empty() && jwt.is_none() {
            return Err("no `keys` and no `jwt`: nobody could search".into());
        }
        Ok(ApiKeys { by_hash, jwt })
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn accepts_jwt(&self) -> bool {
        self.jwt.is_some()
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
    // Three dot-separated parts: a JWT, not an API key.
    if key.matches('.').count() == 2 {
        let Some(jwt) = &keys.jwt else {
            return deny(StatusCode::UNAUTHORIZED, "JWTs are not accepted here; use an API key");
        };
        let caller = match jwt.verify(&key) {
            Ok(c) => c,
            Err(why) => return deny(StatusCode::UNAUTHORIZED, &why),
        };
        if let Err(not_until) = jwt.limiter.check_key(&caller.name) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            let mut r = deny(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded for this user");
            r.headers_mut().insert("retry-after", HeaderValue::from(wait.as_secs().max(1)));
            return r;
        }
        req.extensions_mut().insert(caller);
        return next.run(req).await;
    }
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
