//! Public event data: `/`, `/eventstatus`, and the event list (`GET /events`, and
//! `POST /events`, which gives admins every event with its id and visibility).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Admin;
use super::openapi::{AdminOnly, CachedHistory, CachedLive, Internal, TEXT};
use super::response::{html_text, vary_authorization, SharedJson, HISTORY, LIVE, PRIVATE};
use super::{ApiError, ApiQuery, AppState};
use crate::clock::local_iso;
use crate::db;
use crate::event::Phase;
use crate::tmtext;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(index)).routes(routes!(eventstatus)).routes(routes!(events_get, events_post))
}

/// The old root page's greeting
#[utoipa::path(get, path = "/", tag = "history", responses(
    (status = 200, description = "A fixed text", body = String, content_type = TEXT,
        example = "nothing to see here, go awaiii"),
))]
async fn index() -> Response {
    html_text("nothing to see here, go awaiii")
}

/// Phase of the current event. In testing mode `?forcephase=` picks the phase.
#[utoipa::path(get, path = "/eventstatus", tag = "history", summary = "The phase of the current event",
    params(("forcephase" = Option<String>, Query, description = "Testing mode only: answer as if in this phase (ignored otherwise)",
        pattern = "^(pre|active|post|offseason)$", example = "active")),
    responses(
        (status = 200, description = "The phase", body = EventStatus),
        CachedLive,
    ))]
async fn eventstatus(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    SharedJson::new(&phase(&state, &q)).respond(&headers, LIVE)
}

/// The phase of the current event. `active`/`post` come with `edition` and `type`, `pre`
/// (within 30 days before the start) also with `start`, `offseason` alone.
#[derive(Serialize, ToSchema)]
struct EventStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    edition: Option<i64>,
    /// With `pre`: the start, server-local time without a zone (`2023-08-17T20:00:00`)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    start: Option<String>,
    #[schema(inline)]
    status: Phase,
    /// The event type code: `KK`, `KR` or `KX`
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, examples("KR"))]
    event_type: Option<&'static str>,
}

fn phase(state: &AppState, q: &HashMap<String, String>) -> EventStatus {
    let s = &state.settings;
    let offseason = EventStatus { edition: None, start: None, status: Phase::Offseason, event_type: None };
    let Some(window) = state.window else {
        return offseason;
    };
    let forced = q.get("forcephase").filter(|_| s.testing_mode).and_then(|p| Phase::parse(p));
    let status = forced.unwrap_or_else(|| window.phase(state.clock.now()));
    let start = (status == Phase::Pre).then(|| local_iso(window.start));
    match status {
        Phase::Offseason => offseason,
        _ => EventStatus { edition: Some(s.edition.get()), start, status, event_type: Some(s.eventtype.as_upper()) },
    }
}

/// An entry of `POST /events`: the public fields, plus `id` and `visible` in the admins' list.
// Keys in the old sorted order.
#[derive(Serialize, ToSchema)]
struct ListedEvent {
    edition: i64,
    /// Admins' list only
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    id: Option<i64>,
    name: String,
    #[serde(rename = "type")]
    #[schema(examples("KK"))]
    event_type: String,
    /// Admins' list only: 1 visible, 0 hidden
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0, maximum = 1)]
    visible: Option<i64>,
}

impl ListedEvent {
    /// The public fields (plain name); `admin` adds `id` and `visible`.
    fn of(e: db::events::Event, admin: bool) -> Self {
        Self {
            edition: e.edition,
            id: admin.then_some(e.id),
            name: tmtext::plain(&e.name),
            event_type: e.event_type,
            visible: admin.then_some(i64::from(e.visible)),
        }
    }
}

/// The visible events (plain names, id order), served from the response cache; with an admin
/// token every event with `id` and `visible` (the TypeScript frontend's admin table reads them
/// from this GET). A bad or non-admin token gets the public list (the hunting page sends its
/// token here too).
#[utoipa::path(get, path = "/events", tag = "history", summary = "The visible events; every event for admins",
    security((), ("login" = [])),
    responses(
        (status = 200, description = "The visible events in the order to show them; with an admin token every event, \
            with `id` and `visible`", body = Vec<ListedEvent>),
        CachedHistory,
        Internal,
    ))]
async fn events_get(
    State(state): State<AppState>,
    admin: Result<Admin, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if admin.is_ok() {
        return all_events(&state).await;
    }
    // The answer depends on the token: no shared cache may keep one sent with a token, nor
    // hand the public one to an admin.
    let cache_control = if headers.contains_key(AUTHORIZATION) { PRIVATE } else { HISTORY };
    let mut response = events(&state, &headers, cache_control).await?;
    vary_authorization(&mut response);
    Ok(response)
}

/// Every event with `id` and `visible`, for admins (never cached: it changes with their edits).
async fn all_events(state: &AppState) -> Result<Response, ApiError> {
    let list = state.db.run(|c| db::events::list(c, false)).await?;
    let all: Vec<ListedEvent> = list.into_iter().map(|e| ListedEvent::of(e, true)).collect();
    let headers = [("cache-control", PRIVATE), ("vary", "Authorization")];
    Ok((headers, Json(all)).into_response())
}

/// The public list, as `GET /events` answers it to anyone but an admin.
async fn events(state: &AppState, headers: &HeaderMap, cache_control: &'static str) -> Result<Response, ApiError> {
    let body = state
        .cache
        .answer(state.cache.key("/events".into(), None), || async {
            let list = state.db.run(|c| db::events::list(c, true)).await?;
            Ok(list.into_iter().map(|e| ListedEvent::of(e, false)).collect::<Vec<_>>())
        })
        .await?;
    Ok(body.respond(headers, cache_control))
}

/// `POST /events`: `visibility` `"true"` asks for every event (admins only).
#[derive(Deserialize, ToSchema)]
struct EventsQuery {
    #[serde(default, deserialize_with = "super::input::any_string")]
    #[schema(nullable = false, examples("true"))]
    visibility: Option<String>,
}

/// `{"visibility": "true"}` with an admin token → every event with `id` and `visible`;
/// otherwise the public list, like `GET /events`. A bad body is a 400 either way.
#[utoipa::path(post, path = "/events", tag = "admin",
    summary = "The event list; every event with its id and visibility for admins",
    description = "`{\"visibility\": \"true\"}` with an admin token answers every event with `id` and `visible`; \
        any other body (or none) answers the public list of `GET /events`. The body is read as JSON whatever its \
        content type.",
    request_body(content = Option<EventsQuery>, content_type = "application/json"),
    security((), ("login" = [])),
    responses(
        (status = 200, description = "The public list, or every event for an admin asking for it",
            body = Vec<ListedEvent>),
        (status = 400, description = "The body is not valid JSON", body = super::openapi::Error),
        AdminOnly,
        Internal,
    ))]
async fn events_post(
    State(state): State<AppState>,
    admin: Result<Admin, ApiError>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: Option<Value> = match body.trim_ascii() {
        b"" => None,
        raw => Some(
            serde_json::from_slice(raw)
                .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?,
        ),
    };
    // Any other body (a list, `{"visibility": 1}`) asks for the public list.
    let query = body.filter(Value::is_object).and_then(|b| EventsQuery::deserialize(b).ok());
    let wants_all = query.and_then(|q| q.visibility).is_some_and(|v| v == "true");
    if !wants_all {
        return events(&state, &HeaderMap::new(), HISTORY).await;
    }
    admin?;
    all_events(&state).await
}
