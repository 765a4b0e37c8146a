//! `[rspamd]`, `[clamav]` and `[attachments]` of baedal.toml: the content filters of the message
//! pipeline, on the MX and on submission. A filter whose section is absent is off; attachments
//! are checked unless `[attachments] enabled = false`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::attachments::{DEFAULT_BLOCKED_EXTENSIONS, DEFAULT_BLOCKED_TYPES};

/// `[rspamd]`: spam filtering over Rspamd's HTTP protocol (the normal worker).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RspamdConfig {
    /// The normal worker, e.g. `http://127.0.0.1:11333`.
    pub url: String,
    /// Rspamd down or slow: deliver with `X-Baedal-Unscanned` instead of `451 4.7.1`.
    pub fail_open: bool,
    /// How long one message's check may take.
    pub timeout_ms: u64,
    /// Check mail from authenticated submission too (a compromised account sends spam).
    pub submission: bool,
    /// Per local domain (of the recipients; the sender's on submission).
    pub domains: BTreeMap<String, RspamdDomain>,
}

impl Default for RspamdConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            fail_open: false,
            timeout_ms: 15_000,
            submission: true,
            domains: BTreeMap::new(),
        }
    }
}

/// One domain's own spam thresholds; unset keys follow Rspamd's action.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RspamdDomain {
    /// `false`: mail to this domain is not checked by Rspamd.
    pub enabled: bool,
    /// Refused (`550 5.7.1`) at or above this score.
    pub reject_score: Option<f64>,
    /// Delivered to Junk at or above this score.
    pub junk_score: Option<f64>,
}

impl Default for RspamdDomain {
    fn default() -> Self {
        Self {
            enabled: true,
            reject_score: None,
            junk_score: None,
        }
    }
}

/// What a scan that could not finish (oversize, scanner error) leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanFailure {
    /// `451 4.7.1`: the sender tries again later.
    Tempfail,
    /// `554 5.7.0`: refused.
    Reject,
    /// Delivered with `X-Baedal-Unscanned`.
    Accept,
}

/// `[clamav]`: virus scanning over clamd's socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClamavConfig {
    /// `host:port` or the path of clamd's Unix socket.
    pub address: String,
    /// clamd down or slow: deliver with `X-Baedal-Unscanned` instead of `451 4.7.1`.
    pub fail_open: bool,
    pub timeout_ms: u64,
    /// A message over clamd's StreamMaxLength.
    pub oversize: ScanFailure,
    /// clamd answered ERROR for the message.
    pub scan_error: ScanFailure,
}

impl Default for ClamavConfig {
    fn default() -> Self {
        Self {
            address: String::new(),
            fail_open: false,
            timeout_ms: 30_000,
            oversize: ScanFailure::Tempfail,
            scan_error: ScanFailure::Tempfail,
        }
    }
}

/// `[attachments]`: attachments refused by name, type or content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttachmentsConfig {
    pub enabled: bool,
    /// File name extensions refused (without the dot); by default programs, scripts,
    /// shortcuts, installers and disk images ([`DEFAULT_BLOCKED_EXTENSIONS`]).
    pub block: Vec<String>,
    /// Content types refused ([`DEFAULT_BLOCKED_TYPES`] by default).
    pub block_types: Vec<String>,
    /// Refuse executables found by their content (PE, ELF, Mach-O), whatever their name.
    pub sniff_executables: bool,
    /// Refuse Office documents with macros.
    pub block_macros: bool,
    /// Look inside ZIP archives, one level deep.
    pub inspect_archives: bool,
}

impl Default for AttachmentsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            block: DEFAULT_BLOCKED_EXTENSIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            block_types: DEFAULT_BLOCKED_TYPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            sniff_executables: true,
            block_macros: true,
            inspect_archives: true,
        }
    }
}

impl RspamdConfig {
    pub fn problem(&self) -> Option<(&'static str, String)> {
        // Rspamd's workers speak plain HTTP (keep them on loopback or a private network).
        if !self.url.starts_with("http://") {
            return Some((
                "rspamd.url",
                format!("'{}' is not an http:// URL", self.url),
            ));
        }
        if self.timeout_ms == 0 {
            return Some(("rspamd.timeout_ms", "must be at least 1".into()));
        }
        None
    }
}

impl ClamavConfig {
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.address.trim().is_empty() {
            return Some((
                "clamav.address",
                "must be host:port or a socket path".into(),
            ));
        }
        if self.timeout_ms == 0 {
            return Some(("clamav.timeout_ms", "must be at least 1".into()));
        }
        None
    }
}

/// What a verdict that would refuse a message does instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefusalAction {
    /// Refused at the end of DATA (the sender learns it).
    Reject,
    /// Accepted and held in the quarantine (the sender is told it was delivered).
    Quarantine,
}

/// What a spam verdict (Rspamd's `add header`, or a domain's `junk_score`) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpamAction {
    /// Delivered to the recipient's Junk folder.
    Junk,
    /// Held in the quarantine.
    Quarantine,
}

/// `[quarantine]`: which verdicts hold a message instead of refusing it or filing it in
/// Junk, and for how long held messages are kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuarantineConfig {
    /// Days a held message is kept before it is deleted.
    pub lifetime_days: u64,
    pub spam: SpamAction,
    /// Rspamd's `reject` (or a domain's `reject_score`).
    pub rejected: RefusalAction,
    pub virus: RefusalAction,
    pub attachment: RefusalAction,
    /// Per local domain (the recipient's): any of spam, rejected, virus, attachment.
    pub domains: BTreeMap<String, QuarantineDomain>,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        Self {
            lifetime_days: 30,
            spam: SpamAction::Junk,
            rejected: RefusalAction::Reject,
            virus: RefusalAction::Reject,
            attachment: RefusalAction::Reject,
            domains: BTreeMap::new(),
        }
    }
}

/// One domain's own quarantine rules; unset keys follow `[quarantine]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuarantineDomain {
    pub spam: Option<SpamAction>,
    pub rejected: Option<RefusalAction>,
    pub virus: Option<RefusalAction>,
    pub attachment: Option<RefusalAction>,
}

impl QuarantineConfig {
    fn domain(&self, address: &str) -> Option<&QuarantineDomain> {
        let domain = address.rsplit_once('@')?.1.to_ascii_lowercase();
        self.domains.get(&domain)
    }

    /// What a spam verdict does for mail to `recipient`.
    pub fn spam_for(&self, recipient: &str) -> SpamAction {
        self.domain(recipient)
            .and_then(|d| d.spam)
            .unwrap_or(self.spam)
    }

    /// What the refusing `verdict` (`rejected`, `virus`, `attachment`) does for mail to
    /// `recipient`.
    pub fn refusal_for(&self, verdict: &str, recipient: &str) -> RefusalAction {
        let domain = self.domain(recipient);
        let (own, site) = match verdict {
            "virus" => (domain.and_then(|d| d.virus), self.virus),
            "attachment" => (domain.and_then(|d| d.attachment), self.attachment),
            _ => (domain.and_then(|d| d.rejected), self.rejected),
        };
        own.unwrap_or(site)
    }

    pub fn lifetime_secs(&self) -> i64 {
        (self.lifetime_days as i64).saturating_mul(86_400)
    }
}
