//! `[verify]`: SPF, DKIM, ARC and DMARC checks of mail arriving on the MX, what the site
//! does with their results (globally and per local domain), and the optional client checks.

use std::collections::BTreeMap;

use baedal_auth::verify::policy::{Enforcement, SpfFailAction};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyMode {
    /// Refuse, defer or quarantine as the results and policies say.
    Enforce,
    /// Record the results in Authentication-Results only.
    Monitor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpfFail {
    Reject,
    Tag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TempError {
    /// `451`: the client tries again later.
    Defer,
    /// Deliver as if the undecided check had passed.
    Accept,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fcrdns {
    Off,
    /// Check and record (`iprev=` in Authentication-Results).
    Tag,
    /// Refuse clients whose reverse DNS does not confirm (`550 5.7.25` at MAIL).
    Reject,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyConfig {
    /// Check mail arriving on the MX (never mail from authenticated submission).
    pub enabled: bool,
    /// The authserv-id of our Authentication-Results; empty = `hostname`.
    pub authserv_id: String,
    pub mode: VerifyMode,
    pub spf_fail: SpfFail,
    pub temperror: TempError,
    /// Seconds all DNS work for one message may take; then the open checks are temperror.
    pub timeout: u64,
    /// DNS blocklist zones asked for the client's address; empty = off.
    pub dnsbl: Vec<String>,
    pub fcrdns: Fcrdns,
    /// Overrides for mail to one local domain.
    pub domains: BTreeMap<String, DomainVerify>,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            authserv_id: String::new(),
            mode: VerifyMode::Enforce,
            spf_fail: SpfFail::Reject,
            temperror: TempError::Defer,
            timeout: 30,
            dnsbl: Vec::new(),
            fcrdns: Fcrdns::Off,
            domains: BTreeMap::new(),
        }
    }
}

/// What one local domain changes; unset keys keep the global value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DomainVerify {
    pub mode: Option<VerifyMode>,
    pub spf_fail: Option<SpfFail>,
    pub temperror: Option<TempError>,
}

impl VerifyConfig {
    /// The site's enforcement, or a domain's with its overrides applied.
    pub fn enforcement(&self, domain: Option<&DomainVerify>) -> Enforcement {
        let d = domain.cloned().unwrap_or_default();
        let mode = d.mode.unwrap_or(self.mode);
        let spf_fail = d.spf_fail.unwrap_or(self.spf_fail);
        let temperror = d.temperror.unwrap_or(self.temperror);
        Enforcement {
            monitor: mode == VerifyMode::Monitor,
            spf_fail: match spf_fail {
                SpfFail::Reject => SpfFailAction::Reject,
                SpfFail::Tag => SpfFailAction::Tag,
            },
            defer_on_temperror: temperror == TempError::Defer,
        }
    }
}

impl VerifyConfig {
    /// What the types cannot check: (key, problem).
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if self.timeout == 0 {
            return Some(("verify.timeout", "must be at least 1 second".into()));
        }
        if self
            .authserv_id
            .contains(|c: char| c.is_whitespace() || c == ';' || c == '(')
        {
            return Some((
                "verify.authserv_id",
                format!("'{}' is not a host name", self.authserv_id),
            ));
        }
        if let Some(zone) = self
            .dnsbl
            .iter()
            .find(|z| z.trim().is_empty() || z.contains(char::is_whitespace))
        {
            return Some(("verify.dnsbl", format!("'{zone}' is not a DNS zone")));
        }
        None
    }
}
