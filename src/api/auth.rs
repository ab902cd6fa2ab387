//! Auth extractors. Handlers never parse `Authorization` themselves:
//! - [`User`]: a valid, unrevoked token of an existing account, else the old 401/422 answers;
//! - [`OptionalUser`]: the same, but any problem (no header, `Bearer ` with nothing, a stale
//!   or broken token) means anonymous — a stale cookie must not blank public pages;
//! - [`Admin`]: a [`User`] whose admin flag is set *in the database* (not just in the token).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::{ApiError, AppState};
use crate::auth::{Claims, TokenError};
use crate::db;

/// The logged-in account behind a request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub is_admin: bool,
    /// The verified token (for logout).
    pub claims: std::sync::Arc<Claims>,
}

pub struct User(pub CurrentUser);
pub struct OptionalUser(pub Option<CurrentUser>);
pub struct Admin(pub CurrentUser);

/// The bearer token of the request, per the old rules (a comma-separated part whose first
/// word is exactly `Bearer`).
fn bearer(parts: &Parts) -> Result<String, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized("Missing Authorization Header"));
    };
    let value = value.to_str().unwrap_or("");
    let part = value.split(',').map(str::trim).find(|p| p.split_whitespace().next() == Some("Bearer"));
    let Some(part) = part else {
        return Err(ApiError::unauthorized(
            "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'",
        ));
    };
    let token = part["Bearer".len()..].trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(ApiError::unprocessable("Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"));
    }
    Ok(token.to_owned())
}

/// Verifies the token, then checks revocation and the account (see [`super::sessions`]: from
/// memory, or one pooled query batch).
async fn authenticate(parts: &Parts, state: &AppState) -> Result<CurrentUser, ApiError> {
    let token = bearer(parts)?;
    let claims = state.sessions.verify(&state.jwt, &token, state.clock.now().timestamp()).map_err(|e| match e {
        TokenError::Expired => ApiError::unauthorized("Token has expired"),
        TokenError::Invalid(m) => ApiError::unprocessable(m),
    })?;
    let (revoked, account) = state.sessions.lookup(&state.db, &claims.jti, claims.uid).await?;
    if revoked {
        return Err(ApiError::unauthorized("Token has been revoked"));
    }
    let Some(account) = account else {
        return Err(ApiError::unauthorized(format!("Error loading the user {}", claims.sub)));
    };
    if account.token_version != claims.ver {
        return Err(ApiError::unauthorized("Token has been revoked"));
    }
    Ok(CurrentUser { id: account.id, username: account.username.clone(), is_admin: account.is_admin, claims })
}

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(User)
    }
}

impl FromRequestParts<AppState> for OptionalUser {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(OptionalUser(None));
        }
        Ok(OptionalUser(authenticate(parts, state).await.ok()))
    }
}

/// The old non-admin answer: 401 with this message as a JSON string (the old `/manage/*`
/// form, used everywhere now).
pub const NOT_AUTHORIZED: &str = "Not authorized. Your actions will have consequences.";

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = authenticate(parts, state).await?;
        // The flag is read from the database on every admin request, so `admin demote` (another
        // process) takes effect at once.
        let id = user.id;
        let fresh = state.db.run(move |c| db::users::by_id(c, id)).await?;
        if !fresh.is_some_and(|a| a.is_admin) {
            return Err(ApiError::body(StatusCode::UNAUTHORIZED, NOT_AUTHORIZED));
        }
        Ok(Admin(user))
    }
}

/// A chat bot holding `bot_api_token` (secrets.yaml) as its Bearer token. Without a configured
/// token the bot endpoints do not exist (404); a missing or wrong token is a 401. The compare
/// takes the same time wherever the tokens differ.
pub struct Bot;

impl FromRequestParts<AppState> for Bot {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let expected = state.settings.bot_api_token.expose();
        if expected.is_empty() {
            return Err(ApiError::not_found(format!("no such endpoint: {} {}", parts.method, parts.uri.path())));
        }
        let token = bearer(parts)?;
        if !crate::auth::constant_time_eq(token.as_bytes(), expected.as_bytes()) {
            return Err(ApiError::unauthorized("wrong bot token"));
        }
        Ok(Bot)
    }
}

/// The records updater holding `records_writer_token` (secrets.yaml) as its Bearer token, or an
/// admin's login. The token compare takes the same time wherever the tokens differ. A wrong
/// token that is no admin login is a 401 whatever is wrong with it (a bot gets one clear
/// answer), a valid login of a non-admin the old 401 string.
pub struct RecordsWriter;

impl FromRequestParts<AppState> for RecordsWriter {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let expected = state.settings.records_writer_token.expose();
        if !expected.is_empty() && crate::auth::constant_time_eq(token.as_bytes(), expected.as_bytes()) {
            return Ok(RecordsWriter);
        }
        match Admin::from_request_parts(parts, state).await {
            Ok(_) => Ok(RecordsWriter),
            Err(ApiError::Body(status, body)) => Err(ApiError::Body(status, body)),
            Err(ApiError::Internal(e)) => Err(ApiError::Internal(e)),
            Err(_) => Err(ApiError::unauthorized("wrong records writer token, and not an admin's login token")),
        }
    }
}
