//! Password reset: step 1 mails a 6-character token (stored hashed, valid 2 hours, one live
//! token per user); step 2 consumes it and sets the new password, revoking older logins.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::RngExt;
use serde_json::{Map, Value};

use super::accounts::{ok, too_many};
use super::input::req_str;
use super::{ApiError, AppState, ClientIp};
use crate::auth;
use crate::db;

/// How long a reset token stays usable.
pub const TOKEN_LIFETIME_S: i64 = 2 * 60 * 60;

fn new_token() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rand_core::UnwrapErr(rand::rngs::SysRng);
    (0..6).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

/// Tokens compare case-insensitively, like the old database did.
fn token_hash(token: &str) -> String {
    auth::sha256_hex(&token.to_ascii_lowercase())
}

fn limited(state: &AppState, ip: std::net::IpAddr) -> Option<Response> {
    let key = format!("reset-ip:{ip}");
    let now = state.clock.now();
    if let Some(wait) = state.limiter.blocked_for(&key, now) {
        return Some(too_many("password reset requests", wait));
    }
    state.limiter.record(&key, now);
    None
}

/// Step 1. Answers the same, in about the same time, whether or not the user+mail pair
/// exists: unknown pairs wait as long as a mail send recently took.
pub async fn start(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    m: Map<String, Value>,
) -> Result<Response, ApiError> {
    let user = req_str(&m, "user", 1, 80)?;
    let mail = req_str(&m, "mail", 1, 80)?;
    if let Some(r) = limited(&state, ip) {
        return Ok(r);
    }
    let started = Instant::now();
    let (name, mail_hash) = (user.clone(), auth::sha256_hex(&mail));
    let account = state.db.run(move |c| db::users::for_reset(c, &name, &mail_hash).map_err(ApiError::from)).await?;
    let Some(account) = account else {
        let typical = state.reset_latency_ms.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(typical).saturating_sub(started.elapsed())).await;
        return Ok(ok().into_response());
    };
    let token = new_token();
    let (id, hash, now) = (account.id, token_hash(&token), state.clock.now().timestamp());
    state.db.run(move |c| db::users::put_reset_token(c, id, &hash, now).map_err(ApiError::from)).await?;
    let mailer = state.mailer.clone();
    let username = account.username.clone();
    let sent = tokio::task::spawn_blocking(move || mailer.send_reset(&mail, &username, &token))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let took = started.elapsed().as_millis() as u64;
    let avg = state.reset_latency_ms.load(Ordering::Relaxed);
    state.reset_latency_ms.store((avg * 3 + took) / 4, Ordering::Relaxed);
    if let Err(e) = sent {
        tracing::error!("password reset mail for user {} failed: {e}", account.username);
        state.db.run(move |c| db::users::drop_reset_token(c, id).map_err(ApiError::from)).await?;
        return Err(ApiError::body(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"));
    }
    Ok(ok().into_response())
}

/// Step 2: a valid token sets the password once; every earlier login token stops working.
pub async fn finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    m: Map<String, Value>,
) -> Result<Response, ApiError> {
    let token = req_str(&m, "token", 6, 6)?;
    let pwd = req_str(&m, "pwd", 8, 80)?;
    if let Some(r) = limited(&state, ip) {
        return Ok(r);
    }
    let (hash, not_before) = (token_hash(&token), state.clock.now().timestamp() - TOKEN_LIFETIME_S);
    let user = state.db.run(move |c| db::users::take_reset_token(c, &hash, not_before).map_err(ApiError::from)).await?;
    let Some(user_id) = user else {
        return Err(ApiError::body(StatusCode::UNAUTHORIZED, "Unauthorized"));
    };
    let new_hash = super::accounts::password_work(&state, move || auth::hash_password(&pwd)).await?;
    state.db.run(move |c| db::users::set_password(c, user_id, &new_hash, true).map_err(ApiError::from)).await?;
    Ok(ok().into_response())
}
