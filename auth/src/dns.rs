//! Baedal's own DNS resolver (never the system's): the `[dns] nameservers` of the config,
//! each `address:port` asked over UDP and TCP. MX routing and (later) SPF/DKIM/DMARC
//! verification share it through mail-auth's `MessageAuthenticator`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mail_auth::MessageAuthenticator;
use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};

#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    #[error("nameserver {0:?}: expected an IP address, optionally with :port")]
    BadNameserver(String),
    #[error("no nameservers configured")]
    NoNameservers,
    #[error("resolver: {0}")]
    Build(String),
}

/// Parses `1.2.3.4`, `1.2.3.4:5353`, `::1` or `[::1]:5353` (port 53 by default).
pub fn parse_nameserver(text: &str) -> Result<SocketAddr, ResolverError> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| ResolverError::BadNameserver(text.to_string()))
}

/// A resolver asking only `nameservers`, each query bounded by `timeout`.
pub fn resolver(
    nameservers: &[SocketAddr],
    timeout: Duration,
) -> Result<MessageAuthenticator, ResolverError> {
    if nameservers.is_empty() {
        return Err(ResolverError::NoNameservers);
    }
    let servers = nameservers
        .iter()
        .map(|addr| {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
        })
        .collect();
    let mut options = ResolverOpts::default();
    options.timeout = timeout;
    options.attempts = 2;
    MessageAuthenticator::new(ResolverConfig::from_name_servers(servers), options)
        .map_err(|e| ResolverError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_default_to_port_53() {
        assert_eq!(
            parse_nameserver("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(
            parse_nameserver("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert!(parse_nameserver("dns.example").is_err());
    }
}
