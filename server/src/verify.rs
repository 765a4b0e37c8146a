//! The MX's inbound checks (`[verify]`): Baedal's resolver with its cache, our
//! authserv-id, and the enforcement of the site and of each local domain.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use baedal_auth::verify::Verifier;
use baedal_protocol::smtp::{FcrdnsAction, InboundChecks};

use crate::config::{Config, Fcrdns};

/// The longest a single DNS query waits (several may run for one message).
const DNS_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The checks of the MX, or `None` when `[verify] enabled = false`.
pub fn inbound_checks(config: &Config) -> Result<Option<InboundChecks>> {
    let verify = &config.verify;
    if !verify.enabled {
        return Ok(None);
    }
    let timeout = Duration::from_secs(verify.timeout.max(1));
    let resolver = crate::resolver::resolver(config, DNS_QUERY_TIMEOUT.min(timeout))?;
    let authserv_id = if verify.authserv_id.is_empty() {
        config.hostname.as_str()
    } else {
        verify.authserv_id.as_str()
    };
    let verifier = Verifier::new(resolver, authserv_id, &config.hostname, timeout);
    Ok(Some(InboundChecks {
        verifier: Arc::new(verifier),
        enforcement: verify.enforcement(None),
        domains: verify
            .domains
            .iter()
            .map(|(domain, d)| (domain.to_ascii_lowercase(), verify.enforcement(Some(d))))
            .collect(),
        dnsbl: verify.dnsbl.clone(),
        fcrdns: match verify.fcrdns {
            Fcrdns::Off => FcrdnsAction::Off,
            Fcrdns::Tag => FcrdnsAction::Tag,
            Fcrdns::Reject => FcrdnsAction::Reject,
        },
    }))
}
