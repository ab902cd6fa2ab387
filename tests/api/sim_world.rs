//! The outside world of the simulated event: the game-server API answering from the
//! [`Simulator`] at the manual clock's time, a Discord webhook (as strict as the real one)
//! recording each message with the instant it arrived, and a `/live` subscriber recording the
//! events it reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, Utc};
use kacky_backend::clock::Clock;
use kacky_backend::live::simulator::Simulator;
use serde_json::{json, Value};

use crate::common::{Fake, TestApp};

/// The simulated game-server API: the simulator's answer at the clock's time, 503 during an
/// outage.
#[derive(Clone)]
struct World {
    sim: Arc<Simulator>,
    clock: Clock,
}

async fn gameserver_api(State(w): State<World>, Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("password").map(String::as_str) != Some("pw") {
        return (StatusCode::FORBIDDEN, "wrong password").into_response();
    }
    match w.sim.answer(w.clock.now()) {
        Some(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "<h1>down</h1>").into_response(),
    }
}

pub(crate) async fn gameserver(sim: Arc<Simulator>, clock: Clock) -> Fake {
    Fake::start(axum::Router::new().route("/api/", get(gameserver_api)).with_state(World { sim, clock })).await
}

/// One message Discord accepted.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    /// The clock's time when it arrived.
    pub(crate) at: DateTime<Utc>,
    pub(crate) kacky_id: i64,
    pub(crate) server: i64,
    /// The start the message announces.
    pub(crate) start: i64,
    pub(crate) content: String,
}

#[derive(Clone)]
pub(crate) struct Discord {
    clock: Clock,
    pub(crate) messages: Arc<Mutex<Vec<Message>>>,
    pub(crate) refused: Arc<Mutex<usize>>,
}

/// The number after `marker` in `text`.
fn number_after(text: &str, marker: &str) -> i64 {
    let rest = &text[text.find(marker).unwrap_or_else(|| panic!("{marker} in {text}")) + marker.len()..];
    rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

async fn webhook(State(d): State<Discord>, Json(body): Json<Value>) -> Response {
    let users: Vec<&str> =
        body["allowed_mentions"]["users"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let mut unique = users.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() != users.len() {
        *d.refused.lock().unwrap() += 1;
        return (StatusCode::BAD_REQUEST, Json(json!({"code": 50035, "message": "Invalid Form Body"}))).into_response();
    }
    let content = body["content"].as_str().unwrap().to_owned();
    let message = Message {
        at: d.clock.now(),
        kacky_id: number_after(&content, "map **#"),
        server: number_after(&content, "on server "),
        start: number_after(&content, "<t:"),
        content,
    };
    d.messages.lock().unwrap().push(message);
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn discord(clock: Clock) -> (Fake, Discord) {
    let d = Discord { clock, messages: Arc::default(), refused: Arc::default() };
    let router = axum::Router::new().route("/api/webhooks/7/sim-token", post(webhook)).with_state(d.clone());
    (Fake::start(router).await, d)
}

/// A `/live` subscriber reading in the background until the stream ends: the snapshot, then
/// the `map` events in order.
pub(crate) struct Subscriber {
    task: tokio::task::JoinHandle<(Value, Vec<Value>)>,
}

impl Subscriber {
    pub(crate) async fn connect(app: &TestApp) -> Self {
        let mut response = app.client.get(app.url("/live")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let (mut buffer, mut snapshot, mut events, mut tx) = (String::new(), Value::Null, Vec::new(), Some(tx));
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let data: String = block.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
                    if block.lines().any(|l| l == "event: snapshot") {
                        snapshot = serde_json::from_str(&data).unwrap();
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(());
                        }
                    } else if block.lines().any(|l| l == "event: map") {
                        events.push(serde_json::from_str(&data).unwrap());
                    }
                }
            }
            (snapshot, events)
        });
        tokio::time::timeout(Duration::from_secs(10), rx).await.expect("a snapshot").unwrap();
        Self { task }
    }

    /// The snapshot and the map events, once the stream has ended (the app stopped).
    pub(crate) async fn finish(self) -> (Value, Vec<Value>) {
        tokio::time::timeout(Duration::from_secs(30), self.task).await.expect("the stream ends").unwrap()
    }
}

/// Waits (real time) until the live feed and the notifier have looked at the latest snapshot
/// at the clock's time and every delivery they started has finished.
pub(crate) async fn settle(app: &TestApp) {
    let (seq, now) = (app.state.live.snapshot().seq, app.state.clock.now());
    let limit = Duration::from_secs(30);
    let mut feed = app.state.live.feed_progress();
    let fed = feed.wait_for(|&(s, at)| s >= seq && at >= now);
    tokio::time::timeout(limit, fed).await.expect("the feed keeps up").unwrap();
    let mut planned = app.state.notifier.planned();
    let done = planned.wait_for(|&(s, at)| s >= seq && at >= now);
    tokio::time::timeout(limit, done).await.expect("the notifier keeps up").unwrap();
    let deadline = Instant::now() + limit;
    while app.state.notifier.pending() > 0 {
        assert!(Instant::now() < deadline, "deliveries finish");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The 95th percentile of the absolute values, in seconds.
pub(crate) fn p95(errors: &[i64]) -> i64 {
    let mut abs: Vec<i64> = errors.iter().map(|e| e.abs()).collect();
    abs.sort_unstable();
    abs.get((abs.len() * 95).div_ceil(100).saturating_sub(1)).copied().unwrap_or(0)
}
