//! The connection layer: accepts TCP connections and serves each with hyper's HTTP/1 server
//! (in place of `axum::serve`, which has no read deadlines and no connection cap).
//!
//! - **Deadlines on reading requests, never on responses.** A connection's request head must
//!   be complete within `header_read_timeout_s` of its first byte (a new connection counts from
//!   its accept), the whole request with its body within `request_timeout_s` of that first byte
//!   (a body still arriving then ends as 408), and an idle keep-alive connection gets
//!   `keepalive_idle_timeout_s` before its next request starts. A response takes as long as it
//!   takes, so `/live` streams run until the client or the shutdown ends them. The deadlines
//!   live in `server::deadline`: a wrapper around the socket that knows whether a request is being
//!   waited for (it fails the read at the deadline, and hyper closes the connection) and a
//!   wrapper around the request body.
//! - **A write-stall deadline** (`server::stall`): a response the client reads nothing of for
//!   `write_stall_timeout_s` (its socket buffers stay full) ends the connection, so a `/live`
//!   viewer that stopped reading gives its connection and stream slot back. The kernel queues
//!   at most `NOTSENT_LOWAT` (16 KB) unsent bytes per connection, so "full" means the client's
//!   receive window plus that, not the kernel's send buffer of up to 4 MB.
//! - **A connection cap.** At `max_connections` open connections the loop stops accepting:
//!   further clients wait in the kernel's listen backlog (raised to [`LISTEN_BACKLOG`]) and are
//!   served in turn as others close (the timeouts above guarantee that idle ones do), instead
//!   of being accepted just to be closed. Waiting connections hold no file descriptor of ours,
//!   which is what keeps the process below its open-file limit. When the backlog is full too,
//!   the kernel drops new SYNs and clients retry on their own. Reaching the cap is logged at
//!   most every 10 s.
//! - **Accept errors** other than a client's reset (`EMFILE`, `ENFILE`, `ENOBUFS` …) pause
//!   accepting (10 ms, doubling to 1 s while they last) and are logged at most every 10 s.
//! - **Shutdown with a deadline.** When the shutdown future resolves the listener is closed,
//!   idle connections are closed, busy ones finish their current request (keep-alive off), and
//!   whatever is still open after `shutdown_grace_s` is dropped.
//!
//! HTTP/1 only, as before (axum's `http2` feature was never on): over plain HTTP neither
//! browsers nor reverse proxies speak HTTP/2, and sniffing for its preface would be one more
//! read without a deadline.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::api::ApiError;
use crate::config::Settings;

mod deadline;
mod stall;

use deadline::{DeadlineBody, TimedStream, Timing, TrackedBody};

/// Connections the kernel may queue for us while we are at the cap. std's and tokio's `bind`
/// listen with 128 (tokio through mio, since mio 1.1), too few for a burst of `/live`
/// viewers; Linux caps it at `net.core.somaxconn`, 4096 by default.
pub const LISTEN_BACKLOG: i32 = 1024;
/// How often at most the cap and accept errors are logged.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// The first and the longest pause after an accept error.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Most unsent bytes the kernel queues per connection (`TCP_NOTSENT_LOWAT`); what was sent
/// but not yet acknowledged does not count, so throughput is not limited by it.
const NOTSENT_LOWAT: u32 = 16 * 1024;
/// File descriptors the process needs besides its connections (database pool, WAL, log, …):
/// a cap closer than this to the open-file limit is warned about at start.
const OTHER_FILES: usize = 64;

/// The connection limits, from [`Settings`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read: Duration,
    pub request: Duration,
    pub keepalive_idle: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
    pub write_stall: Duration,
}

impl Limits {
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            header_read: Duration::from_secs(s.header_read_timeout_s),
            request: Duration::from_secs(s.request_timeout_s),
            keepalive_idle: Duration::from_secs(s.keepalive_idle_timeout_s),
            // The semaphore's and `acquire_many`'s ceilings; nobody configures more.
            max_connections: s.max_connections.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize)),
            shutdown_grace: Duration::from_secs(s.shutdown_grace_s),
            write_stall: Duration::from_secs(s.write_stall_timeout_s),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then shuts down as described in the
/// module documentation. Returns once every connection is closed (or dropped at the deadline).
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    warn_if_cap_above_file_limit(limits.max_connections);
    // `listen` again on a listening socket only changes its backlog, so whoever bound the
    // listener (with tokio's 128), it queues `LISTEN_BACKLOG` from here on.
    if let Err(e) = socket2::SockRef::from(&listener).listen(LISTEN_BACKLOG) {
        tracing::debug!("cannot raise the listen backlog to {LISTEN_BACKLOG}: {e}");
    }
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let hard_stop = CancellationToken::new();
    let mut builder = http1::Builder::new();
    // Our own deadlines replace hyper's header timer, which also runs while a keep-alive
    // connection is idle and so cannot tell "idle" from "slow".
    builder.header_read_timeout(None);
    let conns = Connections { app, builder, limits, hard_stop: hard_stop.clone() };

    tokio::pin!(shutdown);
    let mut at_cap = Throttle::new(LOG_EVERY);
    let mut failing = Throttle::new(LOG_EVERY);
    let mut backoff = Duration::ZERO;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if let Some(more) = at_cap.hit(Instant::now()) {
                    tracing::warn!(
                        "connection cap reached: {} connections open; new ones wait in the listen backlog until some close{}",
                        limits.max_connections,
                        since_last(more, "time")
                    );
                }
                tokio::select! {
                    p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                    () = &mut shutdown => break,
                }
            }
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::ZERO;
                conns.spawn(stream, peer, permit, &graceful);
            }
            // The client gave up before we got to it: nothing wrong on our side.
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                backoff = (backoff * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
                if let Some(more) = failing.hit(Instant::now()) {
                    tracing::error!(
                        "cannot accept connections: {e}; pausing accepts (up to {} ms at a time){}",
                        BACKOFF_MAX.as_millis(),
                        since_last(more, "failed accept")
                    );
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    drop(listener);
    drain(&permits, graceful, &hard_stop, &limits).await;
    Ok(())
}

/// After the listener is closed: idle connections close, busy ones get `shutdown_grace` to
/// finish their request, then the rest are dropped.
async fn drain(permits: &Semaphore, graceful: GracefulShutdown, hard_stop: &CancellationToken, limits: &Limits) {
    let open = || limits.max_connections - permits.available_permits();
    let grace = limits.shutdown_grace;
    tracing::info!(
        "stopped accepting; waiting up to {} s for {} open connection(s) to finish",
        grace.as_secs(),
        open()
    );
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_ok() {
        tracing::info!("all connections closed");
        return;
    }
    tracing::warn!("{} connection(s) still open after {} s; closing them", open(), grace.as_secs());
    hard_stop.cancel();
    // Every connection task ends at its next poll; wait for them to drop their sockets.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(1), permits.acquire_many(all)).await;
}

/// What every connection task needs.
struct Connections {
    app: Router,
    builder: http1::Builder,
    limits: Limits,
    hard_stop: CancellationToken,
}

impl Connections {
    /// Serves one connection on its own task, which holds `permit` until the socket is closed.
    fn spawn(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        permit: tokio::sync::OwnedSemaphorePermit,
        graceful: &GracefulShutdown,
    ) {
        // The kernel holds at most this much unsent data for us: beyond it writes wait, so a
        // client that reads nothing stalls our writes (and meets the write-stall deadline)
        // after its own receive buffer and this, not after the kernel's 4 MB send buffer.
        if let Err(e) = socket2::SockRef::from(&stream).set_tcp_notsent_lowat(NOTSENT_LOWAT) {
            tracing::debug!("cannot limit the unsent data of a connection: {e}");
        }
        let timing = Arc::new(Timing::new(self.limits.header_read, self.limits.keepalive_idle));
        let io = TokioIo::new(TimedStream::new(stream, timing.clone(), self.limits.write_stall));
        let service = ConnService { app: self.app.clone(), peer, timing, request_timeout: self.limits.request };
        let conn = graceful.watch(self.builder.serve_connection(io, service));
        let hard_stop = self.hard_stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                r = conn => {
                    if let Err(e) = r {
                        tracing::debug!("connection from {peer} ended: {}", with_sources(&e));
                    }
                }
                () = hard_stop.cancelled() => tracing::debug!("connection from {peer} dropped at shutdown"),
            }
        });
    }
}

/// The per-connection service: hands requests to the router with the peer address (for the
/// access log and rate limits, as `into_make_service_with_connect_info` did) and the body
/// deadline, and tells the connection's [`Timing`] when a request starts and its response ends.
#[derive(Clone)]
struct ConnService {
    app: Router,
    peer: SocketAddr,
    timing: Arc<Timing>,
    request_timeout: Duration,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        let (started, request) = self.timing.request_started();
        let deadline = started + self.request_timeout;
        let expired = Arc::new(AtomicBool::new(false));
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let req = req.map(|body| DeadlineBody::new(body, deadline, expired.clone()));
        let mut app = self.app.clone();
        let (timing, peer, limit) = (self.timing.clone(), self.peer, self.request_timeout);
        Box::pin(async move {
            let (method, path) = (req.method().clone(), crate::api::redact_path(req.uri().path()).into_owned());
            let Ok(mut response) = tower_service::Service::call(&mut app, req).await;
            if expired.load(Ordering::Relaxed) {
                tracing::info!(target: "access", "{method} {path} 408 (request body incomplete after {} s; {} replaced) {peer}", limit.as_secs(), response.status().as_u16());
                response = timed_out(&response, limit);
            }
            Ok(response.map(|body| TrackedBody::new(body, timing, request)))
        })
    }
}

/// 408 `{"msg": …}` with `Connection: close` (the rest of the body is never read), keeping
/// the CORS headers of the answer it replaces so a browser can read it.
fn timed_out(replaced: &Response<axum::body::Body>, limit: Duration) -> Response<axum::body::Body> {
    let msg = format!("the request did not arrive within {} s", limit.as_secs());
    let mut response = ApiError::Msg(StatusCode::REQUEST_TIMEOUT, msg).into_response();
    let headers = response.headers_mut();
    for (name, value) in replaced.headers() {
        if name.as_str().starts_with("access-control-") || name == header::VARY {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `e: its source: its source's source …` (hyper's own text is only "connection error").
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A client dropping its connection before we accepted it.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// At most one report per `every`; counts what it swallowed in between.
#[derive(Debug)]
struct Throttle {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    fn new(every: Duration) -> Self {
        Self { every, last: None, suppressed: 0 }
    }

    /// `Some(n)` when a report is due now (`n` swallowed since the last one), else `None`.
    fn hit(&mut self, now: Instant) -> Option<u64> {
        if self.last.is_some_and(|t| now.saturating_duration_since(t) < self.every) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

fn since_last(more: u64, what: &str) -> String {
    match more {
        0 => String::new(),
        n => format!(" ({n} more {what}s since the last report)"),
    }
}

/// Warns when the cap leaves too few of the process's file descriptors for everything else:
/// then `accept` fails with EMFILE before the cap is reached (survivable, see above, but the
/// database may fail to open a file too).
fn warn_if_cap_above_file_limit(max_connections: usize) {
    let Some(limit) = open_file_limit() else { return };
    if max_connections.saturating_add(OTHER_FILES) > limit {
        tracing::warn!(
            "max_connections is {max_connections} but the process may open only {limit} files (ulimit -n / LimitNOFILE): \
             keep max_connections at least {OTHER_FILES} below that limit, or raise the limit"
        );
    }
}

/// The soft `RLIMIT_NOFILE`, read from `/proc/self/limits` (Linux; `None` elsewhere).
fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_file_limit(&text)
}

fn parse_open_file_limit(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_reports_once_per_period_and_counts_the_rest() {
        let t0 = Instant::now();
        let mut t = Throttle::new(Duration::from_secs(10));
        assert_eq!(t.hit(t0), Some(0));
        for i in 1..=5 {
            assert_eq!(t.hit(t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(t.hit(t0 + Duration::from_secs(10)), Some(5));
        assert_eq!(t.hit(t0 + Duration::from_secs(11)), None);
        assert_eq!(t.hit(t0 + Duration::from_secs(30)), Some(1));
    }

    #[test]
    fn open_file_limit_from_proc() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             63388                63388                processes \n\
                    Max open files            1024                 4096                 files     \n";
        assert_eq!(parse_open_file_limit(text), Some(1024));
        assert_eq!(parse_open_file_limit("Max open files  unlimited  unlimited  files"), None);
        assert_eq!(parse_open_file_limit(""), None);
    }

    #[test]
    fn timed_out_answer_keeps_cors_and_closes() {
        let mut replaced = Response::new(axum::body::Body::empty());
        replaced.headers_mut().insert("access-control-allow-origin", HeaderValue::from_static("https://kacky.gg"));
        replaced.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let r = timed_out(&replaced, Duration::from_secs(30));
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(r.headers()["access-control-allow-origin"], "https://kacky.gg");
        assert_eq!(r.headers()[header::CONNECTION], "close");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    }
}
