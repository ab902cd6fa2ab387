//! A few dedicated threads for password hashing. argon2id needs ~19 MiB per hash: on tokio's
//! large blocking pool every thread that ever hashed keeps its own malloc arena full of such
//! buffers (over 1.5 GB resident under a login storm in the benchmark), so hashing runs on a
//! fixed set of threads instead — all cores but one, leaving one for the async runtime.
//!
//! The queues are bounded ([`QUEUE`] jobs per kind): a full queue is answered at once with 503
//! and `Retry-After` ([`crate::api::ApiError::Busy`]) instead of growing a backlog that every
//! later login waits behind. Logins have their own queue, served first, so a flood of
//! registrations or password changes (from many addresses) cannot delay them by more than the
//! hash that is running. A job whose request is gone (the client disconnected) is skipped.

use crate::workers::{RunError, Workers};

/// Jobs that may wait per kind; with one thread at 30–60 ms a hash, about 1–2 s of work.
pub const QUEUE: usize = 32;

/// What a hash is for, which decides its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Verifying a login: served first.
    Login,
    /// Making a new hash (registration, password change or reset).
    NewPassword,
}

impl Kind {
    fn level(self) -> usize {
        match self {
            Self::Login => 0,
            Self::NewPassword => 1,
        }
    }
}

/// Handle to the hashing threads; cheap to clone through an `Arc`.
pub struct HashPool {
    workers: Workers,
}

impl HashPool {
    pub fn new(threads: usize) -> Self {
        Self { workers: Workers::new("hash", threads, &[QUEUE, QUEUE]) }
    }

    /// Runs `f` on a hashing thread and waits for it without blocking the runtime;
    /// [`RunError::Full`] at once when `kind`'s queue is full. While it waits it counts in the
    /// hashing-queue metric (the ticket goes with the job: dropped when it starts, or with it).
    pub async fn run<T: Send + 'static>(
        &self,
        kind: Kind,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, RunError> {
        let queued = crate::metrics::hashing_queued();
        self.workers
            .run(kind.level(), move || {
                drop(queued);
                f()
            })
            .await
    }

    /// Runs `f` on a hashing thread and blocks until it is done: for start-up code that runs
    /// before (or beside) the async runtime, so even the start-up hash uses the pool's memory.
    pub fn run_blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        self.workers.run_blocking(Kind::NewPassword.level(), f).ok()
    }

    /// How many hashing threads there are.
    pub fn threads(&self) -> usize {
        self.workers.threads()
    }

    /// Hashes never computed because the request had gone before its turn came.
    pub fn skipped(&self) -> u64 {
        self.workers.skipped()
    }

    /// Jobs waiting (not running) in `kind`'s queue.
    pub fn queued(&self, kind: Kind) -> usize {
        self.workers.queued(kind.level())
    }
}

/// All cores but one, at least one.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}
