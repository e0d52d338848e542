use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::Utc;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use sluice_core::SourceError;
use url::Url;

use crate::clock::{Sleeper, TokioSleeper};
use crate::redact::redact_url;
use crate::retry::{Backoff, rate_limit_delay};
use crate::settings::HttpSettings;

/// How requests authenticate. `Debug` never shows the secret.
#[derive(Clone)]
pub enum Auth {
    None,
    /// HTTP basic, e.g. Atlassian Cloud e-mail + API token.
    Basic {
        user: String,
        password: String,
    },
    /// `Authorization: Bearer …` (Atlassian PATs, GitLab OAuth, Slack bots).
    Bearer(String),
    /// A custom header such as GitLab's `PRIVATE-TOKEN`.
    Header {
        name: String,
        value: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Basic { user, .. } => write!(f, "Auth::Basic({user}, REDACTED)"),
            Auth::Bearer(_) => f.write_str("Auth::Bearer(REDACTED)"),
            Auth::Header { name, .. } => write!(f, "Auth::Header({name}: REDACTED)"),
        }
    }
}

/// The credentials `Auth::atlassian` reads.
pub fn atlassian_credentials(cloud: bool) -> &'static [&'static str] {
    if cloud {
        &["email", "api_token"]
    } else {
        &["token"]
    }
}

impl Auth {
    /// Atlassian's two schemes: Cloud takes `email` + `api_token` (basic),
    /// Server/Data Center a personal access `token` (bearer).
    pub fn atlassian(
        cloud: bool,
        credentials: &std::collections::BTreeMap<String, String>,
    ) -> Result<Auth, String> {
        let get = |k: &str| {
            credentials
                .get(k)
                .cloned()
                .ok_or_else(|| format!("missing credential `{k}` (credentials.{k}: ${{ENV_VAR}})"))
        };
        Ok(if cloud {
            Auth::Basic {
                user: get("email")?,
                password: get("api_token")?,
            }
        } else {
            Auth::Bearer(get("token")?)
        })
    }

    fn headers(&self) -> Result<HeaderMap, String> {
        let mut h = HeaderMap::new();
        let mut put = |name: &str, value: String| -> Result<(), String> {
            let mut v = HeaderValue::from_str(&value).map_err(|_| {
                format!("the {name} credential contains characters not allowed in an HTTP header")
            })?;
            v.set_sensitive(true);
            h.insert(
                reqwest::header::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| e.to_string())?,
                v,
            );
            Ok(())
        };
        match self {
            Auth::None => {}
            Auth::Basic { user, password } => {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                put("authorization", format!("Basic {token}"))?;
            }
            Auth::Bearer(t) => put("authorization", format!("Bearer {t}"))?,
            Auth::Header { name, value } => put(&name.to_ascii_lowercase(), value.clone())?,
        }
        Ok(h)
    }
}

/// A failed request, safe to print: the URL is redacted.
#[derive(Debug, Clone)]
pub struct HttpError {
    pub url: String,
    pub status: Option<u16>,
    pub message: String,
    /// Worth retrying later (network, 429, 5xx); auth and 4xx errors are not.
    pub transient: bool,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "GET {} → HTTP {s}: {}", self.url, self.message),
            None => write!(f, "GET {}: {}", self.url, self.message),
        }
    }
}

impl std::error::Error for HttpError {}

impl HttpError {
    pub fn into_source_error(self, source_id: &str) -> SourceError {
        SourceError {
            source_id: source_id.to_string(),
            location: self.url.clone(),
            message: match self.status {
                Some(s) => format!("HTTP {s}: {}", self.message),
                None => self.message,
            },
            transient: self.transient,
        }
    }
}

/// A successful (2xx) response with its body read (bounded).
#[derive(Debug)]
pub struct HttpResponse {
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Parses the body; a malformed body names the URL and the position.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError {
            url: redact_url(&self.url),
            status: Some(self.status),
            message: format!(
                "malformed JSON response ({e}); body starts with {:?}",
                snippet(&self.body)
            ),
            transient: false,
        })
    }
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(120)]);
    s.chars().filter(|c| !c.is_control()).collect()
}

/// Counters for tests, logs and metrics.
#[derive(Debug, Default)]
pub struct HttpStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub waited_ms: AtomicU64,
}

impl HttpStats {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    base: Url,
    settings: HttpSettings,
    limiter: Arc<DefaultDirectRateLimiter>,
    sleeper: Arc<dyn Sleeper>,
    /// Set when a response said the budget is exhausted until a reset.
    paused_until: Arc<Mutex<Option<Instant>>>,
    stats: Arc<HttpStats>,
}

impl HttpClient {
    pub fn new(base_url: &str, auth: &Auth, settings: &HttpSettings) -> Result<HttpClient, String> {
        let mut base =
            Url::parse(base_url).map_err(|e| format!("invalid base URL `{base_url}`: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("base URL `{base_url}` must be http:// or https://"));
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        if let Some(e) = settings.problems().into_iter().next() {
            return Err(format!("{}: {}", e.path, e.message));
        }
        // Credentials travel as default headers on every request, redirected
        // ones included, and reqwest drops only the standard ones when a
        // redirect changes host (not GitLab's PRIVATE-TOKEN): a redirect may
        // never leave the configured origin, and at most 5 are followed.
        let origin = (
            base.scheme().to_string(),
            base.host_str().map(str::to_string),
            base.port_or_known_default(),
        );
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            let u = attempt.url();
            let same = u.scheme() == origin.0
                && u.host_str().map(str::to_string) == origin.1
                && u.port_or_known_default() == origin.2;
            if !same {
                let to = format!("{}://{}", u.scheme(), u.host_str().unwrap_or("?"));
                attempt.error(format!("a redirect to another origin ({to}) was refused: credentials are never sent off the configured host"))
            } else if attempt.previous().len() >= 5 {
                attempt.error("more than 5 redirects")
            } else {
                attempt.follow()
            }
        });
        let inner = reqwest::Client::builder()
            .redirect(redirects)
            .default_headers(auth.headers()?)
            .timeout(Duration::from_secs(settings.timeout_secs))
            .connect_timeout(Duration::from_secs(settings.timeout_secs.min(15)))
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        let per_sec = settings.requests_per_second;
        // governor's quota is "one cell per period"; fractional rates (Slack's
        // tier 2 is ~0.33/s) need the period form.
        let period = Duration::from_secs_f64(1.0 / per_sec);
        let quota = Quota::with_period(period)
            .ok_or("requests_per_second is too high")?
            .allow_burst(NonZeroU32::new(settings.burst.max(1)).unwrap_or(NonZeroU32::MIN));
        Ok(HttpClient {
            inner,
            base,
            settings: settings.clone(),
            limiter: Arc::new(RateLimiter::direct(quota)),
            sleeper: Arc::new(TokioSleeper),
            paused_until: Arc::new(Mutex::new(None)),
            stats: Arc::new(HttpStats::default()),
        })
    }

    /// Replaces how the client waits (a virtual clock in tests).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn stats(&self) -> &Arc<HttpStats> {
        &self.stats
    }

    /// `path` relative to the base URL (`api/v2/spaces`), origin-relative
    /// (`/wiki/api/v2/...`, as Atlassian's `_links.next`), or absolute. An
    /// absolute URL on another origin is refused: credentials go only to
    /// the configured server.
    pub fn url(&self, path: &str) -> Result<Url, HttpError> {
        let u = self.base.join(path).map_err(|e| HttpError {
            url: format!("{}{path}", redact_url(&self.base)),
            status: None,
            message: format!("invalid URL: {e}"),
            transient: false,
        })?;
        if u.origin() != self.base.origin() {
            return Err(HttpError {
                url: redact_url(&u),
                status: None,
                message: format!(
                    "refusing to follow a link to another origin than {}",
                    self.base.origin().ascii_serialization()
                ),
                transient: false,
            });
        }
        Ok(u)
    }

    pub async fn get(&self, url: &Url) -> Result<HttpResponse, HttpError> {
        self.send(url, None).await
    }

    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<(T, HttpResponse), HttpError> {
        let resp = self.get(url).await?;
        let v = resp.json()?;
        Ok((v, resp))
    }

    pub async fn post_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        body: &serde_json::Value,
    ) -> Result<(T, HttpResponse), HttpError> {
        let resp = self.send(url, Some(body)).await?;
        let v = resp.json()?;
        Ok((v, resp))
    }

    async fn wait(&self, d: Duration) {
        if d.is_zero() {
            return;
        }
        self.stats
            .waited_ms
            .fetch_add(d.as_millis() as u64, Ordering::Relaxed);
        self.sleeper.sleep(d).await;
    }

    async fn send(
        &self,
        url: &Url,
        body: Option<&serde_json::Value>,
    ) -> Result<HttpResponse, HttpError> {
        let shown = redact_url(url);
        let backoff = Backoff {
            initial: Duration::from_millis(self.settings.backoff_initial_ms),
            max: Duration::from_secs(self.settings.backoff_max_secs),
        };
        let mut attempt = 0u32;
        loop {
            let pause = self
                .paused_until
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(until) = pause {
                self.wait(until.saturating_duration_since(Instant::now()))
                    .await;
            }
            self.limiter.until_ready().await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let req = match body {
                Some(b) => self.inner.post(url.clone()).json(b),
                None => self.inner.get(url.clone()),
            };
            let failure = match req.send().await {
                // A refused redirect (another origin, or too many) fails the
                // same way every time: not worth retrying.
                Err(e) if e.is_redirect() => {
                    return Err(HttpError {
                        url: shown,
                        status: None,
                        message: format!("redirect refused: {}", root_cause(&e.without_url())),
                        transient: false,
                    });
                }
                Err(e) => {
                    let kind = if e.is_timeout() {
                        "timed out"
                    } else if e.is_connect() {
                        "connection failed"
                    } else {
                        "request failed"
                    };
                    // reqwest's message embeds the unredacted URL: drop it.
                    Failure::Retry {
                        status: None,
                        message: format!("{kind}: {}", root_cause(&e.without_url())),
                        wait: None,
                    }
                }
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let now = Utc::now();
                    if let Some(d) = rate_limit_delay(&headers, now, true) {
                        // Budget spent: pause before the next request (any caller).
                        *self.paused_until.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(Instant::now() + d);
                    }
                    if status.is_success() {
                        match read_bounded(resp, self.settings.max_response_bytes).await {
                            Ok(bytes) => {
                                tracing::debug!(url = %shown, status = status.as_u16(), bytes = bytes.len(), "GET ok");
                                return Ok(HttpResponse {
                                    url: url.clone(),
                                    status: status.as_u16(),
                                    headers,
                                    body: bytes,
                                });
                            }
                            Err(ReadError::TooLarge) => {
                                return Err(HttpError {
                                    url: shown,
                                    status: Some(status.as_u16()),
                                    message: format!(
                                        "response larger than http.max_response_bytes ({} bytes); lower the page size (`limit`) or raise the limit",
                                        self.settings.max_response_bytes
                                    ),
                                    transient: false,
                                });
                            }
                            Err(ReadError::Network(m)) => Failure::Retry {
                                status: Some(status.as_u16()),
                                message: m,
                                wait: None,
                            },
                        }
                    } else {
                        let text = read_bounded(resp, 64 * 1024)
                            .await
                            .map(|b| snippet(&b))
                            .unwrap_or_default();
                        classify(status, &headers, text, now)
                    }
                }
            };
            match failure {
                Failure::Fatal { status, message } => {
                    tracing::warn!(url = %shown, status, "request failed: {message}");
                    return Err(HttpError {
                        url: shown,
                        status,
                        message,
                        transient: false,
                    });
                }
                Failure::Retry {
                    status,
                    message,
                    wait,
                } => {
                    if status == Some(429) {
                        self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                    }
                    if attempt >= self.settings.max_retries {
                        return Err(HttpError {
                            url: shown,
                            status,
                            message: format!(
                                "{message} (gave up after {} retries)",
                                self.settings.max_retries
                            ),
                            transient: true,
                        });
                    }
                    let delay = match wait {
                        Some(d) if d > Duration::from_secs(self.settings.max_retry_after_secs) => {
                            return Err(HttpError {
                                url: shown,
                                status,
                                message: format!(
                                    "the server asked to wait {}s, more than http.max_retry_after_secs ({}); the next run resumes from the checkpoint",
                                    d.as_secs(),
                                    self.settings.max_retry_after_secs
                                ),
                                transient: true,
                            });
                        }
                        Some(d) => d,
                        None => backoff.delay(attempt),
                    };
                    tracing::info!(url = %shown, status, attempt = attempt + 1, wait_ms = delay.as_millis() as u64, "retrying: {message}");
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    self.wait(delay).await;
                    attempt += 1;
                }
            }
        }
    }
}

enum Failure {
    Retry {
        status: Option<u16>,
        message: String,
        wait: Option<Duration>,
    },
    Fatal {
        status: Option<u16>,
        message: String,
    },
}

fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: String,
    now: chrono::DateTime<Utc>,
) -> Failure {
    let code = status.as_u16();
    let detail = if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    };
    match code {
        429 | 503 => Failure::Retry {
            status: Some(code),
            message: if code == 429 {
                "rate limited".into()
            } else {
                format!("service unavailable{detail}")
            },
            wait: rate_limit_delay(headers, now, false),
        },
        500..=599 => Failure::Retry {
            status: Some(code),
            message: format!("server error{detail}"),
            wait: None,
        },
        401 => Failure::Fatal {
            status: Some(code),
            message: format!(
                "authentication failed{detail}; check the source's credentials (the token may be expired or revoked)"
            ),
        },
        403 => Failure::Fatal {
            status: Some(code),
            message: format!(
                "permission denied{detail}; the account needs read access to this resource"
            ),
        },
        404 => Failure::Fatal {
            status: Some(code),
            message: format!("not found{detail}; check the base URL and the configured keys/ids"),
        },
        _ => Failure::Fatal {
            status: Some(code),
            message: format!("request rejected{detail}"),
        },
    }
}

enum ReadError {
    TooLarge,
    Network(String),
}

async fn read_bounded(mut resp: reqwest::Response, limit: u64) -> Result<Vec<u8>, ReadError> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(ReadError::TooLarge);
    }
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if out.len() as u64 + c.len() as u64 > limit {
                    return Err(ReadError::TooLarge);
                }
                out.extend_from_slice(&c);
            }
            Ok(None) => return Ok(out),
            Err(e) => {
                return Err(ReadError::Network(format!(
                    "reading the response failed: {}",
                    root_cause(&e.without_url())
                )));
            }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        msg = format!("{msg}: {s}");
        cur = s.source();
    }
    msg
}

#[cfg(test)]
mod tests;
