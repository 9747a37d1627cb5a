//! A short-lived cache of anonymous catalogue answers (product listings and searches), keyed by
//! the parsed query (parameters the listing does not know make no new keys). In a harvest season
//! many buyers run the same few searches; answering them from memory for a second spares the
//! database the same counting work over and over.
//!
//! When an answer goes stale, the first request to notice recomputes it while the others keep
//! getting the stale one; no answer older than `STALE_LIMIT` times `ttl` is ever served. Past
//! that, the others wait (at most one `ttl`) for the refresh under way instead of all computing
//! the same answer at once: a slow database under load must not meet a stampede. Keys and bodies together stay within `max_bytes`: the oldest
//! answers make room for new ones.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use serde::Serialize;

/// How many `ttl`s a stale answer may still be served while its refresh is under way.
const STALE_LIMIT: u32 = 2;
/// What one entry costs besides its key and body (map slot, timestamps), roughly.
const ENTRY_OVERHEAD_BYTES: usize = 64;

struct Entry {
    stored: Instant,
    body: Bytes,
    /// When a request set out to recompute this answer (a refresher that failed is given up
    /// after `STALE_LIMIT` times `ttl`).
    refresh_started: Option<Instant>,
}

/// What a request does with the cache's answer to its query.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Serve this answer.
    Serve(Bytes),
    /// Compute the answer and `put` it.
    Compute,
    /// Too old to serve and being recomputed: wait for [`ListingCache::refreshed`], then look again.
    WaitForRefresh,
}

fn cost(key: &str, body: &Bytes) -> usize {
    key.len() + body.len() + ENTRY_OVERHEAD_BYTES
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, Entry>,
    bytes: usize,
    /// Keys in the order they were stored, each with when: the oldest first. A key stored again
    /// leaves its earlier place behind, recognised by its time and skipped; so making room costs
    /// what it removes, not a sort of every entry.
    order: VecDeque<(Instant, String)>,
}

impl Entries {
    fn remove(&mut self, key: &str) {
        if let Some(entry) = self.map.remove(key) {
            self.bytes -= cost(key, &entry.body);
        }
    }

    /// Removes the oldest entries until `needed` more bytes fit in `max_bytes`.
    fn make_room(&mut self, needed: usize, max_bytes: usize) {
        while self.bytes + needed > max_bytes {
            let Some((stored, key)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&key).is_some_and(|e| e.stored == stored) {
                self.remove(&key);
            }
        }
    }

    fn insert(&mut self, key: String, entry: Entry) {
        self.order.push_back((entry.stored, key.clone()));
        self.map.insert(key, entry);
        // Places left behind by keys stored again: dropped once they outnumber the entries.
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(stored, key)| map.get(key).is_some_and(|e| e.stored == *stored));
        }
    }
}

pub struct ListingCache {
    ttl: Duration,
    max_bytes: usize,
    entries: Mutex<Entries>,
    /// Told whenever an answer is stored.
    stored: tokio::sync::Notify,
}

/// The cache key of a parsed query: its known parameters, in a fixed order.
pub fn key<Q: Serialize>(query: &Q) -> Option<String> {
    serde_urlencoded::to_string(query).ok()
}

impl ListingCache {
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        Self {
            ttl,
            max_bytes,
            entries: Mutex::new(Entries::default()),
            stored: tokio::sync::Notify::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.max_bytes > 0
    }

    /// What to do with this key's query. A stale answer is marked as being refreshed by the
    /// request told to compute it, so that the others keep getting it meanwhile.
    pub fn lookup(&self, key: &str) -> Lookup {
        if !self.enabled() {
            return Lookup::Compute;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = entries.map.get_mut(key) else {
            return Lookup::Compute;
        };
        let age = entry.stored.elapsed();
        if age < self.ttl {
            return Lookup::Serve(entry.body.clone());
        }
        let limit = self.ttl * STALE_LIMIT;
        let refreshing = entry.refresh_started.is_some_and(|at| at.elapsed() < limit);
        match (refreshing, age < limit) {
            (true, true) => Lookup::Serve(entry.body.clone()),
            (true, false) => Lookup::WaitForRefresh,
            (false, _) => {
                entry.refresh_started = Some(Instant::now());
                Lookup::Compute
            }
        }
    }

    /// Resolves when an answer is stored, or after one `ttl`. Call it before [`lookup`](Self::lookup)
    /// answers [`Lookup::WaitForRefresh`], so that a refresh finishing in between is not missed.
    pub fn refreshed(&self) -> impl Future<Output = ()> + '_ {
        let stored = self.stored.notified();
        async move {
            let _ = tokio::time::timeout(self.ttl, stored).await;
        }
    }

    pub fn put(&self, key: String, body: Bytes) {
        let needed = cost(&key, &body);
        if !self.enabled() || needed > self.max_bytes {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&key);
        // The oldest go first (those past their stale limit, never served again, are the oldest).
        entries.make_room(needed, self.max_bytes);
        entries.bytes += needed;
        let entry = Entry {
            stored: Instant::now(),
            body,
            refresh_started: None,
        };
        entries.insert(key, entry);
        drop(entries);
        self.stored.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl ListingCache {
        /// The answer served for this key, if any.
        fn get(&self, key: &str) -> Option<Bytes> {
            match self.lookup(key) {
                Lookup::Serve(body) => Some(body),
                _ => None,
            }
        }
    }

    #[test]
    fn answers_expire_and_a_zero_ttl_turns_the_cache_off() {
        let cache = ListingCache::new(Duration::from_millis(50), 1 << 20);
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
        let off = ListingCache::new(Duration::ZERO, 1 << 20);
        off.put("q".into(), Bytes::from_static(b"1"));
        assert_eq!(off.get("q"), None);
    }

    #[test]
    fn no_answer_is_served_past_twice_its_ttl_even_while_refreshing() {
        let cache = ListingCache::new(Duration::from_millis(40), 1 << 20);
        cache.put("k".into(), Bytes::from_static(b"1"));
        std::thread::sleep(Duration::from_millis(45));
        assert_eq!(cache.get("k"), None, "the refresher");
        assert!(cache.get("k").is_some(), "stale while refreshing");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(
            cache.lookup("k"),
            Lookup::WaitForRefresh,
            "older than two ttls: never served; the refresh under way is awaited"
        );
        assert_eq!(cache.lookup("k"), Lookup::WaitForRefresh);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(
            cache.lookup("k"),
            Lookup::Compute,
            "a refresher that never came back is given up"
        );
    }

    #[actix_web::test]
    async fn a_stored_answer_wakes_those_waiting_for_it() {
        let cache = std::sync::Arc::new(ListingCache::new(Duration::from_secs(30), 1 << 20));
        let waiting = {
            let cache = cache.clone();
            actix_web::rt::spawn(async move {
                let started = Instant::now();
                cache.refreshed().await;
                started.elapsed()
            })
        };
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        cache.put("k".into(), Bytes::from_static(b"1"));
        let waited = waiting.await.unwrap();
        assert!(
            waited < Duration::from_secs(30),
            "woken by the answer, not the timeout"
        );
    }

    #[test]
    fn keys_and_bodies_stay_within_the_byte_budget_oldest_out_first() {
        let body = Bytes::from(vec![b'x'; 1000]);
        let budget = 3 * cost("q=0", &body);
        let cache = ListingCache::new(Duration::from_secs(60), budget);
        for i in 0..10 {
            cache.put(format!("q={i}"), body.clone());
            std::thread::sleep(Duration::from_millis(2));
            let entries = cache.entries.lock().unwrap();
            assert!(entries.bytes <= budget, "{} > {budget}", entries.bytes);
            let counted: usize = entries.map.iter().map(|(k, e)| cost(k, &e.body)).sum();
            assert_eq!(entries.bytes, counted);
        }
        assert_eq!(cache.get("q=0"), None, "the oldest made room");
        assert_eq!(cache.get("q=9"), Some(body.clone()));
        assert_eq!(cache.get("q=7"), Some(body.clone()));
        cache.put("huge".into(), Bytes::from(vec![b'x'; budget]));
        assert_eq!(cache.get("huge"), None, "larger than the whole budget");
        assert_eq!(cache.get("q=9"), Some(body.clone()));
        // One key stored again and again leaves a bounded trail of earlier places.
        for _ in 0..1000 {
            cache.put("q=9".into(), body.clone());
        }
        let entries = cache.entries.lock().unwrap();
        assert!(entries.order.len() <= 2 * entries.map.len() + 65);
    }

    #[test]
    fn keys_come_from_the_parsed_query() {
        #[derive(Serialize, serde::Deserialize)]
        struct Query {
            q: Option<String>,
            page: Option<i64>,
        }
        let parse = |s: &str| serde_urlencoded::from_str::<Query>(s).unwrap();
        assert_eq!(
            key(&parse("q=vai&page=2")),
            key(&parse("page=2&q=vai&utm_source=x&z=1"))
        );
        assert_eq!(key(&parse("")), Some(String::new()));
        assert_ne!(key(&parse("q=vai")), key(&parse("q=cam")));
    }
}
