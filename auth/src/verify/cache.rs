//! The DNS answer cache of inbound verification: mail-auth's [`ResolverCache`] over a map
//! with each record's TTL. Only answers are cached (parsed records, or "no such record"),
//! never a timeout: a DNS failure is asked again for the next message.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

use mail_auth::ResolverCache;

/// Entries a cache holds before expired ones are dropped (and, if still full, all).
pub const MAX_CACHED_RECORDS: usize = 10_000;

pub struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K, V> Default for TtlCache<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for TtlCache<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(name) {
            Some((value, until)) if *until > Instant::now() => Some(value.clone()),
            _ => None,
        }
    }

    fn remove<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(name).map(|(value, _)| value)
    }

    fn insert(&self, key: K, value: V, valid_until: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_CACHED_RECORDS {
            let now = Instant::now();
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= MAX_CACHED_RECORDS {
                entries.clear();
            }
        }
        entries.insert(key, (value, valid_until));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn answers_until_the_ttl_runs_out() {
        let cache: TtlCache<Box<str>, u32> = TtlCache::default();
        let now = Instant::now();
        cache.insert("fresh.example.".into(), 1, now + Duration::from_secs(60));
        cache.insert("stale.example.".into(), 2, now - Duration::from_secs(1));
        assert_eq!(cache.get("fresh.example."), Some(1));
        assert_eq!(cache.get("stale.example."), None);
        assert_eq!(cache.remove("fresh.example."), Some(1));
        assert_eq!(cache.get("fresh.example."), None);
    }
}
