//! Accounts: register, login, logout, profile, delete (password reset is in `reset`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::User;
use super::input::{check_mail, object, opt_str, req_str};
use super::response::ok;
use super::{ApiError, ApiJson, AppState, ClientIp};
use crate::auth::{self, Claims, Verified};
use crate::db;
use crate::db::users::ProfileUpdate;
use crate::domain::{username_key, NewPassword, UserName, PASSWORD_MAX, USERNAME_MAX};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/logout", get(logout))
        .route("/usermgnt", get(profile).post(update_profile))
        .route("/usermgnt/delete", post(delete_account))
}

async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let m = object(body)?;
    let user = UserName::parse(&req_str(&m, "user", 1, USERNAME_MAX)?)?;
    let pwd = NewPassword::parse(&req_str(&m, "pwd", 1, PASSWORD_MAX)?, "pwd")?;
    let mail = req_str(&m, "mail", 3, 80)?;
    check_mail(&mail)?;
    let hash = state.hash(move || auth::hash_password(pwd.expose())).await?;
    let created = state.db.run(move |c| db::users::create(c, &user, &hash, &auth::sha256_hex(&mail), false)).await?;
    match created {
        Some(_) => Ok((StatusCode::CREATED, Json(json!("Created")))),
        None => Err(ApiError::body(StatusCode::CONFLICT, "Conflict")),
    }
}

/// Each attempt is reserved with the rate limiter (per client address and per name) before
/// argon2 runs, and given back only when the password was right: parallel guesses cannot
/// outrun the limit. Unknown names are verified against a dummy hash, so they take as long.
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let m = object(body)?;
    let user = req_str(&m, "user", 1, USERNAME_MAX)?;
    let pwd = req_str(&m, "pwd", 1, PASSWORD_MAX)?;
    let now = state.clock.now();
    let keys = [format!("login-ip:{ip}"), format!("login-user:{}", username_key(&user))];
    let reservation = state
        .limiter
        .try_acquire(&keys, now)
        .map_err(|retry_after_s| ApiError::TooMany { what: "failed logins", retry_after_s })?;
    let name = user.clone();
    let account = state.db.run(move |c| db::users::by_name(c, &name)).await?;
    let stored = account.as_ref().map_or_else(|| state.dummy_hash.to_string(), |a| a.password.clone());
    let verified = state.hash(move || auth::verify_password(&pwd, &stored)).await?;
    let (account, verified) = match (account, verified) {
        (Some(a), v) if v != Verified::No => (a, v),
        (found, _) => {
            let msg = if found.is_some() { "Unauthorized" } else { "Wrong username or password" };
            return Err(ApiError::body(StatusCode::UNAUTHORIZED, msg));
        }
    };
    state.limiter.release(reservation);
    if let Verified::YesUpgrade(new_hash) = verified {
        let id = account.id;
        state.db.run(move |c| db::users::set_password(c, id, &new_hash, false)).await?;
    }
    let iat = now.timestamp();
    let exp = iat + state.settings.jwt_expiry_days * 86_400;
    let claims = Claims {
        fresh: false,
        iat,
        jti: uuid::Uuid::new_v4().to_string(),
        typ: "access".into(),
        sub: user,
        nbf: iat,
        exp,
        is_admin: account.is_admin as u8,
        uid: account.id,
        ver: account.token_version,
        pad: String::new(),
    };
    Ok(Json(json!({ "access_token": state.jwt.issue(claims), "expires": exp })))
}

async fn logout(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    let (jti, exp, now) = (user.claims.jti.clone(), user.claims.exp, state.clock.now().timestamp());
    let revoked = jti.clone();
    state.db.run(move |c| db::users::revoke(c, &jti, now, exp)).await?;
    state.sessions.revoked(&revoked).await;
    Ok(ok())
}

async fn profile(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    let f = state.db.run(move |c| db::users::fields(c, user.id)).await?;
    Ok(Json(json!({ "discord": f.discord, "tm20": f.tm20, "tmnf": f.tmnf })))
}

/// Validates every given key first, then applies them all in one transaction: no partial
/// updates (the old one applied keys up to the first bad one).
async fn update_profile(
    State(state): State<AppState>,
    User(user): User,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let m = object(body)?;
    let tmnf = opt_str(&m, "tmnf", 50)?;
    let tm20 = opt_str(&m, "tm20", 50)?;
    // A Discord user id (also pasted as a mention `<@…>`) is stored as the bare id, which the
    // alarm notifications mention; anything else is kept as typed and listed by name.
    let discord = opt_str(&m, "discord", 80)?
        .map(|d| crate::notify::message::discord_id(&d).map_or_else(|| d.clone(), str::to_owned));
    let pwd = opt_str(&m, "pwd", PASSWORD_MAX)?.map(|p| NewPassword::parse(&p, "pwd")).transpose()?;
    let mail = opt_str(&m, "mail", 80)?;
    if let Some(mail) = &mail {
        check_mail(mail)?;
    }
    let password_hash = match pwd {
        Some(p) => Some(state.hash(move || auth::hash_password(p.expose())).await?),
        None => None,
    };
    let update = ProfileUpdate { tmnf, tm20, discord, password_hash, mail_hash: mail.map(|m| auth::sha256_hex(&m)) };
    let revokes = update.password_hash.is_some();
    state.db.run(move |c| db::users::update_profile(c, user.id, &update)).await?;
    if revokes {
        state.sessions.forget(user.id).await;
    }
    // Game logins show in the user's live answers (finished flags).
    state.cache.user_wrote(user.id);
    Ok(ok())
}

async fn delete_account(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    state.db.run(move |c| db::users::delete(c, user.id)).await?;
    state.sessions.forget(user.id).await;
    Ok(ok())
}
