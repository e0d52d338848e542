use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

/// How the client waits between attempts. Tests substitute a virtual clock
/// so a `Retry-After: 120` is checked without waiting two minutes.
#[async_trait]
pub trait Sleeper: Send + Sync {
    async fn sleep(&self, d: Duration);
}

pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await
    }
}

/// Records every requested wait and returns at once.
#[derive(Default)]
pub struct VirtualSleeper {
    waits: Mutex<Vec<Duration>>,
}

impl VirtualSleeper {
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn total(&self) -> Duration {
        self.waits().iter().sum()
    }
}

#[async_trait]
impl Sleeper for VirtualSleeper {
    async fn sleep(&self, d: Duration) {
        self.waits.lock().unwrap_or_else(|e| e.into_inner()).push(d);
        tokio::task::yield_now().await;
    }
}
