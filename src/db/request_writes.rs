//! A request's writes and its timeout. `server.request_timeout` bounds how long a request waits
//! (for a connection, for its turn on SQLite's writer, for slow reads), but it must never cut a
//! write in half: a client told 503 whose order then commits retries and orders twice. So each
//! request carries a [`WriteClaim`]: the first write to start claims it, after which the
//! timeout lets the request run to its end; a timeout that comes first abandons the claim, after
//! which none of the request's writes starts.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

const WAITING: u8 = 0;
const WRITING: u8 = 1;
const ABANDONED: u8 = 2;

/// Whether a request has started writing, or has been given up; shared between the request's
/// task, the timeout and the threads its database work runs on.
#[derive(Clone, Default)]
pub struct WriteClaim(Arc<AtomicU8>);

impl WriteClaim {
    /// A write of the request is about to start: false if the request was given up, in which
    /// case the write must not start.
    pub fn start_write(&self) -> bool {
        match self
            .0
            .compare_exchange(WAITING, WRITING, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(state) => state == WRITING,
        }
    }

    /// The request's time is up: true if it may be given up (no write has started, and from
    /// now on none will); false if a write is under way and the request must be let finish.
    pub fn abandon(&self) -> bool {
        match self
            .0
            .compare_exchange(WAITING, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(state) => state == ABANDONED,
        }
    }

    pub fn is_abandoned(&self) -> bool {
        self.0.load(Ordering::Acquire) == ABANDONED
    }
}

tokio::task_local! {
    static REQUEST_CLAIM: WriteClaim;
}

thread_local! {
    /// The claim of the request whose database work runs on this thread, if any.
    static THREAD_CLAIM: RefCell<Option<WriteClaim>> = const { RefCell::new(None) };
}

/// Runs a request's future with `claim` as the claim of every database call it makes.
pub async fn with_claim<F: Future>(claim: WriteClaim, request: F) -> F::Output {
    REQUEST_CLAIM.scope(claim, request).await
}

/// The claim of the request being served by the current task, if any (none for background work
/// and the command line).
pub fn request_claim() -> Option<WriteClaim> {
    REQUEST_CLAIM.try_with(Clone::clone).ok()
}

/// Makes `claim` the current thread's until dropped (for database work moved to another thread).
pub struct ClaimScope;

impl ClaimScope {
    pub fn enter(claim: Option<WriteClaim>) -> Self {
        THREAD_CLAIM.with(|c| *c.borrow_mut() = claim);
        ClaimScope
    }
}

impl Drop for ClaimScope {
    fn drop(&mut self) {
        THREAD_CLAIM.with(|c| *c.borrow_mut() = None);
    }
}

/// A write on this thread is about to start: false if its request was given up.
pub fn start_write_on_this_thread() -> bool {
    THREAD_CLAIM.with(|c| c.borrow().as_ref().is_none_or(WriteClaim::start_write))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_write_cannot_be_abandoned_and_an_abandoned_request_cannot_write() {
        let writing = WriteClaim::default();
        assert!(writing.start_write());
        assert!(writing.start_write(), "a second write of the same request");
        assert!(!writing.abandon());

        let late = WriteClaim::default();
        assert!(late.abandon());
        assert!(late.is_abandoned());
        assert!(!late.start_write());
    }

    #[test]
    fn threads_without_a_request_always_write() {
        assert!(start_write_on_this_thread());
        let claim = WriteClaim::default();
        claim.abandon();
        let scope = ClaimScope::enter(Some(claim));
        assert!(!start_write_on_this_thread());
        drop(scope);
        assert!(start_write_on_this_thread());
    }
}
