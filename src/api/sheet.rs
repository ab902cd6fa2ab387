//! The hunting spreadsheet (`/spreadsheet/<type>/<edition>`), one map (`/mapinfo/<type>/<id>`)
//! and the WR holder leaderboard (`/wrleaderboard/<type>`).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::de::{self, Deserializer, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{OptionalUser, User};
use super::input::{self, at_most, edition_sel, event_type, flag, kacky_id_path, kind, Body};
use super::openapi::{CachedHistory, CachedHistoryPerCaller, Error, Internal, JsonBody, Login, OkAnswer};
use super::response::{ok, per_caller, SheetRow, HISTORY};
use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::db;
use crate::db::sheet::SheetOutcome;
use crate::domain::{Difficulty, EventType, KackyId};
use crate::tmtext;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(spreadsheet))
        .routes(routes!(update_sheet))
        .routes(routes!(mapinfo))
        .routes(routes!(wrleaderboard))
        .routes(routes!(alarm_on, alarm_off))
}

/// The sheet of an edition (or `all`); a logged-in caller's own columns are merged in. Both
/// forms are cached: the anonymous one per data generation, a user's per generation and their
/// own write version, so a reload costs no query.
#[utoipa::path(get, path = "/spreadsheet/{event}/{edition}", tag = "history", security((), ("login" = [])),
    summary = "The hunting spreadsheet of an edition (or all editions)",
    description = "Every map of the edition by kacky id, with its world record. With a valid token the caller's \
        own columns (`map_diff`, `map_pb`, `map_rank`, `clip`, `alarm`, `id`) are merged in; a missing or bad token \
        gives the anonymous sheet.",
    params(
        ("event" = String, Path, description = "An event type (`kk`, `kr` or `kx`), any case", pattern = "^[kK][kKrRxX]$", example = "kk"),
        ("edition" = String, Path, description = "An edition number (ASCII digits) or `all`",
            pattern = "^([0-9]{1,4}|all)$", example = "7"),
        ("rawnicks" = Option<String>, Query, description = "Non-empty: world record holders' nicknames keep their \
            `$`-codes", example = "1"),
    ),
    responses(
        Internal,
        (status = 200, description = "The rows", body = Vec<SheetRow>),
        CachedHistoryPerCaller,
        (status = 404, description = "Not an event type or edition (the JSON string \"404 Error: bad path\")",
            body = Error, example = "404 Error: bad path"),
    ))]
async fn spreadsheet(
    State(state): State<AppState>,
    OptionalUser(user): OptionalUser,
    ApiPath((event, edition)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t = event_type(&event)?;
    let edition = edition_sel(&edition)?;
    let rawnicks = flag(&q, "rawnicks");
    let uid = user.map(|u| u.id);
    let key = state.cache.key(format!("sheet/{t}/{edition:?}/{rawnicks}"), uid);
    let body = state
        .cache
        .answer(key, || async {
            let rows = state.db.run(move |c| db::maps::sheet(c, t, edition.edition(), uid)).await?;
            Ok(rows.into_iter().map(|m| SheetRow::from_map(m, rawnicks)).collect::<Vec<_>>())
        })
        .await?;
    Ok(per_caller(&body, &headers, uid.is_some(), HISTORY))
}

/// One map's spreadsheet row
#[utoipa::path(get, path = "/mapinfo/{event}/{kacky_id}", tag = "history", security((), ("login" = [])),
    description = "With a valid token the caller's own columns are merged in.",
    params(
        ("event" = String, Path, description = "An event type (`kk`, `kr` or `kx`), any case", pattern = "^[kK][kKrRxX]$", example = "kk"),
        ("kacky_id" = String, Path, description = "The map's kacky id", pattern = "^[0-9]{1,6}$", example = "75"),
    ),
    responses(
        Internal,
        (status = 200, description = "The row", body = SheetRow),
        CachedHistoryPerCaller,
        (status = 404, description = "Not an event type or kacky id (the JSON string \"404 Error: bad path\"), or \
            no such map", body = Error),
    ))]
async fn mapinfo(
    State(state): State<AppState>,
    OptionalUser(user): OptionalUser,
    ApiPath((event, kacky_id)): ApiPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t = event_type(&event)?;
    let id = kacky_id_path(&kacky_id)?;
    let uid = user.map(|u| u.id);
    let key = state.cache.key(format!("mapinfo/{t}/{id}"), uid);
    let body = state
        .cache
        .answer(key, || async {
            let row = state.db.run(move |c| db::maps::by_kacky_id(c, t, id, uid)).await?;
            let row = row.ok_or_else(|| ApiError::not_found(format!("no {t} map with kacky id {id}")))?;
            Ok(SheetRow::from_map(row, false))
        })
        .await?;
    Ok(per_caller(&body, &headers, uid.is_some(), HISTORY))
}

/// A world record holder.
#[derive(Serialize, ToSchema)]
pub struct WrHolder {
    login: String,
    /// HTML (the `$`-codes rendered), or as stored with `?html=False`
    nickname: String,
    /// Number of world records held
    nwrs: i64,
}

/// `?html=False` gives raw nicknames; anything else renders them as HTML.
#[utoipa::path(get, path = "/wrleaderboard/{event}", tag = "history",
    summary = "The world record holders of an event type",
    params(
        ("event" = String, Path, description = "An event type (`kk`, `kr` or `kx`), any case", pattern = "^[kK][kKrRxX]$", example = "kr"),
        ("html" = Option<String>, Query, description = "`False`: nicknames as stored (with `$`-codes) instead of \
            HTML", example = "False"),
    ),
    responses(
        Internal,
        (status = 200, description = "Holders, most world records first", body = Vec<WrHolder>),
        CachedHistory,
        (status = 404, description = "Not an event type (the JSON string \"404 Error: bad path\")", body = Error),
    ))]
async fn wrleaderboard(
    State(state): State<AppState>,
    ApiPath(event): ApiPath<String>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let t = event_type(&event)?;
    let html = q.get("html").map(String::as_str) != Some("False");
    let key = state.cache.key(format!("wr/{t}/{html}"), None);
    let body = state
        .cache
        .answer(key, || async {
            let holders = state.db.run(move |c| db::wr::leaderboard(c, t)).await?;
            let nick = |n: String| if html { tmtext::html(&n) } else { n };
            Ok(holders
                .into_iter()
                .map(|h| WrHolder { nickname: nick(h.nickname), login: h.login, nwrs: h.nwrs })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(body.respond(&headers, HISTORY))
}

/// One map's personal columns; absent or `null` values stay as they are (other keys, like the
/// `token` the frontend sends, are ignored).
#[derive(Deserialize, ToSchema)]
struct SheetChange {
    #[serde(default, deserialize_with = "map_id")]
    #[schema(schema_with = map_id_schema, required = true)]
    mapid: Option<KackyId>,
    /// Personal difficulty 0 (unrated) to 6
    #[serde(default, deserialize_with = "whole_difficulty")]
    #[schema(nullable, minimum = 0, maximum = 6)]
    diff: Option<i64>,
    /// A clip link or note
    #[serde(default, deserialize_with = "input::string")]
    #[schema(nullable, max_length = 150)]
    clip: Option<String>,
    /// Any non-null value (`true` and `false` too) toggles the Discord alarm
    #[schema(value_type = Value, required = false, examples(true))]
    alarm: Option<IgnoredAny>,
}

/// `mapid` as the frontend sends it: the kacky id without version, as a string (numbers are
/// accepted too).
fn map_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<KackyId>, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => {
            KackyId::parse(&s).map(Some).ok_or_else(|| de::Error::custom(format!("must be a kacky id, got \"{s}\"")))
        }
        Value::Number(n) => {
            n.as_i64().map(|n| Some(KackyId(n))).ok_or_else(|| de::Error::custom("must be a whole number"))
        }
        v => Err(de::Error::custom(format!("must be a kacky id string, got {}", kind(&v)))),
    }
}

/// The schema of `mapid`.
fn map_id_schema() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9]{1,6}$")))
        .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).maximum(Some(999_999)))
        .description(Some("The kacky id (without version), as a string or a number"))
        .examples(["75"])
        .into()
}

/// `diff`: a whole number (checked by [`Difficulty`]).
fn whole_difficulty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) if n.as_i64().is_some() => Ok(n.as_i64()),
        v => Err(de::Error::custom(format!("must be a whole number from 0 to {}, got {v}", Difficulty::MAX))),
    }
}

/// A sheet change, checked: the map and what to store.
struct MapChange {
    kacky_id: KackyId,
    change: db::sheet::SheetChange,
}

impl TryFrom<SheetChange> for MapChange {
    type Error = ApiError;
    fn try_from(body: SheetChange) -> Result<Self, ApiError> {
        let kacky_id = body.mapid.ok_or_else(|| ApiError::bad_request("`mapid` is missing"))?;
        let diff = body.diff.map(Difficulty::new).transpose()?;
        let clip = at_most(body.clip, "clip", 150)?;
        // Any non-null value toggles, `false` included (see `update_sheet`).
        let alarm = body.alarm.map(|_| None);
        Ok(Self { kacky_id, change: db::sheet::SheetChange { diff, clip, alarm } })
    }
}

/// Personal difficulty (0-6), clip (≤ 150 characters) and Discord alarm for one map. All
/// given values are checked first and written in one transaction. Any non-null `alarm`
/// toggles the alarm (the old behaviour): the 2024 frontend sends the switch's new state, the
/// TypeScript rewrite its previous one, and only a toggle serves both. `PUT`/`DELETE
/// /alarms/<type>/<id>` set it.
#[utoipa::path(post, path = "/spreadsheet/{event}", tag = "sheet", security(("login" = [])),
    summary = "Sets the caller's difficulty, clip and alarm for one map",
    description = "All given values are checked first and stored in one transaction; absent or `null` ones stay. \
        Alarms can only be set on maps of the current event.",
    params(("event" = String, Path, description = "An event type (`kk`, `kr` or `kx`), any case", pattern = "^[kK][kKrRxX]$", example = "kk")),
    request_body = SheetChange,
    responses(
        JsonBody,
        Login,
        Internal,
        (status = 200, description = "Stored", body = OkAnswer),
        (status = 400, description = "A field is missing or wrong (the message names it), an alarm on a map outside \
            the current event, or the body is not valid JSON or not an object", body = Error),
        (status = 404, description = "Not an event type (the JSON string \"404 Error: bad path\"), or no such map",
            body = Error),
    ))]
async fn update_sheet(
    State(state): State<AppState>,
    User(user): User,
    ApiPath(event): ApiPath<String>,
    Body(body): Body<SheetChange>,
) -> Result<Json<Value>, ApiError> {
    let t = event_type(&event)?;
    let MapChange { kacky_id, change } = body.try_into()?;
    apply(&state, user.id, t, kacky_id, change).await?;
    Ok(ok())
}

/// Stores one change with the sheet's map rules and tells whoever depends on it.
async fn apply(
    state: &AppState,
    user: i64,
    t: EventType,
    kacky_id: KackyId,
    change: db::sheet::SheetChange,
) -> Result<(), ApiError> {
    let alarm_changed = change.alarm.is_some();
    let current = (state.settings.eventtype, state.settings.edition);
    let outcome = state.db.run(move |c| db::sheet::update(c, user, t, kacky_id, &change, current)).await?;
    match outcome {
        SheetOutcome::Done => {
            state.cache.user_wrote(user);
            if alarm_changed {
                state.notifier.alarms_changed();
            }
            Ok(())
        }
        SheetOutcome::NoSuchMap => Err(ApiError::not_found(format!("no {t} map with kacky id {kacky_id}"))),
        SheetOutcome::NotCurrentEvent => {
            Err(ApiError::bad_request("alarms can only be set on maps of the current event"))
        }
    }
}

/// `PUT`/`DELETE /alarms/<type>/<id>`: the alarm set to `on`, whatever it was.
async fn set_alarm(state: &AppState, user: i64, event: &str, kacky_id: &str, on: bool) -> Result<StatusCode, ApiError> {
    let t = event_type(event)?;
    let id = kacky_id_path(kacky_id)?;
    let change = db::sheet::SheetChange { alarm: Some(Some(on)), ..Default::default() };
    apply(state, user, t, id, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Switches the caller's Discord alarm on one map on
#[utoipa::path(put, path = "/alarms/{event}/{kacky_id}", tag = "sheet", security(("login" = [])),
    description = "Idempotent: the alarm is on afterwards, whatever it was (`POST /spreadsheet/<type>` with `alarm` \
        toggles instead, as the old backend did). The map rules of the sheet: the current version of the map with \
        this kacky id, and only maps of the current event.",
    params(
        ("event" = String, Path, description = "An event type (`kk`, `kr`, `kx`), any case", pattern = "^[kK][kKrRxX]$",
            example = "kr"),
        ("kacky_id" = String, Path, description = "The map's kacky id", pattern = "^[0-9]{1,6}$", example = "226"),
    ),
    responses(
        Login,
        Internal,
        (status = 204, description = "The alarm is on"),
        (status = 400, description = "The map is not in the current event", body = Error),
        (status = 404, description = "Not an event type or kacky id (the JSON string \"404 Error: bad path\"), or no \
            such map", body = Error),
    ))]
async fn alarm_on(
    State(state): State<AppState>,
    User(user): User,
    ApiPath((event, kacky_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_alarm(&state, user.id, &event, &kacky_id, true).await
}

/// Switches the caller's Discord alarm on one map off
#[utoipa::path(delete, path = "/alarms/{event}/{kacky_id}", tag = "sheet", security(("login" = [])),
    description = "Idempotent: the alarm is off afterwards, whatever it was. The same map rules as `PUT`.",
    params(
        ("event" = String, Path, description = "An event type (`kk`, `kr`, `kx`), any case", pattern = "^[kK][kKrRxX]$",
            example = "kr"),
        ("kacky_id" = String, Path, description = "The map's kacky id", pattern = "^[0-9]{1,6}$", example = "226"),
    ),
    responses(
        Login,
        Internal,
        (status = 204, description = "The alarm is off"),
        (status = 400, description = "The map is not in the current event", body = Error),
        (status = 404, description = "Not an event type or kacky id (the JSON string \"404 Error: bad path\"), or no \
            such map", body = Error),
    ))]
async fn alarm_off(
    State(state): State<AppState>,
    User(user): User,
    ApiPath((event, kacky_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_alarm(&state, user.id, &event, &kacky_id, false).await
}
