//! Login throttling: failed logins are counted per email and per client address with
//! governor's GCRA limiters; once a key has used up its allowance, every attempt for it
//! (right password or not) answers 429 until the allowance refills.
//!
//! A failure is counted once its password is checked, so guesses for one email sent together
//! would all be checked before the first failure counts. An attempt therefore holds its email
//! while it is checked: another for that email meanwhile answers 429 with a Retry-After of one
//! second. Addresses are not held so: many honest people sign in at once from one address (a
//! carrier's NAT, an office), and guesses spread over many emails are bounded by the address's
//! failures and the password hasher's queue.
//!
//! The counts live in this process: behind a load balancer each server counts on its own, which
//! multiplies the allowance by the number of servers but still stops brute force.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::AuthSettings;
use crate::error::AppError;

struct KeyedThrottle<K: Hash + Eq + Clone> {
    failures: DefaultKeyedRateLimiter<K>,
    blocked_until: Mutex<HashMap<K, Instant>>,
    /// The keys with an attempt being checked now.
    in_flight: Mutex<HashSet<K>>,
}

impl<K: Hash + Eq + Clone> KeyedThrottle<K> {
    fn new(allowed: u32, window: Duration) -> Self {
        let allowed = NonZeroU32::new(allowed.max(1)).expect("at least one");
        let period = (window / allowed.get()).max(Duration::from_millis(1));
        let quota = Quota::with_period(period)
            .expect("positive period")
            .allow_burst(allowed);
        Self {
            failures: RateLimiter::keyed(quota),
            blocked_until: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
        }
    }

    /// Holds `key` for an attempt being checked; `false` when another attempt holds it.
    fn enter(&self, key: &K) -> bool {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        in_flight.insert(key.clone())
    }

    fn leave(&self, key: &K) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        in_flight.remove(key);
    }

    /// How long `key` is still blocked, if it is.
    fn blocked_for(&self, key: &K) -> Option<Duration> {
        let blocked = self.blocked_until.lock().unwrap_or_else(|p| p.into_inner());
        blocked
            .get(key)
            .and_then(|until| until.checked_duration_since(Instant::now()))
    }

    /// Counts one failure; when the allowance is used up the key is blocked and the wait returned.
    fn record_failure(&self, key: &K) -> Option<Duration> {
        let not_until = self.failures.check_key(key).err()?;
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut blocked = self.blocked_until.lock().unwrap_or_else(|p| p.into_inner());
        blocked.insert(key.clone(), Instant::now() + wait);
        Some(wait)
    }

    /// Forgets blocks that have ended and keys whose allowance has refilled.
    fn prune(&self) {
        let now = Instant::now();
        self.blocked_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, until| *until > now);
        self.failures.retain_recent();
        self.failures.shrink_to_fit();
    }

    /// Keys remembered (blocked or counted), for tests.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        let blocked = self.blocked_until.lock().unwrap_or_else(|p| p.into_inner());
        blocked.len().max(self.failures.len())
    }
}

pub struct LoginThrottle {
    by_email: KeyedThrottle<String>,
    by_address: KeyedThrottle<IpAddr>,
}

/// A login attempt holding its email (see the module's notes), let go when it is dropped.
pub struct LoginAttempt<'a> {
    throttle: &'a LoginThrottle,
    email_key: String,
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        self.throttle.by_email.leave(&self.email_key);
    }
}

fn rate_limited(wait: Duration) -> AppError {
    AppError::RateLimited {
        retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}

impl LoginThrottle {
    pub fn new(settings: &AuthSettings) -> Self {
        Self {
            by_email: KeyedThrottle::new(
                settings.login_failures_per_email,
                settings.login_failure_window,
            ),
            by_address: KeyedThrottle::new(
                settings.login_failures_per_address,
                settings.login_failure_window,
            ),
        }
    }

    /// Before checking a password: 429 when the email or the address is blocked, or another
    /// attempt for the email is being checked. Hold the attempt until a failure is recorded.
    pub fn check(
        &self,
        email_key: &str,
        address: Option<IpAddr>,
    ) -> Result<LoginAttempt<'_>, AppError> {
        let email_key = email_key.to_owned();
        let email_wait = self.by_email.blocked_for(&email_key);
        let address_wait = address.and_then(|a| self.by_address.blocked_for(&a));
        if let Some(wait) = email_wait.into_iter().chain(address_wait).max() {
            return Err(rate_limited(wait));
        }
        if !self.by_email.enter(&email_key) {
            return Err(rate_limited(Duration::from_secs(1)));
        }
        Ok(LoginAttempt {
            throttle: self,
            email_key,
        })
    }

    /// After a failed login: `Err(429)` when this failure used up an allowance.
    pub fn record_failure(&self, email_key: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        let email_wait = self.by_email.record_failure(&email_key.to_owned());
        let address_wait = address.and_then(|a| self.by_address.record_failure(&a));
        match email_wait.into_iter().chain(address_wait).max() {
            Some(wait) => Err(rate_limited(wait)),
            None => Ok(()),
        }
    }

    /// Forgets what has ended; the maintenance task calls it (see `startup`), so the memory
    /// stays bounded by recent activity rather than growing until some size is passed.
    pub fn prune(&self) {
        self.by_email.prune();
        self.by_address.prune();
    }
}

/// Registrations per client address: every valid registration request counts (the expensive
/// part is the password hash), refilling evenly over `auth.registration_window`.
pub struct RegistrationThrottle {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl RegistrationThrottle {
    pub fn new(settings: &AuthSettings) -> Self {
        let allowed =
            NonZeroU32::new(settings.registrations_per_address.max(1)).expect("at least one");
        let period = (settings.registration_window / allowed.get()).max(Duration::from_millis(1));
        let quota = Quota::with_period(period)
            .expect("positive period")
            .allow_burst(allowed);
        Self {
            by_address: RateLimiter::keyed(quota),
        }
    }

    /// Counts one registration from `address`; 429 once its allowance is used up.
    pub fn check(&self, address: Option<IpAddr>) -> Result<(), AppError> {
        let Some(address) = address else {
            return Ok(());
        };
        self.by_address.check_key(&address).map_err(|not_until| {
            rate_limited(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }

    pub fn prune(&self) {
        self.by_address.retain_recent();
        self.by_address.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_email: u32, per_address: u32) -> AuthSettings {
        let mut auth = crate::config::Settings::defaults().auth;
        auth.login_failures_per_email = per_email;
        auth.login_failures_per_address = per_address;
        auth.login_failure_window = Duration::from_secs(900);
        auth
    }

    #[test]
    fn pruning_forgets_ended_blocks_and_refilled_allowances() {
        let mut auth = settings(1, 100);
        auth.login_failure_window = Duration::from_millis(20);
        let throttle = LoginThrottle::new(&auth);
        let address = Some("10.0.0.9".parse().unwrap());
        throttle.record_failure("a@x.vn", address).unwrap();
        assert!(throttle.record_failure("a@x.vn", address).is_err());
        assert_eq!(throttle.by_email.remembered(), 1);
        assert_eq!(throttle.by_address.remembered(), 1);
        std::thread::sleep(Duration::from_millis(60));
        throttle.prune();
        assert_eq!(throttle.by_email.remembered(), 0);
        assert_eq!(throttle.by_address.remembered(), 0);
    }

    #[test]
    fn registrations_are_counted_per_address() {
        let mut auth = settings(5, 20);
        auth.registrations_per_address = 2;
        let throttle = RegistrationThrottle::new(&auth);
        let (a, b) = (
            Some("10.0.0.1".parse().unwrap()),
            Some("10.0.0.2".parse().unwrap()),
        );
        throttle.check(a).unwrap();
        throttle.check(a).unwrap();
        match throttle.check(a) {
            Err(AppError::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("expected 429, got {:?}", other.map(|_| ())),
        }
        throttle.check(b).unwrap();
        throttle.check(None).unwrap();
    }

    #[test]
    fn an_email_is_blocked_after_its_allowance_and_others_are_not() {
        let throttle = LoginThrottle::new(&settings(3, 100));
        let address = Some("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            throttle.check("a@x.vn", address).unwrap();
            throttle.record_failure("a@x.vn", address).unwrap();
        }
        assert!(throttle.record_failure("a@x.vn", address).is_err());
        match throttle.check("a@x.vn", address) {
            Err(AppError::RateLimited { retry_after_secs }) => {
                assert!((1..=300).contains(&retry_after_secs))
            }
            other => panic!("expected 429, got {:?}", other.map(|_| ())),
        }
        throttle.check("b@x.vn", address).unwrap();
    }

    #[test]
    fn an_address_is_blocked_across_emails() {
        let throttle = LoginThrottle::new(&settings(100, 2));
        let address = Some("10.0.0.2".parse().unwrap());
        throttle.record_failure("a@x.vn", address).unwrap();
        throttle.record_failure("b@x.vn", address).unwrap();
        assert!(throttle.record_failure("c@x.vn", address).is_err());
        assert!(throttle.check("d@x.vn", address).is_err());
        throttle
            .check("d@x.vn", Some("10.0.0.3".parse().unwrap()))
            .unwrap();
    }

    /// Guesses for one email sent together cannot all be checked before their failures count:
    /// one at a time. Other emails, from the same address too, go on meanwhile.
    #[test]
    fn an_email_is_checked_one_attempt_at_a_time() {
        let throttle = LoginThrottle::new(&settings(5, 2));
        let address = Some("10.0.0.4".parse().unwrap());
        let first = throttle.check("a@x.vn", address).unwrap();
        match throttle.check("a@x.vn", Some("10.0.0.5".parse().unwrap())) {
            Err(AppError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected 429, got {:?}", other.map(|_| ())),
        }
        let others: Vec<_> = ["b@x.vn", "c@x.vn", "d@x.vn"]
            .iter()
            .map(|email| throttle.check(email, address).unwrap())
            .collect();
        drop(first);
        let again = throttle.check("a@x.vn", address).unwrap();
        drop((again, others));
        assert!(throttle.by_email.in_flight.lock().unwrap().is_empty());
    }
}
