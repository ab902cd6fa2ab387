//! The API for community bots (Discord alarm bots and the like), instead of reading the
//! database: `GET /alarms/upcoming?within=S` with `Authorization: Bearer <bot_api_token>` lists
//! the alarmed maps coming up within `S` seconds with the players who want to know.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Bot;
use super::openapi::{Error, Internal};
use super::{ApiError, ApiQuery, AppState};
use crate::clock::serialize_rfc3339;
use crate::db;

/// The longest `within` (a day) and the default (ten minutes).
const MAX_WITHIN_S: i64 = 86_400;
const DEFAULT_WITHIN_S: i64 = 600;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upcoming))
}

/// A player who set an alarm.
#[derive(Serialize, ToSchema)]
struct BotUser {
    name: String,
    /// The profile's `discord` field (a user id, or a name as typed; `""` when unset)
    discord: String,
}

/// A play of an alarmed map.
#[derive(Serialize, ToSchema)]
struct UpcomingPlay {
    kacky_id: i64,
    server: i64,
    /// The play's number on the server: with `server`, the play's identity (as in `/schedule`)
    play: i64,
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    start: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    end: chrono::DateTime<chrono::Utc>,
    users: Vec<BotUser>,
}

fn within(q: &HashMap<String, String>) -> Result<i64, ApiError> {
    let Some(raw) = q.get("within") else { return Ok(DEFAULT_WITHIN_S) };
    raw.trim().parse::<i64>().ok().filter(|s| (1..=MAX_WITHIN_S).contains(s)).ok_or_else(|| {
        ApiError::bad_request(format!(
            "`within` must be a whole number of seconds from 1 to {MAX_WITHIN_S}, got \"{raw}\""
        ))
    })
}

/// Plays starting from now to `within` seconds ahead of every map someone set an alarm on, by
/// start, each with those players' names and profile `discord` fields.
#[utoipa::path(get, path = "/alarms/upcoming", tag = "bots", security(("bot" = [])),
    summary = "Alarmed maps coming up soon, with the players who want to know",
    params(("within" = Option<i64>, Query, description = "How far ahead, in seconds (default 600)", minimum = 1,
        maximum = 86400, example = 600)),
    responses(
        Internal,
        (status = 200, description = "Plays starting within `within` seconds, by start", body = Vec<UpcomingPlay>),
        (status = 400, description = "`within` is not a whole number from 1 to 86400", body = Error),
        (status = 401, description = "The `Authorization` header is missing or not `Bearer …`, or the token is wrong",
            body = Error),
        (status = 404, description = "No `bot_api_token` is configured: the endpoint does not exist", body = Error),
        (status = 422, description = "`Bearer` without a token", body = Error),
    ))]
async fn upcoming(
    State(state): State<AppState>,
    _bot: Bot,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Json<Vec<UpcomingPlay>>, ApiError> {
    let within = within(&q)?;
    let (t, edition) = (state.settings.eventtype, state.settings.edition);
    let alarms = state.db.run(move |c| db::alarms::alarmed_users(c, t, edition)).await?;
    let mut by_map: BTreeMap<i64, Vec<BotUser>> = BTreeMap::new();
    for a in alarms {
        by_map.entry(a.kacky_id).or_default().push(BotUser { name: a.username, discord: a.discord });
    }
    let timetable = state.live.timetable(state.window, state.clock.now());
    let horizon = timetable.now + chrono::Duration::seconds(within);
    let mut plays = Vec::new();
    for server in &timetable.servers {
        for p in server.plays.iter().filter(|p| p.start >= timetable.now && p.start <= horizon) {
            if let Some(users) = by_map.get(&p.kacky_id) {
                let users =
                    users.iter().map(|u| BotUser { name: u.name.clone(), discord: u.discord.clone() }).collect();
                plays.push(UpcomingPlay {
                    kacky_id: p.kacky_id,
                    server: server.number,
                    play: p.play,
                    start: p.start,
                    end: p.end,
                    users,
                });
            }
        }
    }
    plays.sort_by_key(|p| (p.start, p.server));
    Ok(Json(plays))
}
