//! Online guessing stays bounded however many addresses a guesser has: reset tokens share one
//! budget of wrong tokens across all addresses, the streamer password is limited like logins,
//! an IPv6 client counts by its /64; and game logins in the profile are game logins.

use chrono::Duration;
use kacky_backend::clock::Clock;
use serde_json::{json, Value};

use crate::common::{spawn, spawn_with, Options, TestApp, LIVE_KK7};

/// `POST path` with `body` from `X-Forwarded-For: from` (the app trusts 127.0.0.1); the
/// status, body and `Retry-After`.
async fn post_from(app: &TestApp, path: &str, from: &str, body: Value) -> (u16, Value, Option<String>) {
    let r = app.client.post(app.url(path)).header("X-Forwarded-For", from).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, r.json().await.unwrap(), retry)
}

async fn behind_proxy(clock: &Clock) -> TestApp {
    let config = format!("{LIVE_KK7}trusted_proxies: [127.0.0.1]\n");
    spawn_with(Options { config: &config, clock: clock.clone(), ..Default::default() }).await
}

/// Fifteen wrong tokens a minute from all addresses together, then 429 for everyone until the
/// minute has passed (so at most 1,800 guesses reach a token in its 2 h life); a right token
/// does not count.
#[tokio::test]
async fn wrong_reset_tokens_from_many_addresses_share_one_budget() {
    let clock = Clock::manual("2030-01-01T00:00:00Z".parse().unwrap());
    let app = behind_proxy(&clock).await;
    app.register_login("alice", "correct horse").await;
    let hash = kacky_backend::auth::sha256_hex("abc123");
    let now = clock.now().timestamp();
    app.sql()
        .execute(
            "INSERT INTO reset_tokens (user_id, token_hash, created_at) SELECT id, ?1, ?2 FROM users WHERE username = 'alice'",
            rusqlite::params![hash, now],
        )
        .unwrap();
    let guess = |i: usize| json!({"token": format!("zz{i:04}"), "pwd": "new password"});
    for i in 0..15 {
        let (status, body, _) = post_from(&app, "/pwdreset", &format!("10.4.0.{}", i + 1), guess(i)).await;
        assert_eq!((status, body), (401, json!("Unauthorized")), "guess {i}");
    }
    let (status, body, retry) = post_from(&app, "/pwdreset", "10.4.1.1", guess(99)).await;
    assert_eq!(status, 429, "{body}");
    assert!(body["msg"].as_str().unwrap().starts_with("too many password reset attempts; retry in"), "{body}");
    assert_eq!(retry.as_deref(), Some("60"));
    // The budget is everyone's: the right token waits too, and works once the minute is over.
    let right = json!({"token": "ABC123", "pwd": "new password"});
    assert_eq!(post_from(&app, "/pwdreset", "10.4.2.1", right.clone()).await.0, 429);
    clock.advance(Duration::seconds(60));
    assert_eq!(post_from(&app, "/pwdreset", "10.4.2.1", right).await.0, 200);
    app.login("alice", "new password").await;
}

/// Wrong streamer passwords: `login_rate_per_min` (10) a minute per address, then 429 with
/// `Retry-After`; right ones do not count.
#[tokio::test]
async fn wrong_streamer_passwords_are_limited_like_logins() {
    let clock = Clock::manual("2030-01-01T00:00:00Z".parse().unwrap());
    let app = behind_proxy(&clock).await;
    let post = |pwd: &str| json!({"pwd": pwd, "message": "hi"});
    for i in 0..10 {
        let (status, body, _) = post_from(&app, "/post", "10.5.0.1", post(&format!("wrong{i}"))).await;
        assert_eq!((status, body), (403, json!("Forbidden")), "{i}");
    }
    let (status, body, retry) = post_from(&app, "/post", "10.5.0.1", post("wrong")).await;
    assert_eq!(status, 429, "{body}");
    assert!(body["msg"].as_str().unwrap().starts_with("too many wrong streamer passwords"), "{body}");
    assert!(retry.is_some());
    let (status, _, _) = post_from(&app, "/target", "10.5.0.1", json!({"pwd": "streampw", "target": "x"})).await;
    assert_eq!(status, 429, "the address waits, whatever it sends");
    for _ in 0..20 {
        assert_eq!(post_from(&app, "/post", "10.5.0.2", post("streampw")).await.0, 200, "right ones never count");
    }
    clock.advance(Duration::seconds(60));
    assert_eq!(post_from(&app, "/post", "10.5.0.1", post("streampw")).await.0, 200);
}

/// An IPv6 client is one client per /64: rotating through the addresses of its block gives no
/// fresh budget; the next /64 is someone else.
#[tokio::test]
async fn ipv6_clients_are_limited_by_their_64() {
    let clock = Clock::manual("2030-01-01T00:00:00Z".parse().unwrap());
    let app = behind_proxy(&clock).await;
    for i in 0..10 {
        let from = format!("2001:db8:1:2::{:x}", i + 1);
        let (status, _, _) = post_from(&app, "/login", &from, json!({"user": format!("u{i}"), "pwd": "nope"})).await;
        assert_eq!(status, 401);
    }
    let (status, body, _) =
        post_from(&app, "/login", "2001:db8:1:2:ffff:ffff:ffff:ffff", json!({"user": "u99", "pwd": "nope"})).await;
    assert_eq!(status, 429, "{body}");
    let (status, _, _) = post_from(&app, "/login", "2001:db8:1:3::1", json!({"user": "u98", "pwd": "nope"})).await;
    assert_eq!(status, 401, "another /64 has its own budget");
}

/// `tmnf`/`tm20` take the games' login alphabet only (they reach log lines and upstream
/// requests); what an account stored before stays as it is.
#[tokio::test]
async fn game_logins_must_be_game_logins_and_stored_ones_stay() {
    let app = spawn().await;
    let token = app.register_login("alice", "correct horse").await;
    for (key, bad, says) in [
        ("tmnf", "a\nb", "U+000A"),
        ("tm20", "..", "must not be `.` or `..`"),
        ("tmnf", "../../admin", "`/`"),
        ("tm20", "name with spaces", "U+0020"),
        ("tmnf", "ünïcödé", "U+00FC"),
    ] {
        let (status, body) = app.post_json("/usermgnt", json!({key: bad, "discord": "changed"}), Some(&token)).await;
        assert_eq!(status, 400, "{key}={bad:?}: {body}");
        let msg = body["msg"].as_str().unwrap();
        assert!(msg.starts_with(&format!("`{key}` must")) && msg.contains(says), "{msg}");
    }
    let (_, profile) = app.get_auth("/usermgnt", &token).await;
    assert_eq!(profile["discord"], "", "a refused update stores nothing");
    let good = json!({"tmnf": "sir_blud.1-x", "tm20": "x3sAA1m0Sc6LwBg0Bd8gpQ"});
    assert_eq!(app.post_json("/usermgnt", good, Some(&token)).await.0, 200);
    let (_, profile) = app.get_auth("/usermgnt", &token).await;
    assert_eq!(
        (profile["tmnf"].as_str(), profile["tm20"].as_str()),
        (Some("sir_blud.1-x"), Some("x3sAA1m0Sc6LwBg0Bd8gpQ"))
    );

    // A login stored before the rule is left alone, and other updates do not trip over it.
    app.sql().execute("UPDATE user_fields SET tmnf_login = 'old login!'", []).unwrap();
    assert_eq!(app.post_json("/usermgnt", json!({"discord": "1234"}), Some(&token)).await.0, 200);
    let (_, profile) = app.get_auth("/usermgnt", &token).await;
    assert_eq!(profile["tmnf"], "old login!");
    assert_eq!(app.post_json("/usermgnt", json!({"tmnf": ""}), Some(&token)).await.0, 200, "clearing it works");
}
