//! Answers shared by several handler modules: the old plain answers (`"OK"`, text bodies sent as
//! `text/html`), pre-serialized JSON bodies, and the sheet row that `/spreadsheet…`, `/mapinfo`
//! and the live `/spreadsheet` all send. Handler modules import from here, never from each other.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::db::maps::MapRow;
use crate::tmtext;

/// The old JSON-string success answer `"OK"`.
pub fn ok() -> Json<Value> {
    Json(json!("OK"))
}

/// A plain-text answer sent as `text/html`, the content type the old backend gave its chat-bot
/// texts and `/` (bots and frontends still expect it; [`super::openapi::TEXT`]).
pub fn html_text(body: impl Into<String>) -> Response {
    ([(header::CONTENT_TYPE, super::openapi::TEXT)], body.into()).into_response()
}

/// An already serialized JSON body as a response.
pub fn json_bytes(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Serializes `value` once, for sharing between requests.
pub fn to_bytes<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// `Cache-Control` of answers that change only with admin writes: caches may keep them a
/// couple of minutes (revalidating with the ETag after that).
pub const HISTORY: &str = "public, max-age=120";
/// `Cache-Control` of answers that move with the live event.
pub const LIVE: &str = "public, max-age=5";
/// `Cache-Control` of a logged-in caller's own answer: never in a shared cache.
pub const PRIVATE: &str = "private, no-cache";

/// An answer whose content depends on the caller's token: with `Vary: Authorization` always,
/// so no shared cache hands one player's answer to another, and `private` when logged in.
pub fn per_caller(body: &SharedJson, request: &HeaderMap, logged_in: bool, public: &'static str) -> Response {
    let mut response = body.respond(request, if logged_in { PRIVATE } else { public });
    vary_authorization(&mut response);
    response
}

/// Adds `Authorization` to the response's `Vary`.
pub fn vary_authorization(response: &mut Response) {
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Authorization"));
}

/// A JSON body serialized once with its strong `ETag` (a hash of the bytes), shared by every
/// caller until the data behind it changes.
#[derive(Debug, Clone)]
pub struct SharedJson {
    pub body: Bytes,
    pub etag: HeaderValue,
}

impl SharedJson {
    pub fn new<T: Serialize>(value: &T) -> Self {
        let body = to_bytes(value);
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..12]));
        Self { body, etag: HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\"")) }
    }

    /// 200 with the body, or 304 when `If-None-Match` names this ETag; either way with the
    /// ETag and `cache_control`, so browsers and caches in front can revalidate.
    pub fn respond(&self, request: &HeaderMap, cache_control: &'static str) -> Response {
        let headers =
            [(header::ETAG, self.etag.clone()), (header::CACHE_CONTROL, HeaderValue::from_static(cache_control))];
        if etag_matches(request, &self.etag) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        (headers, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], self.body.clone())
            .into_response()
    }
}

/// `If-None-Match` (a list, `*`, weak forms) against our strong ETag, compared weakly as RFC
/// 9110 asks for GET.
fn etag_matches(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = etag.to_str().unwrap_or("");
    request.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |tag| {
            let tag = tag.trim();
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == ours
        },
    )
}

// WR scores meaning "no record" in the old data are shown as 0 (the frontends print `-` for 0
// only).
use crate::db::wr_ingest::NO_RECORD;

/// One sheet row. Field order is the old sorted-key order; the user's fields are present only
/// for a logged-in caller (`Some(None)` serialises as `null`).
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct SheetRow {
    /// Logged in only: the caller's Discord alarm on this map
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub alarm: Option<bool>,
    /// The map's author (`""` when unknown)
    pub author: String,
    /// Logged in only: the caller's clip link or note
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip: Option<Option<String>>,
    /// Logged in only: the map's id when the caller has a sheet row for it
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Option<i64>>,
    pub kacky_id: i64,
    pub kacky_id_int: i64,
    /// Logged in only: the caller's difficulty 0–6
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_diff: Option<Option<i64>>,
    /// Logged in only: the caller's personal best (ms)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_pb: Option<Option<i64>>,
    /// Logged in only: the caller's rank on the map
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_rank: Option<Option<i64>>,
    /// 0–100, 0 = not rated
    pub rating: i64,
    /// Live `/spreadsheet` only: the server that plays the map next (`null`: none known)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Option<i64>>,
    /// Live `/spreadsheet` only: whole minutes until it comes up (`null`: none known)
    #[serde(rename = "upcomingIn", skip_serializing_if = "Option::is_none")]
    pub upcoming_in: Option<Option<i64>>,
    /// `""` or e.g. `"[v2]"`
    pub version: String,
    /// Login or plain nickname of the world record holder (`""`: none)
    pub wr_holder: String,
    /// World record in ms; 0 = none
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
            wr_score: m.wr_score.filter(|s| !NO_RECORD.contains(s)).unwrap_or(0),
        }
    }
}
