//! The hunting spreadsheet (`/spreadsheet/<type>/<edition>`), one map (`/mapinfo/<type>/<id>`)
//! and the WR holder leaderboard (`/wrleaderboard/<type>`).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use super::auth::{OptionalUser, User};
use super::input::{edition_sel, event_type, flag, kacky_id_path, kind, object, opt_str, present};
use super::response::{ok, per_caller, SheetRow, HISTORY};
use super::{ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::db;
use crate::db::sheet::{SheetChange, SheetOutcome};
use crate::domain::{Difficulty, KackyId};
use crate::tmtext;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/spreadsheet/{event}/{edition}", get(spreadsheet))
        .route("/spreadsheet/{event}", post(update_sheet))
        .route("/mapinfo/{event}/{kacky_id}", get(mapinfo))
        .route("/wrleaderboard/{event}", get(wrleaderboard))
}

/// The sheet of an edition (or `all`); a logged-in caller's own columns are merged in. Both
/// forms are cached: the anonymous one per data generation, a user's per generation and their
/// own write version, so a reload costs no query.
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

#[derive(Serialize)]
pub struct WrHolder {
    login: String,
    nickname: String,
    nwrs: i64,
}

/// `?html=False` gives raw nicknames; anything else renders them as HTML.
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

/// `mapid` as the frontend sends it: the kacky id without version, as a string (numbers are
/// accepted too).
fn map_id(m: &serde_json::Map<String, Value>) -> Result<KackyId, ApiError> {
    match m.get("mapid") {
        Some(Value::String(s)) => {
            KackyId::parse(s).ok_or_else(|| ApiError::bad_request(format!("`mapid` must be a kacky id, got \"{s}\"")))
        }
        Some(Value::Number(n)) => {
            n.as_i64().map(KackyId).ok_or_else(|| ApiError::bad_request("`mapid` must be a whole number"))
        }
        Some(v) => Err(ApiError::bad_request(format!("`mapid` must be a kacky id string, got {}", kind(v)))),
        None => Err(ApiError::bad_request("`mapid` is missing")),
    }
}

/// Personal difficulty (0-6), clip (≤ 150 characters) and Discord alarm for one map. All
/// given values are checked first and written in one transaction. `alarm: true/false` sets
/// the alarm; any other non-null value toggles it (the old behaviour).
async fn update_sheet(
    State(state): State<AppState>,
    User(user): User,
    ApiPath(event): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let t = event_type(&event)?;
    let m = object(body)?;
    let kacky_id = map_id(&m)?;
    let diff = match m.get("diff") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some() => Some(Difficulty::new(n.as_i64().unwrap_or(-1))?),
        Some(v) => return Err(ApiError::bad_request(format!("`diff` must be a whole number from 0 to 6, got {v}"))),
    };
    let clip = opt_str(&m, "clip", 150)?;
    let alarm = present(&m, "alarm").then(|| m.get("alarm").and_then(Value::as_bool));
    let alarm_changed = alarm.is_some();
    let change = SheetChange { diff, clip, alarm };
    let current = (state.settings.eventtype, state.settings.edition);
    let outcome = state.db.run(move |c| db::sheet::update(c, user.id, t, kacky_id, &change, current)).await?;
    match outcome {
        SheetOutcome::Done => {
            state.cache.user_wrote(user.id);
            if alarm_changed {
                state.notifier.alarms_changed();
            }
            Ok(ok())
        }
        SheetOutcome::NoSuchMap => Err(ApiError::not_found(format!("no {t} map with kacky id {kacky_id}"))),
        SheetOutcome::NotCurrentEvent => {
            Err(ApiError::bad_request("alarms can only be set on maps of the current event"))
        }
    }
}
