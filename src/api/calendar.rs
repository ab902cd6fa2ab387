//! A player's secret calendar feed of their alarmed maps: `POST /calendar` creates (or
//! rotates) it, `DELETE /calendar` revokes it, `GET /calendar/<token>.ics` serves it to any
//! calendar app without a login. The token is the credential: 256 bits from the OS CSPRNG,
//! stored only as its SHA-256, so a database leak does not reveal feed URLs, and never logged:
//! the access log writes `/calendar/***` ([`redact_path`]).
//!
//! A feed lists the soonest [`calendar::PLAYS_PER_MAP`] plays of each alarmed map within
//! [`calendar::HORIZON_HOURS`], and is built at most once a minute per user, alarm set and live
//! snapshot (calendar apps poll; so may anyone who has the URL).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::User;
use super::openapi::{Error, Internal, Login, OkAnswer};
use super::response::ok;
use super::{ApiError, ApiPath, AppState};
use crate::calendar::{self, FeedInfo, FeedPlay};
use crate::db;
use crate::live::timetable::Timetable;

/// Built feeds by (user, alarmed maps, live snapshot, minute); at most 16 MB of them.
type FeedCache = moka::sync::Cache<(i64, Vec<i64>, u64, i64), Arc<String>>;

pub fn router() -> OpenApiRouter<AppState> {
    let cache: FeedCache = moka::sync::Cache::builder()
        .weigher(|_, body: &Arc<String>| u32::try_from(body.len()).unwrap_or(u32::MAX))
        .max_capacity(16 * 1024 * 1024)
        .time_to_live(Duration::from_secs(60))
        .build();
    OpenApiRouter::new().routes(routes!(create, revoke)).routes(routes!(feed)).layer(Extension(Arc::new(cache)))
}

/// `path` as it may be logged: everything after `/calendar/` (the feed token) replaced by
/// `***`, whatever its case or form.
pub fn redact_path(path: &str) -> Cow<'_, str> {
    const PREFIX: &str = "/calendar/";
    let lower = path.to_ascii_lowercase();
    match lower.find(PREFIX) {
        Some(at) if at + PREFIX.len() < path.len() => Cow::Owned(format!("{}***", &path[..at + PREFIX.len()])),
        _ => Cow::Borrowed(path),
    }
}

/// A calendar feed's path.
#[derive(Serialize, ToSchema)]
struct FeedUrl {
    /// `/calendar/<token>.ics`, relative to the API's base URL
    #[schema(examples("/calendar/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0.ics"))]
    url: String,
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
        (status = 200, description = "The feed's path; an earlier one stops working", body = FeedUrl),
    ))]
async fn create(State(state): State<AppState>, User(user): User) -> Result<Json<FeedUrl>, ApiError> {
    let token = crate::random_secret();
    let (hash, now) = (token_hash(&token), state.clock.now().timestamp());
    state.db.run(move |c| db::calendar::put_feed(c, user.id, &hash, now)).await?;
    Ok(Json(FeedUrl { url: format!("/calendar/{token}.ics") }))
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
/// (the soonest [`calendar::PLAYS_PER_MAP`] within [`calendar::HORIZON_HOURS`]), each with a
/// reminder `alarm_lead_minutes` before it.
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
async fn feed(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<FeedCache>>,
    ApiPath(file): ApiPath<String>,
) -> Result<Response, ApiError> {
    let gone = || ApiError::not_found("no such calendar feed (it may have been replaced or revoked)");
    let token = file.strip_suffix(".ics").filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let hash = token_hash(token.ok_or_else(gone)?);
    let (t, edition) = (state.settings.eventtype, state.settings.edition);
    let found = state
        .db
        .run(move |c| {
            let Some(user) = db::calendar::feed_owner(c, &hash)? else { return Ok::<_, rusqlite::Error>(None) };
            Ok(Some((user, db::alarms::alarmed_ids(c, user, t, edition)?, db::events::name(c, t, edition)?)))
        })
        .await?;
    let (user, ids, name) = found.ok_or_else(gone)?;
    let now = state.clock.now();
    let key = (user, ids, state.live.snapshot().seq, now.timestamp().div_euclid(60));
    let body = match cache.get(&key) {
        Some(body) => body,
        None => {
            let timetable = state.live.timetable(state.window, now);
            let label = format!("{t}{edition}");
            let info = FeedInfo {
                event_name: name.map_or_else(|| label.clone(), |n| crate::tmtext::plain(&n)),
                event_label: label,
                lead_minutes: state.settings.alarm_lead_minutes,
                now: timetable.now,
            };
            let body = Arc::new(calendar::feed(&info, &feed_plays(&timetable, &key.1)));
            cache.insert(key, body.clone());
            body
        }
    };
    let headers =
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=60")];
    Ok((headers, body.as_str().to_owned()).into_response())
}

/// The feed's plays: of each map in `ids`, the soonest [`calendar::PLAYS_PER_MAP`] that start
/// within [`calendar::HORIZON_HOURS`] (not the one running), by start.
fn feed_plays(timetable: &Timetable, ids: &[i64]) -> Vec<FeedPlay> {
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
        .flat_map(|&id| {
            let upcoming =
                timetable.plays_of(id, calendar::HORIZON_HOURS).into_iter().filter(|p| p.start >= timetable.now);
            upcoming.take(calendar::PLAYS_PER_MAP).map(move |p| (id, p))
        })
        .map(|(id, p)| FeedPlay {
            kacky_id: id,
            server: p.server,
            play: p.play,
            difficulty: difficulty(p.server),
            start: p.start,
            end: p.end,
        })
        .collect();
    plays.sort_by_key(|p| (p.start, p.server, p.kacky_id));
    plays
}

#[cfg(test)]
mod tests {
    use super::redact_path;

    #[test]
    fn feed_tokens_are_redacted_from_logged_paths() {
        let token = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
        assert_eq!(redact_path(&format!("/calendar/{token}.ics")), "/calendar/***");
        assert_eq!(redact_path(&format!("/CALENDAR/{token}")), "/CALENDAR/***");
        assert_eq!(redact_path(&format!("/api/calendar/{token}.ics")), "/api/calendar/***");
        for kept in ["/calendar", "/calendar/", "/schedule", "/spreadsheet/kk"] {
            assert_eq!(redact_path(kept), kept);
        }
    }
}
