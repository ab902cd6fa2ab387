//! Bench-only: the ceiling for `bench/live.sh`. A bare axum server without any of the
//! project's middleware, limits or state: `GET /live` sends a fixed snapshot event, then an
//! `event: map` per server at every whole minute (what the backend sends for servers with
//! one-minute maps) from one broadcast channel; any other GET answers a fixed JSON body. The
//! viewers of `bench/live_viewers.rs` measure it exactly as they measure the backend.
//!
//! Usage: `bench_live_ceiling <port> <snapshot-file> <other-answer-file> [servers=13]`

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use chrono::{DurationRound, Utc};
use futures_util::stream::{self, StreamExt};
use tokio::sync::broadcast;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_live_ceiling <port> <snapshot-file> <other-answer-file> [servers]";
    let port: u16 = args.first().and_then(|p| p.parse().ok()).expect(usage);
    let snapshot = std::fs::read_to_string(args.get(1).expect(usage))?;
    let other = Bytes::from(std::fs::read(args.get(2).expect(usage))?);
    let servers: i64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(13);
    let (tx, _) = broadcast::channel::<String>(256);
    tokio::spawn(announce(tx.clone(), servers));
    let live = get(move || {
        let (snapshot, changes) = (snapshot.clone(), tx.subscribe());
        async move {
            let first =
                stream::once(async move { Ok::<_, Infallible>(Event::default().event("snapshot").data(snapshot)) });
            let updates = stream::unfold(changes, |mut rx| async move {
                let data = rx.recv().await.ok()?;
                Some((Ok(Event::default().event("map").data(data)), rx))
            });
            Sse::new(first.chain(updates)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        }
    });
    let app = Router::new().route("/live", live).fallback(get(move || {
        let body = other.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("ceiling listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}

/// At every whole minute, one change per server, as the backend announces them.
async fn announce(tx: broadcast::Sender<String>, servers: i64) {
    loop {
        let now = Utc::now();
        let Ok(minute) = now.duration_trunc(chrono::Duration::minutes(1)) else { return };
        let next = minute + chrono::Duration::minutes(1);
        tokio::time::sleep((next - now).to_std().unwrap_or_default()).await;
        let start = next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let end = (next + chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for server in 1..=servers {
            let data = format!(r#"{{"server":{server},"kacky_id":{},"start":"{start}","end":"{end}"}}"#, 200 + server);
            let _ = tx.send(data);
        }
    }
}
