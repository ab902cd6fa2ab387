//! `/healthz` for uptime monitors: is the database reachable, which schema is it on.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::db;
use crate::finishes::FinishesHealth;
use crate::live::GameserverHealth;
use crate::notify::NotifierHealth;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

/// For uptime monitors: database, schema, game-server polls, records API, notifier, finish feed
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = Unhealthy),
    ))]
async fn healthz(State(state): State<AppState>) -> Response {
    let probe = state.db.run(|c| Ok::<_, db::DbError>((db::schema_version(c)?, db::finishes::pending(c)?))).await;
    match probe {
        Ok((version, pending)) => {
            let now = state.clock.now();
            Json(Health {
                status: "ok",
                database: "ok",
                schema_version: version,
                records: records_health(&state),
                gameserver: state.live.health(now),
                notifier: state.notifier.health(),
                finishes: state.finishes.health_report(now, pending),
            })
            .into_response()
        }
        Err(e) => {
            tracing::warn!("health check: database unreachable: {e:?}");
            (StatusCode::SERVICE_UNAVAILABLE, Json(Unhealthy { status: "error", database: "unreachable" }))
                .into_response()
        }
    }
}

/// Last success and last failure of the records API (failures behind `/pb` and
/// `/performance` are answered with empty data, so this is where they show).
fn records_health(state: &AppState) -> RecordsHealth {
    let h = state.records.client.health.lock().unwrap_or_else(|e| e.into_inner()).clone();
    RecordsHealth {
        last_ok: h.last_ok.map(|t| t.to_rfc3339()),
        last_error: h.last_error.as_ref().map(|(_, e)| e.clone()),
        last_error_at: h.last_error.map(|(t, _)| t.to_rfc3339()),
    }
}

/// The server is up and its database answers.
#[derive(Serialize, ToSchema)]
struct Health {
    #[schema(value_type = String, examples("ok"))]
    status: &'static str,
    #[schema(value_type = String, examples("ok"))]
    database: &'static str,
    /// The last applied migration
    schema_version: i64,
    records: RecordsHealth,
    gameserver: GameserverHealth,
    notifier: NotifierHealth,
    finishes: FinishesHealth,
}

/// The records API's last success and failure (RFC 3339 times).
#[derive(Serialize, ToSchema)]
struct RecordsHealth {
    last_ok: Option<String>,
    last_error: Option<String>,
    last_error_at: Option<String>,
}

/// The database does not answer.
#[derive(Serialize, ToSchema)]
struct Unhealthy {
    #[schema(value_type = String, examples("error"))]
    status: &'static str,
    #[schema(value_type = String, examples("unreachable"))]
    database: &'static str,
}
