//! Outgoing HTTP runs here: the records API, the game-server API, Discord (webhooks and OAuth2,
//! on separate threads) and SendGrid calls
//! are blocking `ureq` calls (up to 5–10 s each when the other side is slow), and on tokio's
//! blocking pool they would compete with every [`crate::db::Db::run`]. Instead each upstream
//! service has its own small, fixed set of threads with a bounded queue ([`crate::workers`]):
//!
//! - a slow or hanging service can occupy only its own threads: pages that need only SQLite
//!   never wait behind it, and neither do the other services (a hanging records API does not
//!   delay the game-server poll or an alarm);
//! - when a service's threads are busy and its queue is full, a call fails at once with
//!   [`OutboundError::Busy`] instead of piling up (the caller answers from a cache or with an
//!   error, as for an unreachable service);
//! - a call whose caller stopped waiting (a request budget ran out, the client left) is never
//!   made.
//!
//! Use it by wrapping the blocking call: `outbound.run(Service::Records, move || client.get(…))`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::workers::{RunError, Workers};

/// The HTTP agent every upstream client uses: statuses are answers to read, not errors, no
/// proxy from the environment, and the given deadlines (`per_read` for long answers that must
/// keep arriving).
pub fn agent(connect: Duration, global: Duration, per_read: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(connect))
        .timeout_per_read(per_read)
        .timeout_global(Some(global))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

/// An upstream service, each with its own threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The records API (`records_api_url`): pages, chat bots, finish feeds.
    Records,
    /// The game-server API (`gameserver_api_url`): the poller, one call per poll.
    GameServer,
    /// Discord webhooks (alarm notifications, the finish poster).
    Discord,
    /// Discord's OAuth2 token and user endpoints (linking an account): a player waits on these,
    /// so a burst of alarm deliveries on [`Service::Discord`] must not hold them up.
    DiscordOAuth,
    /// SendGrid (password-reset mails).
    Mail,
}

impl Service {
    const ALL: [Service; 5] = [Self::Records, Self::GameServer, Self::Discord, Self::DiscordOAuth, Self::Mail];

    /// Threads and queue places: the records API serves page views (answers are cached 30 s),
    /// the others a call now and then.
    fn size(self) -> (usize, usize) {
        match self {
            Self::Records => (8, 32),
            Self::GameServer => (2, 4),
            Self::Discord => (2, 16),
            Self::DiscordOAuth => (2, 8),
            Self::Mail => (2, 16),
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The service as messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Records => "the records API",
            Self::GameServer => "the game-server API",
            Self::Discord => "Discord",
            Self::DiscordOAuth => "Discord's OAuth2 API",
            Self::Mail => "SendGrid",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a call was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// Every thread of the service is busy and its queue is full.
    #[error("too many calls to {0} are waiting for it (it is slow or down)")]
    Busy(Service),
    /// The service's threads are gone (shutting down, or they could not be started).
    #[error("the threads for calls to {0} are gone")]
    Gone(Service),
}

/// Handle to the outgoing-call threads; cheap to clone.
#[derive(Clone)]
pub struct Outbound(Arc<Vec<Workers>>);

impl Default for Outbound {
    fn default() -> Self {
        Self::new()
    }
}

impl Outbound {
    /// Starts the threads of every service (16 in all, idle until called).
    pub fn new() -> Self {
        let lanes = Service::ALL
            .iter()
            .map(|s| {
                let (threads, queue) = s.size();
                Workers::new(&format!("out-{s:?}").to_ascii_lowercase(), threads, &[queue])
            })
            .collect();
        Self(Arc::new(lanes))
    }

    /// Runs the blocking call `f` on `service`'s threads and waits for it without blocking the
    /// runtime. If this future is dropped before `f` starts, `f` is never run.
    pub async fn run<T: Send + 'static>(
        &self,
        service: Service,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, OutboundError> {
        self.0[service.index()].run(0, f).await.map_err(|e| match e {
            RunError::Full => OutboundError::Busy(service),
            RunError::Gone => OutboundError::Gone(service),
        })
    }

    /// Calls to `service` waiting for a thread (not counting running ones).
    pub fn queued(&self, service: Service) -> usize {
        self.0[service.index()].queued(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hanging service fills its own threads and queue, then is refused at once; the
    /// other services still run (a hanging records API delays no poll or alarm, a burst of
    /// alarm webhooks no account link).
    #[tokio::test]
    async fn a_hanging_service_blocks_only_itself() {
        hang_only(Service::Records).await;
        hang_only(Service::Discord).await;
    }

    async fn hang_only(hanging: Service) {
        let out = Outbound::new();
        let (release, hang) = std::sync::mpsc::channel::<()>();
        let hang = Arc::new(std::sync::Mutex::new(hang));
        let (threads, queue) = hanging.size();
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut waiting = Vec::new();
        // First every thread gets a hanging call, then the queue fills.
        for (n, wait_for) in [(threads, "started"), (queue, "queued")] {
            for _ in 0..n {
                let (out, hang, started) = (out.clone(), hang.clone(), started.clone());
                waiting.push(tokio::spawn(async move {
                    out.run(hanging, move || {
                        started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let _ = hang.lock().unwrap().recv();
                    })
                    .await
                }));
            }
            loop {
                let done = match wait_for {
                    "started" => started.load(std::sync::atomic::Ordering::SeqCst) == threads,
                    _ => out.queued(hanging) == queue,
                };
                if done {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
        assert_eq!(out.run(hanging, || ()).await, Err(OutboundError::Busy(hanging)));
        for other in Service::ALL.into_iter().filter(|s| *s != hanging) {
            assert_eq!(out.run(other, || 5).await, Ok(5), "{other} waits behind {hanging}");
        }
        assert_eq!(
            OutboundError::Busy(Service::Records).to_string(),
            "too many calls to the records API are waiting for it (it is slow or down)"
        );
        for _ in 0..threads + queue {
            release.send(()).unwrap();
        }
        for w in waiting {
            assert_eq!(w.await.unwrap(), Ok(()));
        }
    }
}
