//! Admission of `/live` streams. A stream holds its connection for as long as it lives, so
//! streams get a bounded share of the connections: at most `live_max_streams` in all (which
//! the configuration keeps at three quarters of `max_connections` at most, see
//! [`crate::config`]) and at most `live_max_streams_per_client` from one client address (the
//! forwarded one behind `trusted_proxies`; an IPv6 client by its /64). What a stream holds is
//! a [`StreamSlot`], given back when the stream ends, however it ends (the client left, the
//! write-stall deadline of `server::stall` dropped it, the server shut down).
//!
//! The stream's body is written as [`Bytes`] frames ([`sse_frame`], [`sse_response`]) rather
//! than through axum's `Sse`, so one serialized frame (the snapshot, tens of KB) is shared by
//! every viewer that connects within the same second instead of being serialized and copied
//! once per viewer: 5,000 viewers reconnecting after a restart cost one serialization.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::ratelimit::ClientKey;

/// One Server-Sent Event: `event: <event>`, then `data: <data>` (one line: JSON has no raw
/// newlines), then the blank line that ends it.
pub fn sse_frame(event: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// A keep-alive comment, sent after `keepalive` without an event (as axum's `KeepAlive`).
const KEEPALIVE: &[u8] = b":\n\n";

/// A `text/event-stream` response: `first`, then the frames of `updates` until it ends or
/// `shutdown` is cancelled, with a keep-alive comment after every `keepalive` of silence.
/// `hold` (the stream's slot) lives as long as the body.
pub fn sse_response<H: Send + 'static>(
    first: Bytes,
    updates: impl Stream<Item = Bytes> + Send + 'static,
    keepalive: Duration,
    shutdown: CancellationToken,
    hold: H,
) -> Response {
    let updates = Box::pin(updates);
    let rest = stream::unfold((updates, shutdown, hold), move |(mut updates, shutdown, hold)| async move {
        let frame = tokio::select! {
            () = shutdown.cancelled() => return None,
            next = updates.next() => next?,
            () = tokio::time::sleep(keepalive) => Bytes::from_static(KEEPALIVE),
        };
        Some((frame, (updates, shutdown, hold)))
    });
    let body = stream::once(async move { first }).chain(rest).map(Ok::<_, Infallible>);
    ([(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")], Body::from_stream(body))
        .into_response()
}

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `live_max_streams` are open (→ 503).
    Full,
    /// This client has `live_max_streams_per_client` open (→ 429).
    ClientFull,
}

/// The open streams, in all and per client.
#[derive(Debug)]
pub struct StreamSlots {
    max: usize,
    per_client: usize,
    open: AtomicUsize,
    by_client: Mutex<HashMap<ClientKey, usize>>,
}

impl StreamSlots {
    pub fn new(max: usize, per_client: usize) -> Arc<Self> {
        Arc::new(Self { max, per_client, open: AtomicUsize::new(0), by_client: Mutex::default() })
    }

    fn clients(&self) -> MutexGuard<'_, HashMap<ClientKey, usize>> {
        self.by_client.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for one stream of `client`, or why not. Both counts are checked and taken under
    /// one lock, so parallel requests cannot overshoot either cap.
    pub fn admit(self: &Arc<Self>, client: ClientKey) -> Result<StreamSlot, Refused> {
        let mut clients = self.clients();
        if self.open.load(Ordering::Relaxed) >= self.max {
            return Err(Refused::Full);
        }
        let mine = clients.entry(client).or_insert(0);
        if *mine >= self.per_client {
            return Err(Refused::ClientFull);
        }
        *mine += 1;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(StreamSlot { slots: self.clone(), client })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The caps: in all, per client.
    pub fn caps(&self) -> (usize, usize) {
        (self.max, self.per_client)
    }

    fn leave(&self, client: ClientKey) {
        let mut clients = self.clients();
        if let Some(n) = clients.get_mut(&client) {
            *n -= 1;
            if *n == 0 {
                clients.remove(&client);
            }
        }
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One open stream's place; dropping it gives the place back.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    client: ClientKey,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.slots.leave(self.client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn frames_then_keepalives_until_the_updates_or_the_server_end() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let updates = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        let shutdown = CancellationToken::new();
        let first = sse_frame("snapshot", "[1]");
        let response = sse_response(first, updates, Duration::from_secs(15), shutdown.clone(), ());
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
        let mut body = response.into_body().into_data_stream();
        assert_eq!(body.next().await.unwrap().unwrap(), "event: snapshot\ndata: [1]\n\n");
        tx.send(sse_frame("map", "{}")).unwrap();
        assert_eq!(body.next().await.unwrap().unwrap(), "event: map\ndata: {}\n\n");
        // Silence for the keep-alive interval: a comment.
        assert_eq!(body.next().await.unwrap().unwrap(), ":\n\n");
        shutdown.cancel();
        assert!(body.next().await.is_none());
    }

    fn client(s: &str) -> ClientKey {
        ClientKey::from(s.parse::<std::net::IpAddr>().unwrap())
    }

    #[test]
    fn caps_in_all_and_per_client_and_slots_come_back() {
        let slots = StreamSlots::new(3, 2);
        let a1 = slots.admit(client("10.0.0.1")).unwrap();
        let _a2 = slots.admit(client("10.0.0.1")).unwrap();
        assert_eq!(slots.admit(client("10.0.0.1")).unwrap_err(), Refused::ClientFull);
        // The same /64 is the same client.
        let _b = slots.admit(client("2001:db8::1")).unwrap();
        assert_eq!(slots.admit(client("10.0.0.9")).unwrap_err(), Refused::Full);
        assert_eq!(slots.open(), 3);
        drop(a1);
        assert_eq!(slots.open(), 2);
        let _b2 = slots.admit(client("2001:db8::ffff")).unwrap();
        assert_eq!(slots.admit(client("2001:db8::2")).unwrap_err(), Refused::Full);
        assert_eq!(slots.clients().len(), 2);
    }

    #[test]
    fn parallel_admissions_never_overshoot() {
        let slots = StreamSlots::new(10, 100);
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let slots = slots.clone();
                std::thread::spawn(move || slots.admit(client(&format!("10.0.0.{i}"))).ok())
            })
            .collect();
        let held: Vec<_> = handles.into_iter().filter_map(|h| h.join().unwrap()).collect();
        assert_eq!(held.len(), 10);
        drop(held);
        assert_eq!((slots.open(), slots.clients().len()), (0, 0));
    }
}
