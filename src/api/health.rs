//! `/healthz` for uptime monitors: is the database reachable, which schema is it on.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::db;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

/// For uptime monitors: database, schema, game-server polls, records API, notifier, finish feed
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = shapes::Health),
        (status = 503, description = "The database does not answer", body = shapes::Unhealthy),
    ))]
async fn healthz(State(state): State<AppState>) -> Response {
    let probe = state.db.run(|c| Ok::<_, db::DbError>((db::schema_version(c)?, db::finishes::pending(c)?))).await;
    match probe {
        Ok((version, pending)) => {
            let records = records_health(&state);
            let now = state.clock.now();
            let gameserver = state.live.health(now);
            let notifier = state.notifier.health();
            let finishes = state.finishes.health_json(now, pending);
            Json(json!({ "status": "ok", "database": "ok", "schema_version": version, "records": records, "gameserver": gameserver, "notifier": notifier, "finishes": finishes }))
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

/// Answer shapes built with `json!()`, for the OpenAPI document only.
#[allow(dead_code)]
mod shapes {
    use utoipa::ToSchema;

    /// The server is up and its database answers.
    #[derive(ToSchema)]
    pub struct Health {
        #[schema(examples("ok"))]
        pub status: String,
        #[schema(examples("ok"))]
        pub database: String,
        /// The last applied migration
        pub schema_version: i64,
        pub records: RecordsHealth,
        pub gameserver: GameserverHealth,
        pub notifier: NotifierHealth,
        pub finishes: FinishesHealth,
    }

    /// The finish follower and its Discord poster (never the webhook URL).
    #[derive(ToSchema)]
    pub struct FinishesHealth {
        /// Whether the follower is polling (the event window is open)
        pub running: bool,
        /// Players in its current walk (opted-in accounts and the admin's list)
        pub following: i64,
        /// Maps whose world record it looks up (KR only)
        pub wr_maps: i64,
        /// `records_rate_per_min`: requests a minute at most, in all
        pub rate_per_min: i64,
        /// Requests sent in the last minute
        pub requests_last_minute: i64,
        /// The longest a finish or a world record waits before its poll, at this rate and these
        /// queue sizes (plus a request's 5 s timeout)
        pub worst_case_delay_s: WorstCase,
        pub last_poll: Option<String>,
        pub last_ok: Option<String>,
        pub last_error: Option<String>,
        pub last_error_at: Option<String>,
        pub discord: FinishDiscordHealth,
    }

    /// Worst-case delays in seconds.
    #[derive(ToSchema)]
    pub struct WorstCase {
        pub finish: i64,
        pub wr: i64,
    }

    /// The finish webhook.
    #[derive(ToSchema)]
    pub struct FinishDiscordHealth {
        pub enabled: bool,
        /// Happenings waiting to be posted
        pub pending: i64,
        pub last_sent: Option<String>,
        pub last_error: Option<String>,
        pub last_error_at: Option<String>,
    }

    /// The records API's last success and failure (RFC 3339 times).
    #[derive(ToSchema)]
    pub struct RecordsHealth {
        pub last_ok: Option<String>,
        pub last_error: Option<String>,
        pub last_error_at: Option<String>,
    }

    /// The game-server polls.
    #[derive(ToSchema)]
    pub struct GameserverHealth {
        /// Where the states come from (the API URL, or the simulated servers of testing mode)
        pub source: String,
        pub last_poll: Option<String>,
        pub last_ok: Option<String>,
        pub last_error: Option<String>,
        pub servers: Vec<ServerHealth>,
    }

    /// One configured server.
    #[derive(ToSchema)]
    pub struct ServerHealth {
        pub name: String,
        pub number: i64,
        /// Seconds since its last good state (`null`: none yet)
        pub age_s: Option<i64>,
        /// Why the last answer had nothing for it
        pub last_error: Option<String>,
        /// The learned slot: time limit plus change time, seconds
        pub slot_s: f64,
        /// The learned change time between maps, seconds
        pub change_s: f64,
        /// How many map changes it was learned from
        pub changes_seen: i64,
    }

    /// The alarm notifier (never the webhook URL).
    #[derive(ToSchema)]
    pub struct NotifierHealth {
        pub enabled: bool,
        pub last_sent: Option<String>,
        pub pending: i64,
        pub last_error: Option<String>,
        pub last_error_at: Option<String>,
    }

    /// The database does not answer.
    #[derive(ToSchema)]
    pub struct Unhealthy {
        #[schema(examples("error"))]
        pub status: String,
        #[schema(examples("unreachable"))]
        pub database: String,
    }
}
