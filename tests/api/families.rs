//! Kacky Remixed (KX), the family the records API does not keep, run live like KR: the event
//! created and its maps uploaded over HTTP, the backend restarted with `eventtype: KX` and a
//! servers.yaml for it, then every live page, alarms, the calendar and a Discord notification
//! checked, with a records API that counts (and fails) every call it gets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use kacky_backend::clock::Clock;
use kacky_backend::live::poll_now;
use serde_json::{json, Value};

use crate::admin::{admin_token, upload};
use crate::common::{spawn_with, Fake, Options, TestApp, SECRETS};
use crate::live::{fake_gameserver, t0, Answer};

const KX_SERVERS: &str = "\"Kacky Remixed 1 - White\": {server_number: 1, difficulty: white, timelimit: 15, server_login: kx_white, maps: [1, 2, 3, 4, 5, 6]}\n\
\"Kacky Remixed 1 - Black\": {server_number: 2, difficulty: black, timelimit: 10, server_login: kx_black, join: 'trackmania://#join=kx_black_own@Trackmania', maps: [10, 11, 12]}\n";

/// Server 1 plays #3 for 300 s (15-minute maps: #4 at +600 s), server 2 #10 for 60 s.
fn kx_answer() -> Answer {
    let entry = |map: i64, played: i64| {
        json!({"jukebox": [], "recently_played": [], "current_map": format!("$o$iKacky Remixed $0f4#{map}"),
               "time_played": played.to_string()})
    };
    Answer::Json(json!({"$o$iKacky Remixed 1 - $fffWhite": entry(3, 300), "Kacky Remixed 1 - Black": entry(10, 60)}))
}

/// A records API that fails every call and counts them: KX must never reach it.
async fn counting_records() -> (Fake, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            (StatusCode::INTERNAL_SERVER_ERROR, "records API asked").into_response()
        }
    });
    (Fake::start(router).await, hits)
}

/// A Discord webhook that keeps what it is sent.
async fn discord() -> (Fake, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let router = axum::Router::new()
        .route(
            "/api/webhooks/7/kx-token",
            post(|State(got): State<Arc<Mutex<Vec<Value>>>>, axum::Json(body): axum::Json<Value>| async move {
                got.lock().unwrap().push(body);
                StatusCode::NO_CONTENT
            }),
        )
        .with_state(got.clone());
    (Fake::start(router).await, got)
}

struct Outside {
    game: Fake,
    records: Fake,
    discord: Fake,
}

async fn spawn_kx(o: &Outside, clock: &Clock, servers: Option<&str>, dir: Option<tempfile::TempDir>) -> TestApp {
    let config = format!(
        "eventtype: kx\nedition: 1\ncompstart: 2024-05-31T12:00:00Z\ncompend: 2024-06-03T12:00:00Z\n\
         gameserver_api_url: {}/api/\nrecords_api_url: {}\npoll_interval_s: 3600\nalarm_lead_minutes: 10\nmap_change_s: 0\n\
         join_url_template: 'trackmania://#join={{login}}@Trackmania'\n",
        o.game.base, o.records.base
    );
    let secrets = format!("{SECRETS}discord_webhook_url: {}/api/webhooks/7/kx-token\n", o.discord.base);
    let app = spawn_with(Options { config: &config, secrets: &secrets, servers, clock: clock.clone(), dir }).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while servers.is_some() && app.state.live.snapshot().last_poll.is_none() {
        assert!(Instant::now() < deadline, "no poll at start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app
}

/// The organiser's part, over HTTP: create KX1 (type sent in lower case, like any form might),
/// upload its twelve maps, make it visible. Returns the event's id.
async fn organise(app: &TestApp) -> i64 {
    let admin = admin_token(app, "orga").await;
    let create = json!({"create": {"name": "$f80Kacky Remixed 1", "type": "kx", "edition": "1",
        "startDate": "2024-05-31T14:00", "endDate": "2024-06-03T14:00", "minID": "1", "maxID": "12"}});
    assert_eq!(app.post_json("/manage/events", create, Some(&admin)).await, (200, json!("OK")));
    let rows: String = (1..=12).map(|id| format!("{id},remixer{id},KX1,$o$iKacky Remixed #\n")).collect();
    let (s, b) = upload(app, &admin, &format!("kacky_id,author,event,prefix\n{rows}"), false).await;
    assert_eq!(s, 200, "{b}");
    // The admin's GET /events lists the hidden event with its id, so the table can switch it on.
    let (_, all) = app.get_auth("/events", &admin).await;
    let kx = all.as_array().unwrap().iter().find(|e| e["type"] == "KX").unwrap().clone();
    assert_eq!(
        (kx["name"].as_str(), kx["edition"].as_i64(), kx["visible"].as_i64()),
        (Some("Kacky Remixed 1"), Some(1), Some(0))
    );
    let id = kx["id"].as_i64().unwrap();
    let on = json!({"visible": {"id": id, "value": "on"}});
    assert_eq!(app.post_json("/manage/events", on, Some(&admin)).await.0, 200);
    // Unknown families stay refused.
    let ky = json!({"create": {"name": "Nope", "type": "KY", "edition": "1", "startDate": "2024-05-31",
        "endDate": "2024-06-01", "minID": "1", "maxID": "2"}});
    let (s, b) = app.post_json("/manage/events", ky, Some(&admin)).await;
    assert_eq!((s, b["msg"].as_str()), (400, Some("`type` must be KK, KR or KX")));
    id
}

/// The history pages of KX1, in any case.
async fn history_pages(app: &TestApp) {
    let (_, events) = app.get("/events").await;
    assert!(
        events.as_array().unwrap().contains(&json!({"edition": 1, "name": "Kacky Remixed 1", "type": "KX"})),
        "{events}"
    );
    let (s, sheet) = app.get("/spreadsheet/KX/1").await;
    assert_eq!((s, sheet.as_array().unwrap().len()), (200, 12));
    assert_eq!((sheet[0]["kacky_id"].as_i64(), sheet[0]["author"].as_str()), (Some(1), Some("remixer1")));
    assert_eq!(sheet[0]["wr_score"], 0, "no record yet");
    let (s, info) = app.get("/mapinfo/kx/5").await;
    assert_eq!((s, info["author"].as_str()), (200, Some("remixer5")));
    assert_eq!(app.get("/spreadsheet/ky/1").await.0, 404, "unknown families stay 404");
    assert_eq!(app.get("/mapinfo/kx/13").await.0, 404, "only the uploaded maps");
}

/// The live pages: dashboard with join links, live sheet, schedule.
async fn live_pages(app: &TestApp) {
    let (_, status) = app.get("/eventstatus").await;
    assert_eq!(status, json!({"edition": 1, "status": "active", "type": "KX"}));
    let (s, dash) = app.get("/dashboard").await;
    assert_eq!(s, 200, "{dash}");
    let cards: Vec<(i64, Vec<i64>, &str)> = dash["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let maps = c["maps"].as_array().unwrap().iter().map(|m| m["number"].as_i64().unwrap()).collect();
            (c["serverNumber"].as_i64().unwrap(), maps, c["serverJoin"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        cards,
        [
            (1, vec![3, 4, 5, 6], "trackmania://#join=kx_white@Trackmania"),
            (2, vec![10, 11, 12, 10], "trackmania://#join=kx_black_own@Trackmania")
        ]
    );
    assert_eq!(dash["servers"][0]["maps"][0]["author"], "remixer3");
    let (_, live_sheet) = app.get("/spreadsheet").await;
    let four = live_sheet.as_array().unwrap().iter().find(|r| r["kacky_id"] == 4).unwrap();
    assert_eq!((four["server"].as_i64(), four["upcomingIn"].as_i64()), (Some(1), Some(10)));
    let (_, schedule) = app.get("/schedule").await;
    assert_eq!(
        (schedule["event"]["type"].as_str(), schedule["event"]["name"].as_str()),
        (Some("KX"), Some("Kacky Remixed 1"))
    );
    assert_eq!(schedule["maps"]["4"][0]["start"], "2024-06-01T12:10:00Z");
}

/// A player's records answers: the empty shapes, nothing asked upstream.
async fn records_answers(app: &TestApp, token: &str) {
    assert_eq!(app.get_auth("/pb/kx", token).await, (200, json!({})));
    assert_eq!(app.get_auth("/performance/KX", token).await, (200, json!([])));
    assert_eq!(app.get_auth("/fin", token).await, (200, json!({"finishes": 0, "mapids": []})));
    assert_eq!(app.get("/records/event/leaderboard/kx/1?start=0&elems=10").await, (200, json!([])));
    assert_eq!(app.get("/records/event/leaderboard/kx/1/kx_player").await, (200, json!([])));
    assert_eq!(app.get("/event/kx_player/finned").await, (200, json!({})));
    let (_, dash) = app.get_auth("/dashboard", token).await;
    assert_eq!(dash["servers"][0]["maps"][0]["finished"], false);
}

#[tokio::test]
async fn a_live_kx_event_with_uploaded_maps_runs_like_kr() {
    let (game, _script) = fake_gameserver(kx_answer()).await;
    let (records, records_hits) = counting_records().await;
    let (discord, sent) = discord().await;
    let outside = Outside { game, records, discord };
    let clock = Clock::manual(t0());
    // No servers.yaml yet: its playlists must name maps of the event, which come next.
    let app = spawn_kx(&outside, &clock, None, None).await;
    organise(&app).await;
    let dir = app.stop().await;
    let app = spawn_kx(&outside, &clock, Some(KX_SERVERS), Some(dir)).await;
    poll_now(&app.state).await;

    history_pages(&app).await;
    live_pages(&app).await;

    let token = app.register_login("remix_hunter", "password1").await;
    let profile = json!({"tm20": "kx_player", "discord": "123456789012345678", "token": token});
    assert_eq!(app.post_json("/usermgnt", profile, Some(&token)).await.0, 200);
    records_answers(&app, &token).await;

    // Alarms: the rewrite's toggle (previous state `false`) on #5, the idempotent PUT on #6,
    // the 2024 frontend's `true` on #4, whose play starts within the lead time: it rings now.
    let rewrite = json!({"mapid": 5, "alarm": false, "token": token});
    assert_eq!(app.post_json("/spreadsheet/kx", rewrite, Some(&token)).await, (200, json!("OK")));
    let r = app.client.put(app.url("/alarms/KX/6")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let (s, _) =
        app.post_json("/spreadsheet/kx", json!({"mapid": "4", "alarm": true, "token": token}), Some(&token)).await;
    assert_eq!(s, 200);
    let (_, sheet) = app.get_auth("/spreadsheet/kx/1", &token).await;
    let alarmed: Vec<i64> = sheet
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["alarm"] == true)
        .map(|r| r["kacky_id"].as_i64().unwrap())
        .collect();
    assert_eq!(alarmed, [4, 5, 6]);
    let (_, plays) = app.get_auth("/alarms", &token).await;
    let first: Vec<(i64, &str)> = plays
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|p| (p["kacky_id"].as_i64().unwrap(), p["start"].as_str().unwrap()))
        .collect();
    assert_eq!(first, [(4, "2024-06-01T12:10:00Z"), (5, "2024-06-01T12:25:00Z"), (6, "2024-06-01T12:40:00Z")]);

    // The calendar feed names the KX event.
    let (_, feed) = app.post_json("/calendar", json!({}), Some(&token)).await;
    let ics = app.client.get(app.url(feed["url"].as_str().unwrap())).send().await.unwrap().text().await.unwrap();
    assert!(ics.contains("SUMMARY:KX1 #4 on server 1 (white)"), "{ics}");

    // Discord: #4 is rung at once (its reminder time has passed), labelled KX1.
    let deadline = Instant::now() + Duration::from_secs(5);
    while sent.lock().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let messages = sent.lock().unwrap().clone();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let content = messages[0]["content"].as_str().unwrap();
    assert!(
        content.contains("**KX1** map **#4** by remixer4") && content.contains("<@123456789012345678>"),
        "{content}"
    );

    assert_eq!(records_hits.load(Ordering::SeqCst), 0, "the records API was asked about KX");
}
