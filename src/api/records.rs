//! Endpoints backed by the records API: the generic `/records/…` proxy, personal bests and
//! finish counts for the hunting pages, and the chat-bot helpers under `/event/<login>/…`.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::auth::{OptionalUser, User};
use super::input::{event_type, int_param};
use super::response::text;
use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::records::{LookupError, RecordsError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/records", get(proxy_root))
        .route("/records/{*path}", get(proxy))
        .route("/pb/{event}", get(pb))
        .route("/performance/{event}", get(performance))
        .route("/fin", get(fin))
        .route("/event/{login}/finned", get(finned))
        .route("/event/{login}/unfinned", get(unfinned))
}

impl From<RecordsError> for ApiError {
    fn from(e: RecordsError) -> Self {
        let status = match e {
            RecordsError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            RecordsError::Unreachable(_) => StatusCode::BAD_GATEWAY,
            RecordsError::BadSegment(_) => StatusCode::BAD_REQUEST,
        };
        ApiError::Msg(status, e.to_string())
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::Records(e) => e.into(),
            LookupError::BadAnswer(msg) => ApiError::Msg(StatusCode::BAD_GATEWAY, msg),
            LookupError::Db(e) => e.into(),
        }
    }
}

async fn proxy_root(state: State<AppState>, query: RawQuery) -> Result<Response, ApiError> {
    proxy(state, ApiPath(String::new()), query).await
}

/// Status passed through; a JSON body as sent, any other body as a JSON string (old shape).
/// Each segment of the path is passed on percent-encoded, so `..` cannot climb above the API.
async fn proxy(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let segments: Vec<String> = path.split('/').map(str::to_owned).collect();
    let up = state.records.get(segments, query).await?;
    let status = StatusCode::from_u16(up.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = up.json().unwrap_or(Value::String(up.body));
    Ok((status, Json(body)).into_response())
}

/// A JSON answer of the wanted shape from the records API, or `fallback` (logged) — the
/// hunting page only fills its table when these succeed (frontend fact 8).
async fn personal(
    state: &AppState,
    user_id: i64,
    event: &str,
    kind: &str,
    fallback: Value,
) -> Result<Json<Value>, ApiError> {
    let t = event_type(event)?;
    let login = state.records.game_login(user_id, t).await?;
    if login.is_empty() {
        return Ok(Json(fallback));
    }
    let segments = vec![kind.to_owned(), login.clone(), t.as_upper().to_owned()];
    match state.records.get(segments, None).await {
        Ok(up) if up.ok() => match up.json() {
            Some(v) if std::mem::discriminant(&v) == std::mem::discriminant(&fallback) => Ok(Json(v)),
            _ => {
                tracing::warn!("records API {kind} for {login}: unexpected body");
                Ok(Json(fallback))
            }
        },
        Ok(up) => {
            tracing::warn!("records API {kind} for {login}: status {}", up.status);
            Ok(Json(fallback))
        }
        Err(e) => {
            tracing::warn!("records API {kind} for {login}: {e}");
            Ok(Json(fallback))
        }
    }
}

async fn pb(
    State(state): State<AppState>,
    User(user): User,
    ApiPath(event): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    personal(&state, user.id, &event, "pb", json!({})).await
}

async fn performance(
    State(state): State<AppState>,
    User(user): User,
    ApiPath(event): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    personal(&state, user.id, &event, "performance", json!([])).await
}

async fn fin(State(state): State<AppState>, OptionalUser(user): OptionalUser) -> Result<Json<Value>, ApiError> {
    let none = Json(json!({ "finishes": 0, "mapids": [] }));
    let Some(user) = user else { return Ok(none) };
    let login = state.records.game_login(user.id, state.settings.eventtype).await?;
    if login.is_empty() {
        return Ok(none);
    }
    let pbs = state.records.finished_pbs(&login).await?;
    let ids: Vec<String> = pbs.keys().map(i64::to_string).collect();
    Ok(Json(json!({ "finishes": ids.len(), "mapids": ids })))
}

fn joined<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

/// `?string=ids|ranks|scores` → text for chat bots; `?list=1` → list of id strings; else the
/// PB objects keyed by id.
async fn finned(
    State(state): State<AppState>,
    ApiPath(login): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let pbs = state.records.finished_pbs(&login).await?;
    let field = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    Ok(match q.get("string").map(String::as_str) {
        Some("ids") => text(joined(pbs.keys())),
        Some("ranks") => text(joined(pbs.iter().map(|(id, v)| format!("{id} ({})", field(v, "kacky_rank"))))),
        Some("scores") => text(joined(pbs.iter().map(|(id, v)| {
            let ms = field(v, "score").as_f64().unwrap_or(0.0);
            format!("{id} ({:?}s)", ms / 1000.0)
        }))),
        _ if int_param(&q, "list") == Some(1) => {
            Json(pbs.keys().map(i64::to_string).collect::<Vec<_>>()).into_response()
        }
        _ => Json(Value::Object(pbs.into_iter().map(|(id, v)| (id.to_string(), v)).collect::<Map<_, _>>()))
            .into_response(),
    })
}

/// Current-event maps `login` has not finished; `?string=1` → text.
async fn unfinned(
    State(state): State<AppState>,
    ApiPath(login): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let ids = state.records.unfinned_ids(&login).await?;
    let as_text = int_param(&q, "string").is_some_and(|n| n != 0);
    Ok(if as_text { text(joined(ids.iter())) } else { Json(ids).into_response() })
}
