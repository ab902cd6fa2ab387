//! Streamer messages: `/post` sets the message and `/target` the user who sees it (both
//! protected by `msg_send_pwd`); `/stream` shows it to that user only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::User;
use super::input::{object, req_str};
use super::response::ok;
use super::{ApiError, ApiJson, AppState};
use crate::db;
use crate::domain::username_key;

pub fn router() -> Router<AppState> {
    Router::new().route("/stream", get(stream)).route("/post", post(post_message)).route("/target", post(set_target))
}

/// 403 `"Forbidden"` unless `pwd` equals the configured password (none configured: always).
fn check_pwd(state: &AppState, m: &serde_json::Map<String, Value>) -> Result<(), ApiError> {
    let expected = state.settings.msg_send_pwd.expose();
    match m.get("pwd") {
        Some(Value::String(p)) if !expected.is_empty() && p == expected => Ok(()),
        _ => Err(ApiError::body(StatusCode::FORBIDDEN, "Forbidden")),
    }
}

async fn stream(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    let (target, message) = state.db.run(|c| db::stream::get(c)).await?;
    let mine = !target.is_empty() && username_key(&target) == username_key(&user.username);
    Ok(Json(json!({ "data": if mine { message } else { String::new() } })))
}

async fn post_message(State(state): State<AppState>, ApiJson(body): ApiJson<Value>) -> Result<Json<Value>, ApiError> {
    let m = object(body)?;
    check_pwd(&state, &m)?;
    let message = req_str(&m, "message", 0, 1000)?.trim_end().to_owned();
    state.db.run(move |c| db::stream::set_message(c, &message)).await?;
    Ok(ok())
}

async fn set_target(State(state): State<AppState>, ApiJson(body): ApiJson<Value>) -> Result<Json<Value>, ApiError> {
    let m = object(body)?;
    check_pwd(&state, &m)?;
    let target = req_str(&m, "target", 0, 80)?.trim().to_owned();
    state.db.run(move |c| db::stream::set_target(c, &target)).await?;
    Ok(ok())
}
