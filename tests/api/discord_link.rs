//! Linking a Discord account through OAuth2 against a fake Discord (token endpoint and
//! `/users/@me`): a good link, a forged, replayed or expired `state`, a code the token
//! endpoint refuses, a declined authorization, unlinking, one Discord account per account.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use base64::Engine;
use kacky_backend::clock::Clock;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{spawn, spawn_with, Fake, Options, TestApp, LIVE_KK7, SECRETS};
use crate::live::t0;

const PUBLIC: &str = "https://kacky.example.org";

#[derive(Clone, Default)]
struct FakeDiscord {
    token_calls: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

async fn token(
    State(d): State<FakeDiscord>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    d.token_calls.lock().unwrap().push(form.clone());
    let basic = base64::engine::general_purpose::STANDARD.encode("4242:client-secret-x");
    let auth_ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Basic {basic}"));
    let form_ok = form.get("grant_type").map(String::as_str) == Some("authorization_code")
        && form.get("redirect_uri").map(String::as_str) == Some(&format!("{PUBLIC}/discord/callback"));
    let code = form.get("code").map(String::as_str).unwrap_or("");
    if !auth_ok || !form_ok {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"}))).into_response();
    }
    let user = match code {
        "good-code" => "hunter",
        "other-code" => "other",
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "invalid_grant", "error_description": "Invalid \"code\" in request."})),
            )
                .into_response()
        }
    };
    Json(json!({"access_token": format!("at-{user}"), "token_type": "Bearer", "expires_in": 604800, "scope": "identify"}))
        .into_response()
}

async fn me(headers: HeaderMap) -> Response {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some("Bearer at-hunter") | Some("Bearer at-other") => Json(
            json!({"id": "123456789012345678", "username": "hunter", "global_name": "Hunter <3", "discriminator": "0"}),
        )
        .into_response(),
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn fake_discord() -> (Fake, FakeDiscord) {
    let d = FakeDiscord::default();
    let router = axum::Router::new()
        .route("/api/v10/oauth2/token", post(token))
        .route("/api/v10/users/@me", get(me))
        .with_state(d.clone());
    (Fake::start(router).await, d)
}

async fn spawn_linking(discord: &Fake, clock: &Clock, extra: &str) -> TestApp {
    let config = format!("{LIVE_KK7}public_url: {PUBLIC}/\ndiscord_api_url: {}\n{extra}", discord.base);
    let secrets = format!("{SECRETS}discord_client_id: '4242'\ndiscord_client_secret: client-secret-x\n");
    spawn_with(Options { config: &config, secrets: &secrets, clock: clock.clone(), ..Default::default() }).await
}

/// Starts a link flow: the authorize URL's state, after checking the URL.
async fn start(app: &TestApp, discord: &Fake, token: &str) -> String {
    let (s, body) = app.post_json("/discord/link", json!({}), Some(token)).await;
    assert_eq!(s, 200, "{body}");
    let url = reqwest::Url::parse(body["url"].as_str().unwrap()).unwrap();
    assert_eq!(url.as_str().split('?').next().unwrap(), format!("{}/oauth2/authorize", discord.base));
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "4242");
    assert_eq!((q["scope"].as_str(), q["response_type"].as_str()), ("identify", "code"));
    assert_eq!(q["redirect_uri"], format!("{PUBLIC}/discord/callback"));
    assert_eq!(q["state"].len(), 64);
    q["state"].clone()
}

async fn callback(app: &TestApp, query: &str) -> (u16, Value) {
    app.get(&format!("/discord/callback?{query}")).await
}

async fn link_of(app: &TestApp, token: &str) -> Value {
    app.get_auth("/usermgnt", token).await.1["discord_link"].clone()
}

#[tokio::test]
async fn a_verified_link_and_forged_replayed_expired_or_refused_callbacks_that_link_nothing() {
    let (discord, d) = fake_discord().await;
    let clock = Clock::manual(t0());
    let app = spawn_linking(&discord, &clock, "").await;
    let hunter = app.register_login("hunter", "password1").await;
    app.post_json("/usermgnt", json!({"discord": "typed#1234"}), Some(&hunter)).await;
    assert_eq!(app.post_json("/discord/link", json!({}), None).await.0, 401);

    // A forged state: refused before Discord is asked.
    let (s, body) = callback(&app, "code=good-code&state=0123456789abcdef").await;
    assert_eq!(s, 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("unknown"), "{body}");
    assert!(d.token_calls.lock().unwrap().is_empty());

    // A code the token endpoint refuses: nothing linked, and the state is used up.
    let state = start(&app, &discord, &hunter).await;
    let (s, body) = callback(&app, &format!("code=stale-code&state={state}")).await;
    assert_eq!(s, 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("invalid_grant"), "{body}");
    assert_eq!(callback(&app, &format!("code=good-code&state={state}")).await.0, 400, "replayed");
    assert_eq!(d.token_calls.lock().unwrap().len(), 1);
    assert!(link_of(&app, &hunter).await.is_null());

    // Declined on Discord's page.
    let state = start(&app, &discord, &hunter).await;
    let (s, body) = callback(&app, &format!("error=access_denied&state={state}")).await;
    assert_eq!(s, 400, "{body}");
    assert!(link_of(&app, &hunter).await.is_null());

    // Too late: ten minutes.
    let state = start(&app, &discord, &hunter).await;
    clock.advance(chrono::Duration::minutes(11));
    assert_eq!(callback(&app, &format!("code=good-code&state={state}")).await.0, 400);
    assert_eq!(d.token_calls.lock().unwrap().len(), 1);

    // The real thing: verified id and name stored; the typed field stays; a replay links nothing.
    let state = start(&app, &discord, &hunter).await;
    let (s, body) = callback(&app, &format!("code=good-code&state={state}")).await;
    assert_eq!((s, body.clone()), (200, json!({"linked": {"id": "123456789012345678", "name": "Hunter <3"}})));
    let (_, profile) = app.get_auth("/usermgnt", &hunter).await;
    assert_eq!(profile["discord_link"], json!({"id": "123456789012345678", "name": "Hunter <3"}));
    assert_eq!(profile["discord"], "typed#1234");
    let calls = d.token_calls.lock().unwrap().len();
    assert_eq!(callback(&app, &format!("code=good-code&state={state}")).await.0, 400);
    assert_eq!(d.token_calls.lock().unwrap().len(), calls);

    // One Discord account links one account: linking it elsewhere moves it.
    let other = app.register_login("other", "password1").await;
    let state = start(&app, &discord, &other).await;
    assert_eq!(callback(&app, &format!("code=other-code&state={state}")).await.0, 200);
    assert!(link_of(&app, &hunter).await.is_null());
    assert_eq!(link_of(&app, &other).await["id"], "123456789012345678");
    let stored: i64 = app
        .sql()
        .query_row("SELECT COUNT(*) FROM user_fields WHERE discord_id = '123456789012345678'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 1);

    // Unlinking.
    assert_eq!(app.send_json(Method::DELETE, "/discord/link", Value::Null, Some(&other)).await, (200, json!("OK")));
    assert!(link_of(&app, &other).await.is_null());

    // A browser gets a page (escaped), not JSON.
    let state = start(&app, &discord, &hunter).await;
    let r = app
        .client
        .get(app.url(&format!("/discord/callback?code=good-code&state={state}")))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = r.text().await.unwrap();
    assert!(page.contains("Hunter &lt;3") && !page.contains("Hunter <3"), "{page}");

    // Only so many flows open per account; the newest always works.
    let mut newest = String::new();
    for _ in 0..8 {
        newest = start(&app, &discord, &hunter).await;
    }
    let open: i64 = app.sql().query_row("SELECT COUNT(*) FROM discord_link_states", [], |r| r.get(0)).unwrap();
    assert_eq!(open, 5);
    assert_eq!(callback(&app, &format!("code=good-code&state={newest}")).await.0, 200);
}

#[tokio::test]
async fn with_a_done_url_the_browser_is_sent_back_and_without_config_there_is_no_link() {
    let (discord, _d) = fake_discord().await;
    let clock = Clock::manual(t0());
    let app = spawn_linking(&discord, &clock, "discord_link_done_url: https://kacky.gg/profile?tab=discord\n").await;
    let hunter = app.register_login("hunter", "password1").await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let state = start(&app, &discord, &hunter).await;
    let r = client.get(app.url(&format!("/discord/callback?code=good-code&state={state}"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "https://kacky.gg/profile?tab=discord&discord=linked");
    let r = client.get(app.url("/discord/callback?code=good-code&state=forged")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "https://kacky.gg/profile?tab=discord&discord=failed&reason=unknown_state");

    let plain = spawn().await;
    let token = plain.register_login("hunter", "password1").await;
    let (s, body) = plain.post_json("/discord/link", json!({}), Some(&token)).await;
    assert_eq!(s, 404, "{body}");
    assert_eq!(plain.get("/discord/callback?code=x&state=y").await.0, 404);
}
