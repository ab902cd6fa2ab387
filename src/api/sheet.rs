//! The hunting spreadsheet (`/spreadsheet/<type>/<edition>`), one map (`/mapinfo/<type>/<id>`)
//! and the WR holder leaderboard (`/wrleaderboard/<type>`).

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use serde_json::Value;

use super::accounts::ok;
use super::auth::{OptionalUser, User};
use super::input::{kind, object, opt_str, present};
use super::{cache, ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::db;
use crate::db::maps::MapRow;
use crate::domain::EventType;
use crate::tmtext;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/spreadsheet/{event}/{edition}", get(spreadsheet))
        .route("/spreadsheet/{event}", post(update_sheet))
        .route("/mapinfo/{event}/{kacky_id}", get(mapinfo))
        .route("/wrleaderboard/{event}", get(wrleaderboard))
}

/// WR score meaning "no record" in the old data; shown as 0.
const NO_RECORD: i64 = 1_800_000;

/// One sheet row. Field order is the old sorted-key order; the user's fields are present only
/// for a logged-in caller (`Some(None)` serialises as `null`).
#[derive(Serialize, Debug, Clone)]
pub struct SheetRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm: Option<bool>,
    pub author: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Option<i64>>,
    pub kacky_id: i64,
    pub kacky_id_int: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_diff: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_pb: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_rank: Option<Option<i64>>,
    pub rating: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<i64>,
    #[serde(rename = "upcomingIn", skip_serializing_if = "Option::is_none")]
    pub upcoming_in: Option<i64>,
    pub version: String,
    pub wr_holder: String,
    pub wr_score: i64,
}

impl SheetRow {
    /// `rawnicks` keeps the holder's `$`-codes instead of the plain nickname.
    pub fn from_map(m: MapRow, rawnicks: bool) -> Self {
        let wr_holder = if !m.wr_login.is_empty() {
            m.wr_login
        } else if rawnicks {
            m.wr_nickname
        } else {
            tmtext::plain(&m.wr_nickname)
        };
        let sheet = m.user.as_ref().map(|u| u.sheet.clone());
        Self {
            alarm: m.user.as_ref().map(|u| u.alarm),
            author: m.author,
            clip: sheet.as_ref().map(|s| s.as_ref().map(|s| s.clip.clone())),
            id: sheet.as_ref().map(|s| s.as_ref().map(|_| m.map_id)),
            kacky_id: m.kacky_id,
            kacky_id_int: m.kacky_id,
            map_diff: sheet.as_ref().map(|s| s.as_ref().map(|s| s.map_diff)),
            map_pb: sheet.as_ref().map(|s| s.as_ref().map(|s| s.map_pb)),
            map_rank: sheet.as_ref().map(|s| s.as_ref().map(|s| s.map_rank)),
            rating: m.rating,
            server: None,
            upcoming_in: None,
            version: m.version,
            wr_holder,
            wr_score: m.wr_score.filter(|s| *s != NO_RECORD).unwrap_or(0),
        }
    }
}

/// `kk`/`kr` in any case, else the old 404 "bad path".
pub fn parse_type(raw: &str) -> Result<EventType, ApiError> {
    EventType::parse(raw).ok_or(ApiError::BadPath)
}

fn flag(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key).is_some_and(|v| !v.is_empty())
}

async fn spreadsheet(
    State(state): State<AppState>,
    OptionalUser(user): OptionalUser,
    ApiPath((event, edition)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let t = parse_type(&event)?;
    let edition = match edition.as_str() {
        "all" => None,
        e if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            Some(e.parse::<i64>().map_err(|_| ApiError::BadPath)?)
        }
        _ => return Err(ApiError::BadPath),
    };
    let rawnicks = flag(&q, "rawnicks");
    let uid = user.map(|u| u.id);
    let key = uid.is_none().then(|| format!("sheet/{}/{edition:?}/{rawnicks}", t.as_upper()));
    cache::cached(&state.cache, key, || async move {
        let rows = state.db.run(move |c| db::maps::sheet(c, t, edition, uid).map_err(ApiError::from)).await?;
        Ok(rows.into_iter().map(|m| SheetRow::from_map(m, rawnicks)).collect::<Vec<_>>())
    })
    .await
}

async fn mapinfo(
    State(state): State<AppState>,
    OptionalUser(user): OptionalUser,
    ApiPath((event, kacky_id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let t = parse_type(&event)?;
    let id: i64 = kacky_id.trim().parse().map_err(|_| ApiError::BadPath)?;
    let uid = user.map(|u| u.id);
    let key = uid.is_none().then(|| format!("mapinfo/{}/{id}", t.as_upper()));
    cache::cached(&state.cache, key, || async move {
        let row = state.db.run(move |c| db::maps::by_kacky_id(c, t, id, uid).map_err(ApiError::from)).await?;
        let row = row.ok_or_else(|| ApiError::not_found(format!("no {} map with kacky id {id}", t.as_upper())))?;
        Ok(SheetRow::from_map(row, false))
    })
    .await
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
) -> Result<Response, ApiError> {
    let t = parse_type(&event)?;
    let html = q.get("html").map(String::as_str) != Some("False");
    let key = format!("wr/{}/{html}", t.as_upper());
    cache::cached(&state.cache, Some(key), || async move {
        let holders = state.db.run(move |c| db::wr::leaderboard(c, t).map_err(ApiError::from)).await?;
        let nick = |n: String| if html { tmtext::html(&n) } else { n };
        Ok(holders
            .into_iter()
            .map(|h| WrHolder { nickname: nick(h.nickname), login: h.login, nwrs: h.nwrs })
            .collect::<Vec<_>>())
    })
    .await
}

/// `mapid` as the frontend sends it: the kacky id without version, as a string (numbers are
/// accepted too).
fn map_id(m: &serde_json::Map<String, Value>) -> Result<i64, ApiError> {
    match m.get("mapid") {
        Some(Value::String(s)) => {
            s.trim().parse().map_err(|_| ApiError::bad_request(format!("`mapid` must be a kacky id, got \"{s}\"")))
        }
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| ApiError::bad_request("`mapid` must be a whole number")),
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
    let t = parse_type(&event)?;
    let m = object(body)?;
    let kacky_id = map_id(&m)?;
    let diff = match m.get("diff") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|d| (0..=6).contains(&d)) => n.as_i64(),
        Some(v) => return Err(ApiError::bad_request(format!("`diff` must be a whole number from 0 to 6, got {v}"))),
    };
    let clip = opt_str(&m, "clip", 150)?;
    let alarm = present(&m, "alarm").then(|| m.get("alarm").and_then(Value::as_bool));
    let current = (state.settings.eventtype, state.settings.edition.get());
    state
        .db
        .run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let (map, edition) = db::sheet::resolve_map(&tx, t, kacky_id)?
                .ok_or_else(|| ApiError::not_found(format!("no {} map with kacky id {kacky_id}", t.as_upper())))?;
            if let Some(d) = diff {
                db::sheet::set_diff(&tx, user.id, map, d)?;
            }
            if let Some(clip) = clip {
                db::sheet::set_clip(&tx, user.id, map, &clip)?;
            }
            if let Some(on) = alarm {
                if (t, edition) != current {
                    return Err(ApiError::bad_request("alarms can only be set on maps of the current event"));
                }
                db::sheet::set_alarm(&tx, user.id, map, on)?;
            }
            tx.commit().map_err(ApiError::from)
        })
        .await?;
    Ok(ok())
}
