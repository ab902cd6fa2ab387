//! Alarm notifications through a fake Discord webhook on 127.0.0.1 (answering 204, 429 with
//! `retry_after`, 500, or hanging), with the fake game-server API and a manual clock; and the
//! bot API `/alarms/upcoming`.

use std::collections::VecDeque;
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

use crate::common::{spawn_with, Fake, Options, TestApp, SECRETS};
use crate::live::{answer, fake_gameserver, t0, SERVERS};

/// What the fake Discord does with the next POST (then 204 for the rest).
#[derive(Clone)]
enum Reply {
    RateLimited(f64),
    Status(u16),
    Hang(Duration),
}

#[derive(Clone, Default)]
pub(crate) struct Discord {
    script: Arc<Mutex<VecDeque<Reply>>>,
    /// Bodies Discord accepted.
    delivered: Arc<Mutex<Vec<Value>>>,
    attempts: Arc<Mutex<usize>>,
}

impl Discord {
    fn then(&self, reply: Reply) {
        self.script.lock().unwrap().push_back(reply);
    }
    pub(crate) fn delivered(&self) -> Vec<Value> {
        self.delivered.lock().unwrap().clone()
    }
    fn attempts(&self) -> usize {
        *self.attempts.lock().unwrap()
    }
}

async fn webhook(State(d): State<Discord>, Json(body): Json<Value>) -> Response {
    *d.attempts.lock().unwrap() += 1;
    let reply = d.script.lock().unwrap().pop_front();
    match reply {
        None => {
            d.delivered.lock().unwrap().push(body);
            StatusCode::NO_CONTENT.into_response()
        }
        Some(Reply::RateLimited(s)) => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"message": "You are being rate limited.", "retry_after": s, "global": false})),
        )
            .into_response(),
        Some(Reply::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
        Some(Reply::Hang(wait)) => {
            tokio::time::sleep(wait).await;
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

pub(crate) async fn fake_discord() -> (Fake, Discord) {
    let d = Discord::default();
    let router = axum::Router::new().route("/api/webhooks/42/s3cr3t-token", post(webhook)).with_state(d.clone());
    (Fake::start(router).await, d)
}

/// A live KK7 event at `t0` (server 1 plays 203 for 300 s already, 15-minute maps 201–206;
/// server 2 plays 230 for 60 s, 10-minute maps 230–232), notifying 10 minutes ahead.
pub(crate) async fn spawn_notifying(
    game: &Fake,
    discord: &Fake,
    clock: &Clock,
    dir: Option<tempfile::TempDir>,
) -> TestApp {
    spawn_notifying_with(game, discord, clock, dir, "", "").await
}

/// [`spawn_notifying`] with more config.yaml and secrets.yaml lines.
pub(crate) async fn spawn_notifying_with(
    game: &Fake,
    discord: &Fake,
    clock: &Clock,
    dir: Option<tempfile::TempDir>,
    extra_config: &str,
    extra_secrets: &str,
) -> TestApp {
    let config = format!(
        "eventtype: KK\nedition: 7\ncompstart: 2024-05-31T12:00:00Z\ncompend: 2024-06-03T12:00:00Z\nmap_change_s: 0\n\
         gameserver_api_url: {}/api/\npoll_interval_s: 3600\nalarm_lead_minutes: 10\n{extra_config}",
        game.base
    );
    let secrets = format!(
        "{SECRETS}discord_webhook_url: {}/api/webhooks/42/s3cr3t-token\nbot_api_token: bot-token-123\n{extra_secrets}",
        discord.base
    );
    let app =
        spawn_with(Options { config: &config, secrets: &secrets, servers: Some(SERVERS), clock: clock.clone(), dir })
            .await;
    while app.state.live.snapshot().last_poll.is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app
}

pub(crate) async fn alarm(app: &TestApp, token: &str, map: i64, on: bool) {
    let (s, b) = app.post_json("/spreadsheet/kk", json!({"mapid": map.to_string(), "alarm": on}), Some(token)).await;
    assert_eq!(s, 200, "{b}");
}

pub(crate) async fn player(app: &TestApp, name: &str, discord: &str) -> String {
    let token = app.register_login(name, "password1").await;
    let (s, _) = app.post_json("/usermgnt", json!({"discord": discord}), Some(&token)).await;
    assert_eq!(s, 200);
    token
}

/// Waits up to `wait` for `n` delivered messages; then checks no more arrive for a moment.
pub(crate) async fn expect_messages(d: &Discord, n: usize, wait: Duration) -> Vec<Value> {
    let deadline = Instant::now() + wait;
    while d.delivered().len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = d.delivered();
    assert_eq!(got.len(), n, "{got:#?}");
    got
}

pub(crate) fn advance_to(clock: &Clock, offset_s: i64) {
    clock.set(t0() + chrono::Duration::seconds(offset_s));
}

#[tokio::test]
async fn one_message_per_play_once_across_restarts() {
    let (game, script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let (discord, d) = fake_discord().await;
    let clock = Clock::manual(t0());
    let app = spawn_notifying(&game, &discord, &clock, None).await;
    poll_now(&app.state).await;
    let sent = crate::metrics::recorded(r#"kacky_notifier_deliveries_total{outcome="sent"}"#);
    let hunter = player(&app, "hunter", "<@!123456789012345678>").await;
    let bob = player(&app, "bob", "bob#1234").await;
    let (_, profile) = app.get_auth("/usermgnt", &hunter).await;
    assert_eq!(profile["discord"], "123456789012345678", "a pasted mention is stored as the id");
    // 205 starts at +1500 on server 1: both players, one message at +900.
    alarm(&app, &hunter, 205, true).await;
    alarm(&app, &bob, 205, true).await;
    // An alarm removed before the lead time sends nothing (201 starts at +3300).
    alarm(&app, &bob, 201, true).await;
    alarm(&app, &bob, 201, false).await;

    advance_to(&clock, 899);
    expect_messages(&d, 0, Duration::from_millis(200)).await;
    advance_to(&clock, 900);
    let got = expect_messages(&d, 1, Duration::from_secs(3)).await;
    let content = got[0]["content"].as_str().unwrap();
    let start = (t0() + chrono::Duration::seconds(1500)).timestamp();
    assert!(content.contains("**KK7** map **#205** by "), "{content}");
    assert!(content.contains("server 1 (white)") && content.contains(&format!("<t:{start}:R>")), "{content}");
    assert!(content.contains("<@123456789012345678>") && content.contains("Also alarmed: bob"), "{content}");
    assert_eq!(got[0]["allowed_mentions"], json!({"parse": [], "users": ["123456789012345678"]}));
    assert!(crate::metrics::recorded(r#"kacky_notifier_deliveries_total{outcome="sent"}"#) > sent, "counted as sent");

    // The health check shows it, never the URL.
    let (_, health) = app.get("/healthz").await;
    let notifier = &health["notifier"];
    assert_eq!((notifier["enabled"].as_bool(), notifier["pending"].as_i64()), (Some(true), Some(0)));
    assert_eq!(notifier["last_sent"], "2024-06-01T12:15:00Z");
    assert!(!health.to_string().contains("s3cr3t"), "{health}");

    // A restart sends nothing twice, even though the play is still ahead and its reminder
    // time has passed; the servers report a start 5 s off the projection (still the same play).
    advance_to(&clock, 1000);
    let dir = app.stop().await;
    script.set(answer((204, 395), (231, 460)));
    let app = spawn_notifying(&game, &discord, &clock, Some(dir)).await;
    poll_now(&app.state).await;
    expect_messages(&d, 1, Duration::from_millis(800)).await;

    // 201's lead time passes: nothing (its alarm was removed).
    advance_to(&clock, 2800);
    expect_messages(&d, 1, Duration::from_millis(300)).await;

    // A play whose start passed while the backend was down is skipped, not sent late: 202
    // starts at +4200 (reminder at +3600); the backend is down from +2800 to +4300.
    let hunter = app.login("hunter", "password1").await;
    alarm(&app, &hunter, 202, true).await;
    let dir = app.stop().await;
    advance_to(&clock, 4300);
    script.set(answer((202, 95), (231, 160)));
    let app = spawn_notifying(&game, &discord, &clock, Some(dir)).await;
    poll_now(&app.state).await;
    expect_messages(&d, 1, Duration::from_millis(800)).await;

    // An alarm set inside the lead time rings at once: 203 comes at +5100 (reminder +4500).
    advance_to(&clock, 4600);
    expect_messages(&d, 1, Duration::from_millis(300)).await;
    alarm(&app, &hunter, 203, true).await;
    let got = expect_messages(&d, 2, Duration::from_secs(3)).await;
    assert!(got[1]["content"].as_str().unwrap().contains("#203"), "{}", got[1]);
    let stored: i64 =
        app.sql().query_row("SELECT COUNT(*) FROM notifications WHERE state = 'sent'", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 3, "hunter and bob for 205, hunter for 203");
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_and_a_hang_stalls_nothing_else() {
    let (game, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let (discord, d) = fake_discord().await;
    let clock = Clock::manual(t0());
    let app = spawn_notifying(&game, &discord, &clock, None).await;
    poll_now(&app.state).await;
    let p = player(&app, "p", "223456789012345678").await;
    // 232 on server 2 starts at +1140 (reminder +540); 205 on server 1 at +1500 (+900);
    // 206 at +2400 (+1800).
    for map in [232, 205, 206] {
        alarm(&app, &p, map, true).await;
    }
    // 232's first POST hangs beyond the 10 s timeout; 205 still goes out meanwhile.
    d.then(Reply::Hang(Duration::from_secs(15)));
    advance_to(&clock, 540);
    tokio::time::sleep(Duration::from_millis(300)).await;
    advance_to(&clock, 900);
    let got = expect_messages(&d, 1, Duration::from_secs(3)).await;
    assert!(got[0]["content"].as_str().unwrap().contains("#205"), "the hang delays nothing else: {}", got[0]);
    let (_, health) = app.get("/healthz").await;
    assert_eq!(health["notifier"]["pending"], 1, "{health}");
    // After the timeout 232 is retried and arrives (its play has not started).
    let got = expect_messages(&d, 2, Duration::from_secs(20)).await;
    assert!(got[1]["content"].as_str().unwrap().contains("#232"), "{}", got[1]);

    // 206: a 429 (waits retry_after), then a 500 (backs off), then delivered, once.
    d.then(Reply::RateLimited(0.2));
    d.then(Reply::Status(500));
    let attempts = d.attempts();
    advance_to(&clock, 1800);
    let got = expect_messages(&d, 3, Duration::from_secs(10)).await;
    assert!(got[2]["content"].as_str().unwrap().contains("#206"));
    assert_eq!(d.attempts() - attempts, 3);
    let (_, health) = app.get("/healthz").await;
    assert!(health["notifier"]["last_error"].as_str().unwrap().contains("500"), "{health}");
    assert!(!health.to_string().contains("s3cr3t"));
}

#[tokio::test]
async fn bot_api_lists_upcoming_alarms_behind_its_token() {
    let (game, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let (discord, _d) = fake_discord().await;
    let clock = Clock::manual(t0());
    let app = spawn_notifying(&game, &discord, &clock, None).await;
    poll_now(&app.state).await;
    let hunter = player(&app, "hunter", "123456789012345678").await;
    alarm(&app, &hunter, 204, true).await;
    alarm(&app, &hunter, 232, true).await;

    let get = |path: &str, token: Option<&str>| {
        let mut req = app.client.get(app.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(get("/alarms/upcoming", None).await.0, 401);
    assert_eq!(get("/alarms/upcoming", Some("bot-token-12")).await.0, 401);
    let (status, body) = get("/alarms/upcoming", Some("bot-token-123")).await;
    assert_eq!(status, 200);
    // Within the default 600 s: 204 at +600 only (232 is at +1140).
    assert_eq!(
        body,
        json!([{"kacky_id": 204, "server": 1, "play": 3, "start": "2024-06-01T12:10:00Z", "end": "2024-06-01T12:25:00Z",
                "users": [{"name": "hunter", "discord": "123456789012345678"}]}])
    );
    let (_, body) = get("/alarms/upcoming?within=1200", Some("bot-token-123")).await;
    assert_eq!(
        body.as_array().unwrap().iter().map(|p| p["kacky_id"].as_i64().unwrap()).collect::<Vec<_>>(),
        [204, 232]
    );
    for bad in ["0", "86401", "x"] {
        let (status, body) = get(&format!("/alarms/upcoming?within={bad}"), Some("bot-token-123")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["msg"].as_str().unwrap().contains("within"));
    }
    // Without a configured token the endpoint does not exist.
    let plain = crate::common::spawn().await;
    let r = plain.client.get(plain.url("/alarms/upcoming")).bearer_auth("anything").send().await.unwrap();
    assert_eq!(r.status(), 404);
}
