//! Transient gRPC failures (the server restarting, overload, timeouts) are
//! retried with exponential backoff; anything else fails the batch at once.

use std::future::Future;
use std::time::Duration;

use qdrant_client::QdrantError;
use sluice_core::retry::{Backoff, RetryPolicy};
use tonic::Code;

/// True for errors a retry may cure.
pub fn is_transient(e: &QdrantError) -> bool {
    match e {
        QdrantError::ResponseError { status } => matches!(
            status.code(),
            Code::Unavailable
                | Code::DeadlineExceeded
                | Code::ResourceExhausted
                | Code::Aborted
                | Code::Unknown
                | Code::Cancelled
        ),
        QdrantError::ResourceExhaustedError { .. } => true,
        _ => false,
    }
}

/// Runs `op` up to `attempts` times while it fails transiently (the shared
/// policy: backoff from 100 ms, capped at 5 s); a rate-limit answer's
/// retry-after is honoured (capped at 30 s).
pub(crate) async fn with_retry<T, F, Fut>(
    what: &str,
    attempts: u32,
    mut op: F,
) -> Result<T, (QdrantError, bool)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, QdrantError>>,
{
    let policy = RetryPolicy {
        max_server_wait: Duration::from_secs(30),
        ..RetryPolicy::new(
            Backoff::new(Duration::from_millis(100), Duration::from_secs(5)),
            Some(attempts),
        )
    };
    let mut tries = policy.start();
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if is_transient(&e) && tries.can_retry() => {
                let server_wait = match &e {
                    QdrantError::ResourceExhaustedError {
                        retry_after_seconds,
                        ..
                    } => Some(Duration::from_secs(*retry_after_seconds)),
                    _ => None,
                };
                let attempt = tries.attempt();
                let wait = tries.next_delay(server_wait).unwrap_or_default();
                tracing::warn!(attempt, error = %e, wait_ms = wait.as_millis() as u64, "qdrant {what}: transient error; retrying");
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                let transient = is_transient(&e);
                return Err((e, transient));
            }
        }
    }
}
