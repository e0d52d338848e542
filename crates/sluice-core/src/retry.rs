//! The one retry policy every retrying loop in Sluice uses (HTTP
//! connectors, stores, the transport, the engine's sink writes):
//! exponential backoff with jitter, capped, for a bounded or unbounded
//! number of attempts, and a server-given wait (Retry-After) when there is
//! one. Written here rather than taken from a crate because the callers
//! need the loop's state (partial bulk retries, per-attempt logging,
//! virtual clocks in tests) more than a closure combinator.

use std::future::Future;
use std::time::Duration;

/// Exponential backoff with jitter: the wait after `n` earlier retries is a
/// random time in [ceiling/10, ceiling], ceiling = min(max, initial·2ⁿ), so
/// many clients retrying after one outage do not arrive in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff { initial, max }
    }

    /// The longest wait before retry number `retries + 1`.
    pub fn ceiling(&self, retries: u32) -> Duration {
        let factor = 1u64.checked_shl(retries.min(30)).unwrap_or(u64::MAX);
        let ms = (self.initial.as_millis() as u64).saturating_mul(factor);
        Duration::from_millis(ms).min(self.max)
    }

    pub fn delay(&self, retries: u32) -> Duration {
        let ms = self.ceiling(retries).as_millis() as u64;
        // A floor keeps a zero draw from hammering the server.
        Duration::from_millis(if ms == 0 {
            0
        } else {
            rand::random_range(ms / 10..=ms)
        })
    }
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub backoff: Backoff,
    /// Attempts in all, the first included; `None` retries until it works
    /// (a worker that must not skip data while a store is down).
    pub max_attempts: Option<u32>,
    /// The longest server-given wait honoured.
    pub max_server_wait: Duration,
}

impl RetryPolicy {
    pub const fn new(backoff: Backoff, max_attempts: Option<u32>) -> RetryPolicy {
        RetryPolicy {
            backoff,
            max_attempts,
            max_server_wait: Duration::from_secs(60),
        }
    }

    /// Starts counting the attempts of one operation.
    pub fn start(&self) -> Attempts {
        Attempts {
            policy: *self,
            attempt: 1,
        }
    }
}

/// The attempts of one operation under a policy.
#[derive(Debug, Clone)]
pub struct Attempts {
    policy: RetryPolicy,
    attempt: u32,
}

impl Attempts {
    /// The attempt under way (1-based).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// True when another attempt is allowed after this one.
    pub fn can_retry(&self) -> bool {
        self.policy.max_attempts.is_none_or(|m| self.attempt < m)
    }

    /// How long to wait before the next attempt: the server's word (capped)
    /// when given, else the backoff; `None` when no attempt is left.
    pub fn next_delay(&mut self, server_wait: Option<Duration>) -> Option<Duration> {
        if !self.can_retry() {
            return None;
        }
        let backoff = self.policy.backoff.delay(self.attempt - 1);
        self.attempt += 1;
        Some(match server_wait {
            Some(w) => w.min(self.policy.max_server_wait).max(backoff),
            None => backoff,
        })
    }

    /// Sleeps before the next attempt; false (at once) when none is left.
    pub async fn wait(&mut self, server_wait: Option<Duration>) -> bool {
        match self.next_delay(server_wait) {
            Some(d) => {
                tokio::time::sleep(d).await;
                true
            }
            None => false,
        }
    }
}

/// Runs `op` until it succeeds, fails for good (`transient` says false), or
/// the policy's attempts are spent; `on_retry` sees each retried error with
/// its attempt number and the wait before the next one.
pub async fn retry<T, E, Fut>(
    policy: &RetryPolicy,
    mut op: impl FnMut() -> Fut,
    transient: impl Fn(&E) -> bool,
    mut on_retry: impl FnMut(&E, u32, Duration),
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempts = policy.start();
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if transient(&e) => {
                let attempt = attempts.attempt();
                match attempts.next_delay(None) {
                    Some(d) => {
                        on_retry(&e, attempt, d);
                        tokio::time::sleep(d).await;
                    }
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn backoff_doubles_with_each_retry_and_is_capped() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let ceilings: Vec<u128> = (0..6).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, vec![100, 200, 400, 800, 1000, 1000]);
        for a in 0..6 {
            let d = b.delay(a);
            assert!(d <= b.ceiling(a) && d >= b.ceiling(a) / 10, "{a}: {d:?}");
        }
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn attempts_stop_at_the_limit_and_honour_the_server_within_a_cap() {
        let p = RetryPolicy {
            backoff: Backoff::new(Duration::from_millis(10), Duration::from_millis(10)),
            max_attempts: Some(3),
            max_server_wait: Duration::from_secs(5),
        };
        let mut a = p.start();
        assert_eq!(
            a.next_delay(Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            a.next_delay(Some(Duration::from_secs(3600))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(a.attempt(), 3);
        assert_eq!(a.next_delay(None), None, "three attempts in all");
        let mut forever = RetryPolicy::new(p.backoff, None).start();
        for _ in 0..1000 {
            assert!(forever.next_delay(None).is_some());
        }
    }

    #[tokio::test]
    async fn retry_retries_transient_errors_only() {
        let p = RetryPolicy::new(
            Backoff::new(Duration::from_millis(1), Duration::from_millis(2)),
            Some(4),
        );
        let calls = AtomicU32::new(0);
        let seen = std::sync::Mutex::new(Vec::new());
        let r: Result<u32, &str> = retry(
            &p,
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                if n < 3 { Err("busy") } else { Ok(n) }
            },
            |e| *e == "busy",
            |_, attempt, _| seen.lock().unwrap().push(attempt),
        )
        .await;
        assert_eq!(r, Ok(3));
        assert_eq!(*seen.lock().unwrap(), vec![1, 2]);

        calls.store(0, Ordering::SeqCst);
        let r: Result<u32, &str> = retry(
            &p,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("bad request")
            },
            |e| *e == "busy",
            |_, _, _| {},
        )
        .await;
        assert_eq!(
            (r, calls.load(Ordering::SeqCst)),
            (Err("bad request"), 1),
            "permanent errors are not retried"
        );

        calls.store(0, Ordering::SeqCst);
        let r: Result<u32, &str> = retry(
            &p,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err("busy")
            },
            |e| *e == "busy",
            |_, _, _| {},
        )
        .await;
        assert_eq!(
            (r, calls.load(Ordering::SeqCst)),
            (Err("busy"), 4),
            "gives up after max_attempts"
        );
    }
}
