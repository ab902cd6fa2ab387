//! Event administration (admin accounts only; the flag is read from the database on every
//! request): creating events, visibility, map CSV upload, WR reset. (The admins' full event
//! list is `POST /events`, in `public`, next to the public list.)

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::Admin;
use super::input::{event_type, kind, object, opt_str, present};
use super::response::ok;
use super::{ApiError, ApiJson, ApiMultipart, ApiPath, AppState};
use crate::db::admin::{NewEvent, Upload};
use crate::db::{self, DbError};
use crate::domain::{Edition, EventType, KackyId};
use crate::mapcsv;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/manage/events", post(manage_events))
        .route("/manage/maps", post(manage_maps))
        .route("/mapinfo/{event}/{kacky_id}", post(reset_wr))
}

/// An integer, or a string holding one (the admin form sends strings).
fn int_field(m: &serde_json::Map<String, Value>, key: &str) -> Result<i64, ApiError> {
    match m.get(key) {
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or_default()),
        Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().unwrap_or_default()),
        Some(v) => Err(ApiError::bad_request(format!("`{key}` must be a whole number, got {}", kind(v)))),
        None => Err(ApiError::bad_request(format!("`{key}` is missing"))),
    }
}

/// `YYYY-MM-DD` or a datetime-local `YYYY-MM-DDTHH:MM` → the date part.
fn date_field(m: &serde_json::Map<String, Value>, key: &str) -> Result<String, ApiError> {
    let raw = opt_str(m, key, 19)?.ok_or_else(|| ApiError::bad_request(format!("`{key}` is missing")))?;
    let date = raw.get(..10).unwrap_or("");
    let valid = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
        && (raw.len() == 10 || crate::clock::parse_config_datetime(&raw).is_some());
    if !valid {
        return Err(ApiError::body(StatusCode::BAD_REQUEST, "Invalid date format!"));
    }
    Ok(date.to_owned())
}

fn new_event(v: &Value) -> Result<NewEvent, ApiError> {
    let m = v.as_object().ok_or_else(|| ApiError::bad_request("`create` must be an object"))?;
    let name = opt_str(m, "name", 80)?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("`name` is missing"))?;
    let t = m.get("type").and_then(Value::as_str).and_then(EventType::parse);
    let t = t.ok_or_else(|| ApiError::bad_request("`type` must be KK or KR"))?;
    let edition = Edition::new(int_field(m, "edition")?)
        .ok_or_else(|| ApiError::bad_request("`edition` must not be negative"))?;
    let (start, end) = (date_field(m, "startDate")?, date_field(m, "endDate")?);
    let (min_id, max_id) = (KackyId(int_field(m, "minID")?), KackyId(int_field(m, "maxID")?));
    Ok(NewEvent { name, t, edition, start, end, min_id, max_id })
}

/// `visible.value`: a boolean (or "true"/"false"/1/0) sets it; the frontend's constant
/// `"on"` toggles it, so the admin page's switch works.
fn visibility(v: &Value) -> Result<(i64, Option<bool>), ApiError> {
    let m = v.as_object().ok_or_else(|| ApiError::bad_request("`visible` must be an object with `id` and `value`"))?;
    let id = int_field(m, "id")?;
    let value = match m.get("value") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s == "on" || s == "toggle" => None,
        Some(Value::String(s)) if s == "true" || s == "1" => Some(true),
        Some(Value::String(s)) if s == "false" || s == "0" || s == "off" => Some(false),
        Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n == 0 || n == 1) => Some(n.as_i64() == Some(1)),
        other => {
            return Err(ApiError::bad_request(format!(
                "`visible.value` must be true, false or \"on\", got {}",
                other.map_or("nothing", kind)
            )))
        }
    };
    Ok((id, value))
}

async fn manage_events(
    State(state): State<AppState>,
    _admin: Admin,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let m = object(body)?;
    let create = present(&m, "create").then(|| new_event(&m["create"])).transpose()?;
    let visible = present(&m, "visible").then(|| visibility(&m["visible"])).transpose()?;
    if let Some(event) = create {
        let created = state.db.run(move |c| Ok::<_, DbError>(db::admin::create_event(c, &event))).await?;
        created?;
        state.cache.invalidate();
    }
    if let Some((id, value)) = visible {
        let found = state.db.run(move |c| db::admin::set_visible(c, id, value)).await?;
        state.cache.invalidate();
        if !found {
            return Err(ApiError::not_found(format!("no event with id {id}")));
        }
    }
    Ok(ok())
}

/// Multipart `file` (CSV) and optional `overwrite` (a file part or field containing `1`).
async fn manage_maps(
    State(state): State<AppState>,
    _admin: Admin,
    ApiMultipart(mut form): ApiMultipart,
) -> Result<Json<Value>, ApiError> {
    let (mut file, mut overwrite) = (None, false);
    while let Some(field) = form.next_field().await? {
        match field.name() {
            Some("file") => {
                if field.file_name().is_some_and(str::is_empty) {
                    return Err(ApiError::body(StatusCode::BAD_REQUEST, "Missing file"));
                }
                file = Some(field.bytes().await?);
            }
            Some("overwrite") => overwrite = field.bytes().await?.trim_ascii() == b"1",
            _ => {}
        }
    }
    let file = file.ok_or_else(|| ApiError::bad_request("the multipart field `file` (the CSV) is missing"))?;
    let rows = mapcsv::parse(&file).map_err(|e| ApiError::body(StatusCode::UNPROCESSABLE_ENTITY, e.0))?;
    let now = state.clock.now().format("%Y-%m-%d %H:%M:%S").to_string();
    let outcome = state.db.run(move |c| db::admin::upload_maps(c, &rows, overwrite, &now)).await?;
    state.cache.invalidate();
    match outcome {
        Upload::Done { .. } => Ok(Json(json!("Updated maps."))),
        Upload::UnknownEvent(e) => {
            Err(ApiError::body(StatusCode::UNPROCESSABLE_ENTITY, format!("Unknown event {e}: create it first")))
        }
        Upload::WouldOverwrite => Err(ApiError::body(
            StatusCode::CONFLICT,
            "Your action would overwrite already existing maps! You may set 'overwrite' to 1",
        )),
    }
}

/// `{"reset": …}` (any value, `""` included) resets the map's world record.
async fn reset_wr(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath((event, kacky_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let t = event_type(&event)?;
    let id =
        KackyId::parse(&kacky_id).ok_or_else(|| ApiError::bad_request(format!("`{kacky_id}` is not a kacky id")))?;
    let m = object(body)?;
    if m.contains_key("reset") {
        let n = state.db.run(move |c| db::admin::reset_wr(c, t, id)).await?;
        state.cache.invalidate();
        if n == 0 {
            return Err(ApiError::not_found(format!("no {} map with kacky id {id} has a world record", t.as_upper())));
        }
    }
    Ok(ok())
}
