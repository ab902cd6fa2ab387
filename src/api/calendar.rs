//! A player's secret calendar feed of their alarmed maps: `POST /calendar` creates (or
//! rotates) it, `DELETE /calendar` revokes it, `GET /calendar/<token>.ics` serves it to any
//! calendar app without a login. The token is the credential: 256 bits from the OS CSPRNG,
//! stored only as its SHA-256, so a database leak does not reveal feed URLs.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::User;
use super::openapi::{Error, Internal, Login, OkAnswer};
use super::response::ok;
use super::{ApiError, ApiPath, AppState};
use crate::calendar::{self, FeedInfo, FeedPlay};
use crate::db;
use crate::live::timetable::HORIZON_HOURS;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, revoke)).routes(routes!(feed))
}

fn token_hash(token: &str) -> String {
    crate::auth::sha256_hex(token)
}

/// Creates the caller's feed, or replaces it: the previous URL stops working at once.
#[utoipa::path(post, path = "/calendar", tag = "schedule", security(("login" = [])),
    summary = "Creates (or replaces) the caller's secret calendar feed of their alarmed maps",
    responses(
        Login,
        Internal,
        (status = 200, description = "The feed's path; an earlier one stops working", body = shapes::FeedUrl),
    ))]
async fn create(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    let token = crate::random_secret();
    let (hash, now) = (token_hash(&token), state.clock.now().timestamp());
    state.db.run(move |c| db::calendar::put_feed(c, user.id, &hash, now)).await?;
    Ok(Json(json!({ "url": format!("/calendar/{token}.ics") })))
}

/// Revokes the caller's feed (`"OK"` whether or not there was one).
#[utoipa::path(delete, path = "/calendar", tag = "schedule", security(("login" = [])),
    summary = "Revokes the caller's calendar feed",
    responses(Login, Internal, (status = 200, description = "Revoked (or there was none)", body = OkAnswer)))]
async fn revoke(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    state.db.run(move |c| db::calendar::delete_feed(c, user.id)).await?;
    Ok(ok())
}

/// `GET /calendar/<token>.ics`: one VEVENT per play of each alarmed map of the current event
/// within a week, each with a reminder `alarm_lead_minutes` before it.
#[utoipa::path(get, path = "/calendar/{file}", tag = "schedule",
    summary = "A calendar feed (iCalendar) of a player's alarmed maps",
    description = "No login: the token in the path is the credential (256 random bits, from `POST /calendar`; only \
        its hash is stored). One event per play of each alarmed map of the current event within a week, each \
        with a reminder `alarm_lead_minutes` before it.",
    params(("file" = String, Path, description = "`<token>.ics`: the feed token (64 hex digits) from `POST /calendar`",
        pattern = "^[0-9a-fA-F]{64}\\.ics$",
        example = "0000000000000000000000000000000000000000000000000000000000000000.ics")),
    responses(
        Internal,
        (status = 200, description = "The feed", body = String, content_type = "text/calendar; charset=utf-8",
            headers(("Cache-Control" = String, description = "`private, max-age=60`"))),
        (status = 404, description = "No such feed (never created, replaced or revoked)", body = Error),
    ))]
async fn feed(State(state): State<AppState>, ApiPath(file): ApiPath<String>) -> Result<Response, ApiError> {
    let gone = || ApiError::not_found("no such calendar feed (it may have been replaced or revoked)");
    let token = file.strip_suffix(".ics").filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let hash = token_hash(token.ok_or_else(gone)?);
    let (t, edition) = (state.settings.eventtype, state.settings.edition);
    let found = state
        .db
        .run(move |c| {
            let Some(user) = db::calendar::feed_owner(c, &hash)? else { return Ok::<_, rusqlite::Error>(None) };
            Ok(Some((db::alarms::alarmed_ids(c, user, t, edition)?, db::events::name(c, t, edition)?)))
        })
        .await?;
    let (ids, name) = found.ok_or_else(gone)?;
    let now = state.clock.now();
    let timetable = state.live.timetable(state.window, now);
    let difficulty = |server: i64| {
        let s = timetable.servers.iter().find(|s| s.number == server);
        match s.map(|s| &s.difficulty) {
            Some(Value::String(w)) => w.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    };
    let mut plays: Vec<FeedPlay> = ids
        .iter()
        .flat_map(|&id| timetable.plays_of(id, HORIZON_HOURS).into_iter().map(move |p| (id, p)))
        .filter(|(_, p)| p.start >= timetable.now)
        .map(|(id, p)| FeedPlay {
            kacky_id: id,
            server: p.server,
            difficulty: difficulty(p.server),
            start: p.start,
            end: p.end,
        })
        .collect();
    plays.sort_by_key(|p| (p.start, p.server, p.kacky_id));
    let label = format!("{t}{edition}");
    let info = FeedInfo {
        event_name: name.map_or_else(|| label.clone(), |n| crate::tmtext::plain(&n)),
        event_label: label,
        lead_minutes: state.settings.alarm_lead_minutes,
        now: timetable.now,
    };
    let body = calendar::feed(&info, &plays);
    let headers =
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=60")];
    Ok((headers, body).into_response())
}

/// Answer shapes built with `json!()`, for the OpenAPI document only.
#[allow(dead_code)]
mod shapes {
    use utoipa::ToSchema;

    /// A calendar feed's path.
    #[derive(ToSchema)]
    pub struct FeedUrl {
        /// `/calendar/<token>.ics`, relative to the API's base URL
        #[schema(examples("/calendar/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0.ics"))]
        pub url: String,
    }
}
