//! Records-API endpoints against a fake records API on 127.0.0.1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{json, Value};

use crate::common::{spawn_with, Fake, Options, TestApp, LIVE_KK7, SECRETS};

/// What the fake answers next.
#[derive(Clone)]
enum Mode {
    Normal,
    Status500,
    Garbage,
    Hang,
}

#[derive(Clone)]
struct FakeState {
    hits: Arc<AtomicUsize>,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn answer(
    State(s): State<FakeState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> axum::response::Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    s.seen.lock().unwrap().push(uri.to_string());
    if headers.get("x-apikey").and_then(|v| v.to_str().ok()) != Some("rk") {
        return (StatusCode::FORBIDDEN, "bad authentication").into_response();
    }
    let mode = s.mode.lock().unwrap().clone();
    match mode {
        Mode::Status500 => return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Mode::Garbage => return (StatusCode::OK, "<html>not json").into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Mode::Normal => {}
    }
    let path = uri.path();
    let pbs = json!({"201": {"date": 1.7e9, "kacky_rank": 1, "score": 12345}, "203": {"date": 1.7e9, "kacky_rank": 4, "score": 226000}, "17": {"date": 1.0, "kacky_rank": 2, "score": 5000}});
    let body = if path.starts_with("/pb/") {
        pbs
    } else if path.starts_with("/performance/") {
        json!([{"edition": 7, "fins": 20}])
    } else if path == "/teapot" {
        return (StatusCode::IM_A_TEAPOT, "plain text body").into_response();
    } else {
        json!([{"avg": 3.5, "fins": 70, "login": "simo_900", "nick": "$abcsimo", "rank": 1}])
    };
    axum::Json(body).into_response()
}

async fn setup() -> (TestApp, FakeState, Fake) {
    setup_with("").await
}

/// [`setup`] with more config.yaml lines.
async fn setup_with(extra: &str) -> (TestApp, FakeState, Fake) {
    let st = FakeState { hits: Arc::default(), mode: Arc::new(Mutex::new(Mode::Normal)), seen: Arc::default() };
    let fake = Fake::start(axum::Router::new().fallback(answer).with_state(st.clone())).await;
    let config = format!("{LIVE_KK7}records_api_url: {}\n{extra}", fake.base);
    let app = spawn_with(Options { config: &config, secrets: SECRETS, ..Default::default() }).await;
    (app, st, fake)
}

fn set(st: &FakeState, mode: Mode) {
    *st.mode.lock().unwrap() = mode;
}

#[tokio::test]
async fn proxy_keeps_query_status_and_body() {
    let (app, st, _fake) = setup().await;
    let (s, body) = app.get("/records/event/leaderboard/kk/7?start=0&elems=10").await;
    assert_eq!(s, 200);
    assert_eq!(body[0]["login"], "simo_900");
    assert!(st.seen.lock().unwrap().contains(&"/event/leaderboard/kk/7?start=0&elems=10".to_owned()));
    let (s, body) = app.get("/records/teapot").await;
    assert_eq!((s, body), (418, json!("plain text body")));
}

#[tokio::test]
async fn cache_serves_repeated_calls_within_the_ttl() {
    let (app, st, _fake) = setup().await;
    app.get("/records/event/leaderboard/kr/4?start=0&elems=10").await;
    app.get("/records/event/leaderboard/kr/4?start=0&elems=10").await;
    assert_eq!(st.hits.load(Ordering::SeqCst), 1);
    app.get("/records/event/leaderboard/kr/4?start=10&elems=20").await;
    assert_eq!(st.hits.load(Ordering::SeqCst), 2, "another query is another key");
}

#[tokio::test]
async fn pb_performance_and_fin_for_a_logged_in_user() {
    let (app, _st, _fake) = setup().await;
    let t = app.register_login("hunter", "password1").await;
    // No game login yet: the hunting page still gets valid answers.
    assert_eq!(app.get_auth("/pb/kk", &t).await, (200, json!({})));
    assert_eq!(app.get_auth("/performance/kk", &t).await, (200, json!([])));
    assert_eq!(app.get_auth("/fin", &t).await, (200, json!({"finishes": 0, "mapids": []})));
    app.post_json("/usermgnt", json!({"tmnf": "hunter_tmnf"}), Some(&t)).await;
    let (s, pb) = app.get_auth("/pb/KK", &t).await;
    assert_eq!(s, 200);
    assert_eq!(pb["201"]["score"], 12345);
    assert_eq!(app.get_auth("/performance/kk", &t).await.1, json!([{"edition": 7, "fins": 20}]));
    // Only current-event maps count (17 is not a KK7 map).
    assert_eq!(app.get_auth("/fin", &t).await.1, json!({"finishes": 2, "mapids": ["201", "203"]}));
    assert_eq!(app.get("/fin").await.1, json!({"finishes": 0, "mapids": []}));
    assert_eq!(app.get("/pb/kk").await.0, 401);
    assert_eq!(app.get_auth("/pb/xx", &t).await.0, 404);
}

#[tokio::test]
async fn streamer_bot_formats() {
    let (app, _st, _fake) = setup().await;
    assert_eq!(app.get_text("/event/simo/finned?string=ids").await, (200, "201, 203".into()));
    assert_eq!(app.get_text("/event/simo/finned?string=ranks").await.1, "201 (1), 203 (4)");
    assert_eq!(app.get_text("/event/simo/finned?string=scores").await.1, "201 (12.345s), 203 (226.0s)");
    assert_eq!(app.get("/event/simo/finned?list=1").await.1, json!(["201", "203"]));
    let (_, obj) = app.get("/event/simo/finned").await;
    assert_eq!(obj.as_object().unwrap().keys().collect::<Vec<_>>(), ["201", "203"]);
    let (_, unf) = app.get("/event/simo/unfinned").await;
    let unf: Vec<i64> = unf.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(unf.len(), 73);
    assert_eq!(&unf[..3], &[202, 204, 205]);
    let (_, txt) = app.get_text("/event/simo/unfinned?string=1").await;
    assert!(txt.starts_with("202, 204, 205, "));
}

async fn timed(app: &TestApp, path: &str) -> (u16, Value, Duration) {
    let start = Instant::now();
    let (s, b) = app.get(path).await;
    (s, b, start.elapsed())
}

#[tokio::test]
async fn upstream_failures_fail_fast_with_json() {
    let (app, st, _fake) = setup().await;
    let t = app.register_login("hunter", "password1").await;
    app.post_json("/usermgnt", json!({"tmnf": "hunter_tmnf"}), Some(&t)).await;
    set(&st, Mode::Status500);
    let (s, b) = app.get("/records/x").await;
    assert_eq!((s, b), (500, json!("boom")), "the proxy passes statuses through");
    assert_eq!(app.get("/event/a/finned").await.0, 502);
    assert_eq!(app.get_auth("/pb/kk", &t).await, (200, json!({})));
    set(&st, Mode::Garbage);
    let (s, b) = app.get("/event/b/finned").await;
    assert_eq!(s, 502);
    assert!(b["msg"].as_str().unwrap().contains("not a JSON object"));
    assert_eq!(app.get_auth("/performance/kr", &t).await, (200, json!([])));
    set(&st, Mode::Hang);
    let (s, b, took) = timed(&app, "/event/c/unfinned").await;
    assert_eq!(s, 504, "{b}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    let (s, _, took) = timed(&app, "/records/slow").await;
    assert_eq!(s, 504);
    assert!(took < Duration::from_secs(8));
    let (_, health) = app.get("/healthz").await;
    assert!(health["records"]["last_error"].as_str().unwrap().contains("did not answer"), "{health}");
}

/// Testing mode: simulated game servers (the shipped KR4 servers.yaml) and records fixtures.
async fn demo_like() -> TestApp {
    let servers = include_str!("../../config/servers.yaml");
    spawn_with(Options {
        config: "testing_mode: 1\neventtype: KR\nedition: 4\n",
        servers: Some(servers),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn dashboard_finished_flags_come_from_the_records_api() {
    let app = demo_like().await;
    let t = app.register_login("runner", "password1").await;
    let (_, anon) = app.get("/dashboard").await;
    assert!(anon["servers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["maps"].as_array().unwrap())
        .all(|m| m["finished"] == false));
    app.post_json("/usermgnt", json!({"tm20": "runner20"}), Some(&t)).await;
    let (_, fin) = app.get_auth("/fin", &t).await;
    let done: Vec<i64> =
        fin["mapids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().parse().unwrap()).collect();
    assert!(!done.is_empty());
    let (_, dash) = app.get_auth("/dashboard", &t).await;
    let maps: Vec<&Value> =
        dash["servers"].as_array().unwrap().iter().flat_map(|s| s["maps"].as_array().unwrap()).collect();
    assert!(maps.len() >= 8);
    for m in maps {
        assert_eq!(m["finished"].as_bool().unwrap(), done.contains(&m["number"].as_i64().unwrap()), "{m}");
    }
}

#[tokio::test]
async fn nextunfinned_lists_the_soonest_unfinished_maps() {
    let app = demo_like().await;
    let (_, unf) = app.get("/event/someone/unfinned").await;
    let unf: Vec<i64> = unf.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    let (s, next) = app.get("/event/someone/nextunfinned").await;
    assert_eq!(s, 200);
    let next = next.as_object().unwrap();
    assert!(!next.is_empty());
    let (_, sheet) = app.get("/spreadsheet").await;
    let minimum = sheet
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| unf.contains(&r["kacky_id"].as_i64().unwrap()))
        .filter_map(|r| r["upcomingIn"].as_i64())
        .min()
        .unwrap();
    for (id, v) in next {
        assert!(unf.contains(&id.parse().unwrap()));
        assert_eq!(v["upcomingIn"], minimum);
    }
    let (_, line) = app.get_text("/event/someone/nextunfinned?simochat=1").await;
    assert!(line.starts_with("Next unfinished map"), "{line}");
    assert!(line.contains(&format!("in {minimum} minutes")) && line.contains("(Server "), "{line}");
}

/// A login with `/`, `?`, `..` and `%` reaches the records API as exactly one path segment,
/// from the profile (`/pb`, `/performance`, `/fin`, the dashboard) and from a bot's URL.
#[tokio::test]
async fn logins_are_one_path_segment_upstream() {
    let (app, st, _fake) = setup().await;
    let token = app.register_login("evil", "password1").await;
    let login = "../../x?y=%2F#z";
    // The profile takes game logins only now; one stored before that rule is used as it is.
    let (s, _) = app.post_json("/usermgnt", json!({"tmnf": login}), Some(&token)).await;
    assert_eq!(s, 400);
    app.sql().execute("UPDATE user_fields SET tmnf_login = ?1", [login]).unwrap();
    st.seen.lock().unwrap().clear();
    app.get_auth("/pb/kk", &token).await;
    app.get_auth("/performance/kk", &token).await;
    app.get_auth("/fin", &token).await;
    let check = |seen: Vec<String>, encoded: &str| {
        for path in &seen {
            let uri: axum::http::Uri = path.parse().unwrap();
            assert!(uri.query().is_none(), "no query smuggled in: {path}");
            let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
            assert_eq!(segments.get(1), Some(&encoded), "{path}");
            assert!(matches!(segments[0], "pb" | "performance"), "{path}");
            assert!(segments.len() <= 4 && segments[2] == "KK", "{path}");
        }
    };
    let seen = st.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "pb, performance, and the event's pb for /fin: {seen:?}");
    check(seen, "..%2F..%2Fx%3Fy%3D%252F%23z");
    // The same characters through a bot's path (`%2F` decodes to `/` inside the segment).
    st.seen.lock().unwrap().clear();
    app.get("/event/..%2F..%2Fx%3Fy=%252F%23w/finned").await;
    app.get("/event/..%2F..%2Fx%3Fy=%252F%23w/unfinned").await;
    let seen = st.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "the second is a cache hit: {seen:?}");
    check(seen, "..%2F..%2Fx%3Fy%3D%252F%23w");
    // The generic proxy cannot climb out of the API either: dot segments are refused.
    st.seen.lock().unwrap().clear();
    let (status, body) = app.get("/records/a/..%2F..%2Fadmin").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains(".."));
    let (status, _) = app.get("/records/event/leaderboard%3Fx/kk").await;
    assert_eq!(status, 200);
    let seen = st.seen.lock().unwrap().clone();
    assert_eq!(seen, ["/event/leaderboard%3Fx/kk"]);
}

/// The TypeScript frontend's dashboard gate: `GET /records/leaderboard/kr/321`, given up after
/// 3 s (then "servers are down for maintenance"). Whatever the records API does, an answer
/// comes within that: the last good one (marked stale) or a JSON 504/502.
async fn gate(app: &TestApp, path: &str) -> reqwest::Response {
    let request = app.client.get(app.url(path)).header("Origin", "http://localhost:5173");
    request.timeout(Duration::from_secs(3)).send().await.expect("an answer within the frontend's 3 s")
}

#[tokio::test]
async fn a_slow_or_down_records_api_gets_the_last_good_answer_or_a_fast_error() {
    // No reuse of fresh answers, so every request below asks the records API.
    let (app, st, _fake) = setup_with("records_cache_s: 0\n").await;
    let r = gate(&app, "/records/leaderboard/kr/321").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get(STALE).is_none());
    let fresh: Value = r.json().await.unwrap();
    assert_eq!(fresh[0]["login"], "simo_900");

    for mode in [Mode::Hang, Mode::Status500] {
        set(&st, mode);
        let before = st.hits.load(Ordering::SeqCst);
        let r = gate(&app, "/records/leaderboard/kr/321").await;
        assert_eq!(st.hits.load(Ordering::SeqCst), before + 1, "the records API was asked again");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["access-control-allow-origin"], "http://localhost:5173");
        let fetched = r.headers()[STALE].to_str().unwrap().to_owned();
        assert!(chrono::DateTime::parse_from_rfc3339(&fetched).is_ok(), "{fetched}");
        assert!(r.headers()["age"].to_str().unwrap().parse::<u64>().is_ok());
        assert_eq!(r.json::<Value>().await.unwrap(), fresh, "the last good answer");
    }

    // A URL that never had a good answer: a JSON error at once.
    set(&st, Mode::Hang);
    let r = gate(&app, "/records/leaderboard/kr/322").await;
    assert_eq!(r.status(), 504);
    let body: Value = r.json().await.unwrap();
    assert!(body["msg"].as_str().unwrap().contains("did not answer"), "{body}");
    // The personal pages fall back the same way (PBs of a login asked before stay shown).
    set(&st, Mode::Normal);
    assert_eq!(app.get("/event/someone/finned?list=1").await.0, 200);
    set(&st, Mode::Hang);
    let r = gate(&app, "/event/someone/finned?list=1").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!(["201", "203"]));
}

/// What the stale stand-in answers carry.
const STALE: &str = "x-records-stale";
