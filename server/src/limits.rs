//! Connection limits: a cap on simultaneous connections, in total and per client IP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct ConnectionLimiter {
    open: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    max_total: usize,
    max_per_ip: usize,
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Held for the life of a connection; releases its slot when dropped.
#[derive(Debug)]
pub struct ConnectionPermit {
    limiter: Arc<ConnectionLimiter>,
    ip: IpAddr,
}

impl ConnectionLimiter {
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(Self {
            open: Mutex::new(Counts {
                max_total,
                max_per_ip,
                ..Counts::default()
            }),
        })
    }

    /// New limits (a reload); connections already open keep their slots and count
    /// against them.
    pub fn set_limits(&self, max_total: usize, max_per_ip: usize) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.max_total = max_total;
        open.max_per_ip = max_per_ip;
    }

    /// A slot for a new connection from `ip`, or `None` when a limit is reached.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionPermit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let from_ip = open.per_ip.get(&ip).copied().unwrap_or(0);
        if open.total >= open.max_total || from_ip >= open.max_per_ip {
            return None;
        }
        open.total += 1;
        open.per_ip.insert(ip, from_ip + 1);
        Some(ConnectionPermit {
            limiter: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.limiter.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total -= 1;
        if let Some(n) = open.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_ip_and_in_total() {
        let limiter = ConnectionLimiter::new(3, 2);
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let a1 = limiter.try_acquire(a).unwrap();
        let _a2 = limiter.try_acquire(a).unwrap();
        assert!(limiter.try_acquire(a).is_none(), "third from one IP");
        let _b1 = limiter.try_acquire(b).unwrap();
        assert!(limiter.try_acquire(b).is_none(), "fourth in total");
        drop(a1);
        let b2 = limiter.try_acquire(b).expect("a slot came free");
        // A reload lowers the per-IP limit and raises the total.
        limiter.set_limits(4, 1);
        assert!(limiter.try_acquire(b).is_none(), "lowered: b has two");
        drop(b2);
        assert!(limiter.try_acquire(b).is_none(), "b1 still counts");
        let _c = limiter
            .try_acquire("127.0.0.4".parse().unwrap())
            .expect("third in total");
        let _d = limiter
            .try_acquire("127.0.0.5".parse().unwrap())
            .expect("fourth in total: the raised limit");
        assert!(
            limiter.try_acquire("127.0.0.6".parse().unwrap()).is_none(),
            "fifth"
        );
    }
}
