//! Password reset (`POST /pwdreset`): step 1 mails a 6-character token (stored hashed, valid
//! 2 hours, one live token per user); step 2 consumes it and sets the new password, revoking
//! older logins.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use rand::RngExt;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::input::{self, required, Body};
use super::openapi::{HashBusy, Internal, JsonBody, OkAnswer};
use super::response::ok;
use super::{ApiError, AppState, ClientIp};
use crate::auth;
use crate::db;
use crate::domain::{username_key, NewPassword, PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX};
use crate::outbound::Service;
use crate::ratelimit::ClientKey;

/// How long a reset token stays usable.
pub const TOKEN_LIFETIME_S: i64 = 2 * 60 * 60;

/// Wrong reset tokens accepted per minute from all clients together. A token is one of 36⁶
/// (about 2.18 billion); in its 2 h life at most 15 × 120 = 1,800 guesses are checked, so the
/// chance that online guessing finds one given live token is at most 1,800 / 36⁶ ≈ 8.3 × 10⁻⁷,
/// under one in a million. Beyond the budget, step 2 answers 429 for everyone until the minute
/// has passed (a flood of guesses delays real resets by a minute, it cannot break one).
pub const WRONG_TOKENS_PER_MIN: u32 = 15;
/// The limiter key of that budget.
const WRONG_TOKENS_KEY: &str = "reset-token:all-clients";

/// How long sending a reset mail recently took (a moving average, ms), so a request for an
/// unknown user+mail pair waits about as long and the timing tells nothing. This module's own
/// state, shared by its handlers through an `Extension`.
#[derive(Debug)]
struct MailLatency(AtomicU64);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(pwdreset)).layer(Extension(Arc::new(MailLatency(AtomicU64::new(300)))))
}

// The schemas' lengths below are literals (the annotations take no constants); they must
// follow these.
const _: () = assert!(USERNAME_MAX == 80 && PASSWORD_MIN == 8 && PASSWORD_MAX == 80);

/// Either `user` and `mail` (step 1: request a token) or `token` and `pwd` (step 2: set a
/// new password); with all four, step 2.
#[derive(ToSchema)]
#[serde(untagged)]
enum ResetRequest {
    Start(ResetStart),
    Finish(ResetFinish),
}

/// The step is chosen by which keys are given (not `null`), then its form is read; keys of the
/// other step are ignored, whatever their type.
impl<'de> Deserialize<'de> for ResetRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let body = Map::<String, Value>::deserialize(d)?;
        let given = |key: &str| body.get(key).is_some_and(|v| !v.is_null());
        let (finish, start) = (given("token") && given("pwd"), given("user") && given("mail"));
        let request = if finish {
            input::read(body).map(Self::Finish)
        } else if start {
            input::read(body).map(Self::Start)
        } else {
            Err("expected either `user` and `mail` (request a token) or `token` and `pwd` (set a new password)".into())
        };
        request.map_err(de::Error::custom)
    }
}

/// Step 1: mail a reset token.
#[derive(Deserialize, ToSchema)]
struct ResetStart {
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 80, examples("sir_blud"))]
    user: Option<String>,
    /// The account's mail address
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 80, examples("blud@example.com"))]
    mail: Option<String>,
}

/// Step 2: set a new password with the mailed token.
#[derive(Deserialize, ToSchema)]
struct ResetFinish {
    /// The mailed token (any case)
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 6, max_length = 6, examples("a1b2c3"))]
    token: Option<String>,
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 8, max_length = 80)]
    pwd: Option<String>,
}

fn new_token() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rand_core::UnwrapErr(rand::rngs::SysRng);
    (0..6).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

/// Tokens compare case-insensitively, like the old database did.
fn token_hash(token: &str) -> String {
    auth::sha256_hex(&token.to_ascii_lowercase())
}

/// One request counted against each key, atomically (see [`crate::ratelimit`]); reset
/// requests always count, successful or not.
fn limit(state: &AppState, keys: &[String]) -> Result<(), ApiError> {
    match state.limiter.try_acquire(keys, state.clock.now()) {
        Ok(_counted) => Ok(()),
        Err(retry_after_s) => Err(ApiError::TooMany { what: "password reset requests", retry_after_s }),
    }
}

/// Password reset: request a token by mail, or set a new password with it
#[utoipa::path(post, path = "/pwdreset", tag = "accounts",
    description = "Step 1, `user` and `mail`: mails a 6-character token (valid 2 hours, single use) when the pair \
        exists, answering the same either way. Step 2, `token` and `pwd`: sets the new password and ends every \
        earlier login token. Requests are limited to `login_rate_per_min` (10) a minute per client address (and, \
        for step 1, per user name); wrong tokens in step 2 to 15 a minute from all addresses together.",
    request_body = ResetRequest,
    responses(
        JsonBody,
        Internal,
        (status = 200, description = "Step 1: a token was mailed if the pair exists; step 2: the password is set",
            body = OkAnswer),
        (status = 401, description = "Step 2: the token is unknown, used or expired (the JSON string \"Unauthorized\")",
            body = super::openapi::Error, example = "Unauthorized"),
        HashBusy,
        (status = 429, description = "Too many reset requests", body = super::openapi::Error,
            headers(("Retry-After" = i64, description = "Seconds until the next try"))),
        (status = 500, description = "A failure of the server, or the reset mail could not be sent (the JSON \
            string \"Internal Server Error\"; the token is dropped)", body = super::openapi::Error),
    ))]
async fn pwdreset(
    State(state): State<AppState>,
    Extension(latency): Extension<Arc<MailLatency>>,
    ClientIp(ip): ClientIp,
    Body(request): Body<ResetRequest>,
) -> Result<Json<Value>, ApiError> {
    match request {
        ResetRequest::Finish(form) => finish(&state, ip, form).await,
        ResetRequest::Start(form) => start(&state, &latency, ip, form).await,
    }
}

/// Step 1. Answers the same, in about the same time, whether or not the user+mail pair
/// exists: unknown pairs wait as long as a mail send recently took. Limited per client address
/// and per user name, so nobody can flood one player's mailbox from many addresses.
async fn start(
    state: &AppState,
    latency: &MailLatency,
    ip: std::net::IpAddr,
    form: ResetStart,
) -> Result<Json<Value>, ApiError> {
    let user = required(form.user, "user", 1, USERNAME_MAX)?;
    let mail = required(form.mail, "mail", 1, 80)?;
    limit(state, &[format!("reset-ip:{}", ClientKey::from(ip)), format!("reset-user:{}", username_key(&user))])?;
    let started = Instant::now();
    let (name, mail_hash) = (user.clone(), auth::sha256_hex(&mail));
    let account = state.db.run(move |c| db::users::for_reset(c, &name, &mail_hash)).await?;
    let Some(account) = account else {
        let typical = latency.0.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(typical).saturating_sub(started.elapsed())).await;
        return Ok(ok());
    };
    let token = new_token();
    let (id, hash, now) = (account.id, token_hash(&token), state.clock.now().timestamp());
    state.db.run(move |c| db::users::put_reset_token(c, id, &hash, now)).await?;
    let mailer = state.mailer.clone();
    let username = account.username.clone();
    let sent = match state.outbound.run(Service::Mail, move || mailer.send_reset(&mail, &username, &token)).await {
        Ok(sent) => sent.map_err(|e| e.to_string()),
        Err(busy) => Err(busy.to_string()),
    };
    let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let avg = latency.0.load(Ordering::Relaxed);
    latency.0.store(avg.saturating_mul(3).saturating_add(took) / 4, Ordering::Relaxed);
    if let Err(e) = sent {
        tracing::error!("password reset mail for user {} failed: {e}", account.username);
        state.db.run(move |c| db::users::drop_reset_token(c, id)).await?;
        return Err(ApiError::body(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"));
    }
    Ok(ok())
}

/// Step 2: a valid token sets the password once; every earlier login token stops working.
/// Besides the per-address limit, wrong tokens from all addresses together get
/// [`WRONG_TOKENS_PER_MIN`] a minute: guessing a live token online stays hopeless however many
/// addresses try (see the constant). A right token gives its attempt back.
async fn finish(state: &AppState, ip: std::net::IpAddr, form: ResetFinish) -> Result<Json<Value>, ApiError> {
    let token = required(form.token, "token", 6, 6)?;
    let pwd = NewPassword::parse(&required(form.pwd, "pwd", 1, PASSWORD_MAX)?, "pwd")?;
    let keys = [
        (format!("reset-ip:{}", ClientKey::from(ip)), state.settings.login_rate_per_min),
        (WRONG_TOKENS_KEY.to_owned(), WRONG_TOKENS_PER_MIN),
    ];
    let reservation = state
        .limiter
        .try_acquire_limits(&keys, state.clock.now())
        .map_err(|retry_after_s| ApiError::TooMany { what: "password reset attempts", retry_after_s })?;
    let (hash, not_before) = (token_hash(&token), state.clock.now().timestamp() - TOKEN_LIFETIME_S);
    let user = state.db.run(move |c| db::users::take_reset_token(c, &hash, not_before)).await?;
    let Some(user_id) = user else {
        return Err(ApiError::body(StatusCode::UNAUTHORIZED, "Unauthorized"));
    };
    state.limiter.release(reservation);
    let new_hash = state.hash(crate::hashpool::Kind::NewPassword, move || auth::hash_password(pwd.expose())).await?;
    state.db.run(move |c| db::users::set_password(c, user_id, &new_hash, true)).await?;
    state.sessions.forget(user_id).await;
    Ok(ok())
}
