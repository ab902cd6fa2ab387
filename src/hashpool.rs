//! A few dedicated threads for password hashing. argon2id needs ~19 MiB per hash: on tokio's
//! large blocking pool every thread that ever hashed keeps its own malloc arena full of such
//! buffers (over 1.5 GB resident under a login storm in the benchmark), so hashing runs on a
//! fixed set of threads instead — all cores but one, leaving one for the async runtime.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// Handle to the hashing threads; cheap to clone through an `Arc`.
pub struct HashPool {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl HashPool {
    pub fn new(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("hash-{i}")).spawn(move || loop {
                let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                match job {
                    Ok(job) => job(),
                    Err(_) => break,
                }
            });
            if let Err(e) = spawned {
                tracing::error!("cannot start a password hashing thread: {e}");
            }
        }
        Self { jobs: Mutex::new(tx) }
    }

    /// Runs `f` on a hashing thread and waits for it without blocking the runtime.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = crate::metrics::hashing_queued();
        let job: Job = Box::new(move || {
            drop(queued);
            let _ = tx.send(f());
        });
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).send(job).ok()?;
        rx.await.ok()
    }
}

impl HashPool {
    /// Runs `f` on a hashing thread and blocks until it is done: for start-up code that runs
    /// before (or beside) the async runtime, so even the start-up hash uses the pool's memory.
    pub fn run_blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        let queued = crate::metrics::hashing_queued();
        let job: Job = Box::new(move || {
            drop(queued);
            let _ = tx.send(f());
        });
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).send(job).ok()?;
        rx.recv().ok()
    }
}

/// All cores but one, at least one.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_returns_results() {
        let pool = HashPool::new(2);
        let results = squares(&pool).await;
        assert_eq!(results, vec![0, 1, 4, 9]);
    }

    async fn squares(pool: &HashPool) -> Vec<i32> {
        let mut out = Vec::new();
        for i in 0..4 {
            out.push(pool.run(move || i * i).await.unwrap());
        }
        out
    }
}
