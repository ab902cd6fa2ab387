//! The live event pages: `/dashboard` (every server's current and next maps with countdowns),
//! `/spreadsheet` (the current event's sheet with when and where each map comes next) and
//! `/event/nextrun/<kacky id>` (the same for one map, for chat bots).
//!
//! Handlers read the poller's latest snapshot and project it to "now" with the pure functions
//! of [`crate::live::rotation`], so countdowns keep moving between polls. Upstream trouble
//! (a server offline, the API down) never turns into a 5xx here: the last known state is
//! shown, and maps on no known server are marked as unknown (see docs/COMPATIBILITY.md).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{CurrentUser, OptionalUser};
use super::input::int_param;
use super::openapi::{Error, Internal, Upstream, TEXT};
use super::response::{per_caller, text, SheetRow, LIVE};
use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::db;
use crate::db::maps::MapRow;
use crate::live::lineup::LiveServer;
use crate::live::rotation::{self, Observed, ServerView};
use crate::live::schedule;

/// The live routes, merged into the route table by `api::router`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(schedule))
        .routes(routes!(nextrun))
        .routes(routes!(nextunfinned))
}

/// How many maps a dashboard card shows: the current one and the next three (a fifth entry
/// would break the frontend's card).
const DASHBOARD_MAPS: usize = 4;

/// The live dashboard.
#[derive(Serialize, ToSchema)]
struct Dashboard {
    /// Whole seconds until the event's end (0 after it or without a window)
    #[serde(rename = "comptimeLeft")]
    comptime_left: i64,
    /// Every polled server by number; empty outside the event window
    servers: Vec<DashboardServer>,
}

/// One server's card.
#[derive(Serialize, ToSchema)]
struct DashboardServer {
    /// The current map and the next three (1 entry when it plays a map outside its playlist)
    #[schema(min_items = 1, max_items = 4)]
    maps: Vec<DashboardMap>,
    /// The badge colour word from servers.yaml (`""` hides the badge)
    #[serde(rename = "serverDifficulty")]
    #[schema(value_type = Value, examples("white"))]
    server_difficulty: Value,
    #[serde(rename = "serverNumber")]
    server_number: i64,
    /// Seconds left on the current map
    #[serde(rename = "timeLeft")]
    time_left: i64,
    /// Minutes per map
    #[serde(rename = "timeLimit")]
    time_limit: i64,
}

/// A map on a dashboard card.
#[derive(Serialize, ToSchema)]
struct DashboardMap {
    author: String,
    difficulty: i64,
    finished: bool,
    number: i64,
}

/// The servers with a known state as rotation views, by server number. Empty outside the
/// event window: the rotations are not played then, and projecting them would invent a
/// schedule.
fn live_servers<'a>(
    state: &AppState,
    known: &'a [(&'a LiveServer, &'a Observed)],
    now: DateTime<Utc>,
) -> Vec<(&'a LiveServer, ServerView<'a>)> {
    if !state.event_running(now) {
        return Vec::new();
    }
    known.iter().map(|(server, observed)| (*server, server.view(observed))).collect()
}

/// Whole seconds until the window's end, 0 after it or without a window (the old value was
/// taken modulo a day, BUG-2).
fn comptime_left(state: &AppState, now: DateTime<Utc>) -> i64 {
    state.window.map_or(0, |w| w.end.signed_duration_since(now).num_seconds().max(0))
}

/// Seconds left on the server's current map. When the rotation cannot be projected (the
/// current map is not in the playlist) the observed map's remaining time, floored at 0.
fn time_left(view: &ServerView, now: DateTime<Utc>) -> i64 {
    rotation::time_left_s(view, now).unwrap_or_else(|| {
        let since = now.signed_duration_since(view.observed.at).num_seconds().max(0);
        let played = view.observed.time_played_s.saturating_add(since);
        view.timelimit_min.saturating_mul(60).saturating_sub(played).max(0)
    })
}

/// Kacky ids the user has finished in the current event, for `maps[].finished`: from the
/// records API (cached 30 s) by the user's game login for the current type. Anonymous users,
/// users without a login and records-API failures (logged) get an empty set, so the dashboard
/// always renders.
async fn finished_ids(state: &AppState, user: Option<&CurrentUser>) -> HashSet<i64> {
    let Some(user) = user else { return HashSet::new() };
    let login = match state.records.game_login(user.id, state.settings.eventtype).await {
        Ok(l) if !l.is_empty() => l,
        _ => return HashSet::new(),
    };
    match state.records.finished_pbs(&login).await {
        Ok(pbs) => pbs.into_keys().collect(),
        Err(e) => {
            tracing::warn!("finished maps of {login} unavailable: {e:?}");
            HashSet::new()
        }
    }
}

/// `GET /event/<login>/nextunfinned`: the player's unfinished maps of the current event that
/// come up soonest (all with the same minimum wait). `?simochat=1` → one line of text for chat.
#[utoipa::path(get, path = "/event/{login}/nextunfinned", tag = "live",
    summary = "A player's unfinished maps that come up soonest (for chat bots)",
    description = "All unfinished maps of the current event with the same, smallest wait. Outside the event \
        window the text `Competition Over`.",
    params(
        ("login" = String, Path, description = "Game login", min_length = 1, example = "simo_900"),
        ("simochat" = Option<i64>, Query, description = "Not `0`: one line of text for chat", example = 1),
    ),
    responses(
        Upstream,
        Internal,
        (status = 200, description = "Kacky id → where and in how many minutes (`{}`: none scheduled), or text", content(
            (shapes::NextUnfinned = "application/json"),
            (String = TEXT, example = "Next unfinished map in 4 minutes: 242 (Server 3)"),
        )),
        (status = 400, description = "The login is `.` or `..`", body = Error),
        (status = 404, description = "The login is not valid UTF-8 once percent-decoded (`{\"msg\": \"bad path: …\"}`)", body = Error),
    ))]
async fn nextunfinned(
    State(state): State<AppState>,
    ApiPath(login): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    if !state.event_running(now) {
        return Ok(text("Competition Over"));
    }
    let unfinished = state.records.unfinned_ids(&login).await?;
    let snapshot = state.live.snapshot();
    let known = snapshot.known(state.live.lineup());
    let views: Vec<ServerView> = live_servers(&state, &known, now).into_iter().map(|(_, v)| v).collect();
    let runs = schedule::next_runs(&views, now);
    let scheduled: Vec<(i64, i64, i64)> = unfinished
        .iter()
        .filter_map(|id| runs.get(id).map(|&(server, wait)| (*id, server, rotation::minutes(wait))))
        .collect();
    let best = scheduled.iter().map(|&(_, _, m)| m).min();
    let next: Vec<&(i64, i64, i64)> = scheduled.iter().filter(|&&(_, _, m)| Some(m) == best).collect();
    let simochat = int_param(&q, "simochat").is_some_and(|v| v != 0);
    if simochat {
        let Some(minutes) = best else { return Ok(text("No unfinished map is scheduled")) };
        let list: Vec<String> = next.iter().map(|(id, server, _)| format!("{id} (Server {server})")).collect();
        let noun = if next.len() > 1 { "maps" } else { "map" };
        return Ok(text(format!("Next unfinished {noun} in {minutes} minutes: {}", list.join(", "))));
    }
    let body: Map<String, Value> =
        next.iter().map(|(id, server, m)| (id.to_string(), json!({"server": server, "upcomingIn": m}))).collect();
    Ok(Json(body).into_response())
}

/// The current event's sheet rows, by kacky id, with the user's columns when logged in. The
/// anonymous rows are shared by every live answer (see [`super::cache::ResponseCache::event_rows`]).
async fn current_sheet(state: &AppState, user: Option<&CurrentUser>) -> Result<Arc<Vec<MapRow>>, ApiError> {
    let (t, edition) = (state.settings.eventtype, state.settings.edition);
    let Some(uid) = user.map(|u| u.id) else { return state.cache.event_rows(&state.db, t, edition).await };
    Ok(Arc::new(state.db.run(move |c| db::maps::sheet(c, t, Some(edition.get()), Some(uid))).await?))
}

/// `GET /dashboard`: every server with a known state, by number, with its current map and the
/// next three. Authors come from the current event (a foreign map gets `""` instead of the
/// old 500, BUG-17); `difficulty` is the user's own rating of the map, 0 when anonymous.
/// Computed once per second and live snapshot (and per user and their writes when logged in).
#[utoipa::path(get, path = "/dashboard", tag = "live", security((), ("login" = [])),
    summary = "Every server's current and next maps with countdowns",
    description = "`difficulty` is the caller's own rating (0 when anonymous), `finished` comes from the records API \
        by the caller's game login (`false` when anonymous or when the records API fails).",
    responses(
        Internal,
        (status = 200, description = "The dashboard", body = Dashboard, headers(
            ("ETag" = String, description = "Strong validator of the body"),
            ("Cache-Control" = String, description = "`public, max-age=5` anonymous, `private, no-cache` logged in"),
            ("Vary" = String, description = "`Authorization`"))),
        (status = 304, description = "`If-None-Match` named the current ETag", headers(
            ("ETag" = String, description = "Strong validator of the body"),
            ("Cache-Control" = String, description = "`public, max-age=5` anonymous, `private, no-cache` logged in"),
            ("Vary" = String, description = "`Authorization`"))),
    ))]
async fn dashboard(
    State(state): State<AppState>,
    OptionalUser(user): OptionalUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let uid = user.as_ref().map(|u| u.id);
    let key = state.cache.live_key("dashboard".into(), state.live.snapshot().seq, now.timestamp(), uid);
    let body = state.cache.answer(key, || build_dashboard(&state, user, now)).await?;
    Ok(per_caller(&body, &headers, uid.is_some(), LIVE))
}

async fn build_dashboard(
    state: &AppState,
    user: Option<CurrentUser>,
    now: DateTime<Utc>,
) -> Result<Dashboard, ApiError> {
    let snapshot = state.live.snapshot();
    let known = snapshot.known(state.live.lineup());
    let servers = live_servers(state, &known, now);
    let comptime_left = comptime_left(state, now);
    if servers.is_empty() {
        return Ok(Dashboard { comptime_left, servers: Vec::new() });
    }
    let rows = current_sheet(state, user.as_ref()).await?;
    let finished = finished_ids(state, user.as_ref()).await;
    let card = |number: i64| {
        let row = rows.binary_search_by_key(&number, |m| m.kacky_id).ok().map(|i| &rows[i]);
        let author = row.map(|m| m.author.clone()).unwrap_or_default();
        let difficulty = row.and_then(|m| m.user.as_ref()?.sheet.as_ref()).map_or(0, |s| s.map_diff);
        DashboardMap { author, difficulty, finished: finished.contains(&number), number }
    };
    let servers = servers
        .iter()
        .map(|(server, view)| DashboardServer {
            maps: rotation::upcoming(view, now, DASHBOARD_MAPS).into_iter().map(card).collect(),
            server_difficulty: server.difficulty.clone(),
            server_number: server.number,
            time_left: time_left(view, now),
            time_limit: server.timelimit_min,
        })
        .collect();
    Ok(Dashboard { comptime_left, servers })
}

/// One `/spreadsheet` row: a sheet row plus `server`/`upcomingIn`, both `null` when no known
/// server plays the map (the old backend answered 500 for the whole sheet then, BUG-5).
#[derive(Serialize)]
#[serde(untagged)]
enum ScheduleRow {
    Known(SheetRow),
    Unknown(Map<String, Value>),
}

fn schedule_row(m: MapRow, runs: &HashMap<i64, (i64, i64)>) -> ScheduleRow {
    let mut row = SheetRow::from_map(m, false);
    if let Some(&(server, wait)) = runs.get(&row.kacky_id) {
        row.server = Some(server);
        row.upcoming_in = Some(rotation::minutes(wait));
        return ScheduleRow::Known(row);
    }
    match serde_json::to_value(&row) {
        Ok(Value::Object(mut fields)) => {
            fields.insert("server".into(), Value::Null);
            fields.insert("upcomingIn".into(), Value::Null);
            fields.sort_keys();
            ScheduleRow::Unknown(fields)
        }
        _ => ScheduleRow::Known(row),
    }
}

/// `GET /spreadsheet`: the current event's sheet with, for every map, the server that plays
/// it next and in how many whole minutes. Outside the event window the rows come without
/// `server`/`upcomingIn` (nothing is scheduled; the frontend hides those columns then).
/// Computed once per second and live snapshot (`upcomingIn` moves per minute), and per user
/// and their writes when logged in.
#[utoipa::path(get, path = "/spreadsheet", tag = "live", security((), ("login" = [])),
    summary = "The current event's spreadsheet with where and when each map comes next",
    description = "While the event runs every row has `server` and `upcomingIn` (both `null` when no known server \
        plays the map); before and after it the rows come without them. With a valid token the caller's own \
        columns are merged in.",
    responses(
        Internal,
        (status = 200, description = "The rows", body = Vec<SheetRow>, headers(
            ("ETag" = String, description = "Strong validator of the body"),
            ("Cache-Control" = String, description = "`public, max-age=5` anonymous, `private, no-cache` logged in"),
            ("Vary" = String, description = "`Authorization`"))),
        (status = 304, description = "`If-None-Match` named the current ETag", headers(
            ("ETag" = String, description = "Strong validator of the body"),
            ("Cache-Control" = String, description = "`public, max-age=5` anonymous, `private, no-cache` logged in"),
            ("Vary" = String, description = "`Authorization`"))),
    ))]
async fn schedule(
    State(state): State<AppState>,
    OptionalUser(user): OptionalUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let uid = user.as_ref().map(|u| u.id);
    let key = state.cache.live_key("spreadsheet".into(), state.live.snapshot().seq, now.timestamp(), uid);
    let state = &state;
    let body = state
        .cache
        .answer(key, || async move {
            let rows = current_sheet(state, user.as_ref()).await?;
            if !state.event_running(now) {
                return Ok(ScheduleBody::Plain(rows.iter().map(|m| SheetRow::from_map(m.clone(), false)).collect()));
            }
            let snapshot = state.live.snapshot();
            let known = snapshot.known(state.live.lineup());
            let views: Vec<ServerView> = live_servers(state, &known, now).into_iter().map(|(_, v)| v).collect();
            let runs = schedule::next_runs(&views, now);
            Ok(ScheduleBody::Live(rows.iter().map(|m| schedule_row(m.clone(), &runs)).collect()))
        })
        .await?;
    Ok(per_caller(&body, &headers, uid.is_some(), LIVE))
}

/// `/spreadsheet` rows with or without the live columns.
#[derive(Serialize)]
#[serde(untagged)]
enum ScheduleBody {
    Plain(Vec<SheetRow>),
    Live(Vec<ScheduleRow>),
}

/// `?version=` is accepted for compatibility (the old backend answered 500 whenever it was
/// set, BUG-25) and only checked for sanity: the current version is always meant.
fn check_version(q: &HashMap<String, String>) -> Result<(), ApiError> {
    match q.get("version") {
        Some(v) if v.chars().count() > 32 || v.chars().any(char::is_control) => {
            Err(ApiError::bad_request("`version` must be a short map version like v2"))
        }
        _ => Ok(()),
    }
}

/// `GET /event/nextrun/<kacky id>`: when and where a map of the current event runs next.
/// 400 for a non-integer id, 404 for an id outside the current event, the old text
/// `Competition Over` after the window; `timeLeft`/`timeLimit` (minutes, not the server number
/// as before, BUG-12) only while the map is running.
#[utoipa::path(get, path = "/event/nextrun/{kacky_id}", tag = "live",
    summary = "When and where a map of the current event runs next (for chat bots)",
    description = "After the event's end (or without a window) the text `Competition Over`.",
    params(
        ("kacky_id" = String, Path, description = "A kacky id of the current event", pattern = "^[0-9]{1,6}$",
            example = "75"),
        ("version" = Option<String>, Query, description = "Accepted and ignored (the current version is meant)",
            max_length = 32, example = "v2"),
    ),
    responses(
        Internal,
        (status = 200, description = "Where and when, or text", content(
            (shapes::NextRun = "application/json"),
            (String = TEXT, example = "Competition Over"),
        )),
        (status = 400, description = "The id is not an integer, or `version` is over 32 characters or has control \
            characters", body = Error),
        (status = 404, description = "The id is not a map of the current event", body = Error),
    ))]
async fn nextrun(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id: i64 =
        raw.trim().parse().map_err(|_| ApiError::bad_request(format!("kacky id must be an integer, got \"{raw}\"")))?;
    check_version(&q)?;
    let (t, edition) = (state.settings.eventtype, state.settings.edition);
    let ids = state.db.run(move |c| db::current::ids(c, t, edition)).await?;
    if !ids.contains(&id) {
        return Err(ApiError::not_found(format!(
            "kacky id {id} is not a map of the current event {}{edition}",
            t.as_upper()
        )));
    }
    let now = state.clock.now();
    if comptime_left(&state, now) <= 0 {
        return Ok(text("Competition Over"));
    }
    let snapshot = state.live.snapshot();
    let known = snapshot.known(state.live.lineup());
    let servers = live_servers(&state, &known, now);
    let views: Vec<ServerView> = servers.iter().map(|(_, v)| *v).collect();
    let mut body = Map::new();
    let Some((number, wait)) = rotation::earliest(&views, id, now) else {
        body.insert(id.to_string(), json!({"server": null, "upcomingIn": null}));
        body.insert("currentlyRunning".into(), json!(false));
        return Ok(Json(body).into_response());
    };
    body.insert(id.to_string(), json!({"server": number, "upcomingIn": rotation::minutes(wait)}));
    let running = servers.iter().find(|(s, _)| wait == 0 && s.number == number);
    match running {
        Some((server, view)) => {
            body.insert("currentlyRunning".into(), json!(number));
            body.insert("timeLeft".into(), json!(time_left(view, now)));
            body.insert("timeLimit".into(), json!(server.timelimit_min));
        }
        None => {
            body.insert("currentlyRunning".into(), json!(false));
        }
    }
    Ok(Json(body).into_response())
}

/// Answer shapes that the handlers build with `json!()`, for the OpenAPI document only.
#[allow(dead_code)]
mod shapes {
    use std::collections::BTreeMap;

    use utoipa::ToSchema;

    /// `/event/<login>/nextunfinned`: kacky id → where and when.
    #[derive(ToSchema)]
    pub struct NextUnfinned(BTreeMap<String, NextSlot>);

    #[derive(ToSchema)]
    pub struct NextSlot {
        pub server: i64,
        /// Whole minutes
        #[schema(rename = "upcomingIn")]
        pub upcoming_in: i64,
    }

    /// `/event/nextrun/<id>`: one key, the kacky id, with where and when (`null`s when no known
    /// server plays it), plus `currentlyRunning` (the number of the server running the map now,
    /// or `false`) and, while it runs, `timeLeft`/`timeLimit`.
    #[derive(ToSchema)]
    #[schema(example = json!({"75": {"server": 3, "upcomingIn": 0}, "currentlyRunning": 3, "timeLeft": 312,
        "timeLimit": 10}))]
    pub struct NextRun {
        #[schema(rename = "currentlyRunning", inline)]
        pub currently_running: Running,
        /// While it runs: seconds left
        #[schema(rename = "timeLeft", nullable = false)]
        pub time_left: Option<i64>,
        /// While it runs: minutes per map on that server
        #[schema(rename = "timeLimit", nullable = false)]
        pub time_limit: Option<i64>,
        #[serde(flatten)]
        pub slot: BTreeMap<String, RunSlot>,
    }

    #[derive(ToSchema)]
    #[serde(untagged)]
    pub enum Running {
        No(bool),
        Server(i64),
    }

    /// Where and when a map runs next (`null`: no known server plays it).
    #[derive(ToSchema)]
    pub struct RunSlot {
        #[schema(required = true)]
        pub server: Option<i64>,
        /// Whole minutes
        #[schema(rename = "upcomingIn", required = true)]
        pub upcoming_in: Option<i64>,
    }
}
