//! Public event data: `/`, `/eventstatus`, `GET /events`.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};

use super::{cache, text, ApiError, ApiQuery, AppState};
use crate::clock::local_iso;
use crate::db;
use crate::event::Phase;
use crate::tmtext;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index)).route("/eventstatus", get(eventstatus)).route("/events", get(events))
}

async fn index() -> Response {
    text("nothing to see here, go awaiii")
}

/// Phase of the current event. In testing mode `?forcephase=` picks the phase.
async fn eventstatus(State(state): State<AppState>, ApiQuery(q): ApiQuery<HashMap<String, String>>) -> Json<Value> {
    let s = &state.settings;
    let Some(window) = state.window else {
        return Json(json!({ "status": "offseason" }));
    };
    let forced = q.get("forcephase").filter(|_| s.testing_mode).and_then(|p| Phase::parse(p));
    let phase = forced.unwrap_or_else(|| window.phase(state.clock.now()));
    let (t, e) = (s.eventtype.as_upper(), s.edition);
    Json(match phase {
        Phase::Active | Phase::Post => json!({ "edition": e, "status": phase.as_str(), "type": t }),
        Phase::Pre => {
            json!({ "edition": e, "start": local_iso(window.start), "status": "pre", "type": t })
        }
        Phase::Offseason => json!({ "status": "offseason" }),
    })
}

/// Public event list entry (keys in the old sorted order).
#[derive(Serialize)]
pub struct PublicEvent {
    pub edition: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub event_type: String,
}

async fn events(State(state): State<AppState>) -> Result<Response, ApiError> {
    public_events(&state).await
}

/// The visible events (plain names, id order), served from the response cache; shared with
/// the public branch of `POST /events`.
pub async fn public_events(state: &AppState) -> Result<Response, ApiError> {
    cache::cached(&state.cache, Some("/events".into()), || async {
        let list = state.db.run(|c| db::events::list(c, true).map_err(ApiError::from)).await?;
        Ok(list
            .into_iter()
            .map(|e| PublicEvent { edition: e.edition, name: tmtext::plain(&e.name), event_type: e.event_type })
            .collect::<Vec<_>>())
    })
    .await
}
