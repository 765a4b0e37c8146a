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
