//! `[quota]`: notices to users near or over their quota, and the daily report.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    /// Tell users (by a message in their INBOX) when a delivery takes their mailbox past
    /// `warn_percent`, and when mail to them is refused because it is full; one notice of
    /// each kind per user and day.
    pub notify: bool,
    /// Percent of the quota that warns.
    pub warn_percent: u8,
    /// A copy of each notice to `postmaster@` the user's domain, when that address exists.
    pub notify_postmaster: bool,
    /// Seconds between two logged reports of the users past `warn_percent` (0: never); the
    /// same list as `baedal quota report`.
    pub report_interval: u64,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            notify: true,
            warn_percent: 90,
            notify_postmaster: true,
            report_interval: 86_400,
        }
    }
}

impl QuotaConfig {
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if self.warn_percent == 0 || self.warn_percent > 100 {
            return Some(("quota.warn_percent", "must be 1 to 100".into()));
        }
        None
    }
}
