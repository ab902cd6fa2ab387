//! How alarm messages reach Discord: against a fake webhook as strict as the real one (it
//! refuses a message whose `allowed_mentions.users` repeats an id), each id is mentioned once
//! even when two accounts share it; a long list goes out message by message and each message's
//! accounts are recorded as told or not; a delivery in flight at shutdown finishes first.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use kacky_backend::clock::Clock;
use kacky_backend::live::poll_now;
use serde_json::{json, Value};

use crate::common::{Fake, TestApp};
use crate::live::{answer, fake_gameserver, t0};
use crate::notify::{advance_to, alarm, player, spawn_notifying};

#[derive(Clone, Default)]
struct Strict {
    delivered: Arc<Mutex<Vec<Value>>>,
    attempts: Arc<Mutex<usize>>,
    /// Refuse (400) every message after this many were accepted.
    accept_only: Arc<Mutex<Option<usize>>>,
    /// Take this long to answer.
    hold: Arc<Mutex<Option<Duration>>>,
}

impl Strict {
    fn delivered(&self) -> Vec<Value> {
        self.delivered.lock().unwrap().clone()
    }
}

async fn strict_webhook(State(d): State<Strict>, Json(body): Json<Value>) -> Response {
    *d.attempts.lock().unwrap() += 1;
    let hold = *d.hold.lock().unwrap();
    if let Some(hold) = hold {
        tokio::time::sleep(hold).await;
    }
    let users: Vec<&str> =
        body["allowed_mentions"]["users"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    let mut unique = users.clone();
    unique.sort_unstable();
    unique.dedup();
    let full = d.accept_only.lock().unwrap().is_some_and(|n| d.delivered.lock().unwrap().len() >= n);
    if unique.len() != users.len() || full {
        let error = json!({"code": 50035, "message": "Invalid Form Body"});
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    }
    d.delivered.lock().unwrap().push(body);
    StatusCode::NO_CONTENT.into_response()
}

async fn strict_discord() -> (Fake, Strict) {
    let d = Strict::default();
    let router = axum::Router::new().route("/api/webhooks/42/s3cr3t-token", post(strict_webhook)).with_state(d.clone());
    (Fake::start(router).await, d)
}

/// Waits (real time, up to 10 s) until the notifier has planned for the clock's time and
/// delivered what it started.
async fn settled(app: &TestApp) {
    let now = app.state.clock.now();
    let mut planned = app.state.notifier.planned();
    let done = planned.wait_for(|&(_, at)| at >= now);
    tokio::time::timeout(Duration::from_secs(10), done).await.expect("the planner catches up").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.state.notifier.pending() > 0 {
        assert!(Instant::now() < deadline, "deliveries finish");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn states(app: &TestApp) -> Vec<(String, String)> {
    let conn = app.sql();
    let mut st = conn
        .prepare("SELECT u.username, n.state FROM notifications n JOIN users u ON u.id = n.user_id ORDER BY u.username")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[tokio::test]
async fn an_id_two_accounts_share_is_mentioned_once_and_both_are_told() {
    let (game, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let (discord, d) = strict_discord().await;
    let clock = Clock::manual(t0());
    let app = spawn_notifying(&game, &discord, &clock, None).await;
    poll_now(&app.state).await;
    let id = "123456789012345678";
    for (name, field) in [("main", id.to_owned()), ("alt", format!("<@{id}>")), ("bob", String::new())] {
        let token = player(&app, name, &field).await;
        alarm(&app, &token, 205, true).await;
    }
    // (No poll: the fake still reports t0's state, a restart of the map 900 s later.)
    advance_to(&clock, 900);
    settled(&app).await;
    let got = d.delivered();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["allowed_mentions"]["users"], json!([id]));
    assert_eq!(got[0]["content"].as_str().unwrap().matches(id).count(), 1);
    assert_eq!(
        states(&app),
        [("alt".into(), "sent".into()), ("bob".into(), "sent".into()), ("main".into(), "sent".into())]
    );
}

#[tokio::test]
async fn each_message_records_its_own_accounts() {
    let (game, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let (discord, d) = strict_discord().await;
    let clock = Clock::manual(t0());
    let app = spawn_notifying(&game, &discord, &clock, None).await;
    poll_now(&app.state).await;
    // 105 players with Discord ids (inserted directly: registering them would hash 105
    // passwords) set an alarm on 205: two messages (at most 2,000 characters each), the second
    // one is refused.
    {
        let conn = app.sql();
        for i in 0..105 {
            let name = format!("p{i:03}");
            conn.execute(
                "INSERT INTO users (username, username_key, password, mail) VALUES (?1, ?1, 'x', '')",
                [&name],
            )
            .unwrap();
            let user = conn.last_insert_rowid();
            let discord = format!("{}", 100_000_000_000_000_000i64 + i);
            conn.execute("INSERT INTO user_fields (user_id, discord_handle) VALUES (?1, ?2)", (user, discord)).unwrap();
            conn.execute(
                "INSERT INTO alarms (user_id, map_id) SELECT ?1, m.id FROM maps m JOIN events e ON e.id = m.event_id \
                 WHERE e.type = 'KK' AND e.edition = 7 AND m.kacky_id_int = 205",
                [user],
            )
            .unwrap();
        }
    }
    *d.accept_only.lock().unwrap() = Some(1);
    // (No poll: the fake still reports t0's state, a restart of the map 900 s later.)
    advance_to(&clock, 900);
    settled(&app).await;
    let got = d.delivered();
    assert_eq!(got.len(), 1, "{:?} {:?}", states(&app), app.get("/healthz").await);
    let told: Vec<String> = got[0]["allowed_mentions"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    assert!((50..=100).contains(&told.len()), "as many as fit in one message: {}", told.len());
    let rows = states(&app);
    assert_eq!(rows.len(), 105);
    for (name, state) in rows {
        let i: i64 = name[1..].parse().unwrap();
        let mentioned = told.contains(&format!("{}", 100_000_000_000_000_000i64 + i));
        assert_eq!(state, if mentioned { "sent" } else { "failed" }, "{name}");
    }
    let (_, health) = app.get("/healthz").await;
    assert!(health["notifier"]["last_error"].as_str().unwrap().contains("400"), "{health}");
}

#[tokio::test]
async fn a_delivery_in_flight_at_shutdown_finishes_first() {
    let (game, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let (discord, d) = strict_discord().await;
    let clock = Clock::manual(t0());
    let app = spawn_notifying(&game, &discord, &clock, None).await;
    poll_now(&app.state).await;
    let token = player(&app, "hunter", "123456789012345678").await;
    alarm(&app, &token, 205, true).await;
    *d.hold.lock().unwrap() = Some(Duration::from_secs(2));
    advance_to(&clock, 900);
    let deadline = Instant::now() + Duration::from_secs(10);
    while *d.attempts.lock().unwrap() == 0 {
        assert!(Instant::now() < deadline, "the message is on its way");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let conn = app.sql();
    let dir = app.stop().await;
    assert_eq!(d.delivered().len(), 1, "the POST under way was answered before the process ended");
    let state: String = conn.query_row("SELECT state FROM notifications", [], |r| r.get(0)).unwrap();
    assert_eq!(state, "sent");
    drop(dir);
}
