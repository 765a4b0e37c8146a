//! Checks of the connecting client, before any message: DNS blocklists (RFC 5782) and
//! forward-confirmed reverse DNS (FCrDNS, RFC 8601 §3 "iprev").

use std::net::IpAddr;

use mail_auth::{DnsError, Error, IprevOutput, IprevResult};
use tokio::time::timeout_at;

use super::{AuthResult, Verifier};

impl Verifier {
    /// The first of `zones` that lists `ip`, if any. A list that cannot be asked (DNS
    /// error or timeout) counts as not listing: a blocklist outage must not stop mail.
    pub async fn dnsbl_listing(&self, ip: IpAddr, zones: &[String]) -> Option<String> {
        let deadline = self.deadline();
        for zone in zones {
            let name = format!("{}.{}.", reversed(ip), zone.trim_end_matches('.'));
            match timeout_at(
                deadline,
                self.resolver()
                    .ipv4_lookup(&name, None::<&super::TtlCache<_, _>>),
            )
            .await
            {
                // RFC 5782 §2.1: a listing is an A record, by convention in 127.0.0.0/8.
                Ok(Ok(found)) if found.rrset.iter().any(|a| a.is_loopback()) => {
                    return Some(zone.clone());
                }
                Ok(Ok(_)) | Ok(Err(Error::Dns(DnsError::RecordNotFound(_)))) => {}
                Ok(Err(e)) => tracing::warn!(zone, %ip, error = %e, "DNSBL lookup failed"),
                Err(_) => tracing::warn!(zone, %ip, "DNSBL lookup timed out"),
            }
        }
        None
    }

    /// FCrDNS: the PTR names of `ip` and whether one of them resolves back to it.
    pub async fn iprev(&self, ip: IpAddr) -> IprevOutput {
        match timeout_at(
            self.deadline(),
            self.resolver().verify_iprev(self.cached(ip)),
        )
        .await
        {
            Ok(output) => output,
            Err(_) => IprevOutput {
                result: IprevResult::TempError(super::timed_out()),
                ptr: None,
            },
        }
    }
}

/// The result of an FCrDNS check, as the policy sees it.
pub fn iprev_result(output: &IprevOutput) -> AuthResult {
    AuthResult::of_iprev(&output.result)
}

/// The DNSBL query name of an address: reversed octets, or reversed nibbles for IPv6
/// (RFC 5782 §2.1, §2.4).
fn reversed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}")
        }
        IpAddr::V6(v6) => {
            let hex: Vec<String> = v6
                .octets()
                .iter()
                .flat_map(|byte| [byte >> 4, byte & 0xf])
                .rev()
                .map(|nibble| format!("{nibble:x}"))
                .collect();
            hex.join(".")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_reverse_the_address() {
        assert_eq!(reversed("192.0.2.99".parse().unwrap()), "99.2.0.192");
        assert!(
            reversed("2001:db8::1".parse().unwrap())
                .starts_with("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2")
        );
    }
}
