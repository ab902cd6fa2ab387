//! Streamer messages: `/post` sets the message and `/target` the user who sees it (both
//! protected by `msg_send_pwd`); `/stream` shows it to that user only.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::User;
use super::input::{self, required, Body};
use super::openapi::{Error, Internal, JsonBody, Login, OkAnswer, TooMany};
use super::response::ok;
use super::{ApiError, AppState, ClientIp};
use crate::auth;
use crate::db;
use crate::ratelimit::ClientKey;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream)).routes(routes!(post_message)).routes(routes!(set_target))
}

/// `GET /stream`.
#[derive(Serialize, ToSchema)]
struct StreamMessage {
    data: String,
}

/// `POST /post`.
#[derive(Deserialize, ToSchema)]
struct NewMessage {
    /// `msg_send_pwd`
    #[serde(default, deserialize_with = "input::any_string")]
    #[schema(value_type = String, required = true)]
    pwd: Option<String>,
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, max_length = 1000)]
    message: Option<String>,
}

/// `POST /target`.
#[derive(Deserialize, ToSchema)]
struct NewTarget {
    /// `msg_send_pwd`
    #[serde(default, deserialize_with = "input::any_string")]
    #[schema(value_type = String, required = true)]
    pwd: Option<String>,
    /// The user name who sees the message
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, max_length = 80)]
    target: Option<String>,
}

/// 403 `"Forbidden"` unless `pwd` equals the configured password (none configured: always),
/// compared in constant time. Wrong passwords are limited like failed logins: at most
/// `login_rate_per_min` a minute per client address (429 with `Retry-After`); a right one
/// does not count.
fn check_pwd(state: &AppState, ip: IpAddr, pwd: Option<&str>) -> Result<(), ApiError> {
    let expected = state.settings.msg_send_pwd.expose();
    let reservation = state
        .limiter
        .try_acquire(&[format!("streamer-ip:{}", ClientKey::from(ip))], state.clock.now())
        .map_err(|retry_after_s| ApiError::TooMany { what: "wrong streamer passwords", retry_after_s })?;
    match pwd {
        Some(p) if !expected.is_empty() && auth::secret_eq(p, expected) => {
            state.limiter.release(reservation);
            Ok(())
        }
        _ => Err(ApiError::body(StatusCode::FORBIDDEN, "Forbidden")),
    }
}

/// The streamer message, for its target only
#[utoipa::path(get, path = "/stream", tag = "streamer", security(("login" = [])),
    responses(Login, Internal,
        (status = 200, description = "The message when the caller is the account that logs in with the target \
            name (any case), else `\"\"`",
            body = StreamMessage)))]
async fn stream(State(state): State<AppState>, User(user): User) -> Result<Json<StreamMessage>, ApiError> {
    let data = state.db.run(move |c| db::stream::message_for(c, user.id)).await?;
    Ok(Json(StreamMessage { data }))
}

/// Sets the streamer message
#[utoipa::path(post, path = "/post", tag = "streamer", request_body = NewMessage,
    responses(JsonBody, Internal,
        (status = 200, description = "Stored", body = OkAnswer),
        (status = 403, description = "`pwd` is not `msg_send_pwd` (or none is configured): the JSON string \
            \"Forbidden\"", body = Error, example = "Forbidden"),
        TooMany))]
async fn post_message(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(body): Body<NewMessage>,
) -> Result<Json<Value>, ApiError> {
    check_pwd(&state, ip, body.pwd.as_deref())?;
    let message = required(body.message, "message", 0, 1000)?.trim_end().to_owned();
    state.db.run(move |c| db::stream::set_message(c, &message)).await?;
    Ok(ok())
}

/// Sets who sees the streamer message
#[utoipa::path(post, path = "/target", tag = "streamer", request_body = NewTarget,
    responses(JsonBody, Internal,
        (status = 200, description = "Stored", body = OkAnswer),
        (status = 403, description = "`pwd` is not `msg_send_pwd` (or none is configured): the JSON string \
            \"Forbidden\"", body = Error, example = "Forbidden"),
        TooMany))]
async fn set_target(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(body): Body<NewTarget>,
) -> Result<Json<Value>, ApiError> {
    check_pwd(&state, ip, body.pwd.as_deref())?;
    let target = required(body.target, "target", 0, 80)?.trim_end().to_owned();
    state.db.run(move |c| db::stream::set_target(c, &target)).await?;
    Ok(ok())
}
