//! Endpoints backed by the records API: the generic `/records/…` proxy, personal bests and
//! finish counts for the hunting pages, and the chat-bot helpers under `/event/<login>/…`.

use std::collections::{BTreeMap, HashMap};

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
use crate::db;
use crate::domain::EventType;
use crate::records::{RecordsError, Upstream};

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

/// Calls the records API off the runtime.
pub async fn upstream(state: &AppState, path: String, query: Option<String>) -> Result<Upstream, RecordsError> {
    let client = state.records.clone();
    tokio::task::spawn_blocking(move || client.get(&path, query.as_deref()))
        .await
        .unwrap_or_else(|e| Err(RecordsError::Unreachable(e.to_string())))
}

impl From<RecordsError> for ApiError {
    fn from(e: RecordsError) -> Self {
        let status = match e {
            RecordsError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            RecordsError::Unreachable(_) => StatusCode::BAD_GATEWAY,
        };
        ApiError::Msg(status, e.to_string())
    }
}

fn bad_gateway(msg: impl Into<String>) -> ApiError {
    ApiError::Msg(StatusCode::BAD_GATEWAY, msg.into())
}

async fn proxy_root(state: State<AppState>, query: RawQuery) -> Result<Response, ApiError> {
    proxy(state, ApiPath(String::new()), query).await
}

/// Status passed through; a JSON body as sent, any other body as a JSON string (old shape).
async fn proxy(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let up = upstream(&state, path, query).await?;
    let status = StatusCode::from_u16(up.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = up.json().unwrap_or(Value::String(up.body));
    Ok((status, Json(body)).into_response())
}

/// The user's game login for a type: TMNF for KK, TM2020 for KR (whatever the path's case).
pub(super) async fn game_login(state: &AppState, user_id: i64, t: EventType) -> Result<String, ApiError> {
    let f = state.db.run(move |c| db::users::fields(c, user_id)).await?;
    Ok(match t {
        EventType::Kk => f.tmnf,
        EventType::Kr => f.tm20,
    }
    .trim()
    .to_owned())
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
    let login = game_login(state, user_id, t).await?;
    if login.is_empty() {
        return Ok(Json(fallback));
    }
    match upstream(state, format!("{kind}/{login}/{}", t.as_upper()), None).await {
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

/// The current event's kacky ids.
pub async fn current_ids(state: &AppState) -> Result<Vec<i64>, ApiError> {
    let (t, e) = (state.settings.eventtype, state.settings.edition);
    Ok(state.db.run(move |c| db::current::ids(c, t, e)).await?)
}

/// PBs of `login` in the current event: kacky id → PB object, ascending, current maps only.
pub async fn finished_pbs(state: &AppState, login: &str) -> Result<BTreeMap<i64, Value>, ApiError> {
    Ok(pbs_and_ids(state, login).await?.0)
}

/// [`finished_pbs`] plus the current event's ids it was filtered by (one query for both).
async fn pbs_and_ids(state: &AppState, login: &str) -> Result<(BTreeMap<i64, Value>, Vec<i64>), ApiError> {
    let s = &state.settings;
    let path = format!("pb/{login}/{}/{}", s.eventtype.as_upper(), s.edition);
    let up = upstream(state, path, None).await?;
    if !up.ok() {
        return Err(bad_gateway(format!("the records API answered {}", up.status)));
    }
    let Some(Value::Object(map)) = up.json() else {
        return Err(bad_gateway("the records API answered something that is not a JSON object"));
    };
    let ids = current_ids(state).await?;
    let pbs = map
        .into_iter()
        .filter_map(|(k, v)| k.trim().parse::<i64>().ok().filter(|id| ids.binary_search(id).is_ok()).map(|id| (id, v)))
        .collect();
    Ok((pbs, ids))
}

async fn fin(State(state): State<AppState>, OptionalUser(user): OptionalUser) -> Result<Json<Value>, ApiError> {
    let none = Json(json!({ "finishes": 0, "mapids": [] }));
    let Some(user) = user else { return Ok(none) };
    let login = game_login(&state, user.id, state.settings.eventtype).await?;
    if login.is_empty() {
        return Ok(none);
    }
    let pbs = finished_pbs(&state, &login).await?;
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
    let pbs = finished_pbs(&state, &login).await?;
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
pub async fn unfinned_ids(state: &AppState, login: &str) -> Result<Vec<i64>, ApiError> {
    let (done, ids) = pbs_and_ids(state, login).await?;
    Ok(ids.into_iter().filter(|id| !done.contains_key(id)).collect())
}

async fn unfinned(
    State(state): State<AppState>,
    ApiPath(login): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let ids = unfinned_ids(&state, &login).await?;
    let as_text = int_param(&q, "string").is_some_and(|n| n != 0);
    Ok(if as_text { text(joined(ids.iter())) } else { Json(ids).into_response() })
}
