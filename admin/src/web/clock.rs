//! "Now" for sessions, TOTP and tokens, injected so that a test can pause and move it.

use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    /// Seconds since the epoch.
    fn now(&self) -> i64;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        baedal_storage::clock::now_secs()
    }
}

/// A clock that stands still until it is moved (tests).
pub struct PausedClock(AtomicI64);

impl PausedClock {
    pub fn at(secs: i64) -> Self {
        Self(AtomicI64::new(secs))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for PausedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
