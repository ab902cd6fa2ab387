//! The chat-bot helpers of the live event: `/event/nextrun/<kacky id>` (when and where one
//! map runs next) and `/event/<login>/nextunfinned` (a player's unfinished maps that come up
//! soonest). They project the same snapshot as the dashboard.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::{comptime_left, live_servers, time_left};
use crate::api::input::int_param;
use crate::api::openapi::{Error, Internal, LoginSegment, Upstream, TEXT};
use crate::api::response::html_text;
use crate::api::{ApiError, ApiPath, ApiQuery, AppState};
use crate::db;
use crate::live::rotation::{self, ServerView};
use crate::live::schedule;

/// `/event/<login>/nextunfinned`: kacky id → where and when.
#[derive(Serialize, ToSchema)]
#[schema(value_type = BTreeMap<String, NextSlot>)]
struct NextUnfinned(BTreeMap<i64, NextSlot>);

#[derive(Serialize, ToSchema)]
struct NextSlot {
    server: i64,
    /// Whole minutes
    #[serde(rename = "upcomingIn")]
    upcoming_in: i64,
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
            (NextUnfinned = "application/json"),
            (String = TEXT, example = "Next unfinished map in 4 minutes: 242 (Server 3)"),
        )),
        LoginSegment,
    ))]
pub(super) async fn nextunfinned(
    State(state): State<AppState>,
    ApiPath(login): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    if !state.event_running(now) {
        return Ok(html_text("Competition Over"));
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
        let Some(minutes) = best else { return Ok(html_text("No unfinished map is scheduled")) };
        let list: Vec<String> = next.iter().map(|(id, server, _)| format!("{id} (Server {server})")).collect();
        let noun = if next.len() > 1 { "maps" } else { "map" };
        return Ok(html_text(format!("Next unfinished {noun} in {minutes} minutes: {}", list.join(", "))));
    }
    let slots = next.iter().map(|&&(id, server, upcoming_in)| (id, NextSlot { server, upcoming_in }));
    Ok(Json(NextUnfinned(slots.collect())).into_response())
}

/// `/event/nextrun/<id>`: one key, the kacky id, with where and when (`null`s when no known
/// server plays it), plus `currentlyRunning` (the number of the server running the map now,
/// or `false`) and, while it runs, `timeLeft`/`timeLimit`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"75": {"server": 3, "upcomingIn": 0}, "currentlyRunning": 3, "timeLeft": 312,
    "timeLimit": 10}))]
struct NextRun {
    #[serde(flatten)]
    slot: BTreeMap<String, RunSlot>,
    #[serde(rename = "currentlyRunning")]
    #[schema(inline)]
    currently_running: Running,
    /// While it runs: seconds left
    #[serde(rename = "timeLeft", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    time_left: Option<i64>,
    /// While it runs: minutes per map on that server
    #[serde(rename = "timeLimit", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    time_limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum Running {
    No(bool),
    Server(i64),
}

/// Where and when a map runs next (`null`: no known server plays it).
#[derive(Serialize, ToSchema)]
struct RunSlot {
    #[schema(required = true)]
    server: Option<i64>,
    /// Whole minutes
    #[serde(rename = "upcomingIn")]
    #[schema(required = true)]
    upcoming_in: Option<i64>,
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
            (NextRun = "application/json"),
            (String = TEXT, example = "Competition Over"),
        )),
        (status = 400, description = "The id is not an integer, or `version` is over 32 characters or has control \
            characters", body = Error),
        (status = 404, description = "The id is not a map of the current event", body = Error),
    ))]
pub(super) async fn nextrun(
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
        return Ok(html_text("Competition Over"));
    }
    let snapshot = state.live.snapshot();
    let known = snapshot.known(state.live.lineup());
    let servers = live_servers(&state, &known, now);
    let views: Vec<ServerView> = servers.iter().map(|(_, v)| *v).collect();
    let slot = |server, upcoming_in| BTreeMap::from([(id.to_string(), RunSlot { server, upcoming_in })]);
    let Some((number, wait)) = rotation::earliest(&views, id, now) else {
        let body = NextRun {
            slot: slot(None, None),
            currently_running: Running::No(false),
            time_left: None,
            time_limit: None,
        };
        return Ok(Json(body).into_response());
    };
    let mut body = NextRun {
        slot: slot(Some(number), Some(rotation::minutes(wait))),
        currently_running: Running::No(false),
        time_left: None,
        time_limit: None,
    };
    if let Some((server, view)) = servers.iter().find(|(s, _)| wait == 0 && s.number == number) {
        body.currently_running = Running::Server(number);
        body.time_left = Some(time_left(view, now));
        body.time_limit = Some(server.timelimit_min);
    }
    Ok(Json(body).into_response())
}
