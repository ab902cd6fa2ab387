//! Event administration (admin accounts only; the flag is read from the database on every
//! request): creating events, visibility, map CSV upload, WR reset. (The admins' full event
//! list is `POST /events`, in `public`, next to the public list.)

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Admin;
use super::input::{event_type, kind, object, opt_str, present};
use super::openapi::{constant, AdminOnly, Error, Internal, JsonBody, OkAnswer};
use super::response::ok;
use super::{ApiError, ApiJson, ApiMultipart, ApiPath, AppState};
use crate::db::admin::{NewEvent, Upload};
use crate::db::{self, DbError};
use crate::domain::{Edition, EventType, KackyId};
use crate::mapcsv;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(manage_events)).routes(routes!(manage_maps)).routes(routes!(reset_wr))
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
    let t = t.ok_or_else(|| ApiError::bad_request(format!("`type` must be {}", crate::domain::codes_listed())))?;
    let edition = Edition::new(int_field(m, "edition")?)
        .ok_or_else(|| ApiError::bad_request("`edition` must not be negative"))?;
    let (start, end) = (date_field(m, "startDate")?, date_field(m, "endDate")?);
    let (min_id, max_id) = (KackyId(int_field(m, "minID")?), KackyId(int_field(m, "maxID")?));
    Ok(NewEvent { name, t, edition, start, end, min_id, max_id })
}

/// `visible.value`: a boolean (or "true"/"false"/1/0) sets it; the frontends' constant
/// toggles it, so the admin page's switch works: they send the switch input's `value`, which
/// is `"on"` with older Chakra UI builds and `""` with current ones, whatever the state.
fn visibility(v: &Value) -> Result<(i64, Option<bool>), ApiError> {
    let m = v.as_object().ok_or_else(|| ApiError::bad_request("`visible` must be an object with `id` and `value`"))?;
    let id = int_field(m, "id")?;
    let value = match m.get("value") {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s == "on" || s == "toggle" || s.is_empty() => None,
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

/// Creates an event and/or sets an event's visibility
#[utoipa::path(post, path = "/manage/events", tag = "admin", security(("login" = [])),
    description = "`create` makes a new (hidden) event, type upper-cased; `visible` sets an event's visibility \
        (booleans, `\"true\"`/`\"false\"`, 1/0) or toggles it (`\"on\"` or `\"\"`, what the admin pages send). Both may be \
        given; neither is fine too.",
    request_body = shapes::ManageEvents,
    responses(
        JsonBody,
        AdminOnly,
        Internal,
        (status = 200, description = "Done", body = OkAnswer),
        (status = 400, description = "A field is missing or wrong (`{\"msg\"}`), a date is not `YYYY-MM-DD` \
            (\"Invalid date format!\"), or the edition, name or kacky id range is taken (the old messages as JSON \
            strings, e.g. \"KK9 already exists!\"); also the body is not valid JSON or not an object",
            body = Error),
        (status = 404, description = "`visible.id` names no event", body = Error),
    ))]
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
#[utoipa::path(post, path = "/manage/maps", tag = "admin", security(("login" = [])),
    summary = "Uploads maps (CSV) into existing events",
    description = "The CSV's columns: `kacky_id`, `author`, `event` (e.g. `KK9`; create the event first), \
        `prefix`, optionally `at` (author time, ms), `difficulty` (0–100), `tmx_id`, `tm_uid`. The whole file is \
        stored in one transaction or not at all.",
    request_body(content = shapes::MapUpload, content_type = "multipart/form-data"),
    responses(
        AdminOnly,
        Internal,
        (status = 200, description = "Stored", body = inline(shapes::UpdatedMaps), example = "Updated maps."),
        (status = 400, description = "Not a multipart body, no `file` part, or an empty file name (\"Missing file\")",
            body = Error),
        (status = 409, description = "Rows match existing maps and `overwrite` is not 1", body = Error),
        (status = 422, description = "A row is bad (the message names it), an event does not exist \
            (\"Unknown event …: create it first\"), or the token is malformed", body = Error),
    ))]
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
#[utoipa::path(post, path = "/mapinfo/{event}/{kacky_id}", tag = "admin", security(("login" = [])),
    summary = "Resets a map's world record",
    params(
        ("event" = String, Path, description = "An event type (`kk`, `kr` or `kx`), any case", pattern = "^[kK][kKrRxX]$", example = "kk"),
        ("kacky_id" = String, Path, description = "The map's kacky id", pattern = "^[0-9]{1,6}$", example = "75"),
    ),
    request_body = shapes::ResetWr,
    responses(
        JsonBody,
        AdminOnly,
        Internal,
        (status = 200, description = "Reset (or nothing asked: no `reset` key)", body = OkAnswer),
        (status = 400, description = "Not a kacky id, or the body is not valid JSON or not an object", body = Error),
        (status = 404, description = "Not an event type (\"404 Error: bad path\"), or no such map with a world \
            record", body = Error),
    ))]
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

/// Body and answer shapes read from loose JSON or multipart, for the OpenAPI document only.
#[allow(dead_code)]
mod shapes {
    use utoipa::ToSchema;

    /// `POST /manage/events`: `create`, `visible`, both or neither.
    #[derive(ToSchema)]
    pub struct ManageEvents {
        #[schema(nullable)]
        pub create: Option<NewEvent>,
        #[schema(nullable)]
        pub visible: Option<Visibility>,
    }

    /// A new event.
    #[derive(ToSchema)]
    pub struct NewEvent {
        #[schema(min_length = 1, max_length = 80, examples("Kackiest Kacky 9"))]
        pub name: String,
        /// An event type code (`KK`, `KR` or `KX`), any case
        #[schema(rename = "type", examples("KK"))]
        pub event_type: String,
        /// Not negative; a number or a string holding one
        #[schema(value_type = Value, examples(9))]
        pub edition: (),
        /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`
        #[schema(rename = "startDate", examples("2025-08-15"))]
        pub start_date: String,
        #[schema(rename = "endDate", examples("2025-08-31"))]
        pub end_date: String,
        /// A number or a string holding one
        #[schema(rename = "minID", value_type = Value, examples(1))]
        pub min_id: (),
        #[schema(rename = "maxID", value_type = Value, examples(75))]
        pub max_id: (),
    }

    /// Sets or toggles an event's visibility.
    #[derive(ToSchema)]
    pub struct Visibility {
        /// The event id; a number or a string holding one
        #[schema(value_type = Value, examples(12))]
        pub id: (),
        /// `true`/`false` (also as strings, or 1/0) set it; `"on"`, `""` (what the frontends send) or `"toggle"` toggle it
        #[schema(value_type = Value, examples("on"))]
        pub value: (),
    }

    /// `POST /manage/maps`.
    #[derive(ToSchema)]
    pub struct MapUpload {
        /// The CSV file
        #[schema(value_type = String, content_media_type = "text/csv")]
        pub file: (),
        /// `1` updates rows that match existing maps (a field or a file part)
        #[schema(nullable = false, examples("1"))]
        pub overwrite: Option<String>,
    }

    /// `"Updated maps."`.
    pub struct UpdatedMaps;

    impl utoipa::PartialSchema for UpdatedMaps {
        fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
            super::constant("Updated maps.").into()
        }
    }

    impl ToSchema for UpdatedMaps {}

    /// `POST /mapinfo/<t>/<id>`: the `reset` key, with any value (`""` included), resets.
    #[derive(ToSchema)]
    pub struct ResetWr {
        #[schema(value_type = Value, required = false, examples(""))]
        pub reset: (),
    }
}
