//! `[admin] allow`: the client addresses the console and the API answer. Everything else
//! gets `403 forbidden_address` and nothing more.

use std::net::IpAddr;

/// One `ADDRESS/PREFIX` network (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<Network>);

impl AllowList {
    /// Loopback only: `127.0.0.0/8` and `::1`.
    pub fn loopback() -> Self {
        Self::parse(&["127.0.0.0/8".into(), "::1".into()]).unwrap_or_default()
    }

    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut networks = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = entry.trim();
            let (addr, prefix) = match entry.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (entry, None),
            };
            let address: IpAddr = addr
                .parse()
                .map_err(|_| format!("'{entry}' is not an address or ADDRESS/PREFIX"))?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("'{entry}': the prefix must be 0 to {max}"))?,
                None => max,
            };
            networks.push(Network { address, prefix });
        }
        Ok(Self(networks))
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.0.iter().any(|n| n.contains(ip))
    }
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_and_single_addresses() {
        let list = AllowList::parse(&["10.1.0.0/16".into(), "127.0.0.1".into(), "fd00::/8".into()])
            .unwrap();
        assert!(list.allows(ip("10.1.200.3")));
        assert!(!list.allows(ip("10.2.0.1")));
        assert!(list.allows(ip("127.0.0.1")));
        assert!(!list.allows(ip("127.0.0.2")));
        assert!(list.allows(ip("fd12::1")));
        assert!(!list.allows(ip("fe80::1")));
        assert!(list.allows(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn zero_prefix_allows_all_and_bad_entries_are_refused() {
        assert!(
            AllowList::parse(&["0.0.0.0/0".into()])
                .unwrap()
                .allows(ip("8.8.8.8"))
        );
        assert!(AllowList::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(AllowList::parse(&["example.org".into()]).is_err());
        assert!(AllowList::default().is_empty_list());
    }

    impl AllowList {
        fn is_empty_list(&self) -> bool {
            !self.allows(ip("127.0.0.1"))
        }
    }
}
