//! API keys and JWTs: each caller maps to the stored principals that
//! filter every search by document access, and to its own request budget. Keys are stored as SHA-256 hashes
//! only (`sluice keygen` prints a new key and its entry), so the key file
//! is not a secret.
//!
//! ```yaml
//! keys:
//!   - name: intranet-search
//!     sha256: 5e8848…          # sha256 of the key, hex
//!     principals: [confluence:wiki:group:engineering]   # as stored
//!     requests_per_minute: 600
//! identity_map: identities.yaml   # JWT subjects/groups → principals (see identity.rs)
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
use sluice_core::search::Access;

use crate::identity::IdentityMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(default)]
    keys: Vec<KeyEntry>,
    #[serde(default)]
    jwt: Option<JwtSettings>,
    /// The identity map file (relative to this file): what a JWT's subject
    /// and groups, or a key's `identity`, may read. Required with `jwt`.
    #[serde(default)]
    identity_map: Option<String>,
}

/// Bearer JWTs from an identity provider. The subject and the groups claim
/// say who the caller is; the identity map says which stored principals
/// that is in each system (an unmapped caller reads public documents only).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JwtSettings {
    /// Required `aud`.
    audience: String,
    /// Required `iss`: a token from another issuer (another tenant of the
    /// same provider, say) is refused.
    #[serde(default)]
    issuer: Option<String>,
    /// HS256: the environment variable holding the shared secret.
    #[serde(default)]
    hs256_secret_env: Option<String>,
    /// RS256: a JWK Set file (relative to the key file).
    #[serde(default)]
    jwks_file: Option<String>,
    /// RS256: the identity provider's JWK Set URL. Fetched at start and
    /// again when a token names an unknown key (rotation), at most every
    /// `jwks_refresh_secs`.
    #[serde(default)]
    jwks_url: Option<String>,
    #[serde(default = "default_jwks_refresh")]
    jwks_refresh_secs: u64,
    #[serde(default = "default_groups_claim")]
    groups_claim: String,
    /// Members of this group may use the admin endpoints (manual syncs).
    #[serde(default)]
    admin_group: Option<String>,
    /// Budget per token subject.
    #[serde(default = "default_rpm")]
    requests_per_minute: u32,
}

fn default_groups_claim() -> String {
    "groups".into()
}

fn default_jwks_refresh() -> u64 {
    60
}

type KeyMap = HashMap<String, jsonwebtoken::DecodingKey>;

/// `http://localhost…`, `http://127.…`, `http://[::1]…`.
fn loopback_url(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or("");
    let host = if rest.starts_with('[') {
        rest.split(']')
            .next()
            .map(|h| h.trim_start_matches('['))
            .unwrap_or("")
    } else {
        rest.split([':', '/']).next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Keys of a JWK Set by `kid` (`#<position>` for keys without one).
fn parse_jwks(text: &str, origin: &str) -> Result<KeyMap, String> {
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(text).map_err(|e| format!("{origin}: not a JWK Set ({e})"))?;
    let mut keys = HashMap::new();
    for (i, k) in set.keys.iter().enumerate() {
        let kid = k.common.key_id.clone().unwrap_or_else(|| format!("#{i}"));
        let key = jsonwebtoken::DecodingKey::from_jwk(k)
            .map_err(|e| format!("{origin}: key {kid}: {e}"))?;
        keys.insert(kid, key);
    }
    Ok(keys)
}

/// A JWK Set fetched from the identity provider.
struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    refresh_every: std::time::Duration,
    last_fetch: tokio::sync::Mutex<Option<std::time::Instant>>,
}

/// Largest JWK Set accepted from `jwks_url` (real sets are a few KB).
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Token subjects whose budgets are tracked before idle ones are dropped.
const MAX_TRACKED_SUBJECTS: usize = 10_000;

struct JwtVerifier {
    hs256: Option<jsonwebtoken::DecodingKey>,
    /// `jwks_file` keys, then the remote set's (replaced at each fetch).
    file_keys: KeyMap,
    rs256: std::sync::RwLock<KeyMap>,
    remote: Option<RemoteJwks>,
    audience: String,
    issuer: String,
    groups_claim: String,
    admin_group: Option<String>,
    identities: Arc<IdentityMap>,
    limiter: governor::DefaultKeyedRateLimiter<String>,
}

impl JwtVerifier {
    fn new(
        s: JwtSettings,
        base: &Path,
        identities: Arc<IdentityMap>,
    ) -> Result<JwtVerifier, String> {
        let hs256 = match &s.hs256_secret_env {
            None => None,
            Some(var) => {
                let secret = std::env::var(var).map_err(|_| {
                    format!("jwt.hs256_secret_env: environment variable `{var}` is not set")
                })?;
                if secret.len() < 32 {
                    return Err(format!(
                        "jwt.hs256_secret_env: `{var}` must hold at least 32 bytes"
                    ));
                }
                Some(jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()))
            }
        };
        let mut rs256 = HashMap::new();
        if let Some(f) = &s.jwks_file {
            let path = base.join(f);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("jwt.jwks_file {}: {e}", path.display()))?;
            rs256 = parse_jwks(&text, &format!("jwt.jwks_file {}", path.display()))?;
        }
        let issuer = s.issuer.clone().filter(|i| !i.trim().is_empty()).ok_or("jwt.issuer is required: the `iss` your identity provider puts in its tokens (e.g. https://login.example.com/tenant-id/v2.0)")?;
        if s.audience.trim().is_empty() {
            return Err("jwt.audience must not be empty".into());
        }
        let remote = match &s.jwks_url {
            None => None,
            Some(url) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(format!(
                        "jwt.jwks_url `{url}`: use an http(s) URL, e.g. https://idp.example/.well-known/jwks.json"
                    ));
                }
                // Signing keys over plain HTTP can be swapped by anyone on
                // the path; only this machine's own provider may use it.
                if url.starts_with("http://") && !loopback_url(url) {
                    return Err(format!(
                        "jwt.jwks_url `{url}`: use https (plain http is accepted for localhost only)"
                    ));
                }
                let client = reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(10))
                    .build()
                    .map_err(|e| format!("jwt.jwks_url: {e}"))?;
                Some(RemoteJwks {
                    url: url.clone(),
                    client,
                    refresh_every: std::time::Duration::from_secs(s.jwks_refresh_secs.max(1)),
                    last_fetch: Default::default(),
                })
            }
        };
        if hs256.is_none() && rs256.is_empty() && remote.is_none() {
            return Err("jwt: set hs256_secret_env, jwks_file or jwks_url".into());
        }
        let rpm = NonZeroU32::new(s.requests_per_minute)
            .ok_or("jwt.requests_per_minute must be at least 1")?;
        Ok(JwtVerifier {
            hs256,
            file_keys: rs256.clone(),
            rs256: std::sync::RwLock::new(rs256),
            remote,
            audience: s.audience,
            issuer,
            groups_claim: s.groups_claim,
            admin_group: s.admin_group,
            identities,
            limiter: RateLimiter::keyed(Quota::per_minute(rpm)),
        })
    }

    fn knows(&self, kid: Option<&str>) -> bool {
        let keys = self.rs256.read().unwrap_or_else(|e| e.into_inner());
        match kid {
            Some(k) => keys.contains_key(k),
            None => keys.len() == 1,
        }
    }

    /// Fetches the remote JWK Set; `force` skips the refresh interval.
    async fn refresh(&self, force: bool) -> Result<usize, String> {
        let Some(r) = &self.remote else { return Ok(0) };
        let mut last = r.last_fetch.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < r.refresh_every) {
            return Ok(0);
        }
        *last = Some(std::time::Instant::now());
        let fetched = async {
            let mut resp = r
                .client
                .get(&r.url)
                .send()
                .await
                .map_err(|e| e.without_url().to_string())?;
            if !resp.status().is_success() {
                return Err(format!("HTTP {}", resp.status()));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| e.without_url().to_string())?
            {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_JWKS_BYTES {
                    return Err(format!("the JWK Set is larger than {MAX_JWKS_BYTES} bytes"));
                }
            }
            String::from_utf8(body).map_err(|_| "the JWK Set is not UTF-8".to_string())
        }
        .await
        .map_err(|e| format!("jwt.jwks_url {}: {e}", r.url))?;
        let keys = parse_jwks(&fetched, &format!("jwt.jwks_url {}", r.url))?;
        let n = keys.len();
        // The provider's set replaces the last one: a key it stopped
        // publishing (rotated out, or revoked) is refused from now on.
        let mut map = self.file_keys.clone();
        map.extend(keys);
        *self.rs256.write().unwrap_or_else(|e| e.into_inner()) = map;
        Ok(n)
    }

    /// Before verifying: a token signed by a key not seen yet may mean the
    /// provider rotated keys, so the remote set is fetched again.
    async fn prepare(&self, token: &str) {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return;
        };
        if header.alg == jsonwebtoken::Algorithm::RS256 && !self.knows(header.kid.as_deref()) {
            if let Err(e) = self.refresh(false).await {
                tracing::warn!("{e}");
            }
        }
    }

    /// The caller a valid token stands for, or why it is refused.
    fn verify(&self, token: &str) -> Result<Caller, String> {
        use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
        let header = decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        let rs256 = self.rs256.read().unwrap_or_else(|e| e.into_inner());
        let key = match header.alg {
            Algorithm::HS256 => self
                .hs256
                .as_ref()
                .ok_or("HS256 tokens are not accepted here")?,
            Algorithm::RS256 => match &header.kid {
                Some(kid) => rs256
                    .get(kid)
                    .ok_or_else(|| format!("unknown signing key `{kid}`"))?,
                None if rs256.len() == 1 => rs256.values().next().ok_or("no RS256 key")?,
                None => return Err("the token names no key (`kid`)".into()),
            },
            other => {
                return Err(format!(
                    "algorithm {other:?} is not accepted (HS256 or RS256)"
                ));
            }
        };
        let mut v = Validation::new(header.alg);
        v.set_audience(&[&self.audience]);
        v.set_issuer(&[&self.issuer]);
        v.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
        v.validate_nbf = true;
        v.leeway = 30;
        let data = decode::<serde_json::Value>(token, key, &v).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "token expired".to_string(),
            jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                "token not valid yet (`nbf`)".to_string()
            }
            jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                "token is for another audience".to_string()
            }
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                "token from another issuer".to_string()
            }
            jsonwebtoken::errors::ErrorKind::InvalidSignature => "bad token signature".to_string(),
            _ => format!("invalid token: {e}"),
        })?;
        let sub = data.claims["sub"]
            .as_str()
            .ok_or("the token has no `sub`")?
            .to_string();
        let groups: Vec<&str> = data.claims[self.groups_claim.as_str()]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str())
            .collect();
        let admin = self
            .admin_group
            .as_deref()
            .is_some_and(|a| groups.contains(&a));
        let principals = self.identities.resolve(&sub, &groups);
        Ok(Caller {
            name: format!("jwt:{sub}"),
            access: Access::Principals(principals),
            admin,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    name: String,
    sha256: String,
    /// Stored principals the key reads as (`confluence:wiki:group:hr`).
    #[serde(default)]
    principals: Vec<String>,
    /// A subject of the identity map whose principals the key also holds.
    #[serde(default)]
    identity: Option<String>,
    /// Reads every document regardless of ACLs (trusted back ends only).
    #[serde(default)]
    all_access: bool,
    /// May use the admin endpoints (manual syncs in the daemon).
    #[serde(default)]
    admin: bool,
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
    /// May start syncs and other operator actions.
    pub admin: bool,
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
        let names: Vec<&str> = self
            .by_hash
            .values()
            .map(|k| k.caller.name.as_str())
            .collect();
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
        let identities = Arc::new(match &file.identity_map {
            Some(p) => IdentityMap::load(&base.join(p))?,
            None => IdentityMap::default(),
        });
        let mut by_hash = HashMap::new();
        for (i, k) in file.keys.into_iter().enumerate() {
            let h = k.sha256.trim().to_ascii_lowercase();
            if h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!(
                    "keys[{i}] ({}): sha256 must be 64 hex digits (from `sluice keygen`)",
                    k.name
                ));
            }
            if !k.all_access
                && k.principals
                    .iter()
                    .any(|p| !p.contains(':') || p.trim() == "*" || p.starts_with("sluice:"))
            {
                return Err(format!(
                    "keys[{i}] ({}): principals are written as stored, e.g. confluence:wiki:group:eng or group:eng (files sources)",
                    k.name
                ));
            }
            let mut principals = k.principals;
            if let Some(who) = &k.identity {
                if file.identity_map.is_none() {
                    return Err(format!(
                        "keys[{i}] ({}): `identity` needs `identity_map`",
                        k.name
                    ));
                }
                principals.extend(identities.resolve(who, &[]));
            }
            let rpm = NonZeroU32::new(k.requests_per_minute).ok_or_else(|| {
                format!(
                    "keys[{i}] ({}): requests_per_minute must be at least 1",
                    k.name
                )
            })?;
            let access = if k.all_access {
                Access::All
            } else {
                Access::Principals(principals)
            };
            let limiter = RateLimiter::direct(Quota::per_minute(rpm));
            if by_hash
                .insert(
                    h,
                    Key {
                        caller: Caller {
                            name: k.name.clone(),
                            access,
                            admin: k.admin,
                        },
                        limiter,
                    },
                )
                .is_some()
            {
                return Err(format!(
                    "keys[{i}] ({}): the same key is listed twice",
                    k.name
                ));
            }
        }
        let jwt = file
            .jwt
            .map(|j| JwtVerifier::new(j, base, identities.clone()))
            .transpose()?;
        if jwt.is_some() && file.identity_map.is_none() {
            return Err("`jwt` needs `identity_map`: without it no token's subject or groups map to any system's principals, so every caller would read public documents only".into());
        }
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

    /// Fetches `jwt.jwks_url` now (at start, so a wrong URL shows at once).
    /// Returns the number of keys fetched (0 without a URL).
    pub async fn fetch_jwks(&self) -> Result<usize, String> {
        match &self.jwt {
            Some(j) => j.refresh(true).await,
            None => Ok(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The caller a bearer JWT stands for, without a budget or a JWKS
    /// fetch (what `require_key` does after them); for tests and fuzzing.
    pub fn verify_jwt(&self, token: &str) -> Result<Caller, String> {
        self.jwt
            .as_ref()
            .ok_or("JWTs are not accepted here")?
            .verify(token)
    }
}

fn deny(status: StatusCode, msg: &str) -> Response {
    let mut r = (status, axum::Json(serde_json::json!({ "error": msg }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert("www-authenticate", HeaderValue::from_static("Bearer"));
    }
    r
}

/// Checks the key (`Authorization: Bearer …` or `X-API-Key`), applies its
/// budget, and hands its `Caller` to the handler.
/// Keeps the per-subject limiter bounded: past `MAX_TRACKED_SUBJECTS`,
/// subjects whose budget is full again are dropped (their state is the same
/// as a fresh one, so nothing is forgiven). Subjects come from verified tokens
/// only, so what remains is the set of users active within one quota period.
fn forget_idle_subjects(limiter: &governor::DefaultKeyedRateLimiter<String>) {
    if limiter.len() > MAX_TRACKED_SUBJECTS {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}

pub async fn require_key(
    State(keys): State<Arc<ApiKeys>>,
    mut req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| req.headers().get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .map(String::from);
    let Some(key) = presented else {
        return deny(
            StatusCode::UNAUTHORIZED,
            "missing API key: send `Authorization: Bearer <key>` or `X-API-Key`",
        );
    };
    // Three dot-separated parts: a JWT, not an API key.
    if key.matches('.').count() == 2 {
        let Some(jwt) = &keys.jwt else {
            return deny(
                StatusCode::UNAUTHORIZED,
                "JWTs are not accepted here; use an API key",
            );
        };
        jwt.prepare(&key).await;
        let caller = match jwt.verify(&key) {
            Ok(c) => c,
            Err(why) => return deny(StatusCode::UNAUTHORIZED, &why),
        };
        forget_idle_subjects(&jwt.limiter);
        if let Err(not_until) = jwt.limiter.check_key(&caller.name) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            let mut r = deny(
                StatusCode::TOO_MANY_REQUESTS,
                "rate limit exceeded for this user",
            );
            r.headers_mut()
                .insert("retry-after", HeaderValue::from(wait.as_secs().max(1)));
            return r;
        }
        req.extensions_mut().insert(caller);
        return next.run(req).await;
    }
    let Some(entry) = keys.by_hash.get(&hash_key(&key)) else {
        return deny(StatusCode::UNAUTHORIZED, "unknown API key");
    };
    if let Err(not_until) = entry.limiter.check() {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        let mut r = deny(
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit exceeded for this key",
        );
        r.headers_mut()
            .insert("retry-after", HeaderValue::from(wait.as_secs().max(1)));
        return r;
    }
    req.extensions_mut().insert(entry.caller.clone());
    next.run(req).await
}

/// After [`require_key`]: lets only admin callers through (403 otherwise).
pub async fn require_admin(req: Request, next: Next) -> Response {
    match req.extensions().get::<Caller>() {
        Some(c) if c.admin => next.run(req).await,
        Some(c) => deny(
            StatusCode::FORBIDDEN,
            &format!(
                "`{}` may not do this: it needs an admin key (`admin: true` in the key file, or the JWT admin group)",
                c.name
            ),
        ),
        None => deny(StatusCode::UNAUTHORIZED, "missing API key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_checked() {
        let h = hash_key("slk_test");
        assert_eq!(h.len(), 64);
        let ok = ApiKeys::parse(&format!(
            "keys:\n  - name: a\n    sha256: {h}\n    principals: [user:alice]\n"
        ))
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert!(
            ApiKeys::parse("keys:\n  - name: a\n    sha256: nothex\n")
                .unwrap_err()
                .contains("64 hex")
        );
        assert!(
            ApiKeys::parse(&format!(
                "keys:\n  - name: a\n    sha256: {h}\n    principals: [alice]\n"
            ))
            .unwrap_err()
            .contains("as stored")
        );
        assert!(
            ApiKeys::parse(&format!(
                "keys:\n  - {{name: a, sha256: {h}}}\n  - {{name: b, sha256: {h}}}\n"
            ))
            .unwrap_err()
            .contains("twice")
        );
        assert!(ApiKeys::parse("keys:\n  - name: a\n    sha: x\n").is_err());
    }

    #[test]
    fn the_per_subject_limiter_forgets_idle_subjects_past_its_bound() {
        // One request per millisecond: a subject is idle again 1 ms after its request.
        let limiter: governor::DefaultKeyedRateLimiter<String> =
            RateLimiter::keyed(Quota::per_second(NonZeroU32::new(1000).unwrap()));
        for i in 0..MAX_TRACKED_SUBJECTS {
            assert!(limiter.check_key(&format!("user:{i}")).is_ok());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        forget_idle_subjects(&limiter);
        assert_eq!(
            limiter.len(),
            MAX_TRACKED_SUBJECTS,
            "at the bound nothing is dropped"
        );
        assert!(limiter.check_key(&"user:new".to_string()).is_ok());
        std::thread::sleep(std::time::Duration::from_millis(20));
        forget_idle_subjects(&limiter);
        assert_eq!(
            limiter.len(),
            0,
            "past the bound, subjects whose budget refilled are dropped"
        );

        // A subject still inside its period keeps its spent budget.
        let strict: governor::DefaultKeyedRateLimiter<String> =
            RateLimiter::keyed(Quota::per_minute(NonZeroU32::new(1).unwrap()));
        for i in 0..=MAX_TRACKED_SUBJECTS {
            assert!(strict.check_key(&format!("user:{i}")).is_ok());
        }
        forget_idle_subjects(&strict);
        assert_eq!(strict.len(), MAX_TRACKED_SUBJECTS + 1);
        assert!(
            strict.check_key(&"user:0".to_string()).is_err(),
            "a spent budget is not forgiven by pruning"
        );
    }
}
