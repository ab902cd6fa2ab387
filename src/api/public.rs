//! Public event data: `/`, `/eventstatus`, and the event list (`GET /events`, and
//! `POST /events`, which gives admins every event with its id and visibility).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};

use super::auth::Admin;
use super::response::{text, SharedJson, HISTORY, LIVE};
use super::{ApiError, ApiQuery, AppState};
use crate::clock::local_iso;
use crate::db;
use crate::event::Phase;
use crate::tmtext;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/eventstatus", get(eventstatus))
        .route("/events", get(events).post(events_post))
}

async fn index() -> Response {
    text("nothing to see here, go awaiii")
}

/// Phase of the current event. In testing mode `?forcephase=` picks the phase.
async fn eventstatus(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    SharedJson::new(&phase(&state, &q)).respond(&headers, LIVE)
}

fn phase(state: &AppState, q: &HashMap<String, String>) -> Value {
    let s = &state.settings;
    let Some(window) = state.window else {
        return json!({ "status": "offseason" });
    };
    let forced = q.get("forcephase").filter(|_| s.testing_mode).and_then(|p| Phase::parse(p));
    let phase = forced.unwrap_or_else(|| window.phase(state.clock.now()));
    let (t, e) = (s.eventtype.as_upper(), s.edition);
    match phase {
        Phase::Active | Phase::Post => json!({ "edition": e, "status": phase.as_str(), "type": t }),
        Phase::Pre => {
            json!({ "edition": e, "start": local_iso(window.start), "status": "pre", "type": t })
        }
        Phase::Offseason => json!({ "status": "offseason" }),
    }
}

/// Public event list entry (keys in the old sorted order).
#[derive(Serialize)]
struct PublicEvent {
    edition: i64,
    name: String,
    #[serde(rename = "type")]
    event_type: String,
}

/// The visible events (plain names, id order), served from the response cache.
async fn events(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let body = state
        .cache
        .answer(state.cache.key("/events".into(), None), || async {
            let list = state.db.run(|c| db::events::list(c, true)).await?;
            Ok(list
                .into_iter()
                .map(|e| PublicEvent { edition: e.edition, name: tmtext::plain(&e.name), event_type: e.event_type })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(body.respond(&headers, HISTORY))
}

/// `{"visibility": "true"}` with an admin token → every event with `id` and `visible`;
/// otherwise the public list, like `GET /events`. A bad body is a 400 either way.
async fn events_post(
    State(state): State<AppState>,
    admin: Result<Admin, ApiError>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: Option<Value> = match body.trim_ascii() {
        b"" => None,
        raw => Some(
            serde_json::from_slice(raw)
                .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?,
        ),
    };
    let wants_all = body.as_ref().is_some_and(|b| b.get("visibility").and_then(Value::as_str) == Some("true"));
    if !wants_all {
        return events(State(state), HeaderMap::new()).await;
    }
    admin?;
    let list = state.db.run(|c| db::events::list(c, false)).await?;
    let all: Vec<Value> = list
        .into_iter()
        .map(|e| json!({"edition": e.edition, "id": e.id, "name": tmtext::plain(&e.name), "type": e.event_type, "visible": e.visible as u8}))
        .collect();
    Ok(Json(all).into_response())
}
