//! Accounts, tokens, password reset, rate limits and the personal sheet.

use std::sync::{Arc, Mutex};

use axum::routing::post;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use kacky_backend::clock::Clock;
use serde_json::{json, Value};

use crate::common::{payload, spawn, spawn_with, Fake, Options, LIVE_KK7, SECRETS};

#[tokio::test]
async fn register_login_and_token_payload() {
    let app = spawn().await;
    let token = app.register_login("Alice", "password1").await;
    let p = payload(&token);
    assert_eq!(p["sub"], "Alice");
    assert_eq!(p["isAdmin"], 0);
    assert_eq!(p["type"], "access");
    assert!(p["jti"].as_str().unwrap().len() >= 32);
    assert_eq!(p["exp"].as_i64().unwrap() - p["iat"].as_i64().unwrap(), 100 * 86_400);
    assert!(!token.split('.').nth(1).unwrap().contains(['-', '_']), "payload must be atob-safe");
    // Names compare case-insensitively and ignore trailing spaces.
    let (s, b) =
        app.post_json("/register", json!({"user": "alice ", "pwd": "password2", "mail": "a@b.cd"}), None).await;
    assert_eq!((s, b), (409, json!("Conflict")));
    app.login("ALICE", "password1").await;
    let (s, body) = app.post_json("/login", json!({"user": "alice", "pwd": "nope-nope"}), None).await;
    assert_eq!((s, body), (401, json!("Unauthorized")));
    let (s, body) = app.post_json("/login", json!({"user": "nobody", "pwd": "x"}), None).await;
    assert_eq!((s, body), (401, json!("Wrong username or password")));
    let (s, body) = app.get_auth("/usermgnt", &token).await;
    assert_eq!(
        (s, body),
        (200, json!({"discord": "", "discord_link": null, "finish_feed": false, "tm20": "", "tmnf": ""}))
    );
}

fn tamper(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut p: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    p["isAdmin"] = json!(1);
    format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(p.to_string()), parts[2])
}

#[tokio::test]
async fn bad_tokens_get_the_old_codes() {
    let clock = Clock::manual("2030-01-01T00:00:00Z".parse().unwrap());
    let app = spawn_with(Options { clock: clock.clone(), ..Default::default() }).await;
    let token = app.register_login("bob", "password1").await;
    let (s, b) = app.get_auth("/usermgnt", &tamper(&token)).await;
    assert_eq!((s, b["msg"].as_str()), (422, Some("Signature verification failed")));
    let parts: Vec<&str> = token.split('.').collect();
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let (s, b) = app.get_auth("/usermgnt", &none).await;
    assert_eq!((s, b["msg"].as_str()), (422, Some("The specified alg value is not allowed")));
    let (s, b) = app.get_auth("/usermgnt", "garbage").await;
    assert_eq!(s, 422, "{b}");
    let r = app.client.get(app.url("/usermgnt")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["msg"], "Missing Authorization Header");
    let r = app.client.get(app.url("/usermgnt")).header("Authorization", "Bearer ").send().await.unwrap();
    assert_eq!(r.status(), 422);
    // Expired: 100 days later.
    clock.advance(Duration::days(100));
    let (s, b) = app.get_auth("/usermgnt", &token).await;
    assert_eq!((s, b["msg"].as_str()), (401, Some("Token has expired")));
    clock.advance(Duration::days(-100));
    // Logged out.
    assert_eq!(app.get_auth("/logout", &token).await, (200, json!("OK")));
    let (s, b) = app.get_auth("/usermgnt", &token).await;
    assert_eq!((s, b["msg"].as_str()), (401, Some("Token has been revoked")));
    assert_eq!(app.get_auth("/logout", &token).await.0, 401);
    // Public and optional endpoints ignore a stale or empty token.
    let (s, rows) = app.get_auth("/spreadsheet/kk/7", &token).await;
    assert_eq!(s, 200);
    assert!(rows[0].get("map_diff").is_none(), "treated as anonymous");
    let r = app.client.get(app.url("/wrleaderboard/kk")).header("Authorization", "Bearer ").send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn password_change_revokes_old_tokens() {
    let app = spawn().await;
    let old = app.register_login("carol", "password1").await;
    let other = app.login("carol", "password1").await;
    let (s, _) = app.post_json("/usermgnt", json!({"pwd": "password2", "token": old}), Some(&old)).await;
    assert_eq!(s, 200);
    assert_eq!(app.get_auth("/usermgnt", &old).await.0, 401);
    assert_eq!(app.get_auth("/usermgnt", &other).await.0, 401);
    let (s, _) = app.post_json("/login", json!({"user": "carol", "pwd": "password1"}), None).await;
    assert_eq!(s, 401);
    let new = app.login("carol", "password2").await;
    assert_eq!(app.get_auth("/usermgnt", &new).await.0, 200);
}

#[tokio::test]
async fn profile_update_is_all_or_nothing() {
    let app = spawn().await;
    let t = app.register_login("dave", "password1").await;
    let (s, _) = app
        .post_json(
            "/usermgnt",
            json!({"tmnf": "dave_tmnf", "tm20": "Dave20", "discord": "dave#1", "token": t}),
            Some(&t),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.get_auth("/usermgnt", &t).await.1,
        json!({"discord": "dave#1", "discord_link": null, "finish_feed": false, "tm20": "Dave20", "tmnf": "dave_tmnf"})
    );
    // A bad key after good ones changes nothing.
    let (s, b) = app.post_json("/usermgnt", json!({"tmnf": "changed", "tm20": 5}), Some(&t)).await;
    assert_eq!(s, 400);
    assert!(b["msg"].as_str().unwrap().contains("tm20"));
    let (s, _) = app.post_json("/usermgnt", json!({"discord": "x".repeat(81)}), Some(&t)).await;
    assert_eq!(s, 400);
    assert_eq!(app.get_auth("/usermgnt", &t).await.1["tmnf"], "dave_tmnf");
}

#[tokio::test]
async fn legacy_sha256_account_is_upgraded_on_login() {
    let app = spawn().await;
    let legacy = format!("sha256${}", kacky_backend::auth::sha256_hex("oldpassword"));
    app.sql()
        .execute(
            "INSERT INTO users (username, username_key, password, mail) VALUES ('Legacy', 'legacy', ?1, 'x')",
            [&legacy],
        )
        .unwrap();
    let (s, _) = app.post_json("/login", json!({"user": "legacy", "pwd": "wrong"}), None).await;
    assert_eq!(s, 401);
    app.login("legacy", "oldpassword").await;
    let stored: String =
        app.sql().query_row("SELECT password FROM users WHERE username_key = 'legacy'", [], |r| r.get(0)).unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    app.login("Legacy", "oldpassword").await;
}

#[tokio::test]
async fn eleventh_failed_login_within_a_minute_is_429() {
    let clock = Clock::manual("2030-01-01T00:00:00Z".parse().unwrap());
    let app = spawn_with(Options { clock: clock.clone(), ..Default::default() }).await;
    app.register_login("erin", "password1").await;
    for i in 0..10 {
        let (s, _) = app.post_json("/login", json!({"user": "erin", "pwd": format!("wrong{i}")}), None).await;
        assert_eq!(s, 401, "attempt {i}");
    }
    let r = app.client.post(app.url("/login")).json(&json!({"user": "erin", "pwd": "password1"})).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: i64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    clock.advance(Duration::seconds(61));
    app.login("erin", "password1").await;
}

/// Sends `n` wrong logins for `user` at once, each from its own `X-Forwarded-For` address when
/// `spread` (the app trusts 127.0.0.1 as a proxy), and returns how many were not 429.
async fn parallel_wrong_logins(app: &crate::common::TestApp, user: &str, n: usize, spread: bool) -> usize {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let mut req = app.client.post(app.url("/login")).json(&json!({"user": user, "pwd": format!("wrong{i}")}));
        if spread {
            req = req.header("X-Forwarded-For", format!("10.0.{}.{}", i / 200, i % 200 + 1));
        }
        set.spawn(async move { req.send().await.unwrap().status().as_u16() });
    }
    let statuses = set.join_all().await;
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    statuses.iter().filter(|s| **s != 429).count()
}

/// The limit holds under parallel guesses: each attempt is reserved before argon2 runs, for the
/// per-address key and the per-name key alike.
#[tokio::test]
async fn parallel_wrong_logins_never_pass_the_limit() {
    let config = format!("{LIVE_KK7}login_rate_per_min: 5\ntrusted_proxies: [127.0.0.1]\n");
    let app = spawn_with(Options { config: &config, ..Default::default() }).await;
    app.register_login("frank", "password1").await;
    app.register_login("grace", "password1").await;
    // One address, one name.
    assert!(parallel_wrong_logins(&app, "frank", 30, false).await <= 5);
    // Thirty addresses guessing one name: the per-name key holds.
    assert!(parallel_wrong_logins(&app, "grace", 30, true).await <= 5);
    // Thirty addresses guessing unknown names are each allowed their own attempts.
    assert_eq!(parallel_wrong_logins(&app, "nobody-here", 3, true).await, 3);
}

/// Password-reset requests are limited the same way, per address and per name.
#[tokio::test]
async fn parallel_reset_requests_never_pass_the_limit() {
    let config = format!("{LIVE_KK7}login_rate_per_min: 4\ntrusted_proxies: [127.0.0.1]\n");
    let app = spawn_with(Options { config: &config, ..Default::default() }).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let req = app
            .client
            .post(app.url("/pwdreset"))
            .header("X-Forwarded-For", format!("10.1.0.{}", i + 1))
            .json(&json!({"user": "victim", "mail": "victim@example.com"}));
        set.spawn(async move { req.send().await.unwrap().status().as_u16() });
    }
    let statuses = set.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s != 429).count(), 4, "{statuses:?}");
}

#[tokio::test]
async fn unknown_names_are_checked_against_a_hash_made_at_start_up() {
    let app = spawn().await;
    assert!(app.state.dummy_hash.starts_with("$argon2id$"), "computed by prepare, before serving");
    let (s, b) = app.post_json("/login", json!({"user": "ghost", "pwd": "whatever1"}), None).await;
    assert_eq!((s, b), (401, json!("Wrong username or password")));
}

/// A fake SendGrid that records mails and answers `status`.
async fn fake_sendgrid(status: u16) -> (Fake, Arc<Mutex<Vec<(String, Value)>>>) {
    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let s2 = seen.clone();
    let router = axum::Router::new().route(
        "/v3/mail/send",
        post(move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
            let seen = s2.clone();
            async move {
                let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                seen.lock().unwrap().push((auth, body));
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    (Fake::start(router).await, seen)
}

fn token_from_mail(mail: &Value) -> String {
    let text = mail["content"][0]["value"].as_str().unwrap();
    let line = text.lines().find(|l| l.starts_with("   ") && l.trim().len() == 6).unwrap();
    line.trim().to_owned()
}

#[tokio::test]
async fn password_reset_by_mail_works_once_and_expires() {
    let (fake, seen) = fake_sendgrid(202).await;
    let clock = Clock::manual("2030-01-01T00:00:00Z".parse().unwrap());
    let config = format!("{LIVE_KK7}sendgrid_api_url: {}\n", fake.base);
    let secrets = format!("{SECRETS}sendgrid_api_key: SG.test\n");
    let app =
        spawn_with(Options { config: &config, secrets: &secrets, clock: clock.clone(), ..Default::default() }).await;
    let old = app.register_login("frank", "password1").await;
    let known = app.post_json("/pwdreset", json!({"user": "frank", "mail": "frank@example.com"}), None).await;
    let unknown = app.post_json("/pwdreset", json!({"user": "nobody", "mail": "frank@example.com"}), None).await;
    let wrong_mail = app.post_json("/pwdreset", json!({"user": "frank", "mail": "other@example.com"}), None).await;
    assert_eq!(known, (200, json!("OK")));
    assert_eq!(unknown, known);
    assert_eq!(wrong_mail, known);
    let mails = seen.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "only the real pair gets a mail");
    assert_eq!(mails[0].0, "Bearer SG.test");
    assert_eq!(mails[0].1["personalizations"][0]["to"][0]["email"], "frank@example.com");
    assert_eq!(mails[0].1["subject"], "Kacky.gg Password Reset");
    let token = token_from_mail(&mails[0].1);
    assert!(token.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    let (s, _) = app.post_json("/pwdreset", json!({"token": token.to_uppercase(), "pwd": "newpassword"}), None).await;
    assert_eq!(s, 200);
    let (s, b) = app.post_json("/pwdreset", json!({"token": token, "pwd": "another-pass"}), None).await;
    assert_eq!((s, b), (401, json!("Unauthorized")), "single use");
    app.login("frank", "newpassword").await;
    assert_eq!(app.get_auth("/usermgnt", &old).await.0, 401, "reset revokes earlier logins");
    // A second token expires after two hours.
    app.post_json("/pwdreset", json!({"user": "frank", "mail": "frank@example.com"}), None).await;
    let token = token_from_mail(&seen.lock().unwrap()[1].1);
    clock.advance(Duration::hours(2) + Duration::seconds(1));
    let (s, _) = app.post_json("/pwdreset", json!({"token": token, "pwd": "newpassword2"}), None).await;
    assert_eq!(s, 401);
    app.login("frank", "newpassword").await;
}

#[tokio::test]
async fn password_reset_mail_failure_is_500_and_leaves_no_token() {
    let (fake, seen) = fake_sendgrid(500).await;
    let config = format!("{LIVE_KK7}sendgrid_api_url: {}\n", fake.base);
    let secrets = format!("{SECRETS}sendgrid_api_key: SG.test\n");
    let app = spawn_with(Options { config: &config, secrets: &secrets, ..Default::default() }).await;
    app.register_login("gina", "password1").await;
    let (s, b) = app.post_json("/pwdreset", json!({"user": "gina", "mail": "gina@example.com"}), None).await;
    assert_eq!((s, b), (500, json!("Internal Server Error")));
    let token = token_from_mail(&seen.lock().unwrap()[0].1);
    let (s, _) = app.post_json("/pwdreset", json!({"token": token, "pwd": "newpassword"}), None).await;
    assert_eq!(s, 401);
    let n: i64 = app.sql().query_row("SELECT COUNT(*) FROM reset_tokens", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn delete_account_kills_its_tokens_even_after_reregistration() {
    let app = spawn().await;
    let t = app.register_login("hank", "password1").await;
    app.post_json("/spreadsheet/kk", json!({"mapid": "201", "diff": 2}), Some(&t)).await;
    let r = app
        .client
        .post(app.url("/usermgnt/delete"))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, b) = app.get_auth("/usermgnt", &t).await;
    assert_eq!((s, b["msg"].as_str()), (401, Some("Error loading the user hank")));
    let n: i64 = app.sql().query_row("SELECT COUNT(*) FROM spreadsheet", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0, "cascade");
    app.register_login("hank", "password2").await;
    assert_eq!(app.get_auth("/usermgnt", &t).await.0, 401);
}

#[tokio::test]
async fn sheet_writes_show_in_logged_in_views() {
    let app = spawn().await;
    let t = app.register_login("ivy", "password1").await;
    assert_eq!(
        app.post_json("/spreadsheet/kk", json!({"mapid": "202", "diff": 4, "token": t}), Some(&t)).await,
        (200, json!("OK"))
    );
    assert_eq!(
        app.post_json("/spreadsheet/KK", json!({"mapid": "202", "clip": "https://clips/x"}), Some(&t)).await.0,
        200
    );
    assert_eq!(app.post_json("/spreadsheet/kk", json!({"mapid": "203", "alarm": true}), Some(&t)).await.0, 200);
    let (_, rows) = app.get_auth("/spreadsheet/kk/7", &t).await;
    let r202 = rows.as_array().unwrap().iter().find(|r| r["kacky_id"] == 202).unwrap().clone();
    assert_eq!(
        (r202["map_diff"].as_i64(), r202["clip"].as_str(), r202["alarm"].as_bool()),
        (Some(4), Some("https://clips/x"), Some(false))
    );
    assert!(r202["id"].as_i64().is_some());
    let r203 = rows.as_array().unwrap().iter().find(|r| r["kacky_id"] == 203).unwrap().clone();
    assert_eq!((r203["map_diff"].clone(), r203["alarm"].as_bool()), (Value::Null, Some(true)));
    let (_, info) = app.get_auth("/mapinfo/kk/202", &t).await;
    assert_eq!(info["map_diff"], 4);
    // Toggle off with a non-boolean value, like the old API.
    app.post_json("/spreadsheet/kk", json!({"mapid": "203", "alarm": "x"}), Some(&t)).await;
    let (_, rows) = app.get_auth("/spreadsheet/kk/7", &t).await;
    assert_eq!(rows.as_array().unwrap().iter().find(|r| r["kacky_id"] == 203).unwrap()["alarm"], false);
    // Unknown map → 404; alarm outside the current event → 400; nothing stored.
    let (s, b) = app.post_json("/spreadsheet/kk", json!({"mapid": "9999", "diff": 2}), Some(&t)).await;
    assert_eq!(s, 404);
    assert!(b["msg"].as_str().unwrap().contains("9999"));
    let (s, _) = app.post_json("/spreadsheet/kk", json!({"mapid": "1", "alarm": true, "diff": 3}), Some(&t)).await;
    assert_eq!(s, 400);
    let n: i64 = app.sql().query_row("SELECT COUNT(*) FROM spreadsheet", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn concurrent_alarm_toggles_and_diff_updates() {
    let app = Arc::new(spawn().await);
    let t = app.register_login("jack", "password1").await;
    let mut tasks = Vec::new();
    for id in 201..251 {
        let (app, t) = (app.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            app.post_json("/spreadsheet/kk", json!({"mapid": id.to_string(), "alarm": "toggle"}), Some(&t)).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let n: i64 = app.sql().query_row("SELECT COUNT(*) FROM alarms", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 50, "every toggle survives");
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (app, t) = (app.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            app.post_json("/spreadsheet/kk", json!({"mapid": "210", "diff": i % 7}), Some(&t)).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let rows: Vec<i64> = {
        let db = app.sql();
        let mut st = db.prepare("SELECT map_diff FROM spreadsheet").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(rows.len(), 1);
    assert!((0..7).contains(&rows[0]));
}

#[tokio::test]
async fn bad_input_is_4xx_json_and_changes_nothing() {
    let app = spawn().await;
    let t = app.register_login("kim", "password1").await;
    let cases: Vec<(&str, Value)> = vec![
        ("/register", json!({"user": "x", "pwd": "password1"})),
        ("/register", json!({"user": 5, "pwd": "password1", "mail": "a@b.cd"})),
        ("/register", json!({"user": "y".repeat(81), "pwd": "password1", "mail": "a@b.cd"})),
        ("/register", json!({"user": "", "pwd": "password1", "mail": "a@b.cd"})),
        ("/register", json!({"user": "shortpw", "pwd": "short", "mail": "a@b.cd"})),
        ("/register", json!({"user": "nomail", "pwd": "password1", "mail": "not-a-mail"})),
        ("/register", json!(["a", "list"])),
        ("/login", json!({"user": "kim"})),
        ("/login", json!({"user": "kim", "pwd": ["x"]})),
        ("/pwdreset", json!({})),
        ("/pwdreset", json!({"token": "abc", "pwd": "password9"})),
        ("/pwdreset", json!({"user": "kim", "mail": 7})),
        ("/usermgnt", json!({"tmnf": "x".repeat(51)})),
        ("/usermgnt", json!({"mail": "nope"})),
        ("/spreadsheet/kk", json!({"diff": 2})),
        ("/spreadsheet/kk", json!({"mapid": "201", "diff": 7})),
        ("/spreadsheet/kk", json!({"mapid": "201", "diff": "3"})),
        ("/spreadsheet/kk", json!({"mapid": "201", "diff": 2.5})),
        ("/spreadsheet/kk", json!({"mapid": "201", "clip": "c".repeat(151)})),
        ("/spreadsheet/kk", json!({"mapid": "abc", "diff": 1})),
        ("/spreadsheet/kk", json!({"mapid": {"x": 1}, "diff": 1})),
    ];
    for (path, body) in cases {
        let (s, b) = app.post_json(path, body.clone(), Some(&t)).await;
        assert!((400..500).contains(&s), "{path} {body} → {s}");
        assert!(b["msg"].is_string(), "{path} {body} → {b}");
    }
    for path in ["/register", "/login", "/usermgnt", "/spreadsheet/kk", "/pwdreset"] {
        let r = app
            .client
            .post(app.url(path))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path}");
        assert!(r.json::<Value>().await.unwrap()["msg"].is_string());
        let r = app.client.post(app.url(path)).bearer_auth(&t).body("user=x").send().await.unwrap();
        assert_eq!(r.status(), 415, "{path}");
        let big = format!("{{\"user\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
        let r = app
            .client
            .post(app.url(path))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
    }
    let (s, b) = app.post_json("/spreadsheet/xx", json!({"mapid": "201", "diff": 1}), Some(&t)).await;
    assert_eq!((s, b), (404, json!("404 Error: bad path")));
    let db = app.sql();
    let counts: (i64, i64, i64) = db
        .query_row(
            "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM spreadsheet), (SELECT COUNT(*) FROM alarms)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(counts, (1, 0, 0));
    assert_eq!(
        app.get_auth("/usermgnt", &t).await.1,
        json!({"discord": "", "discord_link": null, "finish_feed": false, "tm20": "", "tmnf": ""})
    );
}
