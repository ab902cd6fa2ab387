//! The write-stall deadline of one connection: when the socket has accepted no byte of a
//! response for `write_stall_timeout_s` (the kernel's buffers are full because the client
//! stopped reading), the write fails with `TimedOut` and hyper closes the connection. A slow
//! reader is fine, any progress restarts the clock; only a client that reads nothing at all is
//! dropped. This is what frees the connection and the `/live` slot of a viewer that went away
//! without closing (a laptop lid shut, a mobile network gone) or never meant to read.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// Tracks since when writes are pending; see the module documentation.
#[derive(Debug)]
pub(super) struct WriteStall {
    limit: Duration,
    since: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl WriteStall {
    pub(super) fn new(limit: Duration) -> Self {
        Self { limit, since: None, sleep: None }
    }

    /// Passes a write's outcome through: progress (or an error) clears the stall, a pending
    /// write starts or continues it and fails once it has lasted `limit`.
    pub(super) fn check<T>(&mut self, polled: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.since = None;
            return polled;
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        let at = since + self.limit;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if sleep.deadline() != at {
            sleep.as_mut().reset(at);
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the client read nothing of the response for {} s (write_stall_timeout_s)",
                    self.limit.as_secs()
                ),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_pending_for_the_limit_fails_and_progress_restarts_the_clock() {
        let mut stall = WriteStall::new(Duration::from_secs(30));
        let mut cx = cx();
        assert!(stall.check::<usize>(Poll::Pending, &mut cx).is_pending());
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(stall.check::<usize>(Poll::Pending, &mut cx).is_pending());
        // One byte accepted: the client reads, slowly; the clock starts again.
        assert!(matches!(stall.check(Poll::Ready(Ok(1usize)), &mut cx), Poll::Ready(Ok(1))));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(stall.check::<usize>(Poll::Pending, &mut cx).is_pending());
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(stall.check::<usize>(Poll::Pending, &mut cx).is_pending());
        tokio::time::advance(Duration::from_secs(1)).await;
        match stall.check::<usize>(Poll::Pending, &mut cx) {
            Poll::Ready(Err(e)) => {
                assert_eq!(e.kind(), io::ErrorKind::TimedOut);
                assert!(e.to_string().contains("30 s"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }
}
