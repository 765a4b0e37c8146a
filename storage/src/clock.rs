//! Time, read in one place (DESIGN: time is injected). Code that decides with time (retention,
//! internal dates, UIDVALIDITY) takes "now" from here or as an argument, so tests and the CLI
//! (`baedal pop3 expire --now`) can set it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch (0 if the system clock is before 1970).
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
