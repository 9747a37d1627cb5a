//! A short-lived cache of anonymous catalogue answers (product listings and searches), keyed by
//! query string. In a harvest season many buyers run the same few searches; answering them from
//! memory for a second spares the database the same counting work over and over.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

pub struct ListingCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, (Instant, Bytes)>>,
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

    /// A fresh answer for this query string, if there is one.
    pub fn get(&self, key: &str) -> Option<Bytes> {
        if !self.enabled() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(stored, _)| stored.elapsed() < self.ttl)
            .map(|(_, body)| body.clone())
    }

    pub fn put(&self, key: String, body: Bytes) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|_, (stored, _)| stored.elapsed() < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), body));
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
        assert_eq!(cache.get("q=vai"), None);
        for i in 0..5 {
            cache.put(format!("q={i}"), Bytes::from_static(b"x"));
        }
        assert!(cache.entries.lock().unwrap().len() <= 2);
        let off = ListingCache::new(Duration::ZERO, 10);
        off.put("q".into(), Bytes::from_static(b"1"));
        assert_eq!(off.get("q"), None);
    }
}
