//! Baedal's DNS resolver from `[dns] nameservers`, for the queue's MX lookups and the MX's
//! inbound checks alike.

use std::time::Duration;

use anyhow::{Context, Result};
use baedal_auth::dns;
use mail_auth::MessageAuthenticator;

use crate::config::Config;

/// A resolver asking `[dns] nameservers` (the system's when the list is empty), each query
/// bounded by `query_timeout`.
pub fn resolver(config: &Config, query_timeout: Duration) -> Result<MessageAuthenticator> {
    if config.dns.nameservers.is_empty() {
        return MessageAuthenticator::new_system_conf().context("the system resolver");
    }
    let servers = config
        .dns
        .nameservers
        .iter()
        .map(|ns| dns::parse_nameserver(ns))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(dns::resolver(&servers, query_timeout)?)
}
