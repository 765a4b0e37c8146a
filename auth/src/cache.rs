//! The credentials cache: a login that succeeded is remembered for a short time, so the
//! next one from the same client costs a hash and a directory read instead of bcrypt or
//! an LDAP round trip.
//!
//! The cache never holds a password or anything a password can be recovered from cheaply:
//! it keeps an HMAC-SHA-256 of address and password under a key drawn at start-up that
//! never leaves the process. An entry also records a digest of the user's stored bcrypt
//! hash, so a password change (which always writes a new salted hash) or a removed local
//! password drops it; the caller checks that user and domain are still active on every hit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use baedal_storage::AuthSource;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Entries kept at most; the oldest half is dropped when full.
const MAX_ENTRIES: usize = 100_000;

/// The share of the TTL an entry's lifetime may be shortened by (spread of expiry).
const JITTER: f64 = 0.25;

pub struct AuthCache {
    key: hmac::Key,
    ttl: Duration,
    entries: Mutex<HashMap<String, CachedLogin>>,
}

struct CachedLogin {
    secret: hmac::Tag,
    /// The address of the account the login opened (an LDAP login may name an alias).
    account: String,
    stored_hash: hmac::Tag,
    source: AuthSource,
    expires: Instant,
}

impl AuthCache {
    /// A cache whose entries live `ttl`; a zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> Self {
        let mut key = [0u8; 32];
        // SystemRandom only fails when the OS has no randomness at all; a fixed key would
        // still never store a password, only make the digests predictable.
        let _ = SystemRandom::new().fill(&mut key);
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long one entry lives: `ttl` less up to a quarter of it, drawn per entry, so
    /// logins cached together (a busy morning, a restart) do not all expire in the same
    /// second and send every client to bcrypt or LDAP at once.
    fn lifetime(&self) -> Duration {
        let mut draw = [0u8; 2];
        let _ = SystemRandom::new().fill(&mut draw);
        let fraction = f64::from(u16::from_le_bytes(draw)) / f64::from(u16::MAX);
        self.ttl.mul_f64(1.0 - JITTER * fraction)
    }

    fn secret(&self, account: &str, password: &str) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(account.as_bytes());
        ctx.update(&[0]);
        ctx.update(password.as_bytes());
        ctx.sign()
    }

    fn stored(&self, stored_hash: Option<&str>) -> hmac::Tag {
        hmac::sign(&self.key, stored_hash.unwrap_or("").as_bytes())
    }

    /// Remembers that `password`, given for `login`, opened `account` (whose stored bcrypt
    /// hash is `stored_hash`) through `source`.
    pub fn remember(&self, login: &str, password: &str, account: Remembered<'_>, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let entry = CachedLogin {
            secret: self.secret(login, password),
            account: account.account.to_string(),
            stored_hash: self.stored(account.stored_hash),
            source: account.source,
            expires: now + self.lifetime(),
        };
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.expires > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(login.to_string(), entry);
    }

    /// The remembered login if `password` is the one remembered for `login` and the entry
    /// has not expired. The caller must then confirm it with [`AuthCache::confirm`].
    pub fn recall(&self, login: &str, password: &str, now: Instant) -> Option<Recalled> {
        let secret = self.secret(login, password);
        let mut entries = self.entries.lock().ok()?;
        let entry = entries.get(login)?;
        if entry.expires <= now {
            entries.remove(login);
            return None;
        }
        same(&entry.secret, &secret).then(|| Recalled {
            account: entry.account.clone(),
            source: entry.source,
            stored_hash: entry.stored_hash,
        })
    }

    /// True when the account's stored hash is still the one the login was remembered
    /// with; otherwise the entry is dropped.
    pub fn confirm(&self, login: &str, recalled: &Recalled, stored_hash: Option<&str>) -> bool {
        if same(&recalled.stored_hash, &self.stored(stored_hash)) {
            return true;
        }
        self.forget(login);
        false
    }

    /// Forgets `account` (a password change or a disable in this process).
    pub fn forget(&self, account: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(account);
        }
    }
}

/// The account a successful login opened, as the cache records it.
#[derive(Debug, Clone, Copy)]
pub struct Remembered<'a> {
    pub account: &'a str,
    pub stored_hash: Option<&'a str>,
    pub source: AuthSource,
}

/// A login the cache remembers.
#[derive(Debug, Clone)]
pub struct Recalled {
    pub account: String,
    pub source: AuthSource,
    stored_hash: hmac::Tag,
}

/// Constant-time comparison of two tags.
fn same(a: &hmac::Tag, b: &hmac::Tag) -> bool {
    let (a, b) = (a.as_ref(), b.as_ref());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: Option<&str> = Some("$2b$12$abc");

    fn alice(source: AuthSource) -> Remembered<'static> {
        Remembered {
            account: "alice@x.kr",
            stored_hash: HASH,
            source,
        }
    }

    #[test]
    fn recalls_only_the_remembered_password_while_fresh() {
        let cache = AuthCache::new(Duration::from_secs(300));
        let t0 = Instant::now();
        cache.remember("a.kim@x.kr", "pw", alice(AuthSource::Ldap), t0);
        let recalled = cache.recall("a.kim@x.kr", "pw", t0).unwrap();
        assert_eq!(
            (recalled.account.as_str(), recalled.source),
            ("alice@x.kr", AuthSource::Ldap)
        );
        assert!(cache.confirm("a.kim@x.kr", &recalled, HASH));
        assert!(cache.recall("a.kim@x.kr", "other", t0).is_none());
        assert!(cache.recall("alice@x.kr", "pw", t0).is_none());
        let later = t0 + Duration::from_secs(301);
        assert!(cache.recall("a.kim@x.kr", "pw", later).is_none());
    }

    #[test]
    fn a_new_stored_hash_or_forget_drops_the_entry() {
        let cache = AuthCache::new(Duration::from_secs(300));
        let t0 = Instant::now();
        cache.remember("alice@x.kr", "pw", alice(AuthSource::Local), t0);
        let recalled = cache.recall("alice@x.kr", "pw", t0).unwrap();
        assert!(!cache.confirm("alice@x.kr", &recalled, Some("$2b$12$new")));
        // Dropped, not only refused.
        assert!(cache.recall("alice@x.kr", "pw", t0).is_none());
        cache.remember("alice@x.kr", "pw", alice(AuthSource::Local), t0);
        cache.forget("alice@x.kr");
        assert!(cache.recall("alice@x.kr", "pw", t0).is_none());
    }

    #[test]
    fn holds_no_password_bytes_and_zero_ttl_caches_nothing() {
        let cache = AuthCache::new(Duration::ZERO);
        let t0 = Instant::now();
        cache.remember("alice@x.kr", "pw", alice(AuthSource::Local), t0);
        assert!(cache.recall("alice@x.kr", "pw", t0).is_none());
        let cache = AuthCache::new(Duration::from_secs(1));
        cache.remember("alice@x.kr", "hunter2-secret", alice(AuthSource::Local), t0);
        let entries = cache.entries.lock().unwrap();
        let tag = entries["alice@x.kr"].secret.as_ref().to_vec();
        assert_eq!(tag.len(), 32);
        assert!(!tag.windows(6).any(|w| w == b"hunter"));
    }

    #[test]
    fn entries_cached_together_expire_spread_over_a_quarter_of_the_ttl() {
        let ttl = Duration::from_secs(300);
        let cache = AuthCache::new(ttl);
        let t0 = Instant::now();
        for i in 0..400 {
            cache.remember(&format!("u{i}@x.kr"), "pw", alice(AuthSource::Local), t0);
        }
        let entries = cache.entries.lock().unwrap();
        let lives: Vec<Duration> = entries.values().map(|e| e.expires - t0).collect();
        let (shortest, longest) = (lives.iter().min().unwrap(), lives.iter().max().unwrap());
        assert!(*longest <= ttl && *shortest >= ttl.mul_f64(1.0 - JITTER));
        // 400 draws over 75 s: they span most of the window, not one second.
        assert!(
            *longest - *shortest > Duration::from_secs(60),
            "{shortest:?}..{longest:?}"
        );
    }
}
