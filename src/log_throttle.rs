//! Logging a failure that every request or every tick meets (a full disk) once in a while, with
//! how many were held back, rather than once each: the log stays readable, and does not itself
//! fill the disk that is full.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lets one event through per `period`.
pub struct LogThrottle {
    period: Duration,
    /// Milliseconds since [`epoch`] at the last event let through; `u64::MAX`: none yet.
    last_ms: AtomicU64,
    held_back: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl LogThrottle {
    pub const fn new(period: Duration) -> Self {
        LogThrottle {
            period,
            last_ms: AtomicU64::new(u64::MAX),
            held_back: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when this event is to be logged, `n` being how many were held back since the
    /// last one logged; `None` when it is held back.
    pub fn due(&self) -> Option<u64> {
        let now = epoch().elapsed().as_millis() as u64;
        let last = self.last_ms.load(Ordering::Relaxed);
        let period = self.period.as_millis() as u64;
        let is_due = last == u64::MAX || now.saturating_sub(last) >= period;
        // One of the threads that find it due at once wins; the others count as held back.
        if is_due
            && self
                .last_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.held_back.swap(0, Ordering::Relaxed));
        }
        self.held_back.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_a_period_goes_through_with_the_count_held_back() {
        let throttle = LogThrottle::new(Duration::from_millis(200));
        assert_eq!(throttle.due(), Some(0));
        assert_eq!(throttle.due(), None);
        assert_eq!(throttle.due(), None);
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(throttle.due(), Some(2));
        assert_eq!(throttle.due(), None);
    }
}
