//! `/healthz` for uptime monitors: is the database reachable, which schema is it on.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::{ApiError, AppState};
use crate::db;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> Response {
    let probe = state.db.run(|c| db::schema_version(c).map_err(ApiError::from)).await;
    match probe {
        Ok(version) => Json(json!({ "status": "ok", "database": "ok", "schema_version": version })).into_response(),
        Err(e) => {
            tracing::warn!("health check: database unreachable: {e:?}");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "error", "database": "unreachable" })))
                .into_response()
        }
    }
}
