//! Endpoints backed by the records API: the generic `/records/…` proxy, personal bests and
//! finish counts for the hunting pages, and the chat-bot helpers under `/event/<login>/…`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{OptionalUser, User};
use super::input::{event_type, int_param};
use super::openapi::{Error, Internal, Login, LoginSegment, Upstream, TEXT};
use super::response::html_text;
use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::records::{LookupError, RecordsError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(proxy_root))
        .routes(routes!(proxy))
        .routes(routes!(pb))
        .routes(routes!(performance))
        .routes(routes!(fin))
        .routes(routes!(finned))
        .routes(routes!(unfinned))
}

impl From<RecordsError> for ApiError {
    fn from(e: RecordsError) -> Self {
        let status = match e {
            RecordsError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            RecordsError::Unreachable(_) => StatusCode::BAD_GATEWAY,
            RecordsError::BadSegment(_) => StatusCode::BAD_REQUEST,
        };
        ApiError::Msg(status, e.to_string())
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::Records(e) => e.into(),
            LookupError::BadAnswer(msg) => ApiError::Msg(StatusCode::BAD_GATEWAY, msg),
            LookupError::Db(e) => e.into(),
        }
    }
}

/// The records API's root, proxied with the API key
#[utoipa::path(get, path = "/records", tag = "records",
    description = "The query string is passed on as it is; the upstream status is passed through with the \
        upstream body (JSON as sent, any other body as a JSON string). In testing mode built-in fixtures answer, \
        404 for anything they do not know.",
    responses(
        (status = 200, description = "The records API's answer, or its last good one (then with `X-Records-Stale` \
            and `Age`)", body = Value, headers(
                ("X-Records-Stale" = String, description = "Only on a stand-in answer: when it was fetched (RFC 3339)"),
                ("Age" = i64, description = "Only on a stand-in answer: seconds since it was fetched"))),
        (status = "default", description = "Any other status of the records API, passed through with its body",
            body = Value),
        (status = 502, description = "The records API is unreachable (or too many calls to it are waiting) and no \
            earlier answer can stand in, or it answered 502 itself (passed through)", body = Value),
        (status = 504, description = "The records API did not answer within 2 s and no earlier answer can stand in, \
            or it answered 504 itself (passed through)", body = Value),
    ))]
async fn proxy_root(state: State<AppState>, query: RawQuery) -> Result<Response, ApiError> {
    proxy(state, ApiPath(String::new()), query).await
}

/// Status passed through; a JSON body as sent, any other body as a JSON string (old shape).
/// Each segment of the path is passed on percent-encoded, so `..` cannot climb above the API.
#[utoipa::path(get, path = "/records/{*path}", tag = "records",
    summary = "Any GET of the records API, proxied with the API key",
    description = "`GET /records/<path>` asks `records_api_url/<path>`: each segment percent-encoded (a `.` or \
        `..` segment is refused), the query string passed on as it is, the upstream status passed through with the \
        upstream body (JSON as sent, any other body as a JSON string). Answers with status 200 are cached 30 s \
        (`records_cache_s`). Every request is answered within 2.5 s: when the records API is slow (2 s) or down, \
        the last good answer of the same URL (up to a day old) is served with `X-Records-Stale` and `Age`, else \
        504/502 at once. Paths about a family the records API does not keep (KX) answer the empty shape (`{}` for \
        `pb/…`, `[]` otherwise) without asking it. In testing mode built-in fixtures answer (e.g. `event/leaderboard/kk/7`), 404 for anything they do not know.",
    params(("path" = String, Path, description = "The records API path (several segments)",
        example = "event/leaderboard/kk/7")),
    responses(
        (status = 200, description = "The records API's answer, or its last good one (then with `X-Records-Stale` \
            and `Age`)", body = Value, headers(
                ("X-Records-Stale" = String, description = "Only on a stand-in answer: when it was fetched (RFC 3339)"),
                ("Age" = i64, description = "Only on a stand-in answer: seconds since it was fetched"))),
        (status = 400, description = "A `.` or `..` path segment", body = Error),
        (status = 404, description = "The path is not valid UTF-8 once percent-decoded (`{\"msg\": \"bad path: …\"}`), \
            or the records API answered 404 (passed through)", body = Value),
        (status = "default", description = "Any other status of the records API, passed through with its body",
            body = Value),
        (status = 502, description = "The records API is unreachable (or too many calls to it are waiting) and no \
            earlier answer can stand in, or it answered 502 itself (passed through)", body = Value),
        (status = 504, description = "The records API did not answer within 2 s and no earlier answer can stand in, \
            or it answered 504 itself (passed through)", body = Value),
    ))]
async fn proxy(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let segments: Vec<String> = path.split('/').map(str::to_owned).collect();
    let up = state.records.get(segments, query).await?;
    let status = StatusCode::from_u16(up.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let stale = up.stale_since.map(|at| {
        let age = chrono::Utc::now().signed_duration_since(at).num_seconds().max(0);
        [(STALE_HEADER, crate::clock::rfc3339(at)), ("age", age.to_string())]
    });
    let body = up.json().unwrap_or(Value::String(up.body));
    Ok((status, stale, Json(body)).into_response())
}

/// Set on a proxied answer that is the last good one standing in while the records API is slow
/// or down: when it was fetched (RFC 3339). `Age` says the same in seconds.
pub const STALE_HEADER: &str = "x-records-stale";

/// A JSON answer of the wanted shape from the records API, or the empty one (logged) — the
/// hunting page only fills its table when these succeed (frontend fact 8).
async fn personal<T: DeserializeOwned + Default>(
    state: &AppState,
    user_id: i64,
    event: &str,
    kind: &str,
) -> Result<Json<T>, ApiError> {
    let t = event_type(event)?;
    let login = state.records.game_login(user_id, t).await?;
    if login.is_empty() {
        return Ok(Json(T::default()));
    }
    let segments = vec![kind.to_owned(), login.clone(), t.as_upper().to_owned()];
    match state.records.get(segments, None).await {
        Ok(up) if up.ok() => match serde_json::from_str(&up.body) {
            Ok(v) => Ok(Json(v)),
            Err(_) => {
                tracing::warn!("records API {kind} for {login:?}: unexpected body");
                Ok(Json(T::default()))
            }
        },
        Ok(up) => {
            tracing::warn!("records API {kind} for {login:?}: status {}", up.status);
            Ok(Json(T::default()))
        }
        Err(e) => {
            tracing::warn!("records API {kind} for {login:?}: {e}");
            Ok(Json(T::default()))
        }
    }
}

/// Kacky id → personal best object (`score` ms, `kacky_rank`, …), as the records API sends it.
#[derive(Serialize, Deserialize, Default, ToSchema)]
#[serde(transparent)]
struct Pbs(Map<String, Value>);

/// `GET /fin`.
#[derive(Serialize, ToSchema)]
struct Finishes {
    #[schema(value_type = i64)]
    finishes: usize,
    /// Kacky ids as strings
    mapids: Vec<String>,
}

/// `GET /event/<login>/finned` as JSON: the PB objects by kacky id, or (`?list=1`) the ids.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum Finned {
    #[schema(value_type = BTreeMap<String, Value>)]
    Pbs(BTreeMap<i64, Value>),
    Ids(Vec<String>),
}

/// The caller's personal bests in an event type
#[utoipa::path(get, path = "/pb/{event}", tag = "records", security(("login" = [])),
    description = "From the records API by the caller's game login for the type (TMNF for KK, TM2020 for KR; \
        KX is not in the records API: `{}`, nothing asked). Without a login, or when the records API fails (logged, shown in `/healthz`), `{}`: the hunting page \
        only fills its table when this succeeds.",
    params(("event" = String, Path, description = "An event type (`kk`, `kr` or `kx`), any case", pattern = "^[kK][kKrRxX]$", example = "kr")),
    responses(
        Login,
        Internal,
        (status = 200, description = "Kacky id → personal best, as the records API sends it (`{}` when unknown)",
            body = Pbs, example = json!({"242": {"score": 52310, "kacky_rank": 3}})),
        (status = 404, description = "Not an event type (the JSON string \"404 Error: bad path\")", body = Error),
    ))]
async fn pb(
    State(state): State<AppState>,
    User(user): User,
    ApiPath(event): ApiPath<String>,
) -> Result<Json<Pbs>, ApiError> {
    personal(&state, user.id, &event, "pb").await
}

/// The caller's finish counts per edition of an event type
#[utoipa::path(get, path = "/performance/{event}", tag = "records", security(("login" = [])),
    description = "From the records API by the caller's game login for the type. Without a login, or when the \
        records API fails (logged, shown in `/healthz`), `[]`.",
    params(("event" = String, Path, description = "An event type (`kk`, `kr` or `kx`), any case", pattern = "^[kK][kKrRxX]$", example = "kk")),
    responses(
        Login,
        Internal,
        (status = 200, description = "As the records API sends it (`[]` when unknown)", body = Vec<Value>,
            example = json!([{"edition": 4, "fins": 25}])),
        (status = 404, description = "Not an event type (the JSON string \"404 Error: bad path\")", body = Error),
    ))]
async fn performance(
    State(state): State<AppState>,
    User(user): User,
    ApiPath(event): ApiPath<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    personal(&state, user.id, &event, "performance").await
}

/// How many maps of the current event the caller has finished
#[utoipa::path(get, path = "/fin", tag = "records", security((), ("login" = [])),
    description = "By the caller's game login for the current event's type; `{\"finishes\": 0, \"mapids\": []}` \
        when anonymous or without a login.",
    responses(
        Upstream,
        Internal,
        (status = 200, description = "The finished maps", body = Finishes),
        (status = 400, description = "The caller's game login is `.` or `..`", body = Error),
    ))]
async fn fin(State(state): State<AppState>, OptionalUser(user): OptionalUser) -> Result<Json<Finishes>, ApiError> {
    let none = Json(Finishes { finishes: 0, mapids: Vec::new() });
    let Some(user) = user else { return Ok(none) };
    let login = state.records.game_login(user.id, state.settings.eventtype).await?;
    if login.is_empty() {
        return Ok(none);
    }
    let pbs = state.records.finished_pbs(&login).await?;
    let mapids: Vec<String> = pbs.keys().map(i64::to_string).collect();
    Ok(Json(Finishes { finishes: mapids.len(), mapids }))
}

fn joined<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

/// `?string=ids|ranks|scores` → text for chat bots; `?list=1` → list of id strings; else the
/// PB objects keyed by id.
#[utoipa::path(get, path = "/event/{login}/finned", tag = "records",
    summary = "A player's finished maps of the current event (for chat bots)",
    params(
        ("login" = String, Path, description = "Game login", min_length = 1, example = "simo_900"),
        ("string" = Option<String>, Query, description = "Text for chat: `ids` (`12, 15`), `ranks` (`12 (3), 15 (1)`) \
            or `scores` (`12 (20.5s)`)", pattern = "^(ids|ranks|scores)$", example = "ids"),
        ("list" = Option<i64>, Query, description = "`1`: a list of kacky ids (strings) instead of the PB objects",
            example = 1),
    ),
    responses(
        Upstream,
        Internal,
        (status = 200, description = "Kacky id → personal best, the ids, or text", content(
            (Finned = "application/json"),
            (String = TEXT, example = "12, 15, 242"),
        )),
        LoginSegment,
    ))]
async fn finned(
    State(state): State<AppState>,
    ApiPath(login): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let pbs = state.records.finished_pbs(&login).await?;
    let field = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    Ok(match q.get("string").map(String::as_str) {
        Some("ids") => html_text(joined(pbs.keys())),
        Some("ranks") => html_text(joined(pbs.iter().map(|(id, v)| format!("{id} ({})", field(v, "kacky_rank"))))),
        Some("scores") => html_text(joined(pbs.iter().map(|(id, v)| {
            let ms = field(v, "score").as_f64().unwrap_or(0.0);
            format!("{id} ({:?}s)", ms / 1000.0)
        }))),
        _ if int_param(&q, "list") == Some(1) => {
            Json(Finned::Ids(pbs.keys().map(i64::to_string).collect())).into_response()
        }
        _ => Json(Finned::Pbs(pbs)).into_response(),
    })
}

/// Current-event maps `login` has not finished; `?string=1` → text.
#[utoipa::path(get, path = "/event/{login}/unfinned", tag = "records",
    summary = "A player's unfinished maps of the current event (for chat bots)",
    params(
        ("login" = String, Path, description = "Game login", min_length = 1, example = "simo_900"),
        ("string" = Option<i64>, Query, description = "Not `0`: text for chat (`1, 2, 7`)", example = 1),
    ),
    responses(
        Upstream,
        Internal,
        (status = 200, description = "The kacky ids, ascending, or text", content(
            (Vec<i64> = "application/json"),
            (String = TEXT, example = "1, 2, 7"),
        )),
        LoginSegment,
    ))]
async fn unfinned(
    State(state): State<AppState>,
    ApiPath(login): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let ids = state.records.unfinned_ids(&login).await?;
    let as_text = int_param(&q, "string").is_some_and(|n| n != 0);
    Ok(if as_text { html_text(joined(ids.iter())) } else { Json(ids).into_response() })
}
