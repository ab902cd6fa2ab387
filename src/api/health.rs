//! `/healthz` for uptime monitors: is the database reachable, which schema is it on.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use crate::db;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> Response {
    let probe = state.db.run(|c| db::schema_version(c)).await;
    match probe {
        Ok(version) => {
            let records = records_health(&state);
            let gameserver = state.live.health(state.clock.now());
            let notifier = state.notifier.health();
            Json(json!({ "status": "ok", "database": "ok", "schema_version": version, "records": records, "gameserver": gameserver, "notifier": notifier }))
                .into_response()
        }
        Err(e) => {
            tracing::warn!("health check: database unreachable: {e:?}");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "error", "database": "unreachable" })))
                .into_response()
        }
    }
}

/// Last success and last failure of the records API (failures behind `/pb` and
/// `/performance` are answered with empty data, so this is where they show).
fn records_health(state: &AppState) -> serde_json::Value {
    let h = state.records.client.health.lock().unwrap_or_else(|e| e.into_inner()).clone();
    json!({
        "last_ok": h.last_ok.map(|t| t.to_rfc3339()),
        "last_error": h.last_error.as_ref().map(|(_, e)| e.clone()),
        "last_error_at": h.last_error.map(|(t, _)| t.to_rfc3339()),
    })
}
