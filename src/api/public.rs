//! Public event data: `/`, `/eventstatus`, and the event list (`GET /events`, and
//! `POST /events`, which gives admins every event with its id and visibility).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
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
        (status = 200, description = "The phase", body = shapes::EventStatus),
        CachedLive,
    ))]
async fn eventstatus(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    SharedJson::new(&phase(&state, &q)).respond(&headers, LIVE)
}

fn phase(state: &AppState, q: &HashMap<String, String>) -> Value {
    let s = &state.settings;
    let Some(window) = state.window else {
        return json!({ "status": "offseason" });
    };
    let forced = q.get("forcephase").filter(|_| s.testing_mode).and_then(|p| Phase::parse(p));
    let phase = forced.unwrap_or_else(|| window.phase(state.clock.now()));
    let (t, e) = (s.eventtype.as_upper(), s.edition);
    match phase {
        Phase::Active | Phase::Post => json!({ "edition": e, "status": phase.as_str(), "type": t }),
        Phase::Pre => {
            json!({ "edition": e, "start": local_iso(window.start), "status": "pre", "type": t })
        }
        Phase::Offseason => json!({ "status": "offseason" }),
    }
}

/// Public event list entry (keys in the old sorted order).
#[derive(Serialize, ToSchema)]
struct PublicEvent {
    edition: i64,
    /// Plain text (the `$`-codes removed)
    name: String,
    /// The event type code: `KK`, `KR` or `KX`
    #[serde(rename = "type")]
    #[schema(examples("KK"))]
    event_type: String,
}

/// The visible events (plain names, id order), served from the response cache; with an admin
/// token every event with `id` and `visible` (the TypeScript frontend's admin table reads them
/// from this GET). A bad or non-admin token gets the public list (the hunting page sends its
/// token here too).
#[utoipa::path(get, path = "/events", tag = "history", summary = "The visible events; every event for admins",
    security((), ("login" = [])),
    responses(
        (status = 200, description = "The visible events in the order to show them; with an admin token every event, \
            with `id` and `visible`", body = Vec<shapes::ListedEvent>),
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
    let all: Vec<Value> = list
        .into_iter()
        .map(|e| json!({"edition": e.edition, "id": e.id, "name": tmtext::plain(&e.name), "type": e.event_type, "visible": e.visible as u8}))
        .collect();
    let headers = [("cache-control", PRIVATE), ("vary", "Authorization")];
    Ok((headers, Json(all)).into_response())
}

/// The public list, as `GET /events` answers it to anyone but an admin.
async fn events(state: &AppState, headers: &HeaderMap, cache_control: &'static str) -> Result<Response, ApiError> {
    let body = state
        .cache
        .answer(state.cache.key("/events".into(), None), || async {
            let list = state.db.run(|c| db::events::list(c, true)).await?;
            Ok(list
                .into_iter()
                .map(|e| PublicEvent { edition: e.edition, name: tmtext::plain(&e.name), event_type: e.event_type })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(body.respond(headers, cache_control))
}

/// `{"visibility": "true"}` with an admin token → every event with `id` and `visible`;
/// otherwise the public list, like `GET /events`. A bad body is a 400 either way.
#[utoipa::path(post, path = "/events", tag = "admin",
    summary = "The event list; every event with its id and visibility for admins",
    description = "`{\"visibility\": \"true\"}` with an admin token answers every event with `id` and `visible`; \
        any other body (or none) answers the public list of `GET /events`. The body is read as JSON whatever its \
        content type.",
    request_body(content = Option<shapes::EventsQuery>, content_type = "application/json"),
    security((), ("login" = [])),
    responses(
        (status = 200, description = "The public list, or every event for an admin asking for it",
            body = Vec<shapes::ListedEvent>),
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
    let wants_all = body.as_ref().is_some_and(|b| b.get("visibility").and_then(Value::as_str) == Some("true"));
    if !wants_all {
        return events(&state, &HeaderMap::new(), HISTORY).await;
    }
    admin?;
    all_events(&state).await
}

/// Answer and body shapes that the handlers build with `json!()` or read from loose JSON, for the
/// OpenAPI document only.
#[allow(dead_code)]
mod shapes {
    use utoipa::ToSchema;

    /// The phase of the current event. `active`/`post` come with `edition` and `type`, `pre`
    /// (within 30 days before the start) also with `start`, `offseason` alone.
    #[derive(ToSchema)]
    pub struct EventStatus {
        #[schema(inline)]
        pub status: Phase,
        #[schema(nullable = false)]
        pub edition: Option<i64>,
        /// The event type code: `KK`, `KR` or `KX`
        #[schema(rename = "type", nullable = false, examples("KR"))]
        pub event_type: Option<String>,
        /// With `pre`: the start, server-local time without a zone (`2023-08-17T20:00:00`)
        #[schema(nullable = false)]
        pub start: Option<String>,
    }

    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub enum Phase {
        Pre,
        Active,
        Post,
        Offseason,
    }

    /// `POST /events`: `visibility` `"true"` asks for every event (admins only).
    #[derive(ToSchema)]
    pub struct EventsQuery {
        #[schema(nullable = false, examples("true"))]
        pub visibility: Option<String>,
    }

    /// An entry of `POST /events`: the public fields, plus `id` and `visible` in the admins' list.
    #[derive(ToSchema)]
    pub struct ListedEvent {
        pub edition: i64,
        pub name: String,
        #[schema(rename = "type", examples("KK"))]
        pub event_type: String,
        /// Admins' list only
        #[schema(nullable = false)]
        pub id: Option<i64>,
        /// Admins' list only: 1 visible, 0 hidden
        #[schema(nullable = false, minimum = 0, maximum = 1)]
        pub visible: Option<i64>,
    }
}
