use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

pub use sluice_core::retry::Backoff;

/// `Retry-After`: delta-seconds or an HTTP-date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// How long the server asked us to wait, from the headers APIs use:
/// `Retry-After`; `RateLimit-Reset` / `X-RateLimit-Reset` given either as
/// seconds-until-reset or as an epoch timestamp (GitLab, GitHub, Atlassian
/// use different conventions; a value larger than a day is an epoch).
/// With `only_if_exhausted`, a reset counts only when the matching
/// `*-Remaining` header says the budget is used up.
pub fn rate_limit_delay(
    h: &HeaderMap,
    now: DateTime<Utc>,
    only_if_exhausted: bool,
) -> Option<Duration> {
    if !only_if_exhausted {
        if let Some(d) = header(h, "retry-after").and_then(|v| parse_retry_after(v, now)) {
            return Some(d);
        }
    }
    for (remaining, reset) in [
        ("ratelimit-remaining", "ratelimit-reset"),
        ("x-ratelimit-remaining", "x-ratelimit-reset"),
    ] {
        let exhausted = header(h, remaining)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|r| r <= 0.0);
        if only_if_exhausted && exhausted != Some(true) {
            continue;
        }
        let Some(value) = header(h, reset) else {
            continue;
        };
        if let Ok(n) = value.parse::<f64>() {
            if !n.is_finite() || n < 0.0 {
                continue;
            }
            if n > 86_400.0 {
                let at = DateTime::from_timestamp(n as i64, 0)?;
                return Some((at - now).to_std().unwrap_or(Duration::ZERO));
            }
            return Some(Duration::from_secs_f64(n));
        }
        if let Some(d) = parse_retry_after(value, now) {
            return Some(d);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        assert_eq!(
            parse_retry_after("120", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 25 Nov 2026 10:00:30 GMT", now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 25 Nov 2026 09:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
    }

    #[test]
    fn reset_headers_as_delta_or_epoch() {
        let mut h = HeaderMap::new();
        h.insert("RateLimit-Remaining", HeaderValue::from_static("0"));
        h.insert("RateLimit-Reset", HeaderValue::from_static("7"));
        assert_eq!(
            rate_limit_delay(&h, now(), true),
            Some(Duration::from_secs(7))
        );
        let epoch = (now().timestamp() + 42).to_string();
        let mut h = HeaderMap::new();
        h.insert("X-RateLimit-Remaining", HeaderValue::from_static("0"));
        h.insert("X-RateLimit-Reset", HeaderValue::from_str(&epoch).unwrap());
        assert_eq!(
            rate_limit_delay(&h, now(), true),
            Some(Duration::from_secs(42))
        );
        // Budget left: no pause before the next request.
        let mut h = HeaderMap::new();
        h.insert("X-RateLimit-Remaining", HeaderValue::from_static("12"));
        h.insert("X-RateLimit-Reset", HeaderValue::from_str(&epoch).unwrap());
        assert_eq!(rate_limit_delay(&h, now(), true), None);
        // Retry-After wins on an error response.
        h.insert("Retry-After", HeaderValue::from_static("3"));
        assert_eq!(
            rate_limit_delay(&h, now(), false),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(10), Duration::from_secs(2));
        assert_eq!(b.ceiling(200), Duration::from_secs(2));
        for attempt in 0..8 {
            let d = b.delay(attempt);
            assert!(
                d <= b.ceiling(attempt) && d >= b.ceiling(attempt) / 10,
                "{d:?}"
            );
        }
    }
}
