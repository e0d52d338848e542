//! The HTTP layer every HTTP connector shares. A connector describes its API
//! (paths, pagination, mapping); this crate does the rest the same way for
//! all of them: authentication, a request-rate budget (`governor`), retries
//! with exponential backoff and jitter, 429/503 `Retry-After` and
//! `RateLimit-*`/`X-RateLimit-*` headers, timeouts, bounded response sizes,
//! and URLs/headers redacted wherever they are logged or reported.

mod client;
mod clock;
mod paging;
mod redact;
mod retry;
mod settings;

pub use client::{Auth, HttpClient, HttpError, HttpResponse, HttpStats, atlassian_credentials};
pub use clock::{Sleeper, TokioSleeper, VirtualSleeper};
pub use paging::{link_next, resolve_link};
pub use redact::redact_url;
pub use retry::{Backoff, parse_retry_after, rate_limit_delay};
pub use settings::HttpSettings;
