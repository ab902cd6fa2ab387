//! The schedule with absolute times (`/schedule`, `/schedule/<id>`, `/alarms`), the calendar
//! feed and the `/live` event stream, against the fake game-server API of `live.rs` and a
//! manual clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kacky_backend::clock::Clock;
use kacky_backend::live::poll_now;
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::live::{answer, fake_gameserver, spawn_live_with, t0, Answer};

fn at(offset_s: i64) -> String {
    (t0() + chrono::Duration::seconds(offset_s)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse(t: &Value) -> DateTime<Utc> {
    t.as_str().unwrap().parse().unwrap()
}

/// `(kacky_id, start, end)` of a server's plays.
fn plays(server: &Value) -> Vec<(i64, String, String)> {
    server["plays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (p["kacky_id"].as_i64().unwrap(), p["start"].as_str().unwrap().into(), p["end"].as_str().unwrap().into())
        })
        .collect()
}

#[tokio::test]
async fn schedule_has_absolute_times_that_agree_with_the_dashboard() {
    // Server 1 (15 min) plays 203 for 300 s already; server 2 (10 min) plays 230 for 60 s.
    let (fake, script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "").await;
    poll_now(&app.state).await;

    let r = app.client.get(app.url("/schedule?hours=1")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "public, max-age=5");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["now"], at(0));
    let event = &body["event"];
    assert_eq!((event["type"].as_str(), event["edition"].as_i64()), (Some("KK"), Some(7)));
    assert!(event["name"].as_str().unwrap().contains("Kacky 7"), "{event}");
    assert_eq!(
        (event["start"].as_str(), event["end"].as_str()),
        (Some("2024-05-31T12:00:00Z"), Some("2024-06-03T12:00:00Z"))
    );
    let servers = body["servers"].as_array().unwrap();
    assert_eq!(servers.iter().map(|s| s["number"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(
        (servers[0]["name"].as_str(), servers[0]["difficulty"].as_str()),
        (Some("Kackiest Kacky 7 - Server 1"), Some("white"))
    );
    assert_eq!(servers[0]["timelimit_s"], 900);
    // Back to back with the server's time limit, cut at the one-hour horizon.
    let ids = |s: &Value| plays(s).iter().map(|p| p.0).collect::<Vec<_>>();
    assert_eq!(plays(&servers[0])[0], (203, at(-300), at(600)));
    assert_eq!(ids(&servers[0]), [203, 204, 205, 206, 201]);
    assert_eq!(plays(&servers[0])[4], (201, at(3300), at(4200)));
    // Server 2 wraps around its three-map playlist.
    assert_eq!(ids(&servers[1]), [230, 231, 232, 230, 231, 232, 230]);
    assert_eq!(plays(&servers[1])[3], (230, at(1740), at(2340)));
    for s in servers {
        let p = plays(s);
        assert!(p.windows(2).all(|w| w[0].2 == w[1].1), "back to back: {p:?}");
    }
    // The running play ends exactly when /dashboard's timeLeft runs out.
    let (_, dashboard) = app.get("/dashboard").await;
    for (card, server) in dashboard["servers"].as_array().unwrap().iter().zip(servers) {
        let end = parse(&server["plays"][0]["end"]);
        assert_eq!((end - t0()).num_seconds(), card["timeLeft"].as_i64().unwrap());
        assert_eq!(card["maps"][0]["number"], server["plays"][0]["kacky_id"]);
    }
    // `maps`: each map's plays in start order, keyed by kacky id.
    assert_eq!(
        body["maps"]["230"],
        json!([{"server": 2, "play": 0, "start": at(-60), "end": at(540)}, {"server": 2, "play": 3, "start": at(1740), "end": at(2340)}, {"server": 2, "play": 6, "start": at(3540), "end": at(4140)}])
    );
    assert_eq!(body["maps"]["203"], json!([{"server": 1, "play": 2, "start": at(-300), "end": at(600)}]));
    assert!(body["maps"].get("250").is_none(), "a map on no server is not scheduled");

    // 304 for the same data; the default horizon is 24 h.
    let r = app.client.get(app.url("/schedule?hours=1")).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(r.status(), 304);
    let (_, day) = app.get("/schedule").await;
    assert_eq!(plays(&day["servers"][0]).len(), 1 + 96);
    for bad in ["0", "169", "abc", "1.5", ""] {
        let (status, b) = app.get(&format!("/schedule?hours={bad}")).await;
        assert_eq!(status, 400, "hours={bad}");
        assert!(b["msg"].as_str().unwrap().contains("hours"), "{b}");
    }

    // Between polls the schedule moves by projection; an API fault keeps the last state.
    clock.advance(chrono::Duration::seconds(700));
    script.set(Answer::Status(500));
    poll_now(&app.state).await;
    let (_, later) = app.get("/schedule?hours=1").await;
    assert_eq!(later["now"], at(700));
    assert_eq!(plays(&later["servers"][0])[0], (204, at(600), at(1500)));
    assert_eq!(plays(&later["servers"][1])[0], (231, at(540), at(1140)));
}

#[tokio::test]
async fn the_event_end_cuts_the_schedule_and_outside_the_window_it_is_empty() {
    let (fake, _script) = fake_gameserver(answer((203, 0), (230, 0))).await;
    let clock = Clock::manual(t0());
    // The event ends 40 minutes after t0.
    let config =
        "eventtype: KK\nedition: 7\ncompstart: 2024-05-31T12:00:00Z\ncompend: 2024-06-01T12:40:00Z\nmap_change_s: 0\n";
    let app = crate::common::spawn_with(crate::common::Options {
        config: &format!("{config}gameserver_api_url: {}/api/\npoll_interval_s: 3600\n", fake.base),
        servers: Some(crate::live::SERVERS),
        clock: clock.clone(),
        ..Default::default()
    })
    .await;
    poll_now(&app.state).await;
    let (_, body) = app.get("/schedule?hours=24").await;
    let ids: Vec<i64> = plays(&body["servers"][0]).iter().map(|p| p.0).collect();
    assert_eq!(ids, [203, 204, 205], "plays starting before the event's end (12:40)");
    assert_eq!(plays(&body["servers"][1]).len(), 4);
    clock.advance(chrono::Duration::hours(1));
    let (status, body) = app.get("/schedule").await;
    assert_eq!(status, 200);
    assert_eq!((body["servers"].clone(), body["maps"].clone()), (json!([]), json!({})));
    assert_eq!(body["event"]["end"], "2024-06-01T12:40:00Z");
}

#[tokio::test]
async fn one_map_and_the_callers_alarms() {
    let (fake, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "").await;
    poll_now(&app.state).await;

    let (status, body) = app.get("/schedule/231").await;
    assert_eq!(status, 200);
    assert_eq!(body["kacky_id"], 231);
    let starts: Vec<String> =
        body["plays"].as_array().unwrap().iter().map(|p| p["start"].as_str().unwrap().into()).collect();
    assert_eq!(starts[0], at(540));
    // Every 30 minutes from +540 s until the event's end 48 h after t0 (the week is cut there).
    assert_eq!(starts.len(), (48 * 3600 - 540) / 1800 + 1);
    assert_eq!(app.get("/schedule/250").await, (200, json!({"kacky_id": 250, "plays": []})));
    let (status, b) = app.get("/schedule/999").await;
    assert_eq!(status, 404);
    assert!(b["msg"].as_str().unwrap().contains("999"));
    assert_eq!(app.get("/schedule/abc").await.0, 404);

    assert_eq!(app.get("/alarms").await.0, 401);
    let token = app.register_login("hunter", "password1").await;
    assert_eq!(app.get_auth("/alarms", &token).await, (200, json!([])));
    for id in ["204", "232"] {
        let (s, _) = app.post_json("/spreadsheet/kk", json!({"mapid": id, "alarm": true}), Some(&token)).await;
        assert_eq!(s, 200);
    }
    let (status, alarms) = app.get_auth("/alarms", &token).await;
    assert_eq!(status, 200);
    let alarms = alarms.as_array().unwrap();
    assert_eq!(alarms[0], json!({"kacky_id": 204, "server": 1, "play": 3, "start": at(600), "end": at(1500)}));
    assert_eq!(alarms[1], json!({"kacky_id": 232, "server": 2, "play": 2, "start": at(1140), "end": at(1740)}));
    assert!(alarms.windows(2).all(|w| parse(&w[0]["start"]) <= parse(&w[1]["start"])));
    assert!(alarms.iter().all(|a| a["kacky_id"] == 204 || a["kacky_id"] == 232));
}

/// The feed's VEVENTs as (UID, SUMMARY, DTSTART, TRIGGER of its VALARM), read by the `ical`
/// crate's parser.
pub(crate) fn parse_feed(text: &str) -> Vec<(String, String, String, String)> {
    let reader = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
    let calendars: Vec<_> = reader.map(|c| c.expect("a valid iCalendar")).collect();
    assert_eq!(calendars.len(), 1);
    let cal = &calendars[0];
    let prop = |props: &[ical::property::Property], name: &str| {
        props.iter().find(|p| p.name == name).and_then(|p| p.value.clone()).unwrap_or_default()
    };
    assert_eq!(prop(&cal.properties, "VERSION"), "2.0");
    assert!(!prop(&cal.properties, "PRODID").is_empty());
    assert!(prop(&cal.properties, "X-WR-CALNAME").contains("Kacky"));
    cal.events
        .iter()
        .map(|e| {
            assert!(!prop(&e.properties, "DTSTAMP").is_empty());
            assert!(prop(&e.properties, "DTEND").ends_with('Z'));
            assert_eq!(e.alarms.len(), 1);
            assert_eq!(prop(&e.alarms[0].properties, "ACTION"), "DISPLAY");
            let trigger = prop(&e.alarms[0].properties, "TRIGGER");
            (prop(&e.properties, "UID"), prop(&e.properties, "SUMMARY"), prop(&e.properties, "DTSTART"), trigger)
        })
        .collect()
}

pub(crate) async fn fetch_feed(app: &TestApp, url: &str) -> (u16, String, String) {
    let r = app.client.get(app.url(url)).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

#[tokio::test]
async fn calendar_feed_parses_rotates_and_goes_with_the_account() {
    let (fake, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "alarm_lead_minutes: 15\n").await;
    poll_now(&app.state).await;
    let token = app.register_login("cal", "password1").await;
    app.post_json("/spreadsheet/kk", json!({"mapid": "205", "alarm": true}), Some(&token)).await;
    assert_eq!(app.post_json("/calendar", json!({}), None).await.0, 401);

    let (status, body) = app.post_json("/calendar", json!({}), Some(&token)).await;
    assert_eq!(status, 200);
    let url = body["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("/calendar/") && url.ends_with(".ics") && url.len() >= "/calendar/.ics".len() + 32,
        "{url}"
    );
    let (status, ct, text) = fetch_feed(&app, &url).await;
    assert_eq!((status, ct.as_str()), (200, "text/calendar; charset=utf-8"));
    let events = parse_feed(&text);
    // Every 90 minutes (server 1: six maps of 15 minutes) from +1500 s: the soonest eight of the
    // 32 plays until the event's end (the feed's bound), the last 10.5 hours later.
    assert_eq!(events.len(), kacky_backend::calendar::PLAYS_PER_MAP, "{}", events.len());
    assert_eq!(events[7].2, "20240601T225500Z");
    assert_eq!(events[0].1, "KK7 #205 on server 1 (white)");
    assert_eq!(events[0].2, "20240601T122500Z", "205 comes after 203 (10 min left) and 204");
    assert_eq!(events[0].3, "-PT900S", "alarm_lead_minutes before");
    // UIDs are stable across fetches and unique.
    clock.advance(chrono::Duration::seconds(30));
    let again = parse_feed(&fetch_feed(&app, &url).await.2);
    assert_eq!(again[0].0, events[0].0);
    let mut uids: Vec<&String> = events.iter().map(|e| &e.0).collect();
    uids.dedup();
    assert_eq!(uids.len(), events.len());

    // Rotating: the old URL is gone, the new one works; revoking: gone too.
    let (_, body) = app.post_json("/calendar", json!({}), Some(&token)).await;
    let rotated = body["url"].as_str().unwrap().to_owned();
    assert_ne!(rotated, url);
    assert_eq!(fetch_feed(&app, &url).await.0, 404);
    assert_eq!(fetch_feed(&app, &rotated).await.0, 200);
    let r = app.client.delete(app.url("/calendar")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(fetch_feed(&app, &rotated).await.0, 404);
    for bad in ["/calendar/nope.ics", "/calendar/..%2Fhealthz.ics", "/calendar/%00.ics"] {
        assert_eq!(fetch_feed(&app, bad).await.0, 404, "{bad}");
    }

    // A deleted account's feed is gone.
    let (_, body) = app.post_json("/calendar", json!({}), Some(&token)).await;
    let last = body["url"].as_str().unwrap().to_owned();
    assert_eq!(fetch_feed(&app, &last).await.0, 200);
    assert_eq!(app.post_json("/usermgnt/delete", json!({}), Some(&token)).await.0, 200);
    assert_eq!(fetch_feed(&app, &last).await.0, 404);
    let stored: i64 = app.sql().query_row("SELECT COUNT(*) FROM calendar_feeds", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 0);
}

/// A `/live` client reading events off a real socket.
pub(crate) struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    pub(crate) async fn connect(app: &TestApp) -> Self {
        let response = app.client.get(app.url("/live")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { response, buffer: String::new() }
    }

    /// The next block (event or comment), within `wait`.
    pub(crate) async fn next(&mut self, wait: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                return Some(block);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next `event: <name>` within `wait`, skipping comments; its data as JSON.
    pub(crate) async fn event(&mut self, name: &str, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let block = self.next(deadline - tokio::time::Instant::now()).await?;
            if block.lines().any(|l| l == format!("event: {name}")) {
                let data: String = block.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
                return Some(serde_json::from_str(&data).unwrap());
            }
        }
    }
}

#[tokio::test]
async fn live_stream_snapshot_changes_keepalives_cap_and_shutdown() {
    let (fake, script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "live_keepalive_s: 1\nlive_max_streams: 2\n").await;
    poll_now(&app.state).await;

    let mut sse = Sse::connect(&app).await;
    let snapshot = sse.event("snapshot", Duration::from_secs(5)).await.expect("a snapshot first");
    let (_, schedule) = app.get("/schedule?hours=1").await;
    assert_eq!(snapshot, schedule["servers"]);

    // A poll reports a new map on server 2: the change arrives within 2 s.
    script.set(answer((203, 300), (232, 5)));
    poll_now(&app.state).await;
    let change = sse.event("map", Duration::from_secs(2)).await.expect("the polled change");
    assert_eq!(change, json!({"server": 2, "kacky_id": 232, "play": 2, "start": at(-5), "end": at(595)}));

    // The rotation reaching a boundary is a change too (no poll): server 1 moves on at +600.
    clock.advance(chrono::Duration::seconds(601));
    let change = sse.event("map", Duration::from_secs(2)).await.expect("the projected change");
    assert_eq!(change, json!({"server": 1, "kacky_id": 204, "play": 3, "start": at(600), "end": at(1500)}));
    let change = sse.event("map", Duration::from_secs(2)).await.expect("server 2 moved on too");
    assert_eq!(change, json!({"server": 2, "kacky_id": 230, "play": 3, "start": at(595), "end": at(1195)}));

    // Keep-alive comments while nothing happens.
    let block = sse.next(Duration::from_secs(3)).await.expect("a keep-alive");
    assert!(block.starts_with(':'), "{block:?}");

    // The cap: two streams are open with this one.
    let _second = Sse::connect(&app).await;
    let r = app.client.get(app.url("/live")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.json::<Value>().await.unwrap()["msg"].is_string());

    // A game-server fault does not end the stream.
    script.set(Answer::Garbage);
    poll_now(&app.state).await;
    let block = sse.next(Duration::from_secs(3)).await;
    assert!(block.is_some(), "the stream goes on");

    // Shutdown ends the stream cleanly.
    let stopped = tokio::time::timeout(Duration::from_secs(10), app.stop()).await;
    assert!(stopped.is_ok(), "shutdown finishes with streams open");
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while sse.next(Duration::from_secs(5)).await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ends at shutdown");
}
