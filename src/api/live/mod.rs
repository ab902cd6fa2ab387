//! The live event pages: `/dashboard` (every server's current and next maps with countdowns),
//! `/spreadsheet` (the current event's sheet with when and where each map comes next) and
//! `/event/nextrun/<kacky id>` and `/event/<login>/nextunfinned` (for chat bots, in `chat`).
//!
//! Handlers read the poller's latest snapshot and project it to "now" with the pure functions
//! of [`crate::live::rotation`], so countdowns keep moving between polls. Upstream trouble
//! (a server offline, the API down) never turns into a 5xx here: the last known state is
//! shown, and maps on no known server are marked as unknown (see docs/COMPATIBILITY.md).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{CurrentUser, OptionalUser};
use super::openapi::{CachedLivePerCaller, Internal};
use super::response::{per_caller, SheetRow, LIVE};
use super::{ApiError, AppState};
use crate::db;
use crate::db::maps::MapRow;
use crate::live::lineup::LineupServer;
use crate::live::rotation::{self, ServerView};
use crate::live::schedule;

mod chat;

use chat::{__path_nextrun, __path_nextunfinned, nextrun, nextunfinned};

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
    /// The "Join" button's link: servers.yaml `join`, else config.yaml `join_url_template` with
    /// the server's `server_login`, else `""` (no button)
    #[serde(rename = "serverJoin")]
    #[schema(examples("trackmania://#join=kackyreloaded1@Trackmania"))]
    server_join: String,
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

/// The servers with a known state as rotation views (with their learned slots), by server
/// number. Empty outside the event window: the rotations are not played then, and projecting
/// them would invent a schedule.
fn live_servers<'a>(
    state: &AppState,
    known: &[(&'a LineupServer, ServerView<'a>)],
    now: DateTime<Utc>,
) -> Vec<(&'a LineupServer, ServerView<'a>)> {
    if !state.event_running(now) {
        return Vec::new();
    }
    known.to_vec()
}

/// Whole seconds until the window's end, 0 after it or without a window (the old value was
/// taken modulo a day, BUG-2).
fn comptime_left(state: &AppState, now: DateTime<Utc>) -> i64 {
    state.window.map_or(0, |w| w.end.signed_duration_since(now).num_seconds().max(0))
}

/// Seconds until the server's next map starts (the learned slot counts the change time, see
/// docs/COMPATIBILITY.md). When the rotation cannot be projected (the current map is not in
/// the playlist) the observed map's remaining slot, floored at 0.
fn time_left(view: &ServerView, now: DateTime<Utc>) -> i64 {
    rotation::time_left_s(view, now).unwrap_or_else(|| {
        let played = rotation::elapsed_s(view.observed, now);
        rotation::offset_s(1, view.slot_ms).saturating_sub(played).max(0)
    })
}

/// The join link of the configured server with this number (`""` for the virtual server of a
/// linear playlist without servers.yaml).
fn join_link(state: &AppState, number: i64) -> String {
    let configured = state.settings.servers.list.iter().find(|s| s.server_number == number);
    configured.map(|s| s.join_link(&state.settings.join_url_template)).unwrap_or_default()
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
            tracing::warn!("finished maps of {login:?} unavailable: {e:?}");
            HashSet::new()
        }
    }
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
        (status = 200, description = "The dashboard", body = Dashboard),
        CachedLivePerCaller,
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
            server_join: join_link(state, server.number),
            server_number: server.number,
            time_left: time_left(view, now),
            time_limit: server.timelimit_min,
        })
        .collect();
    Ok(Dashboard { comptime_left, servers })
}

/// One `/spreadsheet` row while the event runs: a sheet row plus `server`/`upcomingIn`, both
/// `null` when no known server plays the map (the old backend answered 500 for the whole sheet
/// then, BUG-5).
fn schedule_row(m: MapRow, runs: &HashMap<i64, (i64, i64)>) -> SheetRow {
    let mut row = SheetRow::from_map(m, false);
    let run = runs.get(&row.kacky_id);
    row.server = Some(run.map(|&(server, _)| server));
    row.upcoming_in = Some(run.map(|&(_, wait)| rotation::minutes(wait)));
    row
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
        (status = 200, description = "The rows", body = Vec<SheetRow>),
        CachedLivePerCaller,
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
                return Ok(rows.iter().map(|m| SheetRow::from_map(m.clone(), false)).collect::<Vec<_>>());
            }
            let snapshot = state.live.snapshot();
            let known = snapshot.known(state.live.lineup());
            let views: Vec<ServerView> = live_servers(state, &known, now).into_iter().map(|(_, v)| v).collect();
            let runs = schedule::next_runs(&views, now);
            Ok(rows.iter().map(|m| schedule_row(m.clone(), &runs)).collect())
        })
        .await?;
    Ok(per_caller(&body, &headers, uid.is_some(), LIVE))
}
