//! Answers a cache in front can keep: ETag/304 and Cache-Control on the public GETs,
//! `Vary: Authorization` and `private` where the token matters; logged-in answers follow that
//! user's writes at once; revocation stays immediate with the in-memory session cache.

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::common::{spawn_with, Options, TestApp};
use crate::live::{answer, fake_gameserver, spawn_live_with, t0};
use kacky_backend::clock::Clock;
use kacky_backend::live::poll_now;

async fn head(app: &TestApp, path: &str, token: Option<&str>, etag: Option<&str>) -> (u16, HeaderMap, String) {
    let mut req = app.client.get(app.url(path)).header("Origin", "https://kacky.gg");
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(e) = etag {
        req = req.header("If-None-Match", e);
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

fn varies_on_authorization(h: &HeaderMap) -> bool {
    h.get_all("vary")
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("authorization"))
}

#[tokio::test]
async fn public_gets_revalidate_and_personal_ones_vary_and_stay_private() {
    let (fake, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "").await;
    poll_now(&app.state).await;
    let token = app.register_login("cacher", "password1").await;

    // (path, depends on the token, Cache-Control when anonymous)
    let endpoints = [
        // Admins get every event with `id` and `visible` from the same GET.
        ("/events", true, "public, max-age=120"),
        ("/spreadsheet/kk/7", true, "public, max-age=120"),
        ("/spreadsheet/kk/all", true, "public, max-age=120"),
        ("/mapinfo/kk/215", true, "public, max-age=120"),
        ("/wrleaderboard/kk", false, "public, max-age=120"),
        ("/eventstatus", false, "public, max-age=5"),
        ("/dashboard", true, "public, max-age=5"),
        ("/spreadsheet", true, "public, max-age=5"),
        ("/schedule", false, "public, max-age=5"),
    ];
    for (path, personal, cache_control) in endpoints {
        let (status, h, body) = head(&app, path, None, None).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(h["cache-control"], cache_control, "{path}");
        let etag = h["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "a strong ETag on {path}: {etag}");
        assert_eq!(varies_on_authorization(&h), personal, "{path}: {h:?}");
        // The same bytes again: 304 with the ETag, no body.
        let (status, h304, body304) = head(&app, path, None, Some(&etag)).await;
        assert_eq!((status, body304.as_str()), (304, ""), "{path}");
        assert_eq!(h304["etag"].to_str().unwrap(), etag);
        let (status, _, _) = head(&app, path, None, Some("\"something-else\"")).await;
        assert_eq!(status, 200, "{path}");
        assert!(serde_json::from_str::<Value>(&body).is_ok());
        if personal {
            let (status, h, logged_in) = head(&app, path, Some(&token), None).await;
            assert_eq!(status, 200, "{path}");
            assert_eq!(h["cache-control"], "private, no-cache", "{path}");
            assert!(varies_on_authorization(&h), "{path}");
            if path.starts_with("/spreadsheet/") || path.starts_with("/mapinfo") {
                assert_ne!(logged_in, body, "{path}: the logged-in answer has the user's columns");
            }
        }
    }
    // An admin write changes the data: the old ETag no longer matches.
    let (_, h, _) = head(&app, "/wrleaderboard/kk", None, None).await;
    let etag = h["etag"].to_str().unwrap().to_owned();
    app.sql().execute("UPDATE users SET is_admin = 1 WHERE username = 'cacher'", []).unwrap();
    let (s, _) = app.post_json("/mapinfo/kk/215", json!({"reset": ""}), Some(&token)).await;
    assert_eq!(s, 200);
    let (status, _, _) = head(&app, "/wrleaderboard/kk", None, Some(&etag)).await;
    assert_eq!(status, 200, "new data, new ETag");
}

#[tokio::test]
async fn a_users_answers_follow_their_writes_at_once() {
    let (fake, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "").await;
    poll_now(&app.state).await;
    let token = app.register_login("writer", "password1").await;
    let other = app.register_login("other", "password1").await;
    let diff_of = |rows: &Value, id: i64| {
        rows.as_array().unwrap().iter().find(|r| r["kacky_id"] == id).map(|r| r["map_diff"].clone()).unwrap()
    };
    // Warm every personal answer, then write, then read again at once.
    for path in ["/spreadsheet/kk/7", "/spreadsheet", "/dashboard", "/mapinfo/kk/203"] {
        app.get_auth(path, &token).await;
        app.get_auth(path, &token).await;
    }
    for (round, diff) in [(1, 3), (2, 5)] {
        let (s, _) = app.post_json("/spreadsheet/kk", json!({"mapid": "203", "diff": diff}), Some(&token)).await;
        assert_eq!(s, 200);
        let (_, rows) = app.get_auth("/spreadsheet/kk/7", &token).await;
        assert_eq!(diff_of(&rows, 203), json!(diff), "round {round}");
        let (_, rows) = app.get_auth("/spreadsheet", &token).await;
        assert_eq!(diff_of(&rows, 203), json!(diff), "round {round}");
        let (_, map) = app.get_auth("/mapinfo/kk/203", &token).await;
        assert_eq!(map["map_diff"], diff, "round {round}");
        let (_, dash) = app.get_auth("/dashboard", &token).await;
        assert_eq!(
            dash["servers"][0]["maps"][0],
            json!({"author": "theinsan3", "difficulty": diff, "finished": false, "number": 203})
        );
        // Another user's answer is theirs alone.
        let (_, rows) = app.get_auth("/spreadsheet/kk/7", &other).await;
        assert_eq!(diff_of(&rows, 203), Value::Null);
        let (_, rows) = app.get("/spreadsheet/kk/7").await;
        assert!(rows[0].get("map_diff").is_none(), "the anonymous answer has no user columns");
    }
}

#[tokio::test]
async fn revocation_stays_immediate() {
    let app = spawn_with(Options::default()).await;
    let check = |token: String| {
        let app = &app;
        async move { app.get_auth("/usermgnt", &token).await.0 }
    };
    // Logout: the very next request with that token fails, even right after a cached success.
    let t = app.register_login("rev", "password1").await;
    assert_eq!(check(t.clone()).await, 200);
    assert_eq!(check(t.clone()).await, 200);
    assert_eq!(app.get_auth("/logout", &t).await.0, 200);
    assert_eq!(check(t.clone()).await, 401);
    // A password change ends every earlier token at once.
    let (t1, t2) = (app.login("rev", "password1").await, app.login("rev", "password1").await);
    assert_eq!(check(t2.clone()).await, 200);
    let (s, _) = app.post_json("/usermgnt", json!({"pwd": "password2"}), Some(&t1)).await;
    assert_eq!(s, 200);
    assert_eq!(check(t2).await, 401);
    assert_eq!(check(t1).await, 401);
    // Deleting the account ends its tokens at once.
    let t = app.login("rev", "password2").await;
    assert_eq!(check(t.clone()).await, 200);
    assert_eq!(app.post_json("/usermgnt/delete", json!({}), Some(&t)).await.0, 200);
    assert_eq!(check(t).await, 401);
    // `admin demote` from another process: admin endpoints re-read the flag every time.
    let admin = app.register_login("boss", "password1").await;
    app.sql().execute("UPDATE users SET is_admin = 1 WHERE username = 'boss'", []).unwrap();
    let visible = json!({"visible": {"id": 1, "value": true}});
    assert_eq!(app.post_json("/manage/events", visible.clone(), Some(&admin)).await.0, 200);
    app.sql().execute("UPDATE users SET is_admin = 0 WHERE username = 'boss'", []).unwrap();
    assert_eq!(app.post_json("/manage/events", visible, Some(&admin)).await.0, 401);
}
