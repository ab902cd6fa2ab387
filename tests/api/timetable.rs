//! The timetable learns: servers that take time to change maps are learned from the polls
//! (`/schedule`, `/dashboard`, `/spreadsheet`, `/healthz` agree), and a play keeps one identity
//! in `/live`, the calendar feed and `/alarms` when its start jitters; the calendar feed is
//! cached and its token stays out of the access log.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kacky_backend::clock::Clock;
use kacky_backend::live::poll_now;
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::live::{answer, fake_gameserver, spawn_live_with, t0};
use crate::schedule::{fetch_feed, parse_feed, Sse};

/// Waits until the live feed has looked at the latest snapshot at the clock's time.
pub(crate) async fn feed_caught_up(app: &TestApp) {
    let (seq, now) = (app.state.live.snapshot().seq, app.state.clock.now());
    let mut progress = app.state.live.feed_progress();
    let caught_up = progress.wait_for(|&(s, at)| s >= seq && at >= now);
    tokio::time::timeout(Duration::from_secs(10), caught_up).await.expect("the feed catches up").unwrap();
}

/// A server that plays `list` (from index `first`, started at `origin`) with `limit` seconds
/// per map and `change` seconds between maps: `(map, seconds played)` at `t`, and its play.
fn real(list: &[i64], first: usize, limit: i64, change: i64, origin: DateTime<Utc>, t: DateTime<Utc>) -> (i64, i64) {
    let elapsed = (t - origin).num_seconds();
    let k = elapsed / (limit + change);
    (list[(first + k as usize) % list.len()], elapsed % (limit + change))
}

const S1: [i64; 6] = [201, 202, 203, 204, 205, 206];
const S2: [i64; 3] = [230, 231, 232];

#[tokio::test]
async fn the_change_time_is_learned_from_the_polls_and_every_answer_uses_it() {
    let (fake, script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "map_change_s: 30\n").await;
    poll_now(&app.state).await;
    // Before any change is seen: the time limit plus the prior.
    let (_, body) = app.get("/schedule?hours=1").await;
    assert_eq!(
        (body["servers"][0]["slot_s"].as_f64(), body["servers"][1]["slot_s"].as_f64()),
        (Some(930.0), Some(630.0))
    );
    assert_eq!(body["servers"][0]["plays"][1]["start"], "2024-06-01T12:10:30Z");

    // Three hours of polls, a minute apart (give or take a second), of servers that really
    // take 50 s to change maps and report `time_played` with a second of jitter.
    let (o1, o2) = (t0() - chrono::Duration::seconds(300), t0() - chrono::Duration::seconds(60));
    for minute in 1..=180 {
        let t = t0() + chrono::Duration::seconds(minute * 60 + minute % 2);
        let jitter = minute % 3 - 1;
        let (m1, p1) = real(&S1, 2, 900, 50, o1, t);
        let (m2, p2) = real(&S2, 0, 600, 50, o2, t);
        script.set(answer((m1, (p1 + jitter).max(0)), (m2, (p2 - jitter).max(0))));
        clock.set(t);
        poll_now(&app.state).await;
    }
    let now = clock.now();
    let (_, body) = app.get("/schedule?hours=7").await;
    let servers = body["servers"].as_array().unwrap();
    let slot1 = servers[0]["slot_s"].as_f64().unwrap();
    let slot2 = servers[1]["slot_s"].as_f64().unwrap();
    assert!((948.0..=951.0).contains(&slot1) && (648.0..=651.0).contains(&slot2), "{slot1} {slot2}");
    let (_, health) = app.get("/healthz").await;
    let learned = &health["gameserver"]["servers"];
    assert!(learned[0]["changes_seen"].as_i64().unwrap() >= 10, "{learned}");
    assert!((48.0..=51.0).contains(&learned[0]["change_s"].as_f64().unwrap()), "{learned}");

    // Six hours ahead the plays are where the servers will really be, to a few seconds (the
    // time limits alone would be 7 minutes early on server 1, 11 on server 2).
    for (server, list, first, limit, origin) in [(0, &S1[..], 2, 900, o1), (1, &S2[..], 0, 600, o2)] {
        let plays = servers[server]["plays"].as_array().unwrap();
        let far = plays.iter().find(|p| parse(&p["start"]) >= now + chrono::Duration::hours(6)).unwrap();
        let start = parse(&far["start"]);
        // The truth: the same map starting within half a slot.
        let (map, played) = real(list, first, limit, 50, origin, start + chrono::Duration::seconds(limit / 2));
        assert_eq!(far["kacky_id"].as_i64(), Some(map));
        let truth = start + chrono::Duration::seconds(limit / 2 - played);
        assert!((start - truth).num_seconds().abs() <= 45, "server {}: {start} vs {truth}", server + 1);
    }

    // The dashboard counts down to the next map's start, as /schedule has it; /spreadsheet's
    // upcomingIn comes from the same learned slot.
    let (_, dashboard) = app.get("/dashboard").await;
    let (_, now_body) = app.get("/schedule?hours=2").await;
    for (card, server) in dashboard["servers"].as_array().unwrap().iter().zip(now_body["servers"].as_array().unwrap()) {
        let end = parse(&server["plays"][0]["end"]);
        assert_eq!((end - now).num_seconds(), card["timeLeft"].as_i64().unwrap());
    }
    let (_, rows) = app.get("/spreadsheet").await;
    let third = &now_body["servers"][0]["plays"][2];
    let row = rows.as_array().unwrap().iter().find(|r| r["kacky_id"] == third["kacky_id"]).unwrap();
    let wait = (parse(&third["start"]) - now).num_seconds();
    assert_eq!(row["upcomingIn"].as_i64(), Some(wait / 60), "{row}");
}

fn parse(t: &Value) -> DateTime<Utc> {
    t.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_play_keeps_one_identity_when_its_start_jitters() {
    let (fake, script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "").await;
    poll_now(&app.state).await;
    let token = app.register_login("hunter", "password1").await;
    for map in ["205", "231"] {
        app.post_json("/spreadsheet/kk", json!({"mapid": map, "alarm": true}), Some(&token)).await;
    }
    let (_, feed) = app.post_json("/calendar", json!({}), Some(&token)).await;
    let url = feed["url"].as_str().unwrap().to_owned();
    let uids = |text: &str| parse_feed(text).into_iter().map(|e| (e.0, e.2)).collect::<Vec<_>>();
    let first = uids(&fetch_feed(&app, &url).await.2);
    let (_, alarms) = app.get_auth("/alarms", &token).await;
    let mut sse = Sse::connect(&app).await;
    sse.event("snapshot", Duration::from_secs(5)).await.expect("a snapshot");
    feed_caught_up(&app).await;

    // A minute later both servers report their maps as started 4 s earlier (jitter, a late
    // poll): the same plays, their starts moved by the average (2 s).
    clock.set(t0() + chrono::Duration::seconds(60));
    script.set(answer((203, 364), (230, 124)));
    poll_now(&app.state).await;
    feed_caught_up(&app).await;
    assert_eq!(sse.event("map", Duration::from_millis(300)).await, None, "the running maps are not announced again");
    let again = uids(&fetch_feed(&app, &url).await.2);
    assert_eq!(again.len(), first.len());
    for ((uid, start), (uid2, start2)) in first.iter().zip(&again) {
        assert_eq!(uid, uid2, "one UID per play");
        assert_ne!(start, start2, "the start moved by the jitter");
    }
    let (_, moved) = app.get_auth("/alarms", &token).await;
    let ids =
        |a: &Value| a.as_array().unwrap().iter().map(|p| (p["server"].clone(), p["play"].clone())).collect::<Vec<_>>();
    assert_eq!(ids(&moved), ids(&alarms));

    // The real change: exactly one event.
    clock.set(t0() + chrono::Duration::seconds(541));
    script.set(answer((203, 842), (231, 3)));
    poll_now(&app.state).await;
    feed_caught_up(&app).await;
    let change = sse.event("map", Duration::from_secs(2)).await.expect("the change");
    assert_eq!(
        (change["server"].as_i64(), change["kacky_id"].as_i64(), change["play"].as_i64()),
        (Some(2), Some(231), Some(1))
    );
    assert_eq!(sse.event("map", Duration::from_millis(300)).await, None, "once");
}

#[tokio::test]
async fn the_feed_is_built_once_a_minute_and_follows_the_alarms_at_once() {
    let (fake, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "").await;
    poll_now(&app.state).await;
    let token = app.register_login("cal", "password1").await;
    app.post_json("/spreadsheet/kk", json!({"mapid": "205", "alarm": true}), Some(&token)).await;
    let (_, feed) = app.post_json("/calendar", json!({}), Some(&token)).await;
    let url = feed["url"].as_str().unwrap().to_owned();
    let first = fetch_feed(&app, &url).await.2;
    clock.advance(chrono::Duration::seconds(20));
    assert_eq!(fetch_feed(&app, &url).await.2, first, "the same minute: the same feed, its DTSTAMP too");
    app.post_json("/spreadsheet/kk", json!({"mapid": "231", "alarm": true}), Some(&token)).await;
    let with_231 = fetch_feed(&app, &url).await.2;
    assert!(with_231.contains("#231") && !first.contains("#231"), "a new alarm shows at once");
    clock.advance(chrono::Duration::seconds(60));
    let later = fetch_feed(&app, &url).await.2;
    assert_ne!(later, with_231, "a minute later it is made anew");
    assert_eq!(parse_feed(&later).len(), parse_feed(&with_231).len());
}

#[tokio::test]
async fn the_calendar_token_never_reaches_the_access_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::connections::demo(dir.path(), &[]);
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value, token: Option<String>| {
        let mut req = client.post(format!("{}{path}", server.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    post("/register", json!({"user": "cal", "pwd": "password1", "mail": "cal@example.com"}), None).await;
    let login = post("/login", json!({"user": "cal", "pwd": "password1"}), None).await;
    let token = login["access_token"].as_str().unwrap().to_owned();
    let feed = post("/calendar", json!({}), Some(token)).await;
    let url = feed["url"].as_str().unwrap().to_owned();
    let secret = url.trim_start_matches("/calendar/").trim_end_matches(".ics").to_owned();
    let r = client.get(format!("{}{url}", server.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client.get(format!("{}/calendar/{}.ics", server.base, &secret[..40])).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.lines_with("GET /calendar/*** 404") == 0 {
        assert!(std::time::Instant::now() < deadline, "the access lines are written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.lines_with("GET /calendar/*** 200"), 1);
    assert_eq!(server.lines_with(&secret[..16]), 0, "no part of the token is logged");
}
