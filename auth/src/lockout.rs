//! Brute-force defence: failed logins counted per client IP and account, and per IP.
//!
//! After `threshold` failures for one account from one IP within `window`, further
//! attempts from that IP for that account are refused without looking at the password,
//! each with a longer delay than the one before. An IP with `ip_threshold` failures over
//! all accounts is refused for every account (password spraying). Refused attempts do
//! not count towards the IP limit, so one client that keeps retrying a stale password
//! cannot lock out everybody behind the same NAT. Counts live in this process; a node
//! restart forgets them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tracked keys at most; expired ones are swept when the table is full.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone)]
pub struct LockoutPolicy {
    /// Failures of one account from one IP that lock it; 0 = no lockout.
    pub threshold: u32,
    /// Failures from one IP over all accounts that lock the IP; 0 = no IP limit.
    pub ip_threshold: u32,
    /// How long failures count, from the first one.
    pub window: Duration,
    /// The delay added to the first refused attempt; doubled for each further one.
    pub delay: Duration,
    /// The longest added delay.
    pub max_delay: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(IpAddr, String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    /// Attempts refused while locked, for the growing delay.
    refused: u32,
    first: Instant,
}

/// Why an attempt is refused before the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    /// Extra time to wait before answering.
    pub delay: Duration,
    /// True when the whole IP is locked, not only this account from it.
    pub whole_ip: bool,
}

pub struct Lockout {
    policy: LockoutPolicy,
    failures: Mutex<HashMap<Key, Failures>>,
}

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        Self {
            policy,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Some` when this attempt must be refused unchecked; counts it as refused.
    pub fn check(&self, ip: IpAddr, account: &str, now: Instant) -> Option<Locked> {
        let mut failures = self.failures.lock().ok()?;
        let window = self.policy.window;
        let limits = [
            (Key::Account(ip, account.to_string()), self.policy.threshold),
            (Key::Ip(ip), self.policy.ip_threshold),
        ];
        for (key, limit) in limits {
            if limit == 0 {
                continue;
            }
            let Some(entry) = failures.get_mut(&key) else {
                continue;
            };
            if now.duration_since(entry.first) >= window {
                failures.remove(&key);
                continue;
            }
            if entry.count >= limit {
                let doublings = entry.refused.min(16);
                entry.refused = entry.refused.saturating_add(1);
                let delay = self
                    .policy
                    .delay
                    .saturating_mul(1 << doublings)
                    .min(self.policy.max_delay);
                return Some(Locked {
                    delay,
                    whole_ip: matches!(key, Key::Ip(_)),
                });
            }
        }
        None
    }

    /// Counts a failed password check.
    pub fn record_failure(&self, ip: IpAddr, account: &str, now: Instant) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_TRACKED {
            let window = self.policy.window;
            failures.retain(|_, f| now.duration_since(f.first) < window);
        }
        for key in [Key::Account(ip, account.to_string()), Key::Ip(ip)] {
            let entry = failures.entry(key).or_insert(Failures {
                count: 0,
                refused: 0,
                first: now,
            });
            if now.duration_since(entry.first) >= self.policy.window {
                *entry = Failures {
                    count: 0,
                    refused: 0,
                    first: now,
                };
            }
            entry.count = entry.count.saturating_add(1);
        }
    }

    /// A successful login clears the account's failures from that IP.
    pub fn record_success(&self, ip: IpAddr, account: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&Key::Account(ip, account.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LockoutPolicy {
        LockoutPolicy {
            threshold: 3,
            ip_threshold: 5,
            window: Duration::from_secs(60),
            delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(4),
        }
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 9));
    const OTHER_IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 10));

    #[test]
    fn locks_an_account_from_one_ip_with_growing_delays_until_the_window_passes() {
        let lockout = Lockout::new(policy());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(lockout.check(IP, "a@x.kr", t0), None);
            lockout.record_failure(IP, "a@x.kr", t0);
        }
        let delays: Vec<_> = (0..4)
            .map(|_| lockout.check(IP, "a@x.kr", t0).map(|l| l.delay.as_secs()))
            .collect();
        assert_eq!(delays, [Some(1), Some(2), Some(4), Some(4)]);
        // Another IP, and another account from this IP, are not locked.
        assert_eq!(lockout.check(OTHER_IP, "a@x.kr", t0), None);
        assert_eq!(lockout.check(IP, "b@x.kr", t0), None);
        // The lock ends with the window.
        assert_eq!(
            lockout.check(IP, "a@x.kr", t0 + Duration::from_secs(60)),
            None
        );
    }

    #[test]
    fn locks_a_spraying_ip_for_every_account_and_success_clears_the_account() {
        let lockout = Lockout::new(policy());
        let t0 = Instant::now();
        lockout.record_failure(IP, "a@x.kr", t0);
        lockout.record_failure(IP, "a@x.kr", t0);
        lockout.record_success(IP, "a@x.kr");
        lockout.record_failure(IP, "a@x.kr", t0);
        assert_eq!(lockout.check(IP, "a@x.kr", t0), None);
        for user in ["b@x.kr", "c@x.kr"] {
            lockout.record_failure(IP, user, t0);
        }
        let locked = lockout.check(IP, "d@x.kr", t0).unwrap();
        assert!(locked.whole_ip);
        assert_eq!(lockout.check(OTHER_IP, "d@x.kr", t0), None);
    }
}
