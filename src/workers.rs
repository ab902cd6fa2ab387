//! A fixed set of threads with bounded queues, for blocking work that must neither run on the
//! async runtime nor share tokio's blocking pool with [`crate::db::Db::run`]: password hashing
//! ([`crate::hashpool`]) and outgoing HTTP ([`crate::outbound`]).
//!
//! - **Bounded:** each queue holds at most its capacity; a job that does not fit is refused at
//!   once ([`RunError::Full`]), so a flood turns into quick refusals instead of a backlog that
//!   every later caller waits behind.
//! - **Priorities:** a pool has one queue per priority level; an idle thread takes the oldest
//!   job of the first non-empty queue (logins before registrations, see `hashpool`).
//! - **Abandoned jobs are skipped:** a job whose caller stopped waiting (the request's client
//!   went away, a budget ran out) is never run, and its place in the queue is free again.
//!
//! Threads end when the pool is dropped, after the job they are running.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// A queued job and the flag its caller sets when it stops waiting.
struct Entry {
    job: Job,
    abandoned: Arc<AtomicBool>,
}

impl Entry {
    fn wanted(&self) -> bool {
        !self.abandoned.load(Ordering::Relaxed)
    }
}

/// Sets the flag when the waiting future is dropped before its job started.
struct Abandon(Arc<AtomicBool>);

impl Drop for Abandon {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// Its queue was full: nothing was queued.
    #[error("the queue is full")]
    Full,
    /// The pool has no threads (they could not be started, or it is shutting down).
    #[error("the worker threads are gone")]
    Gone,
}

struct Queues {
    levels: Vec<VecDeque<Entry>>,
    closed: bool,
}

struct Shared {
    queues: Mutex<Queues>,
    ready: Condvar,
    capacities: Vec<usize>,
    /// Jobs dropped unrun because their caller had stopped waiting.
    skipped: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next job, waiting for one; `None` once the pool is closed.
    fn next(&self) -> Option<Job> {
        let mut q = self.lock();
        loop {
            if q.closed {
                return None;
            }
            for level in &mut q.levels {
                while let Some(entry) = level.pop_front() {
                    if entry.wanted() {
                        return Some(entry.job);
                    }
                    self.skipped.fetch_add(1, Ordering::Relaxed);
                }
            }
            q = self.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Handle to a set of worker threads; dropping it stops them (queued jobs are dropped, and
/// their callers get [`RunError::Gone`]).
pub struct Workers {
    shared: Arc<Shared>,
    threads: usize,
}

impl Workers {
    /// `threads` threads named `<name>-<i>`, one queue per entry of `capacities` (priority
    /// order, first served first).
    pub fn new(name: &str, threads: usize, capacities: &[usize]) -> Self {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues { levels: capacities.iter().map(|_| VecDeque::new()).collect(), closed: false }),
            ready: Condvar::new(),
            capacities: capacities.to_vec(),
            skipped: AtomicU64::new(0),
        });
        let mut started = 0;
        for i in 0..threads.max(1) {
            let shared = shared.clone();
            let spawned = std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
                while let Some(job) = shared.next() {
                    job();
                }
            });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::error!("cannot start a {name} thread: {e}"),
            }
        }
        Self { shared, threads: started }
    }

    /// Queues `job` at priority `level` unless that queue is full (of jobs still wanted).
    fn submit(&self, level: usize, job: Job, abandoned: Arc<AtomicBool>) -> Result<(), RunError> {
        if self.threads == 0 {
            return Err(RunError::Gone);
        }
        let mut q = self.shared.lock();
        let capacity = self.shared.capacities.get(level).copied().unwrap_or(0);
        let queue = q.levels.get_mut(level).ok_or(RunError::Full)?;
        if queue.len() >= capacity {
            let before = queue.len();
            queue.retain(Entry::wanted);
            self.shared.skipped.fetch_add((before - queue.len()) as u64, Ordering::Relaxed);
        }
        if queue.len() >= capacity {
            return Err(RunError::Full);
        }
        queue.push_back(Entry { job, abandoned });
        drop(q);
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Runs `f` on a worker thread at priority `level` and waits for it without blocking the
    /// runtime. If this future is dropped before `f` starts, `f` never runs.
    pub async fn run<T: Send + 'static>(
        &self,
        level: usize,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RunError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.submit(level, job, abandoned.clone())?;
        let guard = Abandon(abandoned);
        let result = rx.await.map_err(|_| RunError::Gone);
        std::mem::forget(guard);
        result
    }

    /// Runs `f` on a worker thread and blocks until it is done: for start-up code that runs
    /// before (or beside) the async runtime.
    pub fn run_blocking<T: Send + 'static>(
        &self,
        level: usize,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RunError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.submit(level, job, Arc::default())?;
        rx.recv().map_err(|_| RunError::Gone)
    }

    /// How many threads run the jobs.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Jobs dropped unrun so far because their caller had stopped waiting: what a flood of
    /// abandoned requests cost (nothing but their place in the queue).
    pub fn skipped(&self) -> u64 {
        self.shared.skipped.load(Ordering::Relaxed)
    }

    /// Jobs waiting at `level` and still wanted (not counting running ones).
    pub fn queued(&self, level: usize) -> usize {
        self.shared.lock().levels.get(level).map_or(0, |q| q.iter().filter(|e| e.wanted()).count())
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let mut q = self.shared.lock();
        q.closed = true;
        q.levels.iter_mut().for_each(VecDeque::clear);
        drop(q);
        self.shared.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// A job that holds its thread until `release` is sent.
    fn blocker(pool: &Workers) -> (mpsc::Sender<()>, mpsc::Receiver<()>) {
        let (release, wait) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let job: Job = Box::new(move || {
            let _ = started_tx.send(());
            let _ = wait.recv();
        });
        pool.submit(0, job, Arc::default()).unwrap();
        (release, started)
    }

    #[tokio::test]
    async fn runs_jobs_and_returns_results() {
        let pool = Workers::new("t", 2, &[4]);
        let mut out = Vec::new();
        for i in 0..4 {
            out.push(pool.run(0, move || i * i).await.unwrap());
        }
        assert_eq!(out, vec![0, 1, 4, 9]);
        assert_eq!(pool.run_blocking(0, || 7), Ok(7));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let pool = Workers::new("t", 1, &[2]);
        let (release, started) = blocker(&pool);
        started.recv().unwrap();
        pool.submit(0, Box::new(|| {}), Arc::default()).unwrap();
        pool.submit(0, Box::new(|| {}), Arc::default()).unwrap();
        assert_eq!(pool.queued(0), 2);
        assert_eq!(pool.run(0, || 1).await, Err(RunError::Full));
        release.send(()).unwrap();
        while pool.queued(0) > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(pool.run(0, || 1).await, Ok(1), "room again once the queue moved");
    }

    #[tokio::test]
    async fn jobs_of_callers_that_stopped_waiting_are_skipped() {
        let pool = Arc::new(Workers::new("t", 1, &[8]));
        let (release, started) = blocker(&pool);
        started.recv().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let abandoned = {
            let (pool, ran) = (pool.clone(), ran.clone());
            tokio::spawn(async move { pool.run(0, move || ran.fetch_add(1, Ordering::SeqCst)).await })
        };
        while pool.queued(0) == 0 {
            tokio::task::yield_now().await;
        }
        abandoned.abort();
        let _ = abandoned.await;
        assert_eq!(pool.queued(0), 0, "its place is free at once");
        release.send(()).unwrap();
        // A later job runs, so the abandoned one had its turn before it.
        assert_eq!(pool.run(0, || "later").await, Ok("later"));
        assert_eq!(ran.load(Ordering::SeqCst), 0, "the abandoned job ran");
    }

    #[tokio::test]
    async fn the_first_level_is_served_first() {
        let pool = Arc::new(Workers::new("t", 1, &[8, 8]));
        let (release, started) = blocker(&pool);
        started.recv().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for (level, tag) in [(1, "low"), (0, "high"), (1, "low2")] {
            let (p, order) = (pool.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                p.run(level, move || order.lock().unwrap().push(tag)).await.unwrap();
            }));
            while pool.queued(level) == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        release.send(()).unwrap();
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec!["high", "low", "low2"]);
    }
}
