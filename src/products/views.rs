//! Product page views, counted in memory and written in batches (every `views.flush_interval`
//! and at shutdown), so that reading a product never waits on a contended row lock.
//! A crash loses at most the views of the last interval; a failed write keeps them for the next.
//!
//! One client address counts at most one view of a product per `views.dedup_window`, so that
//! reloading a page (or a script doing it) cannot pump the count.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::db::{Database, write_transaction};
use crate::error::AppError;

/// How many (product, client) pairs the dedup remembers at most; past it the oldest are
/// forgotten (their next view counts again). About 200 bytes each: 10 MB at most.
pub const DEDUP_CAPACITY: usize = 50_000;

/// Views not written yet: product → day → count, so one product's are found at once.
type Pending = HashMap<String, HashMap<NaiveDate, i64>>;

pub struct ViewCounter {
    pending: Mutex<Pending>,
    recent: Mutex<RecentViews>,
}

impl ViewCounter {
    pub fn new(dedup_window: Duration, dedup_capacity: usize) -> Self {
        Self {
            pending: Mutex::new(HashMap::new()),
            recent: Mutex::new(RecentViews::new(dedup_window, dedup_capacity)),
        }
    }

    /// Counts a view of the product by `client`, unless that client viewed it within the window.
    pub fn record(&self, product_id: &str, day: NaiveDate, client: Option<IpAddr>) {
        let first = self
            .recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .first_within_window(product_id, client, Instant::now());
        if first {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            *pending
                .entry(product_id.to_owned())
                .or_default()
                .entry(day)
                .or_insert(0) += 1;
        }
    }

    /// Views of a product counted here and not written yet.
    pub fn pending(&self, product_id: &str) -> i64 {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .get(product_id)
            .map_or(0, |days| days.values().sum())
    }

    fn take(&self) -> Pending {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn put_back(&self, batch: Pending) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (product_id, days) in batch {
            let counts = pending.entry(product_id).or_default();
            for (day, count) in days {
                *counts.entry(day).or_insert(0) += count;
            }
        }
    }

    /// Writes the counted views in one transaction (blocking). On failure they stay counted.
    pub fn flush(&self, database: &Database, timezone: chrono_tz::Tz) -> Result<usize, AppError> {
        // The dedup forgets what its window no longer covers, on the same tick.
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget_expired(Instant::now());
        let batch = self.take();
        if batch.is_empty() {
            return Ok(0);
        }
        let written = database.run_blocking(|conn| {
            write_transaction(conn, |conn| {
                // Sorted: two servers' flushes lock rows in the same order.
                let mut entries: Vec<(String, NaiveDate, i64)> = batch
                    .iter()
                    .flat_map(|(product_id, days)| {
                        days.iter()
                            .map(move |(day, count)| (product_id.clone(), *day, *count))
                    })
                    .collect();
                entries.sort_unstable();
                crate::products::repo::add_views(conn, &entries)?;
                let mut rollups = crate::stats::StatsBatch::new(timezone);
                for (_, day, count) in &entries {
                    rollups.views(*day, *count);
                }
                rollups.write_at_commit(conn)?;
                Ok::<_, AppError>(entries.len())
            })
        });
        if written.is_err() {
            self.put_back(batch);
        }
        written
    }
}

/// Which client viewed which product lately: at most `capacity` pairs, each for `window`.
/// Pairs sit in a queue in the order they were seen, so forgetting the oldest is cheap.
struct RecentViews {
    window: Duration,
    capacity: usize,
    seen: HashMap<(String, Option<IpAddr>), Instant>,
    order: VecDeque<(Instant, (String, Option<IpAddr>))>,
}

impl RecentViews {
    fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window,
            capacity,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether this view counts; remembers it when it does.
    fn first_within_window(
        &mut self,
        product_id: &str,
        client: Option<IpAddr>,
        now: Instant,
    ) -> bool {
        if self.window.is_zero() || self.capacity == 0 {
            return true;
        }
        let key = (product_id.to_owned(), client);
        if let Some(at) = self.seen.get(&key)
            && now.duration_since(*at) < self.window
        {
            return false;
        }
        self.forget_expired(now);
        while self.seen.len() >= self.capacity {
            self.forget_oldest();
        }
        self.seen.insert(key.clone(), now);
        self.order.push_back((now, key));
        true
    }

    fn forget_expired(&mut self, now: Instant) {
        while self
            .order
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= self.window)
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((at, key)) = self.order.pop_front()
            // A pair seen again later has a newer entry further back; this one is spent.
            && self.seen.get(&key) == Some(&at)
        {
            self.seen.remove(&key);
        }
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(n: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, n]))
    }

    #[test]
    fn one_client_counts_once_per_product_within_the_window() {
        let mut recent = RecentViews::new(Duration::from_secs(600), 100);
        let t = Instant::now();
        assert!(recent.first_within_window("p", client(1), t));
        for s in 1..10 {
            assert!(!recent.first_within_window("p", client(1), t + Duration::from_secs(s)));
        }
        assert!(
            recent.first_within_window("p", client(2), t),
            "another client"
        );
        assert!(
            recent.first_within_window("q", client(1), t),
            "another product"
        );
        assert!(
            recent.first_within_window("p", client(1), t + Duration::from_secs(600)),
            "after the window"
        );
        assert!(!recent.first_within_window("p", client(1), t + Duration::from_secs(601)));
    }

    #[test]
    fn the_dedup_memory_is_bounded_and_forgets_the_oldest() {
        let mut recent = RecentViews::new(Duration::from_secs(600), 3);
        let t = Instant::now();
        for n in 0..50 {
            assert!(recent.first_within_window("p", client(n), t));
            assert!(recent.remembered() <= 3);
            assert!(recent.order.len() <= 3);
        }
        assert!(recent.first_within_window("p", client(0), t), "forgotten");
        assert!(
            !recent.first_within_window("p", client(49), t),
            "remembered"
        );
        recent.forget_expired(t + Duration::from_secs(600));
        assert_eq!(recent.remembered(), 0);
        assert!(recent.order.is_empty());
    }

    #[test]
    fn a_zero_window_counts_every_view() {
        let mut recent = RecentViews::new(Duration::ZERO, 10);
        let t = Instant::now();
        assert!(recent.first_within_window("p", client(1), t));
        assert!(recent.first_within_window("p", client(1), t));
        assert_eq!(recent.remembered(), 0);
    }

    #[test]
    fn pending_views_are_read_per_product() {
        let views = ViewCounter::new(Duration::from_secs(600), 100);
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        for n in 0..5 {
            views.record("p", day, client(n));
            views.record("p", day, client(n));
        }
        views.record("p", day.succ_opt().unwrap(), client(9));
        views.record("q", day, client(1));
        assert_eq!(views.pending("p"), 6);
        assert_eq!(views.pending("q"), 1);
        assert_eq!(views.pending("r"), 0);
        let batch = views.take();
        assert_eq!(views.pending("p"), 0);
        views.put_back(batch);
        assert_eq!(views.pending("p"), 6);
    }
}
