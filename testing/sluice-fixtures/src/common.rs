use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};

/// The credentials every fixture accepts: basic `fixture@example.com` /
/// `fixture-token` (Cloud) or bearer `fixture-token` (Server/DC PAT).
pub const FIXTURE_USER: &str = "fixture@example.com";
pub const FIXTURE_TOKEN: &str = "fixture-token";

/// Faults injected into responses, keyed by path prefix.
#[derive(Debug, Default)]
pub struct Faults {
    /// Every Nth request answers 429 with `Retry-After` (0 = never).
    pub rate_limit_every: u64,
    pub retry_after_secs: u64,
    /// Status codes returned, in order, by the next requests to a prefix.
    pub fail_next: HashMap<String, VecDeque<u16>>,
    /// The next request to a prefix gets a truncated JSON body.
    pub malformed_next: HashMap<String, u32>,
    /// Added latency per request (a slow server, so runs can be interrupted).
    pub delay_ms: u64,
}

/// State every fixture shares: a virtual clock, faults, a request log.
pub struct Shared<W> {
    pub world: Mutex<W>,
    pub faults: Mutex<Faults>,
    pub requests: Mutex<Vec<String>>,
    pub counter: Mutex<u64>,
}

impl<W> Shared<W> {
    pub fn new(world: W) -> Arc<Self> {
        Arc::new(Shared {
            world: Mutex::new(world),
            faults: Mutex::default(),
            requests: Mutex::default(),
            counter: Mutex::new(0),
        })
    }
    pub fn world(&self) -> MutexGuard<'_, W> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Requests served so far (path and query).
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    pub fn clear_requests(&self) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
    /// The next `n` requests under `prefix` fail with `status`.
    pub fn fail_next(&self, prefix: &str, status: u16, n: usize) {
        self.faults()
            .fail_next
            .entry(prefix.to_string())
            .or_default()
            .extend(std::iter::repeat_n(status, n));
    }
    pub fn malformed_next(&self, prefix: &str) {
        *self
            .faults()
            .malformed_next
            .entry(prefix.to_string())
            .or_default() += 1;
    }
}

/// A virtual clock: every change to a world advances it a minute, so
/// "modified since" queries are deterministic.
#[derive(Debug, Clone)]
pub struct Clock {
    pub now: DateTime<Utc>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            now: DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }
}

impl Clock {
    pub fn tick(&mut self) -> DateTime<Utc> {
        self.now += Duration::minutes(1);
        self.now
    }
}

fn error_json(status: u16, message: &str) -> Response {
    // Atlassian's error envelope (see shared api-fixtures/confluence/v2.error.*).
    let body = serde_json::json!({ "statusCode": status, "message": message, "errorMessages": [message], "errors": {} });
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response()
}

fn authorized(req: &Request) -> bool {
    // GitLab's personal/project/group access token header.
    if req
        .headers()
        .get("private-token")
        .and_then(|v| v.to_str().ok())
        == Some(FIXTURE_TOKEN)
    {
        return true;
    }
    let Some(h) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(b) = h.strip_prefix("Bearer ") {
        return b == FIXTURE_TOKEN;
    }
    if let Some(b) = h.strip_prefix("Basic ") {
        let expected = base64::engine::general_purpose::STANDARD
            .encode(format!("{FIXTURE_USER}:{FIXTURE_TOKEN}"));
        return b == expected;
    }
    false
}

async fn faults_layer<W: Send + 'static>(
    State(shared): State<Arc<Shared<W>>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_else(|| path.clone());
    shared
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(pq);
    if !authorized(&req) {
        return error_json(401, "Client must be authenticated to access this resource.");
    }
    let n = {
        let mut c = shared.counter.lock().unwrap_or_else(|e| e.into_inner());
        *c += 1;
        *c
    };
    let delay = shared.faults().delay_ms;
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let (fail, malformed, limited, retry_after) = {
        let mut f = shared.faults();
        let fail = f
            .fail_next
            .iter_mut()
            .find(|(p, q)| path.starts_with(p.as_str()) && !q.is_empty())
            .and_then(|(_, q)| q.pop_front());
        let malformed = match f
            .malformed_next
            .iter_mut()
            .find(|(p, n)| path.starts_with(p.as_str()) && **n > 0)
        {
            Some((_, n)) => {
                *n -= 1;
                true
            }
            None => false,
        };
        (
            fail,
            malformed,
            f.rate_limit_every > 0 && n % f.rate_limit_every == 0,
            f.retry_after_secs,
        )
    };
    if limited {
        let mut r = error_json(429, "Rate limit exceeded.");
        r.headers_mut()
            .insert("retry-after", HeaderValue::from(retry_after));
        r.headers_mut()
            .insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        r.headers_mut().insert(
            "ratelimit-reason",
            HeaderValue::from_static("jira-burst-based"),
        );
        return r;
    }
    if let Some(status) = fail {
        return error_json(status, "Injected failure from the fixture server.");
    }
    let resp = next.run(req).await;
    if malformed && resp.status().is_success() {
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let cut = bytes.len() / 2;
        return Response::from_parts(parts, Body::from(bytes.slice(..cut)));
    }
    resp
}

/// A fixture server on 127.0.0.1 (port 0 picks a free one).
pub struct FixtureServer {
    pub addr: SocketAddr,
    handle: tokio::task::JoinHandle<()>,
}

impl FixtureServer {
    pub async fn start<W: Send + 'static>(
        router: Router<Arc<Shared<W>>>,
        shared: Arc<Shared<W>>,
        port: u16,
    ) -> std::io::Result<FixtureServer> {
        let app = router
            .layer(middleware::from_fn_with_state(
                shared.clone(),
                faults_layer::<W>,
            ))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FixtureServer { addr, handle })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the server stops (the CLI's foreground mode).
    pub async fn wait(mut self) {
        let handle = std::mem::replace(&mut self.handle, tokio::spawn(async {}));
        let _ = handle.await;
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Opaque cursors as the real APIs use them (an offset, base64'd).
pub fn encode_cursor(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

pub fn decode_cursor(c: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("offset:")?
        .parse()
        .ok()
}

pub fn bad_request(message: &str) -> Response {
    error_json(400, message)
}

pub fn not_found(message: &str) -> Response {
    error_json(404, message)
}

/// Query parameters, keeping repeated keys (`status=current&status=trashed`).
pub fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = q else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub fn params<'a>(q: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    q.iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .collect()
}

/// GitLab-style offset pagination: `page`/`per_page` with `Link`,
/// `X-Next-Page`, `X-Page`, `X-Per-Page` and `X-Total` headers.
pub fn offset_page(
    path: &str,
    q: &[(String, String)],
    items: Vec<serde_json::Value>,
    default_per_page: usize,
) -> Response {
    let per = param(q, "per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_per_page)
        .clamp(1, 100);
    let page: usize = param(q, "page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let start = (page - 1) * per;
    let end = (start + per).min(items.len());
    let slice = items
        .get(start.min(end)..end)
        .map(|s| s.to_vec())
        .unwrap_or_default();
    let mut r = axum::Json(serde_json::Value::Array(slice)).into_response();
    let h = r.headers_mut();
    h.insert("x-page", HeaderValue::from(page));
    h.insert("x-per-page", HeaderValue::from(per));
    h.insert("x-total", HeaderValue::from(items.len()));
    if end < items.len() {
        h.insert("x-next-page", HeaderValue::from(page + 1));
        let kept: Vec<String> = q
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{k}={}", encode_query(v)))
            .collect();
        let link = format!(
            "<{path}?{}&page={}>; rel=\"next\"",
            kept.join("&"),
            page + 1
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            h.insert("link", v);
        }
    } else {
        h.insert("x-next-page", HeaderValue::from_static(""));
    }
    r
}

pub fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
