//! Password hashing on a few threads of its own. Argon2id takes ~19 MiB and a core for each
//! hash; run on actix's blocking pool (hundreds of threads, shared with database work), a burst of
//! registrations took gigabytes and starved every query. Here at most `threads` hashes run at
//! once; a request whose hash has not started within `queue_timeout` is answered 503 `busy`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::error::{AppError, AppResult};

/// One queued piece of work; called with `true` when it may run, `false` when it waited too long.
struct Job {
    deadline: Instant,
    run: Box<dyn FnOnce(bool) + Send>,
}

pub struct HashPool {
    jobs: mpsc::Sender<Job>,
    queue_timeout: Duration,
}

impl HashPool {
    /// Starts `threads` hashing threads (0: one per core). They end when the pool is dropped.
    pub fn new(threads: usize, queue_timeout: Duration) -> std::io::Result<HashPool> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("nongsan-hash-{i}"))
                .spawn(move || work_through(&queue))?;
        }
        Ok(HashPool {
            jobs,
            queue_timeout,
        })
    }

    /// Runs `work` on a hashing thread; `busy` when it could not start within the queue timeout.
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            deadline: Instant::now() + self.queue_timeout,
            run: Box::new(move |in_time| {
                // A client that went away meanwhile costs no hash.
                if reply.is_closed() {
                    return;
                }
                let _ = reply.send(in_time.then(work));
            }),
        };
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the password hashing threads have stopped"))?;
        match answer.await {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(AppError::Busy {
                retry_after_secs: self.queue_timeout.as_secs_f64().ceil().max(1.0) as u64,
            }),
            Err(_) => Err(anyhow::anyhow!("password hashing failed (the job panicked)").into()),
        }
    }
}

fn work_through(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(job) = next else {
            return; // the pool was dropped
        };
        let in_time = Instant::now() <= job.deadline;
        // A panic drops the reply (the request gets 500) but must not take the thread with it.
        let _ = catch_unwind(AssertUnwindSafe(move || (job.run)(in_time)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_threads_jobs_run_at_once_on_their_own_threads() {
        let pool = Arc::new(HashPool::new(2, Duration::from_secs(30)).unwrap());
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs = (0..8).map(|_| {
            let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
            async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                    std::thread::current().name().unwrap_or("").to_owned()
                })
                .await
            }
        });
        let names = futures_util::future::join_all(jobs).await;
        for name in names {
            assert!(name.unwrap().starts_with("nongsan-hash-"));
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_job_that_waits_too_long_is_busy_and_a_panic_spares_the_thread() {
        let pool = Arc::new(HashPool::new(1, Duration::from_millis(20)).unwrap());
        let slow = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(|| std::thread::sleep(Duration::from_millis(300)))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        match pool.run(|| ()).await {
            Err(AppError::Busy { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected busy, got {other:?}"),
        }
        slow.await.unwrap().unwrap();
        assert!(matches!(
            pool.run(|| panic!("boom")).await,
            Err(AppError::Internal(_))
        ));
        assert_eq!(pool.run(|| 42).await.unwrap(), 42);
    }
}
