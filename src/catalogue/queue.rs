//! The threads of the large searches and their queue, fair between askers: each asker (a
//! client's address) waits in its own line, and the threads take from the lines in turn. A
//! client that floods the server with large searches waits behind its own, while another
//! buyer's search goes at the next turn; a crowd of honest buyers behind one proxy still gets
//! every search answered, in order, with no refusal.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// Lines of waiting jobs, one per asker, and the order in which the askers take their turns.
struct Lines<K> {
    waiting: HashMap<K, VecDeque<Job>>,
    turns: VecDeque<K>,
    /// The pool is gone: its threads end.
    closed: bool,
}

impl<K: Hash + Eq + Clone> Lines<K> {
    fn push(&mut self, asker: K, job: Job) {
        let line = self.waiting.entry(asker.clone()).or_default();
        if line.is_empty() {
            self.turns.push_back(asker);
        }
        line.push_back(job);
    }

    /// The first job of the asker whose turn it is; the asker goes to the back of the turns
    /// while it has more.
    fn pop(&mut self) -> Option<Job> {
        let asker = self.turns.pop_front()?;
        let line = self.waiting.get_mut(&asker)?;
        let job = line.pop_front();
        if line.is_empty() {
            self.waiting.remove(&asker);
        } else {
            self.turns.push_back(asker);
        }
        job
    }
}

struct Shared<K> {
    lines: Mutex<Lines<K>>,
    ready: Condvar,
}

/// Threads that run the jobs given to them, taking the askers in turn.
pub struct FairPool<K> {
    shared: Arc<Shared<K>>,
}

impl<K: Hash + Eq + Clone + Send + 'static> FairPool<K> {
    /// Starts `threads` threads (0: one per core), named `{name}-{i}`.
    pub fn start(threads: usize, name: &str) -> std::io::Result<Self> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let shared = Arc::new(Shared {
            lines: Mutex::new(Lines {
                waiting: HashMap::new(),
                turns: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
        });
        // The pool exists before its threads: if one cannot be started, dropping the pool on
        // the way out ends those that were.
        let pool = FairPool { shared };
        for i in 0..threads {
            let shared = pool.shared.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || run(&shared))?;
        }
        Ok(pool)
    }

    /// Queues `job` in `asker`'s line.
    pub fn spawn(&self, asker: K, job: impl FnOnce() + Send + 'static) {
        let mut lines = self.shared.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.push(asker, Box::new(job));
        drop(lines);
        self.shared.ready.notify_one();
    }
}

impl<K> Drop for FairPool<K> {
    fn drop(&mut self) {
        let mut lines = self.shared.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.closed = true;
        drop(lines);
        self.shared.ready.notify_all();
    }
}

/// A thread's life: the next job in turn, run, again, until the pool is dropped.
fn run<K: Hash + Eq + Clone>(shared: &Shared<K>) {
    loop {
        let job = {
            let mut lines = shared.lines.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(job) = lines.pop() {
                    break job;
                }
                if lines.closed {
                    return;
                }
                lines = shared.ready.wait(lines).unwrap_or_else(|e| e.into_inner());
            }
        };
        // A job that panics must not take the thread with it (the searches catch their own).
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn order(pushes: &[(&'static str, u32)]) -> Vec<u32> {
        let mut lines = Lines {
            waiting: HashMap::new(),
            turns: VecDeque::new(),
            closed: false,
        };
        let (sent, received) = mpsc::channel();
        for &(asker, n) in pushes {
            let sent = sent.clone();
            lines.push(asker, Box::new(move || sent.send(n).unwrap()));
        }
        while let Some(job) = lines.pop() {
            job();
        }
        assert!(lines.waiting.is_empty() && lines.turns.is_empty());
        received.try_iter().collect()
    }

    /// A flood from one asker does not hold up the others: they take turns, each in order.
    #[test]
    fn askers_take_turns_each_in_order() {
        let flood: Vec<(&str, u32)> = (0..5).map(|n| ("flood", n)).collect();
        let mut pushes = flood.clone();
        pushes.extend([("buyer", 100), ("other", 200), ("buyer", 101)]);
        assert_eq!(order(&pushes), vec![0, 100, 200, 1, 101, 2, 3, 4]);
        assert_eq!(order(&flood), vec![0, 1, 2, 3, 4]);
        assert_eq!(order(&[]), Vec::<u32>::new());
    }

    /// The threads run every job, a panicking one included.
    #[test]
    fn the_threads_run_every_job() {
        let pool = FairPool::start(2, "test-search").unwrap();
        let (sent, received) = mpsc::channel();
        pool.spawn("a", || panic!("a search that panics"));
        for n in 0..50u32 {
            let sent = sent.clone();
            pool.spawn(if n % 3 == 0 { "a" } else { "b" }, move || {
                sent.send(n).unwrap()
            });
        }
        let mut got: Vec<u32> = (0..50)
            .map(|_| {
                received
                    .recv_timeout(std::time::Duration::from_secs(10))
                    .unwrap()
            })
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
    }
}
