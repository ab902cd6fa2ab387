//! The schedule with absolute times: `/schedule` (every server's plays), `/schedule/<id>` (one
//! map's plays), `/alarms` (the plays of the caller's alarmed maps) and `/live` (Server-Sent
//! Events: a snapshot, then every change of a server's current map).
//!
//! All of it reads the shared [`crate::live::timetable::Timetable`] (built once per second
//! and live snapshot), so the answers agree with each other and with `/dashboard`. The public
//! JSON is serialized once per timetable and `?hours=` in the answer cache
//! ([`super::cache`], keyed like the other live answers by snapshot and second), with an `ETag`
//! for `304`s.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::User;
use super::cache::Key;
use super::input::kacky_id_path;
use super::openapi::{CachedLive, Error, Internal, Login};
use super::response::SharedJson;
use super::streams::{sse_frame, sse_response, Refused};
use super::{ApiError, ApiPath, ApiQuery, AppState, ClientIp};
use crate::clock::serialize_rfc3339;
use crate::db;
use crate::domain::Edition;
use crate::live::timetable::{MapPlay, ServerPlays, HORIZON_HOURS};
use crate::ratelimit::ClientKey;
use crate::tmtext;

/// Public schedule answers may be kept this long by browsers and caches in front.
const CACHE_CONTROL: &str = "public, max-age=5";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(schedule))
        .routes(routes!(map_schedule))
        .routes(routes!(alarms))
        .routes(routes!(live))
}

/// `event` of `/schedule`.
#[derive(Serialize, ToSchema)]
#[schema(as = ScheduleEvent)]
struct EventInfo {
    /// The event type code: `KK`, `KR` or `KX`
    #[serde(rename = "type")]
    #[schema(examples("KR"))]
    event_type: &'static str,
    #[schema(value_type = i64)]
    edition: Edition,
    /// Plain text
    name: String,
    /// The window's start (RFC 3339, UTC); `null` without a window
    #[schema(format = DateTime)]
    start: Option<String>,
    #[schema(format = DateTime)]
    end: Option<String>,
}

/// A play on a server.
#[derive(Serialize, ToSchema)]
#[schema(as = ServerPlay)]
struct PlayJson {
    kacky_id: i64,
    /// The play's number on its server: with the server it identifies the play in every answer,
    /// `/live`, the calendar and the notifier, however its projected start moves
    play: i64,
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    start: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    end: chrono::DateTime<chrono::Utc>,
}

/// A server with its plays from the running one on.
#[derive(Serialize, ToSchema)]
#[schema(as = ScheduleServer)]
struct ServerJson {
    number: i64,
    name: String,
    /// The badge colour word from servers.yaml
    #[schema(value_type = Value, examples("white"))]
    difficulty: serde_json::Value,
    timelimit_s: i64,
    /// The slot learned from the map changes seen: the time limit plus the time the server
    /// takes to change maps (seconds, to the millisecond); plays start this far apart
    slot_s: f64,
    plays: Vec<PlayJson>,
}

/// A play of a map.
#[derive(Serialize, ToSchema)]
#[schema(as = MapPlay)]
struct MapPlayJson {
    server: i64,
    /// The play's number on the server (see `ServerPlay.play`)
    play: i64,
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    start: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    end: chrono::DateTime<chrono::Utc>,
}

/// One play of an alarmed map (`/alarms`).
#[derive(Serialize, ToSchema)]
#[schema(as = AlarmPlay)]
struct AlarmPlayJson {
    kacky_id: i64,
    #[serde(flatten)]
    play: MapPlayJson,
}

fn servers_json(servers: Vec<ServerPlays>) -> Vec<ServerJson> {
    servers
        .into_iter()
        .map(|s| ServerJson {
            number: s.number,
            name: s.name,
            difficulty: s.difficulty,
            timelimit_s: s.timelimit_s,
            slot_s: s.slot_ms as f64 / 1000.0,
            plays: s
                .plays
                .into_iter()
                .map(|p| PlayJson { kacky_id: p.kacky_id, play: p.play, start: p.start, end: p.end })
                .collect(),
        })
        .collect()
}

fn map_play(p: MapPlay) -> MapPlayJson {
    MapPlayJson { server: p.server, play: p.play, start: p.start, end: p.end }
}

/// The key of a schedule answer: anonymous and live, so one per timetable (snapshot and
/// second), taken before the timetable is read (see [`super::cache`]).
fn key(state: &AppState, route: String, now: chrono::DateTime<chrono::Utc>) -> Key {
    state.cache.live_key(route, state.live.snapshot().seq, now.timestamp(), None)
}

/// The current event as `/schedule` names it.
async fn event_info(state: &AppState) -> Result<EventInfo, ApiError> {
    let (t, edition) = (state.settings.eventtype, state.settings.edition);
    let name = state.db.run(move |c| db::events::name(c, t, edition)).await?;
    Ok(EventInfo {
        event_type: t.as_upper(),
        edition,
        name: name.map_or_else(|| format!("{t}{edition}"), |n| tmtext::plain(&n)),
        start: state.window.map(|w| crate::clock::rfc3339(w.start)),
        end: state.window.map(|w| crate::clock::rfc3339(w.end)),
    })
}

/// `?hours=` (1–168, default 24); anything else is a 400 naming the rule.
fn hours(q: &HashMap<String, String>) -> Result<i64, ApiError> {
    let Some(raw) = q.get("hours") else { return Ok(24) };
    raw.trim().parse::<i64>().ok().filter(|h| (1..=HORIZON_HOURS).contains(h)).ok_or_else(|| {
        ApiError::bad_request(format!("`hours` must be a whole number from 1 to {HORIZON_HOURS}, got \"{raw}\""))
    })
}

/// The schedule.
#[derive(Serialize, ToSchema)]
#[schema(as = Schedule)]
struct ScheduleJson {
    event: EventInfo,
    /// The instant the schedule was computed for
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    now: chrono::DateTime<chrono::Utc>,
    /// Every polled server, by number
    servers: Vec<ServerJson>,
    /// Kacky id → the map's plays
    #[schema(value_type = BTreeMap<String, Vec<MapPlayJson>>)]
    maps: BTreeMap<i64, Vec<MapPlayJson>>,
}

/// `GET /schedule[?hours=H]`: every polled server's plays from the running one on, and every
/// map's plays, within `H` hours (and the event's end).
#[utoipa::path(get, path = "/schedule", tag = "schedule",
    summary = "Every polled server's plays and every map's plays, with absolute times",
    params(("hours" = Option<i64>, Query, description = "How far ahead, in hours (default 24)", minimum = 1,
        maximum = 168, example = 24)),
    responses(
        Internal,
        (status = 200, description = "The schedule", body = ScheduleJson),
        CachedLive,
        (status = 400, description = "`hours` is not a whole number from 1 to 168", body = Error),
    ))]
async fn schedule(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let hours = hours(&q)?;
    let now = state.clock.now();
    let body = state
        .cache
        .answer(key(&state, format!("schedule?hours={hours}"), now), || async {
            let event = event_info(&state).await?;
            let tt = state.live.timetable(state.window, now);
            let maps = tt
                .by_map(hours)
                .into_iter()
                .map(|(id, plays)| (id, plays.into_iter().map(map_play).collect()))
                .collect();
            Ok(ScheduleJson { event, now: tt.now, servers: servers_json(tt.servers_within(hours)), maps })
        })
        .await?;
    Ok(body.respond(&headers, CACHE_CONTROL))
}

/// One map's plays.
#[derive(Serialize, ToSchema)]
#[schema(as = MapSchedule)]
struct MapScheduleJson {
    kacky_id: i64,
    plays: Vec<MapPlayJson>,
}

/// `GET /schedule/<kacky id>`: one map's plays within a week; 404 for a map that is not in the
/// current event.
#[utoipa::path(get, path = "/schedule/{kacky_id}", tag = "schedule", summary = "One map's plays within a week",
    params(("kacky_id" = String, Path, description = "A kacky id of the current event", pattern = "^[0-9]{1,6}$",
        example = "75")),
    responses(
        Internal,
        (status = 200, description = "The map's plays within a week", body = MapScheduleJson),
        CachedLive,
        (status = 404, description = "Not a kacky id (the JSON string \"404 Error: bad path\"), or not a map of the \
            current event", body = Error),
    ))]
async fn map_schedule(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = kacky_id_path(&raw)?.get();
    let (t, edition) = (state.settings.eventtype, state.settings.edition);
    // The current event's maps, from the sheet rows the live answers share (kacky id order).
    let rows = state.cache.event_rows(&state.db, t, edition).await?;
    if rows.binary_search_by_key(&id, |r| r.kacky_id).is_err() {
        return Err(ApiError::not_found(format!(
            "kacky id {id} is not a map of the current event {}{edition}",
            t.as_upper()
        )));
    }
    let now = state.clock.now();
    let body = state
        .cache
        .answer(key(&state, format!("schedule/{id}"), now), || async {
            let plays = state.live.timetable(state.window, now).plays_of(id, HORIZON_HOURS);
            Ok(MapScheduleJson { kacky_id: id, plays: plays.into_iter().map(map_play).collect() })
        })
        .await?;
    Ok(body.respond(&headers, CACHE_CONTROL))
}

/// `GET /alarms` (login): the upcoming plays of the caller's alarmed maps of the current
/// event within a week, by start.
#[utoipa::path(get, path = "/alarms", tag = "schedule", security(("login" = [])),
    summary = "The plays of the caller's alarmed maps within a week",
    responses(
        Login,
        Internal,
        (status = 200, description = "By start", body = Vec<AlarmPlayJson>, headers(
            ("Cache-Control" = String, description = "`private, no-cache`"),
            ("Vary" = String, description = "`Authorization`"))),
    ))]
async fn alarms(State(state): State<AppState>, User(user): User) -> Result<Response, ApiError> {
    let (t, edition) = (state.settings.eventtype, state.settings.edition);
    let ids = state.db.run(move |c| db::alarms::alarmed_ids(c, user.id, t, edition)).await?;
    let timetable = state.live.timetable(state.window, state.clock.now());
    let mut plays: Vec<AlarmPlayJson> = ids
        .iter()
        .flat_map(|&id| {
            timetable
                .plays_of(id, HORIZON_HOURS)
                .into_iter()
                .map(move |p| AlarmPlayJson { kacky_id: id, play: map_play(p) })
        })
        .collect();
    plays.sort_by_key(|p| (p.play.start, p.play.server, p.kacky_id));
    let headers = [("cache-control", "private, no-cache"), ("vary", "Authorization")];
    Ok((headers, Json(plays)).into_response())
}

/// `GET /live`: Server-Sent Events. First `event: snapshot` (the `servers` of
/// `/schedule?hours=1`), then `event: map` for every change of a server's current map (once
/// per play, see [`crate::live::feed`]) and `event: finish` for every happening of the finish
/// feed, and a keep-alive comment every `live_keepalive_s`. At most `live_max_streams` at once
/// (then 503) and `live_max_streams_per_client` per client address (then 429), see
/// [`super::streams`]; a subscriber that falls behind is dropped, one that reads nothing for
/// `write_stall_timeout_s` too; every stream ends when the server shuts down.
#[utoipa::path(get, path = "/live", tag = "schedule",
    summary = "Server-Sent Events: the servers' plays, then every change of a server's current map and every finish",
    description = "First `event: snapshot` with the `servers` of `/schedule?hours=1` as JSON, then `event: map` \
        with a JSON object (`server`, `kacky_id`, `play`, `start`, `end`) for every change of a server's current \
        map: exactly one per play, however its start moves (plays are told apart by `server` and `play`), \
        `event: finish` with the item of `/finishes` for every happening of the finish feed, and a keep-alive \
        comment every \
        `live_keepalive_s` (15 s). The stream does not end by itself: a subscriber that falls behind is dropped, \
        so is one that reads nothing for `write_stall_timeout_s` (30 s), and every stream ends when the server \
        shuts down. At most `live_max_streams` streams are open at once (by default half of `max_connections`), \
        at most `live_max_streams_per_client` (8) from one client address (an IPv6 client counts by its /64).",
    responses(
        (status = 200, description = "The event stream", body = String, content_type = "text/event-stream",
            example = "event: snapshot\ndata: [{\"number\":1,\"name\":\"White 1\",…}]\n\n"),
        (status = 429, description = "`live_max_streams_per_client` streams are open from this client address \
            already", body = Error, headers(("Retry-After" = i64, description = "Seconds until the next try"))),
        (status = 503, description = "`live_max_streams` streams are open already", body = Error),
    ))]
async fn live(State(state): State<AppState>, ClientIp(ip): ClientIp) -> Result<Response, Response> {
    let slot = state.live_streams.admit(ClientKey::from(ip)).map_err(|refused| {
        let error = match refused {
            Refused::Full => {
                tracing::warn!("/live: {} streams are open, refusing another", state.live_streams.caps().0);
                ApiError::Msg(StatusCode::SERVICE_UNAVAILABLE, "too many live streams are open; try again later".into())
            }
            Refused::ClientFull => ApiError::TooMany { what: "live streams open from this address", retry_after_s: 10 },
        };
        // A refused viewer's connection is not kept for another request: it would hold a
        // connection slot while idle, which is what the caps are for.
        ([(axum::http::header::CONNECTION, "close")], error).into_response()
    })?;
    // Subscribe before taking the snapshot, so no change falls between the two.
    let changes = state.live.subscribe();
    let finishes = state.finishes.subscribe();
    // One serialized snapshot frame per timetable, shared by every viewer (see `streams`); an
    // SSE frame, not JSON, so its ETag is unused.
    let now = state.clock.now();
    let snapshot = state
        .cache
        .answer_bytes(key(&state, "live snapshot".into(), now), || async {
            let tt = state.live.timetable(state.window, now);
            let json = serde_json::to_string(&servers_json(tt.servers_within(1))).unwrap_or_else(|_| "[]".into());
            Ok(SharedJson { body: sse_frame("snapshot", &json), etag: axum::http::HeaderValue::from_static("\"\"") })
        })
        .await
        .map_err(IntoResponse::into_response)?
        .body;
    let updates = stream::unfold((changes, finishes), |(mut changes, mut finishes)| async move {
        let frame = tokio::select! {
            change = changes.recv() => match change {
                Ok(change) => sse_frame("map", &serde_json::to_string(&change).unwrap_or_default()),
                // Lagged: dropped rather than waited for. Closed: the feed is gone.
                Err(_) => return None,
            },
            item = finishes.recv() => match item {
                Ok(item) => sse_frame("finish", &serde_json::to_string(&item).unwrap_or_default()),
                Err(_) => return None,
            },
        };
        Some((frame, (changes, finishes)))
    });
    let keepalive = Duration::from_secs(state.settings.live_keepalive_s);
    Ok(sse_response(snapshot, updates, keepalive, state.shutdown.clone(), slot))
}
