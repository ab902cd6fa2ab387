//! The live event: a fake game-server API scripted by the test, the poller triggered with
//! `poll_now`, a manual clock, and `/dashboard`, `/spreadsheet`, `/event/nextrun`, `/healthz`
//! checked against the rotation math; plus linear playlists, start-up validation and the demo.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use kacky_backend::clock::Clock;
use kacky_backend::live::poll_now;
use serde_json::{json, Value};

use crate::binary::{command, start};
use crate::common::{spawn_with, write, Fake, Options, TestApp, SECRETS};

/// What the fake game-server API answers next.
#[derive(Clone)]
pub(crate) enum Answer {
    Json(Value),
    Status(u16),
    Garbage,
    /// Answers only after this long (longer than the client's timeout).
    Hang(Duration),
}

#[derive(Clone)]
pub(crate) struct Script {
    answer: Arc<Mutex<Answer>>,
    pub(crate) hits: Arc<AtomicUsize>,
    bad_password: Arc<AtomicUsize>,
}

impl Script {
    pub(crate) fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }
}

/// Checks the password like the real API, then answers as scripted.
async fn fake_api(State(s): State<Script>, Query(q): Query<HashMap<String, String>>) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    if q.get("password").map(String::as_str) != Some("pw") {
        s.bad_password.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::FORBIDDEN, "wrong password").into_response();
    }
    let answer = s.answer.lock().unwrap().clone();
    match answer {
        Answer::Json(v) => axum::Json(v).into_response(),
        Answer::Status(code) => (StatusCode::from_u16(code).unwrap(), "<h1>oops</h1>").into_response(),
        Answer::Garbage => "<html>this is not JSON".into_response(),
        Answer::Hang(d) => {
            tokio::time::sleep(d).await;
            axum::Json(json!({})).into_response()
        }
    }
}

pub(crate) async fn fake_gameserver(first: Answer) -> (Fake, Script) {
    let script = Script {
        answer: Arc::new(Mutex::new(first)),
        hits: Arc::new(AtomicUsize::new(0)),
        bad_password: Arc::new(AtomicUsize::new(0)),
    };
    let router = axum::Router::new().route("/api/", get(fake_api)).with_state(script.clone());
    (Fake::start(router).await, script)
}

/// A game-server entry with a `$`-formatted server and map name.
pub(crate) fn entry(map: i64, played: i64) -> Value {
    json!({"jukebox": [], "recently_played": ["uid1", "uid2"],
           "current_map": format!("$o$iKackiest Kacky $0f4#{map}"), "time_played": played.to_string()})
}

/// An answer for both servers: `(map, seconds played)` each.
pub(crate) fn answer(s1: (i64, i64), s2: (i64, i64)) -> Answer {
    Answer::Json(json!({
        "$o$i$f00Kackiest Kacky 7 - $fffServer 1": entry(s1.0, s1.1),
        "$o$iKackiest Kacky 7 - Server 2": entry(s2.0, s2.1),
    }))
}

/// Server 2 first, so the dashboard's number order is really checked.
pub(crate) const SERVERS: &str = "\"Kackiest Kacky 7 - Server 2\": {server_number: 2, difficulty: red, timelimit: 10, server_login: b, maps: [230, 231, 232]}\n\
\"Kackiest Kacky 7 - Server 1\": {server_number: 1, difficulty: white, timelimit: 15, server_login: a, maps: [201, 202, 203, 204, 205, 206]}\n";

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
}

/// compstart a day before `t0`, compend two days after.
fn compend() -> DateTime<Utc> {
    t0() + chrono::Duration::days(2)
}

/// A KK7 event live at `t0` polling the fake; `interval` also bounds the HTTP timeouts.
async fn spawn_live(fake: &Fake, clock: &Clock, interval: u64) -> TestApp {
    spawn_live_with(fake, clock, interval, "").await
}

/// [`spawn_live`] with more config.yaml lines. Its servers change maps instantly
/// (`map_change_s: 0`) unless `extra` says otherwise.
pub(crate) async fn spawn_live_with(fake: &Fake, clock: &Clock, interval: u64, extra: &str) -> TestApp {
    let change = if extra.contains("map_change_s") { "" } else { "map_change_s: 0\n" };
    let config = format!(
        "eventtype: KK\nedition: 7\ncompstart: 2024-05-31T12:00:00Z\ncompend: 2024-06-03T12:00:00Z\n{change}\
         gameserver_api_url: {}/api/\npoll_interval_s: {interval}\n{extra}",
        fake.base
    );
    let app = spawn_with(Options {
        config: &config,
        secrets: SECRETS,
        servers: Some(SERVERS),
        clock: clock.clone(),
        dir: None,
    })
    .await;
    wait_for_first_poll(&app).await;
    app
}

/// The poller polls once at start; wait for it so it cannot race the test's own polls.
pub(crate) async fn wait_for_first_poll(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.state.live.snapshot().last_poll.is_none() {
        assert!(Instant::now() < deadline, "no poll at start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `(number, [map ids], timeLeft)` per dashboard server.
async fn cards(app: &TestApp) -> Vec<(i64, Vec<i64>, i64)> {
    let (status, body) = app.get("/dashboard").await;
    assert_eq!(status, 200, "{body}");
    let servers = body["servers"].as_array().unwrap();
    servers
        .iter()
        .map(|s| {
            let maps = s["maps"].as_array().unwrap().iter().map(|m| m["number"].as_i64().unwrap()).collect();
            (s["serverNumber"].as_i64().unwrap(), maps, s["timeLeft"].as_i64().unwrap())
        })
        .collect()
}

async fn gameserver_health(app: &TestApp) -> Value {
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 200);
    body["gameserver"].clone()
}

fn advance(clock: &Clock, s: i64) {
    clock.advance(chrono::Duration::seconds(s));
}

#[tokio::test]
async fn dashboard_follows_the_game_servers_and_survives_upstream_trouble() {
    let (fake, script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live(&fake, &clock, 3600).await;
    poll_now(&app.state).await;

    let (status, body) = app.get("/dashboard").await;
    assert_eq!(status, 200);
    assert_eq!(body["comptimeLeft"], 2 * 86_400);
    let first = &body["servers"][0];
    assert_eq!((first["serverNumber"].as_i64(), first["serverDifficulty"].as_str()), (Some(1), Some("white")));
    assert_eq!((first["timeLimit"].as_i64(), first["timeLeft"].as_i64()), (Some(15), Some(600)));
    assert_eq!(first["maps"][0], json!({"author": "theinsan3", "difficulty": 0, "finished": false, "number": 203}));
    assert_eq!(body["servers"][1]["serverDifficulty"], "red");
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["maps", "serverDifficulty", "serverJoin", "serverNumber", "timeLeft", "timeLimit"]);
    assert_eq!(cards(&app).await, [(1, vec![203, 204, 205, 206], 600), (2, vec![230, 231, 232, 230], 540)]);

    // Between polls the countdowns and maps move by projection alone.
    advance(&clock, 700);
    assert_eq!(cards(&app).await, [(1, vec![204, 205, 206, 201], 800), (2, vec![231, 232, 230, 231], 440)]);
    // The servers report the switch a little differently; the poll wins. (Both switched a little
    // early, no change time to learn from: the slots stay the time limits.)
    script.set(answer((204, 105), (231, 170)));
    poll_now(&app.state).await;
    assert_eq!(cards(&app).await, [(1, vec![204, 205, 206, 201], 795), (2, vec![231, 232, 230, 231], 430)]);
    let health = gameserver_health(&app).await;
    assert_eq!((health["last_error"].clone(), health["servers"][0]["age_s"].clone()), (Value::Null, json!(0)));

    // Upstream failures: the last good state stays (and keeps counting down), errors show in /healthz.
    let failures = [
        (Answer::Status(500), "HTTP 500"),
        (Answer::Garbage, "not JSON"),
        (Answer::Json(json!({"$f00Some Other Server": entry(250, 1)})), "\"Some Other Server\""),
    ];
    for (i, (failure, expected)) in failures.into_iter().enumerate() {
        script.set(failure);
        advance(&clock, 60);
        poll_now(&app.state).await;
        let elapsed = 60 * (i as i64 + 1);
        assert_eq!(
            cards(&app).await,
            [(1, vec![204, 205, 206, 201], 795 - elapsed), (2, vec![231, 232, 230, 231], 430 - elapsed)]
        );
        let health = gameserver_health(&app).await;
        let error = health["last_error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains(expected), "{error} should mention {expected}");
        assert_eq!(health["servers"][0]["age_s"], elapsed);
        let (status, rows) = app.get("/spreadsheet").await;
        assert_eq!((status, rows.as_array().unwrap().len()), (200, 75));
    }
    let health = gameserver_health(&app).await;
    assert_eq!(health["servers"][1]["last_error"], "missing from the game-server answer");

    // One server reports an error entry: the other one updates, this one keeps its state.
    script.set(Answer::Json(json!({
        "Kackiest Kacky 7 - Server 1": entry(205, 10),
        "Kackiest Kacky 7 - Server 2": {"error": "Connection refused"},
    })));
    poll_now(&app.state).await;
    assert_eq!(cards(&app).await, [(1, vec![205, 206, 201, 202], 890), (2, vec![231, 232, 230, 231], 250)]);
    let health = gameserver_health(&app).await;
    assert!(health["servers"][1]["last_error"].as_str().unwrap().contains("Connection refused"), "{health}");
    assert_eq!((health["last_error"].clone(), health["servers"][0]["last_error"].clone()), (Value::Null, Value::Null));

    // Recovery: everything catches up.
    script.set(answer((206, 0), (232, 120)));
    poll_now(&app.state).await;
    assert_eq!(cards(&app).await, [(1, vec![206, 201, 202, 203], 900), (2, vec![232, 230, 231, 232], 480)]);
    let health = gameserver_health(&app).await;
    assert!(health["servers"].as_array().unwrap().iter().all(|s| s["last_error"].is_null() && s["age_s"] == 0));
    assert!(health["last_poll"].as_str().unwrap().starts_with("2024-06-01T12:"), "{health}");
    assert!(!health.to_string().contains("pw"), "the password never shows: {health}");
    assert!(script.hits.load(Ordering::SeqCst) >= 7);
    assert_eq!(script.bad_password.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn spreadsheet_and_nextrun_follow_the_rotation_math() {
    let (fake, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live(&fake, &clock, 3600).await;
    poll_now(&app.state).await;

    let (status, body) = app.get("/spreadsheet").await;
    assert_eq!(status, 200);
    let rows = body.as_array().unwrap();
    assert_eq!(rows.len(), 75);
    let by_id: HashMap<i64, &Value> = rows.iter().map(|r| (r["kacky_id"].as_i64().unwrap(), r)).collect();
    let next = |id: i64| (by_id[&id]["server"].clone(), by_id[&id]["upcomingIn"].clone());
    assert_eq!(next(203), (json!(1), json!(0)));
    // Three positions ahead on a 15-minute server with 5 minutes played: 10 + 2 × 15.
    assert_eq!(next(206), (json!(1), json!(40)));
    assert_eq!(next(201), (json!(1), json!(55)));
    assert_eq!(next(230), (json!(2), json!(0)));
    // 9 minutes left on 230, then 231 for 10: 232 is 19 minutes away.
    assert_eq!(next(232), (json!(2), json!(19)));
    // On no server: explicit nulls, never a 500 (BUG-5).
    assert_eq!(next(250), (Value::Null, Value::Null));
    assert_eq!(by_id[&250]["author"].as_str().map(str::is_empty), Some(false));
    let keys: Vec<&String> = by_id[&250].as_object().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys in the old sorted order");

    let (status, body) = app.get("/event/nextrun/203").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"203": {"server": 1, "upcomingIn": 0}, "currentlyRunning": 1, "timeLeft": 600, "timeLimit": 15})
    );
    assert_eq!(
        app.get("/event/nextrun/206?version=v2").await.1,
        json!({"206": {"server": 1, "upcomingIn": 40}, "currentlyRunning": false})
    );
    assert_eq!(
        app.get("/event/nextrun/250").await.1,
        json!({"250": {"server": null, "upcomingIn": null}, "currentlyRunning": false})
    );
    let (status, body) = app.get("/event/nextrun/999").await;
    assert_eq!(status, 404);
    assert!(body["msg"].as_str().unwrap().contains("KK7"));
    assert_eq!(app.get("/event/nextrun/abc").await.0, 400);

    // Two minutes later without a poll, the projection keeps counting.
    advance(&clock, 120);
    assert_eq!(app.get("/event/nextrun/203").await.1["timeLeft"], 480);
    assert_eq!(app.get("/spreadsheet").await.1[5]["upcomingIn"], 38);

    // After the end: the old text, no countdown, no schedule.
    clock.set(compend() + chrono::Duration::hours(1));
    let r = app.client.get(app.url("/event/nextrun/203")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(r.text().await.unwrap(), "Competition Over");
    let (_, body) = app.get("/dashboard").await;
    assert_eq!(body, json!({"comptimeLeft": 0, "servers": []}));
    let (status, body) = app.get("/spreadsheet").await;
    assert_eq!((status, body.as_array().unwrap().len()), (200, 75));
    assert!(body[0].get("server").is_none() && body[0].get("upcomingIn").is_none(), "{}", body[0]);
}

#[tokio::test]
async fn a_hanging_api_times_out_and_the_state_recovers() {
    let (fake, script) = fake_gameserver(answer((201, 0), (230, 0))).await;
    let clock = Clock::manual(t0());
    // Interval 1 s: background polls run too, and the HTTP read timeout is 1 s.
    let app = spawn_live(&fake, &clock, 1).await;
    poll_now(&app.state).await;
    assert_eq!(cards(&app).await, [(1, vec![201, 202, 203, 204], 900), (2, vec![230, 231, 232, 230], 600)]);

    script.set(Answer::Hang(Duration::from_secs(4)));
    let started = Instant::now();
    poll_now(&app.state).await;
    assert!(started.elapsed() < Duration::from_secs(4), "the poll gave up early: {:?}", started.elapsed());
    let health = gameserver_health(&app).await;
    assert!(health["last_error"].as_str().unwrap_or_default().contains("timed out"), "{health}");
    assert_eq!(cards(&app).await, [(1, vec![201, 202, 203, 204], 900), (2, vec![230, 231, 232, 230], 600)]);

    script.set(answer((202, 30), (231, 30)));
    poll_now(&app.state).await;
    assert_eq!(cards(&app).await, [(1, vec![202, 203, 204, 205], 870), (2, vec![231, 232, 230, 231], 570)]);
    assert!(gameserver_health(&app).await["last_error"].is_null());
}

#[tokio::test]
async fn logged_in_dashboard_shows_own_difficulties() {
    let (fake, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live(&fake, &clock, 3600).await;
    poll_now(&app.state).await;
    let token = app.register_login("hunter", "password1").await;
    let (status, _) = app.post_json("/spreadsheet/kk", json!({"mapid": "203", "diff": 3}), Some(&token)).await;
    assert_eq!(status, 200);
    let (status, body) = app.get_auth("/dashboard", &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["servers"][0]["maps"][0],
        json!({"author": "theinsan3", "difficulty": 3, "finished": false, "number": 203})
    );
    assert_eq!(body["servers"][0]["maps"][1]["difficulty"], 0);
    assert_eq!(app.get("/dashboard").await.1["servers"][0]["maps"][0]["difficulty"], 0);
    let (_, rows) = app.get_auth("/spreadsheet", &token).await;
    let row = rows.as_array().unwrap().iter().find(|r| r["kacky_id"] == 203).unwrap();
    assert_eq!(
        (row["map_diff"].clone(), row["server"].clone(), row["upcomingIn"].clone()),
        (json!(3), json!(1), json!(0))
    );
}

#[tokio::test]
async fn linear_playlist_in_testing_mode_without_servers_yaml() {
    let clock = Clock::manual(t0());
    let config = "eventtype: KK\nedition: 7\nplaylist: linear\ntimelimit: 10\ntesting_mode: 1\nmap_change_s: 0\n\
                  testing_map_change_s: 0\n\
                  testing_compstart: 2024-06-01T11:00:00Z\ntesting_compend: 2024-06-02T11:00:00Z\n";
    let app = spawn_with(Options { config, clock: clock.clone(), ..Options::default() }).await;
    wait_for_first_poll(&app).await;
    // One virtual server through the whole event, 10 minutes each: an hour in, map 7 starts.
    let (_, body) = app.get("/dashboard").await;
    assert_eq!(body["servers"].as_array().unwrap().len(), 1);
    assert_eq!(
        (body["servers"][0]["serverNumber"].clone(), body["servers"][0]["serverDifficulty"].clone()),
        (json!(1), json!(""))
    );
    assert_eq!(cards(&app).await, [(1, vec![207, 208, 209, 210], 600)]);
    advance(&clock, 15 * 60);
    assert_eq!(cards(&app).await, [(1, vec![208, 209, 210, 211], 300)], "projected");
    poll_now(&app.state).await;
    assert_eq!(cards(&app).await, [(1, vec![208, 209, 210, 211], 300)], "polled fixture");
    let (_, rows) = app.get("/spreadsheet").await;
    let rows = rows.as_array().unwrap();
    assert_eq!((rows[0]["kacky_id"].clone(), rows[0]["upcomingIn"].clone()), (json!(201), json!(5 + 67 * 10)));
    assert!(rows.iter().all(|r| r["server"] == 1));
}

#[test]
fn playlist_map_outside_the_event_stops_start_up_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "config.yaml", "eventtype: KK\nedition: 7\nport: 0\n");
    write(dir.path(), "secrets.yaml", "jwt_secret: x\n");
    write(dir.path(), "servers.yaml", "Bad Server: {server_number: 1, timelimit: 5, maps: [201, 999]}\n");
    let out = command(dir.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("servers.yaml: key `Bad Server.maps`: kacky id 999"), "{err}");
}

#[tokio::test]
async fn demo_serves_a_moving_dashboard_and_the_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.env("KACKY_PORT", "0");
    let (_server, base) = start(cmd);
    let client = reqwest::Client::new();
    let get = |path: &str| {
        let req = client.get(format!("{base}{path}"));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut dashboard = get("/dashboard").await;
    while dashboard["servers"].as_array().is_none_or(Vec::is_empty) {
        assert!(Instant::now() < deadline, "the demo dashboard stays empty: {dashboard}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        dashboard = get("/dashboard").await;
    }
    let servers = dashboard["servers"].as_array().unwrap();
    assert!(servers.len() >= 2);
    assert!(servers.iter().all(|s| s["maps"].as_array().unwrap().len() == 4), "{dashboard}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = get("/dashboard").await;
    let first =
        |d: &Value| (d["servers"][0]["timeLeft"].as_i64().unwrap(), d["servers"][0]["maps"][0]["number"].clone());
    let ((before, map_before), (after, map_after)) = (first(&dashboard), first(&later));
    assert!(after < before || map_after != map_before, "the countdown moves: {before} → {after}");
    let rows = get("/spreadsheet").await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 75);
    assert!(rows.iter().all(|r| r["server"].is_i64() && r["upcomingIn"].is_i64()), "{}", rows[0]);
    assert_eq!(rows[0]["kacky_id"], 226);
    // The schedule with absolute times and the live stream are served by the demo too.
    let schedule = get("/schedule").await;
    let servers = schedule["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 13, "{schedule}");
    assert!(servers.iter().all(|s| s["plays"].as_array().unwrap().len() > 1));
    assert!(!schedule["maps"].as_object().unwrap().is_empty());
    let mut live = client.get(format!("{base}/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(5), live.chunk()).await.unwrap().unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).starts_with("event: snapshot"), "{first:?}");
}
