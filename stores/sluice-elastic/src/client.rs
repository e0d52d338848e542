//! HTTP to Elasticsearch / OpenSearch: auth, timeouts, and which failures
//! are worth retrying (connection errors, timeouts, 429, 502-504).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

#[derive(Debug, Clone)]
pub enum Auth {
    None,
    /// `Authorization: ApiKey <encoded>`.
    ApiKey(String),
    Basic {
        username: String,
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

#[derive(Debug, Clone)]
pub struct EsError {
    pub message: String,
    pub transient: bool,
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
}

impl std::fmt::Display for EsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EsError {}

pub fn status_is_transient(s: u16) -> bool {
    matches!(s, 429 | 502 | 503 | 504)
}

#[derive(Clone)]
pub struct EsClient {
    http: reqwest::Client,
    base: String,
    auth: Auth,
}

impl EsClient {
    pub fn new(base: &str, auth: Auth, timeout: Duration) -> Result<EsClient, String> {
        let base = base.trim_end_matches('/').to_string();
        reqwest::Url::parse(&base).map_err(|e| format!("`{base}` is not a URL: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(EsClient { http, base, auth })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn builder(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let b = self.http.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Auth::None => b,
            Auth::ApiKey(k) => b.header(reqwest::header::AUTHORIZATION, format!("ApiKey {k}")),
            Auth::Basic { username, password } => b.basic_auth(username, Some(password)),
            Auth::Bearer(t) => b.bearer_auth(t),
        }
    }

    /// Sends a JSON (or NDJSON, with `ndjson`) body; returns the status and
    /// the parsed answer. Non-2xx answers are errors, except the statuses
    /// listed in `ok_statuses` (e.g. 404 for "alias missing").
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Body>,
        ok_statuses: &[u16],
    ) -> Result<(u16, Value), EsError> {
        let mut b = self.builder(method.clone(), path);
        match body {
            Some(Body::Json(v)) => b = b.json(&v),
            Some(Body::Ndjson(s)) => {
                b = b
                    .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
                    .body(s)
            }
            None => {}
        }
        let resp = b.send().await.map_err(|e| EsError {
            message: format!("{method} {}{path}: {}", self.base, describe(&e)),
            transient: e.is_timeout() || e.is_connect() || e.is_request(),
            status: None,
        })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| EsError {
            message: format!("{method} {path}: reading the answer: {e}"),
            transient: true,
            status: Some(status.as_u16()),
        })?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
        };
        if status.is_success() || ok_statuses.contains(&status.as_u16()) {
            return Ok((status.as_u16(), value));
        }
        Err(EsError {
            message: format!(
                "{method} {path}: HTTP {}: {}",
                status.as_u16(),
                reason(&value, status)
            ),
            transient: status_is_transient(status.as_u16()),
            status: Some(status.as_u16()),
        })
    }
}

pub enum Body {
    Json(Value),
    Ndjson(String),
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("cannot connect ({e})")
    } else {
        e.to_string()
    }
}

/// The `error.type: reason` of an Elasticsearch error body, with a hint for auth failures.
pub fn reason(v: &Value, status: StatusCode) -> String {
    let e = &v["error"];
    let text = match (e["type"].as_str(), e["reason"].as_str()) {
        (Some(t), Some(r)) => format!("{t}: {r}"),
        _ if e.is_string() => e.as_str().unwrap_or_default().to_string(),
        _ => v.to_string().chars().take(300).collect(),
    };
    match status.as_u16() {
        401 => format!("{text} (check the sink's `auth:` and the variable it names)"),
        403 => format!(
            "{text} (the credentials lack privileges on the index; they need create_index, write, read, manage on the alias and its `-v*` indexes)"
        ),
        _ => text,
    }
}
