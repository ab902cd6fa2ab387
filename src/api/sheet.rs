//! The hunting spreadsheet (`/spreadsheet/<type>/<edition>`), one map (`/mapinfo/<type>/<id>`)
//! and the WR holder leaderboard (`/wrleaderboard/<type>`).

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::config::EventType;
use crate::db;
use crate::db::maps::MapRow;
use crate::tmtext;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/spreadsheet/{event}/{edition}", get(spreadsheet))
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
    ApiPath((event, edition)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Json<Vec<SheetRow>>, ApiError> {
    let t = parse_type(&event)?;
    let edition = match edition.as_str() {
        "all" => None,
        e if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            Some(e.parse::<i64>().map_err(|_| ApiError::BadPath)?)
        }
        _ => return Err(ApiError::BadPath),
    };
    let rawnicks = flag(&q, "rawnicks");
    let rows = state
        .db
        .run(move |c| db::maps::sheet(c, t, edition, None).map_err(ApiError::from))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|m| SheetRow::from_map(m, rawnicks))
            .collect(),
    ))
}

async fn mapinfo(
    State(state): State<AppState>,
    ApiPath((event, kacky_id)): ApiPath<(String, String)>,
) -> Result<Json<SheetRow>, ApiError> {
    let t = parse_type(&event)?;
    let id: i64 = kacky_id.trim().parse().map_err(|_| ApiError::BadPath)?;
    let row = state
        .db
        .run(move |c| db::maps::by_kacky_id(c, t, id, None).map_err(ApiError::from))
        .await?;
    let row = row.ok_or_else(|| {
        ApiError::not_found(format!("no {} map with kacky id {id}", t.as_upper()))
    })?;
    Ok(Json(SheetRow::from_map(row, false)))
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
) -> Result<Json<Vec<WrHolder>>, ApiError> {
    let t = parse_type(&event)?;
    let html = q.get("html").map(String::as_str) != Some("False");
    let holders = state
        .db
        .run(move |c| db::wr::leaderboard(c, t).map_err(ApiError::from))
        .await?;
    Ok(Json(
        holders
            .into_iter()
            .map(|h| WrHolder {
                nickname: if html {
                    tmtext::html(&h.nickname)
                } else {
                    h.nickname
                },
                login: h.login,
                nwrs: h.nwrs,
            })
            .collect(),
    ))
}
