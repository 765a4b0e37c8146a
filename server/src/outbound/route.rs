//! Where mail for a domain goes: the smarthost, or the domain's MX hosts in preference
//! order (RFC 5321 §5.1), each resolved to its addresses; no MX means the domain's own
//! A/AAAA; a null MX (RFC 7505) means the domain takes no mail.

use std::net::{IpAddr, SocketAddr};

use mail_auth::{Error as AuthError, IpLookupStrategy, MessageAuthenticator};

/// A host to try, with the name its TLS certificate would carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub name: String,
    pub address: SocketAddr,
}

/// Why there is no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// The domain does not exist or takes no mail: bounce.
    Permanent(String),
    /// DNS failed for now: retry.
    Temporary(String),
}

/// Most addresses tried per MX host.
const ADDRESSES_PER_HOST: usize = 4;
/// Most MX hosts tried per domain.
const MAX_HOSTS: usize = 10;

fn no_such(e: &AuthError) -> bool {
    matches!(e, AuthError::Dns(mail_auth::DnsError::RecordNotFound(_)))
}

pub async fn hops(
    resolver: &MessageAuthenticator,
    domain: &str,
    port: u16,
) -> Result<Vec<Hop>, RouteError> {
    // A domain literal (RFC 5321 §4.1.3) goes straight to its address.
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let ip = literal
            .trim_start_matches("IPv6:")
            .parse::<IpAddr>()
            .map_err(|_| RouteError::Permanent(format!("bad domain literal {domain}")))?;
        return Ok(vec![Hop {
            name: literal.to_string(),
            address: SocketAddr::new(ip, port),
        }]);
    }
    let no_cache = None::<&mail_auth::common::cache::NoCache<Box<str>, _>>;
    let exchanges: Vec<String> = match resolver.mx_lookup(domain, no_cache).await {
        Ok(set) => {
            let mut records: Vec<_> = set.rrset.iter().collect();
            records.sort_by_key(|mx| mx.preference);
            let names: Vec<String> = records
                .iter()
                .flat_map(|mx| mx.exchanges.iter())
                .map(|name| name.trim_end_matches('.').to_string())
                .collect();
            if names.len() == 1 && names[0].is_empty() {
                return Err(RouteError::Permanent(format!(
                    "{domain} does not accept mail (null MX)"
                )));
            }
            names
        }
        // RFC 5321 §5.1: no MX records, the domain itself is the host.
        Err(e) if no_such(&e) => vec![domain.to_string()],
        Err(e) => {
            return Err(RouteError::Temporary(format!(
                "MX lookup for {domain}: {e}"
            )));
        }
    };
    let mut hops = Vec::new();
    let mut last_error = None;
    for name in exchanges.iter().take(MAX_HOSTS) {
        let cache4 = None::<&mail_auth::common::cache::NoCache<Box<str>, _>>;
        let cache6 = None::<&mail_auth::common::cache::NoCache<Box<str>, _>>;
        match resolver
            .ip_lookup(
                name,
                IpLookupStrategy::Ipv4thenIpv6,
                ADDRESSES_PER_HOST,
                cache4,
                cache6,
            )
            .await
        {
            Ok(addresses) => hops.extend(addresses.into_iter().map(|ip| Hop {
                name: name.clone(),
                address: SocketAddr::new(ip, port),
            })),
            Err(e) => last_error = Some((no_such(&e), format!("address of {name}: {e}"))),
        }
    }
    if hops.is_empty() {
        return Err(match last_error {
            Some((true, message)) if exchanges == [domain.to_string()] => {
                RouteError::Permanent(format!("{domain}: no such domain ({message})"))
            }
            Some((_, message)) => RouteError::Temporary(message),
            None => RouteError::Temporary(format!("no address for the MX hosts of {domain}")),
        });
    }
    Ok(hops)
}
