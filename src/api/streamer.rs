//! Streamer messages: `/post` sets the message and `/target` the user who sees it (both
//! protected by `msg_send_pwd`); `/stream` shows it to that user only.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::User;
use super::input::{object, req_str};
use super::openapi::{Error, Internal, JsonBody, Login, OkAnswer, TooMany};
use super::response::ok;
use super::{ApiError, ApiJson, AppState, ClientIp};
use crate::auth;
use crate::db;
use crate::ratelimit::ClientKey;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream)).routes(routes!(post_message)).routes(routes!(set_target))
}

/// 403 `"Forbidden"` unless `pwd` equals the configured password (none configured: always),
/// compared in constant time. Wrong passwords are limited like failed logins: at most
/// `login_rate_per_min` a minute per client address (429 with `Retry-After`); a right one
/// does not count.
fn check_pwd(state: &AppState, ip: IpAddr, m: &serde_json::Map<String, Value>) -> Result<(), ApiError> {
    let expected = state.settings.msg_send_pwd.expose();
    let reservation = state
        .limiter
        .try_acquire(&[format!("streamer-ip:{}", ClientKey::from(ip))], state.clock.now())
        .map_err(|retry_after_s| ApiError::TooMany { what: "wrong streamer passwords", retry_after_s })?;
    match m.get("pwd") {
        Some(Value::String(p)) if !expected.is_empty() && auth::secret_eq(p, expected) => {
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
            body = shapes::StreamMessage)))]
async fn stream(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    let message = state.db.run(move |c| db::stream::message_for(c, user.id)).await?;
    Ok(Json(json!({ "data": message })))
}

/// Sets the streamer message
#[utoipa::path(post, path = "/post", tag = "streamer", request_body = shapes::NewMessage,
    responses(JsonBody, Internal,
        (status = 200, description = "Stored", body = OkAnswer),
        (status = 403, description = "`pwd` is not `msg_send_pwd` (or none is configured): the JSON string \
            \"Forbidden\"", body = Error, example = "Forbidden"),
        TooMany))]
async fn post_message(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let m = object(body)?;
    check_pwd(&state, ip, &m)?;
    let message = req_str(&m, "message", 0, 1000)?.trim_end().to_owned();
    state.db.run(move |c| db::stream::set_message(c, &message)).await?;
    Ok(ok())
}

/// Sets who sees the streamer message
#[utoipa::path(post, path = "/target", tag = "streamer", request_body = shapes::NewTarget,
    responses(JsonBody, Internal,
        (status = 200, description = "Stored", body = OkAnswer),
        (status = 403, description = "`pwd` is not `msg_send_pwd` (or none is configured): the JSON string \
            \"Forbidden\"", body = Error, example = "Forbidden"),
        TooMany))]
async fn set_target(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let m = object(body)?;
    check_pwd(&state, ip, &m)?;
    let target = req_str(&m, "target", 0, 80)?.trim_end().to_owned();
    state.db.run(move |c| db::stream::set_target(c, &target)).await?;
    Ok(ok())
}

/// Body and answer shapes read from loose JSON or built with `json!()`, for the OpenAPI document
/// only.
#[allow(dead_code)]
mod shapes {
    use utoipa::ToSchema;

    /// `GET /stream`.
    #[derive(ToSchema)]
    pub struct StreamMessage {
        pub data: String,
    }

    /// `POST /post`.
    #[derive(ToSchema)]
    pub struct NewMessage {
        /// `msg_send_pwd`
        pub pwd: String,
        #[schema(max_length = 1000)]
        pub message: String,
    }

    /// `POST /target`.
    #[derive(ToSchema)]
    pub struct NewTarget {
        /// `msg_send_pwd`
        pub pwd: String,
        /// The user name who sees the message
        #[schema(max_length = 80)]
        pub target: String,
    }
}
