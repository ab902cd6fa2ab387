//! Linking a Discord account to the website account, verified through Discord (OAuth2):
//! `POST /discord/link` gives the authorize URL with a fresh one-time `state`, Discord sends
//! the browser back to `GET /discord/callback`, which consumes the state, exchanges the code
//! and stores the verified id and name; `DELETE /discord/link` unlinks. Without
//! `discord_client_id`, `discord_client_secret` and `public_url` these answer 404.
//!
//! The state is 256 random bits, stored as its SHA-256 only, valid ten minutes and consumed by
//! the first callback that names it, before Discord is asked: a forged or replayed callback
//! links nothing and makes no call to Discord.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use chrono::Duration;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::User;
use super::openapi::{Error, Internal, Login, OkAnswer};
use super::response::ok;
use super::{ApiError, ApiQuery, AppState};
use crate::auth::sha256_hex;
use crate::db;
use crate::oauth::{DiscordOAuth, OAuthError};

/// How long a link flow may take.
const STATE_MINUTES: i64 = 10;
/// Most link flows one account may have open at once (older ones are dropped).
pub const OPEN_FLOWS: i64 = 5;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start_link, unlink)).routes(routes!(callback))
}

fn configured(state: &AppState) -> Result<&DiscordOAuth, ApiError> {
    state.oauth.as_deref().ok_or_else(|| {
        ApiError::not_found("linking a Discord account is not configured on this server (discord_client_id, discord_client_secret, public_url)")
    })
}

/// Where to send the browser.
#[derive(Serialize, ToSchema)]
struct AuthorizeUrl {
    /// Discord's authorize page (scope `identify`) with a one-time `state`, valid 10 minutes
    #[schema(examples(
        "https://discord.com/oauth2/authorize?response_type=code&client_id=123&scope=identify&state=…"
    ))]
    url: String,
}

/// Starts linking the caller's Discord account
#[utoipa::path(post, path = "/discord/link", tag = "discord", security(("login" = [])),
    description = "Answers the URL of Discord's authorize page; the frontend sends the browser there. Discord then \
        sends it back to `GET /discord/callback`. At most 5 flows of one account are open at once.",
    responses(
        Login,
        Internal,
        (status = 200, description = "The authorize URL", body = AuthorizeUrl),
        (status = 404, description = "Linking is not configured on this server", body = Error),
    ))]
async fn start_link(State(state): State<AppState>, User(user): User) -> Result<Json<AuthorizeUrl>, ApiError> {
    let oauth = configured(&state)?;
    let secret = crate::random_secret();
    let (hash, now) = (sha256_hex(&secret), state.clock.now());
    let not_before = (now - Duration::minutes(STATE_MINUTES)).timestamp();
    state.db.run(move |c| db::discord::put_state(c, user.id, &hash, now.timestamp(), not_before, OPEN_FLOWS)).await?;
    Ok(Json(AuthorizeUrl { url: oauth.authorize_url(&secret) }))
}

/// Unlinks the caller's Discord account
#[utoipa::path(delete, path = "/discord/link", tag = "discord", security(("login" = [])),
    description = "The verified id is removed (the typed `discord` profile field stays). Fine when nothing is linked.",
    responses(Login, Internal, (status = 200, description = "Unlinked", body = OkAnswer)))]
async fn unlink(State(state): State<AppState>, User(user): User) -> Result<Json<serde_json::Value>, ApiError> {
    state.db.run(move |c| db::discord::unlink(c, user.id)).await?;
    Ok(ok())
}

/// How a callback ended, for the page, the JSON answer or the redirect.
struct Outcome {
    status: StatusCode,
    /// `linked`, or why not: `unknown_state`, `denied`, `refused`, `unreachable`.
    reason: &'static str,
    message: String,
    /// The linked Discord account.
    linked: Option<db::discord::Link>,
}

/// Discord sends the browser back here
#[utoipa::path(get, path = "/discord/callback", tag = "discord",
    summary = "Completes a Discord link (Discord sends the browser here)",
    description = "Consumes the `state` (one use, 10 minutes), exchanges the `code` at Discord's token endpoint, \
        reads the Discord account and stores its id and name on the account that started the flow. A Discord \
        account links to one account at most: another account holding it loses it. With \
        `discord_link_done_url` the answer is a redirect there with `?discord=linked`, or `?discord=failed&reason=…` \
        (`unknown_state`, `denied`, `refused`, `unreachable`); without it a small page (browsers) or JSON says how \
        it went.",
    params(
        ("code" = Option<String>, Query, description = "From Discord"),
        ("state" = Option<String>, Query, description = "The state of `POST /discord/link`'s URL"),
        ("error" = Option<String>, Query, description = "From Discord, when the user declined"),
    ),
    responses(
        Internal,
        (status = 200, description = "Linked: JSON, or a small page for a browser (`Accept: text/html`)", content(
            (LinkedAnswer = "application/json"),
            (String = "text/html; charset=utf-8", example = "<!doctype html>…<p>Linked the Discord account Hunter.</p>"),
        )),
        (status = 303, description = "With `discord_link_done_url`: to it, linked or not",
            headers(("Location" = String, description = "`discord_link_done_url` with `discord=linked` or `discord=failed&reason=…`"))),
        (status = 400, description = "The state is unknown, used or expired, the user declined, or Discord refused \
            the code: nothing linked (a small page for a browser)", content(
            (Error = "application/json"),
            (String = "text/html; charset=utf-8"),
        )),
        (status = 404, description = "Linking is not configured on this server", body = Error),
        (status = 502, description = "Discord could not be asked: nothing linked (a small page for a browser)", content(
            (Error = "application/json"),
            (String = "text/html; charset=utf-8"),
        )),
    ))]
async fn callback(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    configured(&state)?;
    let outcome = link(&state, &q).await?;
    Ok(answer(&state, &headers, outcome))
}

/// `{"linked": {"id", "name"}}`.
#[derive(Serialize, ToSchema)]
struct LinkedAnswer {
    linked: LinkedAccount,
}

#[derive(Serialize, ToSchema)]
struct LinkedAccount {
    id: String,
    name: String,
}

async fn link(state: &AppState, q: &HashMap<String, String>) -> Result<Outcome, ApiError> {
    let fail =
        |status, reason, message: &str| Ok(Outcome { status, reason, message: message.to_owned(), linked: None });
    let Some(secret) = q.get("state").filter(|s| !s.is_empty() && s.len() <= 128) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "unknown_state",
            "This link request is unknown: start again from your profile.",
        );
    };
    let (hash, now) = (sha256_hex(secret), state.clock.now());
    let not_before = (now - Duration::minutes(STATE_MINUTES)).timestamp();
    let Some(user_id) = state.db.run(move |c| db::discord::take_state(c, &hash, not_before)).await? else {
        return fail(
            StatusCode::BAD_REQUEST,
            "unknown_state",
            "This link request is unknown, was used already or expired (10 minutes): start again from your profile.",
        );
    };
    let Some(code) = q.get("code").filter(|c| !c.is_empty() && c.len() <= 512).cloned() else {
        return fail(StatusCode::BAD_REQUEST, "denied", "Discord did not authorize the link; nothing was changed.");
    };
    let oauth = state.oauth.clone().ok_or_else(|| ApiError::internal(anyhow::anyhow!("OAuth is gone")))?;
    let verified = state
        .outbound
        .run(crate::outbound::Service::DiscordOAuth, move || oauth.verify(&code))
        .await
        .unwrap_or_else(|e| Err(OAuthError::Unreachable(e.to_string())));
    let user = match verified {
        Ok(u) => u,
        Err(e @ OAuthError::Refused(_)) => return fail(StatusCode::BAD_REQUEST, "refused", &e.to_string()),
        Err(e @ OAuthError::Unreachable(_)) => {
            tracing::warn!("Discord link of user {user_id}: {e}");
            return fail(StatusCode::BAD_GATEWAY, "unreachable", &e.to_string());
        }
    };
    let link = db::discord::Link { id: user.id.clone(), name: user.name.clone() };
    let stored = link.clone();
    let moved = state.db.run(move |c| db::discord::set_link(c, user_id, &stored)).await?;
    if let Some(other) = moved {
        tracing::info!("Discord account {} moved from user {other} to user {user_id}", user.id);
    }
    let message = format!("Linked the Discord account {}. You can close this page.", user.name);
    Ok(Outcome { status: StatusCode::OK, reason: "linked", message, linked: Some(link) })
}

fn answer(state: &AppState, headers: &HeaderMap, o: Outcome) -> Response {
    let done = &state.settings.discord_link_done_url;
    if !done.is_empty() {
        let join = if done.contains('?') { '&' } else { '?' };
        let query = if o.status.is_success() {
            "discord=linked".to_owned()
        } else {
            format!("discord=failed&reason={}", o.reason)
        };
        return Redirect::to(&format!("{done}{join}{query}")).into_response();
    }
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if wants_html {
        let page = format!(
            "<!doctype html><meta charset=\"utf-8\"><title>Discord link</title><p>{}</p>",
            crate::tmtext::escape_html(&o.message)
        );
        return (o.status, [(header::CONTENT_TYPE, super::openapi::TEXT)], page).into_response();
    }
    if let Some(l) = o.linked {
        let linked = LinkedAccount { id: l.id, name: l.name };
        return (o.status, Json(LinkedAnswer { linked })).into_response();
    }
    ApiError::Msg(o.status, o.message).into_response()
}
