//! Accounts: register, login, logout, profile, delete, password reset.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::User;
use super::input::{check_mail, object, opt_str, present, req_str};
use super::{ApiError, ApiJson, AppState, ClientIp};
use crate::auth::{self, Claims, Verified};
use crate::db;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/logout", get(logout))
        .route("/usermgnt", get(profile).post(update_profile))
        .route("/usermgnt/delete", post(delete_account))
        .route("/pwdreset", post(pwdreset))
}

/// The old JSON-string answers.
pub fn ok() -> Json<Value> {
    Json(json!("OK"))
}

/// 429 with `Retry-After`.
pub fn too_many(what: &str, retry_after: i64) -> Response {
    let body = Json(json!({ "msg": format!("too many {what}; retry in {retry_after} s") }));
    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, retry_after.to_string())], body).into_response()
}

/// Runs CPU-heavy password hashing on the dedicated hashing threads (see [`crate::hashpool`]),
/// so a login storm can neither starve the async runtime nor balloon memory.
pub(super) async fn password_work<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    state.hasher.run(f).await.ok_or_else(|| ApiError::Internal("password hashing thread is gone".into()))
}

async fn register(State(state): State<AppState>, ApiJson(body): ApiJson<Value>) -> Result<Response, ApiError> {
    let m = object(body)?;
    let user = req_str(&m, "user", 1, 80)?;
    let pwd = req_str(&m, "pwd", 8, 80)?;
    let mail = req_str(&m, "mail", 3, 80)?;
    if user.trim().is_empty() {
        return Err(ApiError::bad_request("`user` must not be blank"));
    }
    check_mail(&mail)?;
    let hash = password_work(&state, move || auth::hash_password(&pwd)).await?;
    let created = state
        .db
        .run(move |c| db::users::create(c, &user, &hash, &auth::sha256_hex(&mail), false).map_err(ApiError::from))
        .await?;
    match created {
        Some(_) => Ok((StatusCode::CREATED, Json(json!("Created"))).into_response()),
        None => Err(ApiError::body(StatusCode::CONFLICT, "Conflict")),
    }
}

/// Verified against for unknown names too, so a login takes the same time either way.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| auth::hash_password("not-a-real-password"))
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let m = object(body)?;
    let user = req_str(&m, "user", 1, 80)?;
    let pwd = req_str(&m, "pwd", 1, 80)?;
    let now = state.clock.now();
    let keys = [format!("login-ip:{ip}"), format!("login-user:{}", db::users::username_key(&user))];
    if let Some(wait) = keys.iter().filter_map(|k| state.limiter.blocked_for(k, now)).max() {
        return Ok(too_many("failed logins", wait));
    }
    let name = user.clone();
    let account = state.db.run(move |c| db::users::by_name(c, &name).map_err(ApiError::from)).await?;
    let stored = account.as_ref().map_or_else(|| dummy_hash().to_owned(), |a| a.password.clone());
    let verified = password_work(&state, move || auth::verify_password(&pwd, &stored)).await?;
    let (account, verified) = match (account, verified) {
        (Some(a), v) if v != Verified::No => (a, v),
        (found, _) => {
            keys.iter().for_each(|k| state.limiter.record(k, now));
            let msg = if found.is_some() { "Unauthorized" } else { "Wrong username or password" };
            return Err(ApiError::body(StatusCode::UNAUTHORIZED, msg));
        }
    };
    if let Verified::YesUpgrade(new_hash) = verified {
        let id = account.id;
        state.db.run(move |c| db::users::set_password(c, id, &new_hash, false).map_err(ApiError::from)).await?;
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
    Ok(Json(json!({ "access_token": state.jwt.issue(claims), "expires": exp })).into_response())
}

async fn logout(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    let (jti, exp, now) = (user.claims.jti.clone(), user.claims.exp, state.clock.now().timestamp());
    state.db.run(move |c| db::users::revoke(c, &jti, now, exp).map_err(ApiError::from)).await?;
    Ok(ok())
}

async fn profile(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    let f = state.db.run(move |c| db::users::fields(c, user.id).map_err(ApiError::from)).await?;
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
    let discord = opt_str(&m, "discord", 80)?;
    let pwd = opt_str(&m, "pwd", 80)?;
    if pwd.as_ref().is_some_and(|p| p.chars().count() < 8) {
        return Err(ApiError::bad_request("`pwd` must have at least 8 characters"));
    }
    let mail = opt_str(&m, "mail", 80)?;
    if let Some(mail) = &mail {
        check_mail(mail)?;
    }
    let pwd_hash = match pwd {
        Some(p) => Some(password_work(&state, move || auth::hash_password(&p)).await?),
        None => None,
    };
    state
        .db
        .run(move |c| {
            let tx = c.transaction()?;
            for (column, value) in [("tmnf_login", tmnf), ("tm20_login", tm20), ("discord_handle", discord)] {
                if let Some(v) = value {
                    db::users::set_field(&tx, user.id, column, &v)?;
                }
            }
            if let Some(h) = pwd_hash {
                db::users::set_password(&tx, user.id, &h, true)?;
            }
            if let Some(mail) = mail {
                db::users::set_mail(&tx, user.id, &auth::sha256_hex(&mail))?;
            }
            tx.commit().map_err(ApiError::from)
        })
        .await?;
    Ok(ok())
}

async fn delete_account(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    state.db.run(move |c| db::users::delete(c, user.id).map_err(ApiError::from)).await?;
    Ok(ok())
}

async fn pwdreset(state: State<AppState>, ip: ClientIp, ApiJson(body): ApiJson<Value>) -> Result<Response, ApiError> {
    let m = object(body)?;
    if present(&m, "token") && present(&m, "pwd") {
        super::reset::finish(state, ip, m).await
    } else if present(&m, "user") && present(&m, "mail") {
        super::reset::start(state, ip, m).await
    } else {
        Err(ApiError::bad_request(
            "expected either `user` and `mail` (request a token) or `token` and `pwd` (set a new password)",
        ))
    }
}
