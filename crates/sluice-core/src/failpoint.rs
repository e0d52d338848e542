//! Crash failpoints for the crash-consistency tests: `SLUICE_FAILPOINT=name`
//! (or `name:N`, the N-th time it is reached) makes the process abort at
//! that exact point, as a `kill -9` would, with no unwinding and no
//! destructors. Unset (always, in production) it costs one relaxed load.
//!
//! Written here rather than with `fail-rs`: that crate compiles its points
//! in only behind a cargo feature, and none of its actions ends the
//! process; the tests need the shipped binary to die exactly here.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Armed {
    name: String,
    nth: u64,
    hits: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static A: OnceLock<Option<Armed>> = OnceLock::new();
    A.get_or_init(|| {
        let v = std::env::var("SLUICE_FAILPOINT").ok()?;
        let (name, nth) = match v.rsplit_once(':') {
            Some((n, k)) => (n.to_string(), k.parse().unwrap_or(1)),
            None => (v, 1),
        };
        Some(Armed {
            name,
            nth: nth.max(1),
            hits: AtomicU64::new(0),
        })
    })
    .as_ref()
}

/// Aborts the process when `name` is the armed failpoint (on its N-th hit).
pub fn hit(name: &str) {
    if let Some(a) = armed() {
        if a.name == name && a.hits.fetch_add(1, Ordering::Relaxed) + 1 == a.nth {
            eprintln!("failpoint {name}: aborting");
            std::process::abort();
        }
    }
}
