//! The read deadlines of one connection (see the parent module). [`Timing`] knows whether the
//! connection is waiting for a request or answering one; [`TimedStream`] fails socket reads
//! at the deadline while a request is awaited (and writes when the client stopped reading, see
//! `server::stall`); [`DeadlineBody`] ends a request body that is
//! still arriving at the request deadline; [`TrackedBody`] reports the end of a response,
//! which starts the keep-alive idle clock.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::stall::WriteStall;

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request since `since` (the accept when `fresh`, else the end of the last
    /// response); `first_byte` is when that request's first byte arrived, if one has.
    Waiting { since: Instant, fresh: bool, first_byte: Option<Instant> },
    /// Request number `n` has its head read and is being answered: the socket has no
    /// deadline (the body has its own, the response none).
    Busy { n: u64 },
}

/// What a read deadline bounds, for the connection's closing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Head,
    Idle,
}

impl Bound {
    fn message(self) -> &'static str {
        match self {
            Self::Head => "no complete request head within header_read_timeout_s",
            Self::Idle => "keep-alive connection idle for keepalive_idle_timeout_s",
        }
    }
}

/// The read deadline in `phase`, if any.
fn deadline(phase: Phase, header: Duration, idle: Duration) -> Option<(Instant, Bound)> {
    match phase {
        Phase::Busy { .. } => None,
        Phase::Waiting { first_byte: Some(t), .. } => Some((t + header, Bound::Head)),
        Phase::Waiting { since, fresh: true, first_byte: None } => Some((since + header, Bound::Head)),
        Phase::Waiting { since, fresh: false, first_byte: None } => Some((since + idle, Bound::Idle)),
    }
}

/// Bytes arrived at `now`: the first of a request starts its head clock.
fn on_bytes(phase: Phase, now: Instant) -> Phase {
    match phase {
        Phase::Waiting { since, fresh, first_byte: None } => Phase::Waiting { since, fresh, first_byte: Some(now) },
        other => other,
    }
}

/// Request `n`'s head is read at `now`: the phase becomes busy; returns when the request
/// started (its first byte, else the moment waiting began: its bytes came with the last one).
fn on_request(phase: Phase, now: Instant, n: u64) -> (Instant, Phase) {
    let started = match phase {
        Phase::Waiting { since, first_byte, .. } => first_byte.unwrap_or(since),
        Phase::Busy { .. } => now,
    };
    (started, Phase::Busy { n })
}

/// Request `n`'s response ended at `now`: waiting again, with the idle clock running.
fn on_response_end(phase: Phase, now: Instant, n: u64) -> Phase {
    match phase {
        Phase::Busy { n: busy } if busy == n => Phase::Waiting { since: now, fresh: false, first_byte: None },
        other => other,
    }
}

#[derive(Debug)]
struct State {
    phase: Phase,
    requests: u64,
    /// The connection task, parked on a read while a request was served: woken when the
    /// response ends so the next read arms the idle deadline at once.
    reader: Option<Waker>,
}

/// One connection's phase and timeouts, shared by its socket, service and bodies (all polled
/// by the connection's task, so the lock is never contended).
#[derive(Debug)]
pub(super) struct Timing {
    header: Duration,
    idle: Duration,
    state: Mutex<State>,
}

impl Timing {
    pub(super) fn new(header: Duration, idle: Duration) -> Self {
        let phase = Phase::Waiting { since: Instant::now(), fresh: true, first_byte: None };
        Self { header, idle, state: Mutex::new(State { phase, requests: 0, reader: None }) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The deadline of a pending read; while a request is served there is none and `waker`
    /// is kept for [`Timing::response_ended`].
    fn read_deadline(&self, waker: &Waker) -> Option<(Instant, Bound)> {
        let mut state = self.state();
        let found = deadline(state.phase, self.header, self.idle);
        if found.is_none() {
            match &mut state.reader {
                Some(w) => w.clone_from(waker),
                None => state.reader = Some(waker.clone()),
            }
        }
        found
    }

    fn saw_bytes(&self) {
        let mut state = self.state();
        state.phase = on_bytes(state.phase, Instant::now());
    }

    /// A request head was read: returns when the request started and its number.
    pub(super) fn request_started(&self) -> (Instant, u64) {
        let mut state = self.state();
        state.requests += 1;
        let n = state.requests;
        let (started, phase) = on_request(state.phase, Instant::now(), n);
        state.phase = phase;
        (started, n)
    }

    /// Request `n`'s response is complete (or dropped).
    fn response_ended(&self, n: u64) {
        let reader = {
            let mut state = self.state();
            let before = state.phase;
            state.phase = on_response_end(before, Instant::now(), n);
            if state.phase == before {
                return;
            }
            state.reader.take()
        };
        if let Some(w) = reader {
            w.wake();
        }
    }
}

/// The socket, with reads failing (`TimedOut`, and hyper closes the connection) at the
/// [`Timing`] deadline while a request is awaited, and writes failing when the client has
/// read nothing for the write-stall limit ([`WriteStall`]).
pub(super) struct TimedStream {
    io: TcpStream,
    timing: Arc<Timing>,
    sleep: Option<Pin<Box<Sleep>>>,
    stall: WriteStall,
}

impl TimedStream {
    pub(super) fn new(io: TcpStream, timing: Arc<Timing>, write_stall: Duration) -> Self {
        Self { io, timing, sleep: None, stall: WriteStall::new(write_stall) }
    }

    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some((at, bound)) = self.timing.read_deadline(cx.waker()) else {
            return Poll::Pending;
        };
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if sleep.deadline() != at {
            sleep.as_mut().reset(at);
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, bound.message()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for TimedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.timing.saw_bytes();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_deadline(cx),
        }
    }
}

impl AsyncWrite for TimedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.stall.check(polled, cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.stall.check(polled, cx)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_flush(cx);
        this.stall.check(polled, cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A request body that fails once `deadline` passes with data still missing, and flags it in
/// `expired` so the service can answer 408 whatever the handler made of the error.
pub(super) struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl DeadlineBody {
    pub(super) fn new(inner: Incoming, deadline: Instant, expired: Arc<AtomicBool>) -> Self {
        Self { inner, deadline, sleep: None, expired }
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if !this.expired.load(Ordering::Relaxed) {
            if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
                return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
            }
            let deadline = this.deadline;
            let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.expired.store(true, Ordering::Relaxed);
        }
        Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::TimedOut, "request_timeout_s passed").into())))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that tells [`Timing`] when it is complete or dropped.
pub(super) struct TrackedBody {
    inner: axum::body::Body,
    timing: Arc<Timing>,
    request: u64,
}

impl TrackedBody {
    pub(super) fn new(inner: axum::body::Body, timing: Arc<Timing>, request: u64) -> Self {
        Self { inner, timing, request }
    }
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.timing.response_ended(this.request);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.timing.response_ended(self.request);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Duration = Duration::from_secs(5);
    const IDLE: Duration = Duration::from_secs(60);

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_new_connection_gets_the_header_timeout_from_its_accept() {
        let t0 = Instant::now();
        let fresh = Phase::Waiting { since: t0, fresh: true, first_byte: None };
        assert_eq!(deadline(fresh, HEADER, IDLE), Some((t0 + HEADER, Bound::Head)));
        // The first byte restarts the head clock; later bytes do not.
        let started = on_bytes(fresh, t0 + s(2));
        assert_eq!(deadline(started, HEADER, IDLE), Some((t0 + s(2) + HEADER, Bound::Head)));
        assert_eq!(on_bytes(started, t0 + s(4)), started);
    }

    #[test]
    fn a_served_request_has_no_read_deadline_and_starts_at_its_first_byte() {
        let t0 = Instant::now();
        let waiting = Phase::Waiting { since: t0, fresh: true, first_byte: Some(t0 + s(1)) };
        let (started, busy) = on_request(waiting, t0 + s(3), 1);
        assert_eq!(started, t0 + s(1));
        assert_eq!(deadline(busy, HEADER, IDLE), None);
    }

    #[test]
    fn after_a_response_the_idle_timeout_runs_until_the_next_first_byte() {
        let t0 = Instant::now();
        let busy = Phase::Busy { n: 1 };
        // The end of an older response changes nothing.
        assert_eq!(on_response_end(busy, t0, 0), busy);
        let idle = on_response_end(busy, t0, 1);
        assert_eq!(deadline(idle, HEADER, IDLE), Some((t0 + IDLE, Bound::Idle)));
        let next = on_bytes(idle, t0 + s(30));
        assert_eq!(deadline(next, HEADER, IDLE), Some((t0 + s(30) + HEADER, Bound::Head)));
        // A pipelined request read with the last one started when waiting began.
        assert_eq!(on_request(idle, t0 + s(1), 2).0, t0);
    }
}
