//! What the two frontends the community runs send and read, replayed over HTTP: the 2024 React
//! frontend and its TypeScript rewrite (KR5 2024, KK10 2025). Alarm switches, the idempotent
//! alarm API, the admin event table, the WR placeholder, the Join button and the records
//! fixtures in the real API's shapes.

use kacky_backend::clock::Clock;
use kacky_backend::live::poll_now;
use serde_json::{json, Value};

use crate::admin::admin_token;
use crate::common::{spawn, spawn_with, Options, TestApp};
use crate::live::{answer, fake_gameserver, spawn_live_with, t0};

/// The caller's alarm on KK7 `id` as the hunting sheet shows it.
async fn alarm_shown(app: &TestApp, token: &str, id: i64) -> bool {
    let (_, rows) = app.get_auth("/spreadsheet/kk/7", token).await;
    let row = rows.as_array().unwrap().iter().find(|r| r["kacky_id"] == id).unwrap().clone();
    row["alarm"].as_bool().unwrap()
}

async fn switch(app: &TestApp, token: &str, body: Value) {
    assert_eq!(app.post_json("/spreadsheet/kk", body, Some(token)).await, (200, json!("OK")));
}

#[tokio::test]
async fn alarm_clicks_of_both_frontends_end_in_the_intended_state() {
    let app = spawn().await;
    let t = app.register_login("clicker", "password1").await;
    // 2024 frontend: the switch's new state, the id as a string, the token in the body.
    switch(&app, &t, json!({"mapid": "203", "alarm": true, "token": t})).await;
    assert!(alarm_shown(&app, &t, 203).await, "2024 frontend: on");
    switch(&app, &t, json!({"mapid": "203", "alarm": false, "token": t})).await;
    assert!(!alarm_shown(&app, &t, 203).await, "2024 frontend: off");
    // The rewrite: the switch's previous state (as seen in Chromium).
    switch(&app, &t, json!({"mapid": "204", "alarm": false, "token": t})).await;
    assert!(alarm_shown(&app, &t, 204).await, "rewrite: on");
    switch(&app, &t, json!({"mapid": "204", "alarm": true, "token": t})).await;
    assert!(!alarm_shown(&app, &t, 204).await, "rewrite: off");
    // An API client sending the id as a number toggles the same way.
    switch(&app, &t, json!({"mapid": 205, "alarm": false})).await;
    switch(&app, &t, json!({"mapid": 205, "alarm": false})).await;
    assert!(!alarm_shown(&app, &t, 205).await, "two toggles: off again");
    let rows: i64 = app.sql().query_row("SELECT COUNT(*) FROM alarms", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0);
}

async fn put_or_delete(app: &TestApp, method: reqwest::Method, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn put_and_delete_set_an_alarm_whatever_it_was() {
    let app = spawn().await;
    let t = app.register_login("apiuser", "password1").await;
    let (put, delete) = (reqwest::Method::PUT, reqwest::Method::DELETE);
    for _ in 0..2 {
        assert_eq!(put_or_delete(&app, put.clone(), "/alarms/kk/205", Some(&t)).await, (204, String::new()));
        assert!(alarm_shown(&app, &t, 205).await);
    }
    let (_, plays) = app.get_auth("/alarms", &t).await;
    assert!(plays.as_array().is_some());
    for _ in 0..2 {
        assert_eq!(put_or_delete(&app, delete.clone(), "/alarms/KK/205", Some(&t)).await, (204, String::new()));
        assert!(!alarm_shown(&app, &t, 205).await);
    }
    // The toggle and the switch share one state.
    put_or_delete(&app, put.clone(), "/alarms/kk/205", Some(&t)).await;
    switch(&app, &t, json!({"mapid": "205", "alarm": true})).await;
    assert!(!alarm_shown(&app, &t, 205).await);

    // The sheet's map rules, JSON errors.
    assert_eq!(put_or_delete(&app, put.clone(), "/alarms/kk/205", None).await.0, 401);
    let cases = [("/alarms/kk/9999", 404), ("/alarms/kk/1", 400), ("/alarms/ky/205", 404), ("/alarms/kk/x", 404)];
    for (path, status) in cases {
        let (s, body) = put_or_delete(&app, put.clone(), path, Some(&t)).await;
        assert_eq!(s, status, "{path}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert!(body.get("msg").is_some() || body.is_string(), "{path}: {body}");
    }
    let rows: i64 = app.sql().query_row("SELECT COUNT(*) FROM alarms", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 0, "nothing stored by the refused calls");
}

#[tokio::test]
async fn the_admin_event_table_reads_id_and_visible_from_the_get() {
    let app = spawn().await;
    let admin = admin_token(&app, "boss").await;
    let user = app.register_login("plain", "password1").await;
    app.sql().execute("UPDATE events SET visible = 0 WHERE shortname = 'KR4'", []).unwrap();

    let (s, public) = app.get("/events").await;
    assert_eq!(s, 200);
    assert_eq!(public.as_array().unwrap().len(), 11);
    assert_eq!(public[0], json!({"edition": 1, "name": "Kackiest Kacky 1", "type": "KK"}));
    // A player's token (the hunting page sends it) or a broken one: the public list.
    assert_eq!(app.get_auth("/events", &user).await, (200, public.clone()));
    assert_eq!(app.get_auth("/events", "not-a-token").await, (200, public.clone()));

    let (s, all) = app.get_auth("/events", &admin).await;
    assert_eq!(s, 200);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 12, "hidden events too");
    assert_eq!(all[0], json!({"edition": 1, "id": 1, "name": "Kackiest Kacky 1", "type": "KK", "visible": 1}));
    let kr4 = all.iter().find(|e| e["type"] == "KR" && e["edition"] == 4).unwrap();
    assert_eq!(kr4["visible"], 0);
    // Both frontends' switches send the input's constant value whatever its state: `""` from
    // current Chakra UI builds (seen in both in Chromium), `"on"` from older ones. Each click
    // toggles, and the table shows the new state on the next GET.
    let visible =
        |all: &Value| all.as_array().unwrap().iter().find(|e| e["id"] == kr4["id"]).unwrap()["visible"].clone();
    for (value, expected) in [("", 1), ("", 0), ("on", 1)] {
        let click = json!({"visible": {"id": kr4["id"], "value": value}});
        assert_eq!(app.post_json("/manage/events", click, Some(&admin)).await, (200, json!("OK")));
        assert_eq!(visible(&app.get_auth("/events", &admin).await.1), expected, "after {value:?}");
    }
    assert_eq!(app.get("/events").await.1.as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn the_wr_placeholder_reads_as_no_record() {
    let app = spawn().await;
    let stored: i64 = app
        .sql()
        .query_row(
            "SELECT w.score FROM worldrecords w JOIN maps m ON m.id = w.map_id JOIN events e ON e.id = m.event_id \
             WHERE e.shortname = 'KR4' AND m.kacky_id_int = 290",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 9_999_999, "the seed keeps the placeholder as it was");
    let (_, info) = app.get("/mapinfo/kr/290").await;
    assert_eq!((info["wr_score"].as_i64(), info["wr_holder"].as_str()), (Some(0), Some("")));
    let (_, sheet) = app.get("/spreadsheet/kr/4").await;
    let row = sheet.as_array().unwrap().iter().find(|r| r["kacky_id"] == 290).unwrap().clone();
    assert_eq!(row["wr_score"], 0);
    let (_, info) = app.get("/mapinfo/kr/226").await;
    assert_eq!(info["wr_score"], 24_375, "real records stay");
}

#[tokio::test]
async fn the_join_button_links_to_each_server() {
    let (fake, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "join_url_template: 'tmtp://#join={login}'\n").await;
    poll_now(&app.state).await;
    let (_, dash) = app.get("/dashboard").await;
    let joins: Vec<&str> =
        dash["servers"].as_array().unwrap().iter().map(|s| s["serverJoin"].as_str().unwrap()).collect();
    assert_eq!(joins, ["tmtp://#join=a", "tmtp://#join=b"]);

    let (fake, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let app = spawn_live_with(&fake, &clock, 3600, "").await;
    poll_now(&app.state).await;
    let (_, dash) = app.get("/dashboard").await;
    let joins: Vec<&str> =
        dash["servers"].as_array().unwrap().iter().map(|s| s["serverJoin"].as_str().unwrap()).collect();
    assert_eq!(joins, ["", ""], "no template and no own link: no button");
}

#[tokio::test]
async fn testing_mode_player_search_answers_in_the_real_apis_shapes() {
    let app =
        spawn_with(Options { config: "testing_mode: 1\neventtype: KR\nedition: 4\n", ..Default::default() }).await;
    let (s, kr) = app.get("/records/event/leaderboard/kr/4/someone").await;
    assert_eq!(s, 200);
    let kr = kr.as_array().expect("KR: a list, as kacky-records-api answers");
    assert_eq!((kr.len(), kr[0]["login"].as_str()), (1, Some("someone")));
    let (_, kk) = app.get("/records/event/leaderboard/kk/7/someone").await;
    assert_eq!(kk["login"], "someone", "KK: one object");
    let (s, probe) = app.get("/records/leaderboard/kr/321").await;
    assert_eq!((s, probe[0]["rank"].as_i64()), (200, Some(1)), "the rewrite's dashboard probe");
    assert_eq!(app.get("/records/event/leaderboard/kx/1/someone").await, (200, json!([])));
}
