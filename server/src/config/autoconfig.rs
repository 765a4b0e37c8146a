//! `[autoconfig]`: what mail clients are told when they set themselves up (Thunderbird
//! autoconfig, Outlook Autodiscover, an Apple configuration profile), served on the HTTP
//! listener. The host name defaults to `hostname`; the ports are the standard ones, which
//! the production listeners use.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoconfigConfig {
    /// Answer the autoconfiguration requests at all.
    pub enabled: bool,
    /// The host clients connect to (default: `hostname`).
    pub host: String,
    /// IMAP with implicit TLS.
    pub imap_port: u16,
    /// POP3 with implicit TLS.
    pub pop3_port: u16,
    /// Submission with STARTTLS.
    pub submission_port: u16,
}

/// `[mta_sts]`: the policy each local domain publishes (RFC 8461).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MtaStsConfig {
    /// `testing` (senders report, still deliver), `enforce` or `none`.
    pub mode: String,
    /// Seconds senders may cache the policy.
    pub max_age: u64,
}

impl Default for MtaStsConfig {
    fn default() -> Self {
        Self {
            mode: "testing".into(),
            max_age: 86_400,
        }
    }
}

impl MtaStsConfig {
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if !matches!(self.mode.as_str(), "enforce" | "testing" | "none") {
            return Some((
                "mta_sts.mode",
                "must be \"enforce\", \"testing\" or \"none\"".into(),
            ));
        }
        // RFC 8461 §3.2: at most 31557600 seconds.
        (self.max_age > 31_557_600).then(|| ("mta_sts.max_age", "at most 31557600".into()))
    }
}

impl Default for AutoconfigConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            host: String::new(),
            imap_port: 993,
            pop3_port: 995,
            submission_port: 587,
        }
    }
}
