//! The finish feed against a fake records API whose answers change between polls (a new
//! finish, a better PB, milestones, an outage, world records on the leaderboards) and a fake
//! Discord webhook, on the manual clock: every happening appears once in `/finishes`, once on
//! `/live` and once on Discord, none after a restart, and the request budget holds in clock
//! time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Json;
use chrono::{DateTime, Utc};
use kacky_backend::clock::Clock;
use serde_json::{json, Value};

use crate::admin::admin_token;
use crate::common::{spawn_with, Fake, Options, TestApp, SECRETS};
use crate::live::t0;
use crate::schedule::Sse;

/// A request as the fake saw it: the clock time it arrived at and its path with the query.
type Hit = (DateTime<Utc>, String);

/// The fake records API: personal bests by login, leaderboards by kacky id, an outage switch,
/// and every request with the clock time it arrived at.
#[derive(Clone)]
pub(crate) struct Records {
    clock: Clock,
    pbs: Arc<Mutex<HashMap<String, Value>>>,
    boards: Arc<Mutex<HashMap<i64, Value>>>,
    down: Arc<AtomicBool>,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Records {
    pub(crate) fn set_pbs(&self, login: &str, pbs: Value) {
        self.pbs.lock().unwrap().insert(login.into(), pbs);
    }
    pub(crate) fn set_board(&self, id: i64, board: Value) {
        self.boards.lock().unwrap().insert(id, board);
    }
    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
    fn polls_of(&self, login: &str) -> usize {
        self.hits().iter().filter(|(_, p)| p.starts_with(&format!("/pb/{login}/"))).count()
    }
}

async fn records_answer(State(r): State<Records>, OriginalUri(uri): OriginalUri) -> Response {
    r.hits.lock().unwrap().push((r.clock.now(), uri.to_string()));
    if r.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response();
    }
    let parts: Vec<&str> = uri.path().split('/').collect();
    match parts.as_slice() {
        ["", "pb", login, _, _] => {
            Json(r.pbs.lock().unwrap().get(*login).cloned().unwrap_or(json!({}))).into_response()
        }
        ["", "leaderboard", "kr", id] => {
            let id: i64 = id.parse().unwrap();
            Json(r.boards.lock().unwrap().get(&id).cloned().unwrap_or(json!([]))).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "no").into_response(),
    }
}

pub(crate) async fn fake_records(clock: &Clock) -> (Fake, Records) {
    let r = Records {
        clock: clock.clone(),
        pbs: Arc::default(),
        boards: Arc::default(),
        down: Arc::default(),
        hits: Arc::default(),
    };
    (Fake::start(axum::Router::new().fallback(records_answer).with_state(r.clone())).await, r)
}

/// The fake Discord: the finish webhook, keeping what it accepted.
#[derive(Clone, Default)]
pub(crate) struct Discord {
    pub(crate) delivered: Arc<Mutex<Vec<Value>>>,
}

impl Discord {
    /// Every line posted, in order.
    pub(crate) fn lines(&self) -> Vec<String> {
        let bodies = self.delivered.lock().unwrap().clone();
        bodies
            .iter()
            .flat_map(|b| b["content"].as_str().unwrap().lines().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    }
}

async fn webhook(State(d): State<Discord>, Json(body): Json<Value>) -> StatusCode {
    d.delivered.lock().unwrap().push(body);
    StatusCode::NO_CONTENT
}

pub(crate) async fn fake_discord() -> (Fake, Discord) {
    let d = Discord::default();
    let router = axum::Router::new().route("/api/webhooks/7/finish-token", post(webhook)).with_state(d.clone());
    (Fake::start(router).await, d)
}

/// An event live at `t0` following the fake records API, posting to the fake webhook.
pub(crate) async fn spawn_feed(
    event: &str,
    records: &Fake,
    discord: &Fake,
    clock: &Clock,
    extra: &str,
    dir: Option<tempfile::TempDir>,
) -> TestApp {
    spawn_feed_with(event, records, discord, clock, extra, "", dir).await
}

/// [`spawn_feed`] with more secrets.yaml lines.
pub(crate) async fn spawn_feed_with(
    event: &str,
    records: &Fake,
    discord: &Fake,
    clock: &Clock,
    extra: &str,
    extra_secrets: &str,
    dir: Option<tempfile::TempDir>,
) -> TestApp {
    let config = format!(
        "{event}\ncompstart: 2024-05-31T12:00:00Z\ncompend: 2024-06-03T12:00:00Z\nrecords_api_url: {}\n{extra}",
        records.base
    );
    let secrets =
        format!("{SECRETS}discord_finish_webhook_url: {}/api/webhooks/7/finish-token\n{extra_secrets}", discord.base);
    spawn_with(Options { config: &config, secrets: &secrets, servers: None, clock: clock.clone(), dir }).await
}

/// Moves the clock one second (a request slot at 60 a minute) and waits for the follower's
/// request, if it has one to make (up to `wait`).
async fn step(clock: &Clock, r: &Records, wait: Duration) {
    let before = r.hits().len();
    clock.advance(chrono::Duration::seconds(1));
    let deadline = Instant::now() + wait;
    while r.hits().len() == before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Slots until each login was polled once more.
pub(crate) async fn poll_each(clock: &Clock, r: &Records, logins: &[&str]) {
    let before: Vec<usize> = logins.iter().map(|l| r.polls_of(l)).collect();
    for _ in 0..100 {
        if logins.iter().zip(&before).all(|(l, b)| r.polls_of(l) > *b) {
            // Let the poll's outcome be stored.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return;
        }
        step(clock, r, Duration::from_secs(2)).await;
    }
    panic!("{logins:?} not polled: {:?}", r.hits());
}

/// The happenings in `/finishes` (all of them), once `n` are there.
pub(crate) async fn finishes(app: &TestApp, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (s, body) = app.get("/finishes?limit=500").await;
        assert_eq!(s, 200, "{body}");
        let items = body["items"].as_array().unwrap().clone();
        if items.len() >= n || Instant::now() > deadline {
            assert_eq!(items.len(), n, "{items:#?}");
            return items;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn summary(items: &[Value]) -> Vec<(String, String, Value, Value)> {
    items
        .iter()
        .map(|i| {
            let kind = i["type"].as_str().unwrap().to_owned();
            let detail = if kind == "milestone" { i["count"].clone() } else { i["kacky_id"].clone() };
            (kind, i["login"].as_str().unwrap().to_owned(), detail, i["score"].clone())
        })
        .collect()
}

const KK7: &str = "eventtype: KK\nedition: 7";

#[tokio::test]
async fn each_happening_once_in_the_feed_on_live_and_on_discord_also_after_a_restart() {
    const SENT: &str = r#"kacky_finish_feed_deliveries_total{outcome="sent"}"#;
    let sent_before = crate::metrics::recorded(SENT);
    let clock = Clock::manual(t0());
    let (records, r) = fake_records(&clock).await;
    let (discord, d) = fake_discord().await;
    r.set_pbs("hunter_tm", json!({"201": {"score": 30_000, "kacky_rank": 5, "date": 1.7e9}, "202": {"score": 40_000, "kacky_rank": 9, "date": 1.7e9}}));
    let extra = "records_rate_per_min: 60\nfinish_milestones: [3, 5]\n";
    let app = spawn_feed(KK7, &records, &discord, &clock, extra, None).await;
    let mut live = Sse::connect(&app).await;

    // An account opts in with its TMNF login; an admin follows a streamer without an account.
    let hunter = app.register_login("hunter", "password1").await;
    let (s, _) = app.post_json("/usermgnt", json!({"tmnf": "hunter_tm", "finish_feed": true}), Some(&hunter)).await;
    assert_eq!(s, 200);
    let (_, profile) = app.get_auth("/usermgnt", &hunter).await;
    assert_eq!((profile["finish_feed"].as_bool(), profile["discord_link"].is_null()), (Some(true), true));
    let admin = admin_token(&app, "boss").await;
    let followed = json!({"logins": [" streamer ", "streamer"]});
    let answer = app.send_json(reqwest::Method::PUT, "/manage/followed", followed, Some(&admin)).await;
    assert_eq!(answer, (200, json!({"logins": ["streamer"], "accounts": 1})));
    assert_eq!(app.get_auth("/manage/followed", &admin).await, answer);
    assert_eq!(app.get_auth("/manage/followed", &hunter).await.0, 401, "admins only");

    // First polls only learn: nothing that was done before is announced.
    poll_each(&clock, &r, &["hunter_tm", "streamer"]).await;
    finishes(&app, 0).await;

    // Between polls: hunter improves 201 and finishes 203 (their third map: milestone 3), the
    // streamer finishes 250.
    r.set_pbs("hunter_tm", json!({"201": {"score": 29_500, "kacky_rank": 4, "date": 1.7e9}, "202": {"score": 40_000, "kacky_rank": 8, "date": 1.7e9}, "203": {"score": 55_000, "kacky_rank": 2, "date": 1.7e9}}));
    r.set_pbs("streamer", json!({"250": {"score": 61_000, "kacky_rank": 1, "date": 1.7e9}}));
    poll_each(&clock, &r, &["hunter_tm", "streamer"]).await;
    // The same answers again are no news.
    poll_each(&clock, &r, &["hunter_tm", "streamer"]).await;
    let items = finishes(&app, 4).await;
    let mut got = summary(&items);
    got.sort_by_key(|g| format!("{g:?}"));
    let mut want: Vec<(String, String, Value, Value)> = vec![
        ("finish".into(), "hunter_tm".into(), json!(203), json!(55_000)),
        ("finish".into(), "streamer".into(), json!(250), json!(61_000)),
        ("milestone".into(), "hunter_tm".into(), json!(3), Value::Null),
        ("pb".into(), "hunter_tm".into(), json!(201), json!(29_500)),
    ];
    want.sort_by_key(|g| format!("{g:?}"));
    assert_eq!(got, want);
    let pb = items.iter().find(|i| i["type"] == "pb").unwrap();
    assert_eq!(
        (pb["previous_score"].as_i64(), pb["rank"].as_i64(), pb["count"].is_null()),
        (Some(30_000), Some(4), true)
    );
    let fin = items.iter().find(|i| i["kacky_id"] == 203).unwrap();
    assert_eq!(fin["count"], 3);
    assert!(items.windows(2).all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()), "oldest first");

    // An outage: the polls fail, nothing is announced, /healthz says why.
    r.down.store(true, Ordering::SeqCst);
    r.set_pbs("hunter_tm", json!({"201": {"score": 29_500, "kacky_rank": 4}, "202": {"score": 40_000, "kacky_rank": 8}, "203": {"score": 55_000, "kacky_rank": 2}, "204": {"score": 70_000, "kacky_rank": 3}, "205": {"score": 80_000, "kacky_rank": 6}}));
    poll_each(&clock, &r, &["hunter_tm", "streamer"]).await;
    finishes(&app, 4).await;
    let (_, health) = app.get("/healthz").await;
    let feed = &health["finishes"];
    assert!(feed["last_error"].as_str().unwrap().contains("503"), "{feed}");
    assert_eq!((feed["running"].as_bool(), feed["following"].as_i64()), (Some(true), Some(2)));
    let timeout = kacky_backend::records::TIMEOUT.as_secs();
    let worst = json!({"finish": 2 + timeout, "wr": 0});
    assert_eq!(feed["worst_case_delay_s"], worst, "2 players at one request a second, plus a request's timeout");
    assert!(!health.to_string().contains("finish-token"), "{health}");
    // Back up: what happened meanwhile comes once (two finishes, milestone 5); an answer
    // missing maps later is no news.
    r.down.store(false, Ordering::SeqCst);
    poll_each(&clock, &r, &["hunter_tm"]).await;
    r.set_pbs("streamer", json!({}));
    poll_each(&clock, &r, &["hunter_tm", "streamer"]).await;
    let items = finishes(&app, 7).await;
    let tail: Vec<_> = summary(&items[4..]).into_iter().map(|(k, _, d, _)| (k, d)).collect();
    assert_eq!(
        tail,
        vec![("finish".into(), json!(204)), ("finish".into(), json!(205)), ("milestone".into(), json!(5))]
    );

    // Paging and filters.
    let (_, page) = app.get(&format!("/finishes?since={}&limit=2", items[1]["id"])).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["next"], items[3]["id"]);
    let (_, mine) = app.get("/finishes?login=HUNTER_TM&type=finish").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 3);
    let (_, milestones) = app.get("/finishes?type=milestone").await;
    let counts: Vec<&Value> = milestones["items"].as_array().unwrap().iter().map(|i| &i["count"]).collect();
    assert_eq!(counts, [&json!(3), &json!(5)]);
    let (_, none) = app.get(&format!("/finishes?since={}", items[6]["id"])).await;
    assert_eq!(none, json!({"items": [], "next": items[6]["id"]}));
    for bad in ["since=-1", "limit=0", "limit=501", "type=dnf", "since=x"] {
        let (s, body) = app.get(&format!("/finishes?{bad}")).await;
        assert_eq!(s, 400, "{bad}: {body}");
        assert!(body["msg"].is_string());
    }

    // /live had each item once, in order, as `event: finish`.
    let mut streamed = Vec::new();
    while let Some(item) = live.event("finish", Duration::from_millis(500)).await {
        streamed.push(item);
    }
    assert_eq!(streamed, items);

    // Discord had each once (batched), no more after a restart.
    let deadline = Instant::now() + Duration::from_secs(5);
    while d.lines().len() < 7 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lines = d.lines();
    assert_eq!(lines.len(), 7, "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("**hunter\\_tm** finished **#203** in 0:55.000 (rank 2)")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("**hunter\\_tm** has finished **5** maps of KK7")), "{lines:#?}");
    let (_, health) = app.get("/healthz").await;
    let posted = &health["finishes"]["discord"];
    assert_eq!((posted["enabled"].as_bool(), posted["pending"].as_i64()), (Some(true), Some(0)), "{posted}");
    assert!(posted["last_sent"].is_string(), "{posted}");
    assert!(crate::metrics::recorded(SENT) >= sent_before + 1.0, "the deliveries are counted");
    let dir = app.stop().await;
    let app = spawn_feed(KK7, &records, &discord, &clock, extra, Some(dir)).await;
    poll_each(&clock, &r, &["hunter_tm", "streamer"]).await;
    poll_each(&clock, &r, &["hunter_tm", "streamer"]).await;
    finishes(&app, 7).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(d.lines().len(), 7);
    let sent: i64 =
        app.sql().query_row("SELECT COUNT(*) FROM finish_events WHERE discord = 'sent'", [], |r| r.get(0)).unwrap();
    assert_eq!(sent, 7);
}

/// The budget holds in clock time: at 6 requests a minute, two minutes of clock time (in
/// one-second steps) bring at most 6 requests per minute, shared in turns between the
/// player and the world-record look-ups; nothing is sent while the clock stands still.
#[tokio::test]
async fn the_request_budget_holds_and_is_shared_round_robin() {
    let clock = Clock::manual(t0());
    let (records, r) = fake_records(&clock).await;
    let (discord, _d) = fake_discord().await;
    let app =
        spawn_feed("eventtype: KR\nedition: 4", &records, &discord, &clock, "records_rate_per_min: 6\n", None).await;
    let admin = admin_token(&app, "boss").await;
    let (s, _) =
        app.send_json(reqwest::Method::PUT, "/manage/followed", json!({"logins": ["solo"]}), Some(&admin)).await;
    assert_eq!(s, 200);
    // The fake notes the clock time a request arrives; the test waits for it before moving
    // on (up to 150 ms; a late one is noted a second late at most).
    for _ in 0..120 {
        step(&clock, &r, Duration::from_millis(150)).await;
    }
    let before = r.hits().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.hits().len(), before, "nothing is sent while the clock stands still");
    let hits = r.hits();
    assert!((11..=13).contains(&hits.len()), "121 s at one request every 10 s: {hits:?}");
    for w in hits.windows(2) {
        assert!(w[1].0 - w[0].0 >= chrono::Duration::seconds(9), "{hits:?}");
    }
    // Turns: after the first walk, the player and the look-ups alternate.
    let kinds: Vec<bool> = hits.iter().map(|(_, p)| p.starts_with("/pb/solo/KR/4")).collect();
    assert!(kinds.iter().filter(|k| **k).count() >= 5, "{hits:?}");
    assert!(kinds.windows(2).skip(1).all(|w| w[0] != w[1]), "{hits:?}");
    assert!(hits.iter().any(|(_, p)| p == "/leaderboard/kr/226?positions=1"), "{hits:?}");
    let (_, health) = app.get("/healthz").await;
    let feed = &health["finishes"];
    assert!(feed["requests_last_minute"].as_i64().unwrap() <= 6, "{feed}");
    assert_eq!((feed["following"].as_i64(), feed["wr_maps"].as_i64()), (Some(1), Some(75)));
    // One player beside 75 look-ups at one request every 10 s: 2 x 10 s; the maps 2 x 75 x 10 s
    // (each plus a request's timeout).
    let timeout = kacky_backend::records::TIMEOUT.as_secs();
    assert_eq!(feed["worst_case_delay_s"], json!({"finish": 20 + timeout, "wr": 1500 + timeout}));
}

/// KR world records come from the per-map leaderboards: a better one updates the sheet,
/// `/mapinfo`, the WR leaderboard and becomes a `wr` happening; a worse one changes nothing.
#[tokio::test]
async fn leaderboard_records_update_the_sheet_and_the_feed() {
    let clock = Clock::manual(t0());
    let (records, r) = fake_records(&clock).await;
    let (discord, d) = fake_discord().await;
    let app =
        spawn_feed("eventtype: KR\nedition: 4", &records, &discord, &clock, "records_rate_per_min: 600\n", None).await;
    let (_, before) = app.get("/mapinfo/kr/226").await;
    let (_, other) = app.get("/mapinfo/kr/227").await;
    let (old, old_other) = (before["wr_score"].as_i64().unwrap(), other["wr_score"].as_i64().unwrap());
    r.set_board(226, json!([{"date": "2024-06-01T11:59:00", "login": "abc123", "nickname": "$f00New", "rank": 1, "score": old - 100, "uplay": "NewGuy"}]));
    r.set_board(227, json!([{"date": "2024-06-01T11:59:00", "login": "def456", "nickname": "slow", "rank": 1, "score": old_other + 100, "uplay": "Slowpoke"}]));
    // One walk over the 75 maps from here (no players: every slot is a look-up; 600 a minute
    // = 0.1 s); the follower may have started one before the boards were set.
    let start = r.hits().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while r.hits()[start..].iter().filter(|(_, p)| p.starts_with("/leaderboard/kr/300")).count() < 2 {
        assert!(Instant::now() < deadline, "{:?}", r.hits());
        let n = r.hits().len();
        clock.advance(chrono::Duration::milliseconds(100));
        while r.hits().len() == n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let items = finishes(&app, 1).await;
    assert_eq!(items[0]["type"], "wr");
    assert_eq!((items[0]["login"].as_str(), items[0]["kacky_id"].as_i64()), (Some("NewGuy"), Some(226)));
    assert_eq!((items[0]["score"].as_i64(), items[0]["previous_score"].as_i64()), (Some(old - 100), Some(old)));
    let (_, after) = app.get("/mapinfo/kr/226").await;
    assert_eq!((after["wr_score"].as_i64(), after["wr_holder"].as_str()), (Some(old - 100), Some("NewGuy")));
    let (_, unchanged) = app.get("/mapinfo/kr/227").await;
    assert_eq!(unchanged["wr_score"].as_i64(), Some(old_other));
    let (_, board) = app.get("/wrleaderboard/kr").await;
    assert!(board.as_array().unwrap().iter().any(|h| h["login"] == "NewGuy"), "{board}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while d.lines().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(d.lines()[0].contains("New world record on KR4 **#226**"), "{:?}", d.lines());
}
