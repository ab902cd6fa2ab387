//! The world-record ingestion API for the records updater (kacky-records-api's
//! `update_records.py`), which wrote into the shared MariaDB before: `PUT
//! /manage/worldrecords/<type>/<kacky id>` offers a record (a better score replaces the stored
//! one, an admin's reset takes any score, the same record again changes nothing, anything else
//! is refused with 409) and `GET /manage/worldrecords?reset=1` lists the reset ones to restore.
//! Authenticated by `records_writer_token` or an admin's login.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::RecordsWriter;
use super::input::{self, at_most, event_type, flag, kind, Body};
use super::openapi::{Error, Internal, JsonBody};
use super::{ApiError, ApiPath, ApiQuery, AppState};
use crate::db::wr_ingest::{self, Offer, Pick, Record, Stored, RESET_SCORE};
use crate::domain::{FinishItem, KackyId};
use crate::finishes::wr::record;

/// The longest score accepted (a day), in milliseconds.
const MAX_SCORE: i64 = 86_400_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(put))
}

/// A stored world record.
#[derive(Serialize, ToSchema)]
struct WorldRecord {
    /// `KK` or `KR`
    #[serde(rename = "type")]
    #[schema(rename = "type", examples("KR"))]
    event_type: &'static str,
    edition: i64,
    kacky_id: i64,
    /// `""` for the first version, else e.g. `[v2]`
    version: String,
    tmx_id: String,
    tm_uid: String,
    /// Milliseconds; 1 when an admin reset it
    score: i64,
    login: String,
    /// `$`-formatted
    nickname: String,
    source: String,
    /// `YYYY-MM-DD HH:MM:SS`
    date: String,
    /// Reset by an admin (`POST /mapinfo`), awaiting restore
    reset: bool,
}

impl From<Stored> for WorldRecord {
    fn from(s: Stored) -> Self {
        Self {
            event_type: s.map.event_type.as_upper(),
            edition: s.map.edition.get(),
            kacky_id: s.map.kacky_id,
            version: s.map.version,
            tmx_id: s.tmx_id,
            tm_uid: s.tm_uid,
            reset: s.record.score == RESET_SCORE,
            score: s.record.score,
            login: s.record.login,
            nickname: s.record.nickname,
            source: s.record.source,
            date: s.record.date,
        }
    }
}

/// The stored world records, or only the reset ones
#[utoipa::path(get, path = "/manage/worldrecords", tag = "admin", security(("writer" = []), ("login" = [])),
    description = "With `reset=1` only the records an admin reset (score 1), which the records updater restores \
        from its sources with `PUT`.",
    params(
        ("reset" = Option<String>, Query, description = "Non-empty (e.g. `1`): only the reset ones", example = "1"),
        ("type" = Option<String>, Query, description = "`kk` or `kr` (any case): only this type", example = "kr"),
    ),
    responses(
        Internal,
        (status = 200, description = "By type, kacky id and version", body = Vec<WorldRecord>),
        (status = 400, description = "`type` is not kk or kr", body = Error),
        (status = 401, description = "No token, a wrong `records_writer_token` that is no admin's login either, or \
            a login of an account that is not an admin", body = Error),
        (status = 422, description = "`Bearer` without a token", body = Error),
    ))]
async fn list(
    State(state): State<AppState>,
    _writer: RecordsWriter,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Json<Vec<WorldRecord>>, ApiError> {
    let t = match q.get("type").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            crate::domain::EventType::parse(s)
                .ok_or_else(|| ApiError::bad_request(format!("`type` must be kk or kr, got \"{s}\"")))?,
        ),
    };
    let reset_only = flag(&q, "reset");
    let rows = state.db.run(move |c| wr_ingest::list(c, t, reset_only)).await?;
    Ok(Json(rows.into_iter().map(WorldRecord::from).collect()))
}

/// `PUT /manage/worldrecords/<type>/<kacky id>`.
#[derive(Deserialize, ToSchema)]
struct Offered {
    /// Milliseconds, 2 to 86400000
    #[serde(default, deserialize_with = "score")]
    #[schema(value_type = i64, required = true, minimum = 2, maximum = 86_400_000, examples(21322))]
    score: Option<i64>,
    /// The holder's login (TMNF login, or TM2020 Ubisoft name); `login` or `nickname` must be
    /// given
    #[serde(default, deserialize_with = "input::string")]
    #[schema(max_length = 80, examples("TeraTM"))]
    login: Option<String>,
    /// The holder's `$`-formatted name
    #[serde(default, deserialize_with = "input::string")]
    #[schema(max_length = 200)]
    nickname: Option<String>,
    /// Where it comes from: `KKDB`, `KRDB`, `TMX`, `DEDI`, `NADO` …
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 16, pattern = "^[A-Za-z0-9_-]+$",
        examples("NADO"))]
    source: Option<String>,
    /// When it was driven: `YYYY-MM-DD HH:MM:SS` (UTC), RFC 3339, or unix seconds; now when absent
    #[serde(default, deserialize_with = "date")]
    #[schema(value_type = Option<Value>, examples("2024-06-01 12:34:56"))]
    date: Option<DateTime<Utc>>,
    /// The map version when it is not the first (`[v2]`, `v2` or 2)
    #[serde(default, deserialize_with = "version")]
    #[schema(value_type = Option<Value>, examples("[v2]"))]
    version: Option<String>,
}

/// `score`: whole milliseconds in range.
fn score<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .filter(|s| (RESET_SCORE + 1..=MAX_SCORE).contains(s))
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("must be milliseconds from 2 to {MAX_SCORE}"))),
        v => Err(de::Error::custom(format!("must be a whole number, got {}", kind(&v)))),
    }
}

/// `version`: `None` (absent or `null`: the first, or the only one), `""` for `v1`, else `[vN]`.
fn version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_ascii_lowercase(),
        v => return Err(de::Error::custom(format!("must be a string or a number, got {}", kind(&v)))),
    };
    let n = raw.trim_start_matches('[').trim_end_matches(']').trim_start_matches('v');
    match n.parse::<u32>() {
        _ if raw.is_empty() => Ok(Some(String::new())),
        Ok(1) => Ok(Some(String::new())),
        Ok(n) if n > 1 => Ok(Some(format!("[v{n}]"))),
        _ => Err(de::Error::custom(format!("must look like [v2], v2 or 2, got \"{raw}\""))),
    }
}

/// `date`: `YYYY-MM-DD HH:MM:SS` (UTC), RFC 3339 or unix seconds; `null` reads as absent.
fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let bad = |v: &dyn std::fmt::Display| {
        de::Error::custom(format!("must be YYYY-MM-DD HH:MM:SS, RFC 3339 or unix seconds, got {v}"))
    };
    let at = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64().and_then(|s| Utc.timestamp_opt(s as i64, 0).single()).ok_or_else(|| bad(&n))?,
        Value::String(s) => {
            let s = s.trim();
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .ok()
                .or_else(|| {
                    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                        .iter()
                        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                        .map(|d| d.and_utc())
                })
                .ok_or_else(|| bad(&format!("\"{s}\"")))?
        }
        v => return Err(bad(&kind(&v))),
    };
    Ok(Some(at))
}

impl Offered {
    /// The offered record, checked (`date` defaults to `now`), and the map version it names.
    fn record(self, now: DateTime<Utc>) -> Result<(Record, Option<String>), ApiError> {
        let score = self.score.ok_or_else(|| ApiError::bad_request("`score` is missing"))?;
        let login = at_most(self.login, "login", 80)?.unwrap_or_default().trim().to_owned();
        let nickname = at_most(self.nickname, "nickname", 200)?.unwrap_or_default();
        if login.is_empty() && nickname.trim().is_empty() {
            return Err(ApiError::bad_request("`login` or `nickname` must name the holder"));
        }
        if [&login, &nickname].iter().any(|s| s.chars().any(char::is_control)) {
            return Err(ApiError::bad_request("`login` and `nickname` must not hold control characters"));
        }
        let source = at_most(self.source, "source", 16)?.unwrap_or_default();
        if source.is_empty() || !source.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(ApiError::bad_request("`source` must be 1 to 16 letters, digits, `_` or `-` (like NADO)"));
        }
        let date = self.date.unwrap_or(now).format("%Y-%m-%d %H:%M:%S").to_string();
        Ok((Record { score, login, nickname, source, date }, self.version))
    }
}

/// What the offer did.
#[derive(Serialize, ToSchema)]
struct OfferAnswer {
    /// Whether the stored record changed
    changed: bool,
    /// `first` (the map had none), `improved`, `restored` (it was reset by an admin), `same`
    /// (already stored: nothing changed)
    #[schema(examples("improved"))]
    outcome: &'static str,
    worldrecord: WorldRecord,
    /// The `wr` happening of the finish feed, when the record is new on a map of the current
    /// event
    event: Option<FinishItem>,
}

/// Offers a world record for a map
#[utoipa::path(put, path = "/manage/worldrecords/{type}/{kacky_id}", tag = "admin",
    security(("writer" = []), ("login" = [])),
    summary = "Offers a map's world record (the records updater)",
    description = "A score better than the stored one replaces it; a record an admin reset (score 1) is replaced by \
        any score (restored); the stored record again (same score and login) changes nothing (`\"outcome\": \
        \"same\"`), so the updater may resend. Anything else — a worse score, or an equal one by another \
        holder — is refused with 409 and nothing changes. A new record on a map of the current event becomes a \
        `wr` happening of the finish feed (`/finishes`, `/live`, Discord); the sheet, `/mapinfo` and \
        `/wrleaderboard` show it at once.",
    params(
        ("type" = String, Path, description = "`kk` or `kr`, any case", pattern = "^[kK][kKrR]$", example = "kr"),
        ("kacky_id" = String, Path, description = "The map's kacky id", pattern = "^[0-9]{1,6}$", example = "17"),
    ),
    request_body = Offered,
    responses(
        JsonBody,
        Internal,
        (status = 200, description = "Taken, or already stored", body = OfferAnswer),
        (status = 401, description = "No token, a wrong `records_writer_token` that is no admin's login either, or \
            a login of an account that is not an admin", body = Error),
        (status = 404, description = "Not an event type (\"404 Error: bad path\"), or no such map (of that \
            version)", body = Error),
        (status = 409, description = "Not better than the stored record: nothing changed", body = Error),
        (status = 422, description = "`Bearer` without a token", body = Error),
    ))]
async fn put(
    State(state): State<AppState>,
    _writer: RecordsWriter,
    ApiPath((raw_type, raw_id)): ApiPath<(String, String)>,
    Body(body): Body<Offered>,
) -> Result<Json<OfferAnswer>, ApiError> {
    let t = event_type(&raw_type)?;
    let id = KackyId::parse(&raw_id).ok_or_else(|| ApiError::bad_request(format!("`{raw_id}` is not a kacky id")))?;
    let now = state.clock.now();
    let (offer, version) = body.record(now)?;
    let kacky_id = id.get();
    let picked = state.db.run(move |c| wr_ingest::pick_map(c, t, kacky_id, version.as_deref())).await?;
    let map = match picked {
        Pick::Found(map) => map,
        Pick::NotFound => return Err(ApiError::not_found(format!("no {t} map with kacky id {id} (of that version)"))),
        Pick::Ambiguous(versions) => {
            return Err(ApiError::bad_request(format!(
                "{t} #{id} has several versions ({}): give `version`",
                versions.iter().map(|v| if v.is_empty() { "v1" } else { v.as_str() }).collect::<Vec<_>>().join(", ")
            )))
        }
    };
    let current = (state.settings.eventtype, state.settings.edition);
    let to_discord = state.finishes.to_discord();
    let offered = offer.clone();
    let (outcome, item, stored) = state
        .db
        .run(move |c| {
            let (outcome, item) = record(c, current, &map, &offered, now, to_discord)?;
            Ok::<_, rusqlite::Error>((outcome, item, wr_ingest::of_map(c, map.map_id)?))
        })
        .await?;
    let stored = stored.ok_or_else(|| ApiError::internal(anyhow::anyhow!("the offered world record is not stored")))?;
    let outcome = match outcome {
        Offer::Refused(current) => {
            return Err(ApiError::Msg(
                StatusCode::CONFLICT,
                format!(
                    "not better than the stored record of {t} #{id}: {} ms by {} (offered {} ms by {})",
                    current.score,
                    if current.login.is_empty() { &current.nickname } else { &current.login },
                    offer.score,
                    if offer.login.is_empty() { &offer.nickname } else { &offer.login },
                ),
            ))
        }
        Offer::First => "first",
        Offer::Improved { .. } => "improved",
        Offer::Restored => "restored",
        Offer::Same => "same",
    };
    let changed = outcome != "same";
    if changed {
        state.cache.invalidate();
    }
    state.finishes.publish(item.clone());
    Ok(Json(OfferAnswer { changed, outcome, worldrecord: stored.into(), event: item }))
}
