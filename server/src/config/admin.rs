//! `[admin]`: the web console and the JSON API (served on `[listen] admin`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConsoleConfig {
    /// Client addresses (`ADDRESS` or `ADDRESS/PREFIX`) the console and the API answer;
    /// everyone else gets 403.
    pub allow: Vec<String>,
    /// Minutes without a request after which a console session ends.
    pub session_idle_minutes: u32,
    /// Hours after login at which a console session ends however busy.
    pub session_max_hours: u32,
    /// Minutes an API access token lives.
    pub token_minutes: u32,
    /// Days audit entries are kept (0: for ever).
    pub audit_retention_days: u32,
    /// Days authentication, delivery and error events are kept for the log search (0: for
    /// ever).
    pub log_retention_days: u32,
    /// The site's time zone for dates on pages and in CSV: `UTC` or `+09:00`-style offset.
    pub time_zone: String,
    /// Failed logins per account, and per client address, within 15 minutes before logins
    /// are refused (429) for the rest of the window.
    pub login_failures_per_account: u32,
    pub login_failures_per_ip: u32,
}

impl Default for AdminConsoleConfig {
    fn default() -> Self {
        Self {
            allow: vec!["127.0.0.0/8".into(), "::1".into()],
            session_idle_minutes: 30,
            session_max_hours: 12,
            token_minutes: 15,
            audit_retention_days: 183,
            log_retention_days: 183,
            time_zone: "UTC".into(),
            login_failures_per_account: 5,
            login_failures_per_ip: 20,
        }
    }
}

impl AdminConsoleConfig {
    /// `UTC`, `Z` or `±HH:MM` as seconds east of UTC.
    pub fn tz_offset_secs(&self) -> Option<i64> {
        let tz = self.time_zone.trim();
        if tz.eq_ignore_ascii_case("utc") || tz == "Z" {
            return Some(0);
        }
        let (sign, rest) = match tz.as_bytes().first() {
            Some(b'+') => (1, &tz[1..]),
            Some(b'-') => (-1, &tz[1..]),
            _ => return None,
        };
        let (h, m) = rest.split_once(':')?;
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        ((0..=14).contains(&h) && (0..60).contains(&m)).then_some(sign * (h * 3600 + m * 60))
    }

    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if let Err(e) = baedal_admin::web::AllowList::parse(&self.allow) {
            return Some(("admin.allow", e));
        }
        if self.tz_offset_secs().is_none() {
            return Some(("admin.time_zone", "UTC or an offset like +09:00".into()));
        }
        if self.session_idle_minutes == 0 || self.session_max_hours == 0 || self.token_minutes == 0
        {
            return Some((
                "admin.session_idle_minutes",
                "session and token lifetimes must be at least 1".into(),
            ));
        }
        if self.login_failures_per_account == 0 || self.login_failures_per_ip == 0 {
            return Some((
                "admin.login_failures_per_account",
                "must be at least 1".into(),
            ));
        }
        None
    }

    /// The console's settings.
    pub fn web_config(&self, issuer: &str) -> baedal_admin::web::WebConfig {
        baedal_admin::web::WebConfig {
            allow: baedal_admin::web::AllowList::parse(&self.allow).unwrap_or_default(),
            session_idle_secs: i64::from(self.session_idle_minutes) * 60,
            session_max_secs: i64::from(self.session_max_hours) * 3600,
            token_secs: i64::from(self.token_minutes) * 60,
            tz_offset_secs: self.tz_offset_secs().unwrap_or(0),
            failures_per_account: i64::from(self.login_failures_per_account),
            failures_per_ip: i64::from(self.login_failures_per_ip),
            failure_window_secs: 15 * 60,
            issuer: issuer.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones() {
        let mut c = AdminConsoleConfig::default();
        assert_eq!(c.tz_offset_secs(), Some(0));
        c.time_zone = "+09:00".into();
        assert_eq!(c.tz_offset_secs(), Some(32_400));
        c.time_zone = "-05:30".into();
        assert_eq!(c.tz_offset_secs(), Some(-19_800));
        c.time_zone = "Asia/Seoul".into();
        assert_eq!(c.tz_offset_secs(), None);
        assert!(c.problem().is_some());
    }
}
