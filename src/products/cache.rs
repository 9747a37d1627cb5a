//! A short-lived cache of anonymous catalogue answers (product listings and searches), keyed by
//! query string. In a harvest season many buyers run the same few searches; answering them from
//! memory for a second spares the database the same counting work over and over.
//!
//! When an answer goes stale, the first request to notice recomputes it while the others keep
//! getting the stale one (no stampede of identical queries): an answer is at most `ttl` plus one
//! computation old, and never older than `STALE_LIMIT` times `ttl`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// How many `ttl`s a stale answer may still be served while its refresh is under way.
const STALE_LIMIT: u32 = 10;

struct Entry {
    stored: Instant,
    body: Bytes,
    refreshing: bool,
}

pub struct ListingCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

impl ListingCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }

    /// The answer to serve for this query string, if any. `None` means: compute it and `put` it
    /// (a stale entry is then marked as being refreshed, so others keep getting it meanwhile).
    pub fn get(&self, key: &str) -> Option<Bytes> {
        if !self.enabled() {
            return None;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get_mut(key)?;
        let age = entry.stored.elapsed();
        if age < self.ttl {
            return Some(entry.body.clone());
        }
        if entry.refreshing && age < self.ttl * STALE_LIMIT {
            return Some(entry.body.clone());
        }
        entry.refreshing = true;
        None
    }

    pub fn put(&self, key: String, body: Bytes) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|_, entry| entry.stored.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let entry = Entry {
            stored: Instant::now(),
            body,
            refreshing: false,
        };
        entries.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_and_a_zero_ttl_turns_the_cache_off() {
        let cache = ListingCache::new(Duration::from_millis(50), 2);
        cache.put("q=vai".into(), Bytes::from_static(b"1"));
        assert_eq!(cache.get("q=vai"), Some(Bytes::from_static(b"1")));
        assert_eq!(cache.get("q=cam"), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            cache.get("q=vai"),
            None,
            "stale: the first to ask recomputes"
        );
        assert_eq!(
            cache.get("q=vai"),
            Some(Bytes::from_static(b"1")),
            "the others get the stale answer meanwhile"
        );
        cache.put("q=vai".into(), Bytes::from_static(b"2"));
        assert_eq!(cache.get("q=vai"), Some(Bytes::from_static(b"2")));
        for i in 0..5 {
            cache.put(format!("q={i}"), Bytes::from_static(b"x"));
        }
        assert!(cache.entries.lock().unwrap().len() <= 2);
        let off = ListingCache::new(Duration::ZERO, 10);
        off.put("q".into(), Bytes::from_static(b"1"));
        assert_eq!(off.get("q"), None);
    }
}
