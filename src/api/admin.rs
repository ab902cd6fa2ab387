//! Event administration (admin accounts only; the flag is read from the database on every
//! request): creating events, visibility, map CSV upload, WR reset. (The admins' full event
//! list is `POST /events`, in `public`, next to the public list.)

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Admin;
use super::input::{self, at_most, event_type, kind, Body};
use super::openapi::{AdminOnly, Error, Internal, JsonBody, OkAnswer};
use super::response::ok;
use super::{ApiError, ApiMultipart, ApiPath, AppState};
use crate::db::admin::Upload;
use crate::db::{self, DbError};
use crate::domain::{Edition, EventType, KackyId};
use crate::mapcsv;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(manage_events)).routes(routes!(manage_maps)).routes(routes!(reset_wr))
}

/// `POST /manage/events`: `create`, `visible`, both or neither.
#[derive(Deserialize, ToSchema)]
struct ManageEvents {
    #[serde(default, deserialize_with = "create_object")]
    #[schema(nullable)]
    create: Option<NewEvent>,
    #[serde(default, deserialize_with = "visible_object")]
    #[schema(nullable)]
    visible: Option<Visibility>,
}

fn create_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NewEvent>, D::Error> {
    input::nested(d, "must be an object")
}

fn visible_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Visibility>, D::Error> {
    input::nested(d, "must be an object with `id` and `value`")
}

/// A new event.
#[derive(Deserialize, ToSchema)]
struct NewEvent {
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 80, examples("Kackiest Kacky 9"))]
    name: Option<String>,
    /// An event type code (`KK`, `KR` or `KX`), any case
    #[serde(rename = "type", default, deserialize_with = "input::any_string")]
    #[schema(value_type = String, required = true, examples("KK"))]
    event_type: Option<String>,
    /// Not negative; a number or a string holding one
    #[serde(default, deserialize_with = "input::whole_number")]
    #[schema(value_type = Value, required = true, examples(9))]
    edition: Option<i64>,
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`
    #[serde(rename = "startDate", default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, examples("2025-08-15"))]
    start_date: Option<String>,
    #[serde(rename = "endDate", default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, examples("2025-08-31"))]
    end_date: Option<String>,
    /// A number or a string holding one
    #[serde(rename = "minID", default, deserialize_with = "input::whole_number")]
    #[schema(value_type = Value, required = true, examples(1))]
    min_id: Option<i64>,
    #[serde(rename = "maxID", default, deserialize_with = "input::whole_number")]
    #[schema(value_type = Value, required = true, examples(75))]
    max_id: Option<i64>,
}

impl TryFrom<NewEvent> for db::admin::NewEvent {
    type Error = ApiError;
    fn try_from(e: NewEvent) -> Result<Self, ApiError> {
        let missing = |key: &str| ApiError::bad_request(format!("`{key}` is missing"));
        let name = at_most(e.name, "name", 80)?.filter(|n| !n.trim().is_empty()).ok_or_else(|| missing("name"))?;
        let t = e.event_type.as_deref().and_then(EventType::parse);
        let t = t.ok_or_else(|| ApiError::bad_request(format!("`type` must be {}", crate::domain::codes_listed())))?;
        let edition = e.edition.ok_or_else(|| missing("edition"))?;
        let edition = Edition::new(edition).ok_or_else(|| ApiError::bad_request("`edition` must not be negative"))?;
        let (start, end) = (date(e.start_date, "startDate")?, date(e.end_date, "endDate")?);
        let min_id = KackyId(e.min_id.ok_or_else(|| missing("minID"))?);
        let max_id = KackyId(e.max_id.ok_or_else(|| missing("maxID"))?);
        Ok(Self { name, t, edition, start, end, min_id, max_id })
    }
}

/// `YYYY-MM-DD` or a datetime-local `YYYY-MM-DDTHH:MM` → the date part.
fn date(raw: Option<String>, key: &str) -> Result<String, ApiError> {
    let raw = at_most(raw, key, 19)?.ok_or_else(|| ApiError::bad_request(format!("`{key}` is missing")))?;
    let date = raw.get(..10).unwrap_or("");
    let valid = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
        && (raw.len() == 10 || crate::clock::parse_config_datetime(&raw).is_some());
    if !valid {
        return Err(ApiError::body(StatusCode::BAD_REQUEST, "Invalid date format!"));
    }
    Ok(date.to_owned())
}

/// Sets or toggles an event's visibility.
#[derive(Deserialize, ToSchema)]
struct Visibility {
    /// The event id; a number or a string holding one
    #[serde(default, deserialize_with = "input::whole_number")]
    #[schema(value_type = Value, required = true, examples(12))]
    id: Option<i64>,
    /// `true`/`false` (also as strings, or 1/0) set it; `"on"`, `""` (what the frontends send) or `"toggle"` toggle it
    #[serde(default)]
    #[schema(value_type = Value, required = true, examples("on"))]
    value: Switch,
}

/// `visible.value`: a boolean (or "true"/"false"/1/0) sets it; the frontends' constant
/// toggles it, so the admin page's switch works: they send the switch input's `value`, which
/// is `"on"` with older Chakra UI builds and `""` with current ones, whatever the state. A
/// value of another kind is kept to be refused with the old message, which names
/// `visible.value`.
enum Switch {
    Set(bool),
    Toggle,
    /// What was sent instead ("nothing" when the key is absent).
    Wrong(&'static str),
}

impl Default for Switch {
    fn default() -> Self {
        Self::Wrong("nothing")
    }
}

impl<'de> Deserialize<'de> for Switch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => Self::Set(b),
            Value::String(s) if s == "on" || s == "toggle" || s.is_empty() => Self::Toggle,
            Value::String(s) if s == "true" || s == "1" => Self::Set(true),
            Value::String(s) if s == "false" || s == "0" || s == "off" => Self::Set(false),
            Value::Number(n) if n.as_i64().is_some_and(|n| n == 0 || n == 1) => Self::Set(n.as_i64() == Some(1)),
            other => Self::Wrong(kind(&other)),
        })
    }
}

/// A visibility change, checked: the event id and the new state (`None`: toggle).
struct VisibilityChange {
    id: i64,
    value: Option<bool>,
}

impl TryFrom<Visibility> for VisibilityChange {
    type Error = ApiError;
    fn try_from(v: Visibility) -> Result<Self, ApiError> {
        let id = v.id.ok_or_else(|| ApiError::bad_request("`id` is missing"))?;
        let value = match v.value {
            Switch::Set(on) => Some(on),
            Switch::Toggle => None,
            Switch::Wrong(sent) => {
                return Err(ApiError::bad_request(format!("`visible.value` must be true, false or \"on\", got {sent}")))
            }
        };
        Ok(Self { id, value })
    }
}

/// Creates an event and/or sets an event's visibility
#[utoipa::path(post, path = "/manage/events", tag = "admin", security(("login" = [])),
    description = "`create` makes a new (hidden) event, type upper-cased; `visible` sets an event's visibility \
        (booleans, `\"true\"`/`\"false\"`, 1/0) or toggles it (`\"on\"` or `\"\"`, what the admin pages send). Both may be \
        given; neither is fine too.",
    request_body = ManageEvents,
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
    Body(body): Body<ManageEvents>,
) -> Result<Json<Value>, ApiError> {
    let create = body.create.map(db::admin::NewEvent::try_from).transpose()?;
    let visible = body.visible.map(VisibilityChange::try_from).transpose()?;
    if let Some(event) = create {
        let created = state.db.run(move |c| Ok::<_, DbError>(db::admin::create_event(c, &event))).await?;
        created?;
        state.cache.invalidate();
    }
    if let Some(VisibilityChange { id, value }) = visible {
        let found = state.db.run(move |c| db::admin::set_visible(c, id, value)).await?;
        state.cache.invalidate();
        if !found {
            return Err(ApiError::not_found(format!("no event with id {id}")));
        }
    }
    Ok(ok())
}

/// `POST /manage/maps`.
// Read by hand from the multipart form (`manage_maps`).
#[derive(ToSchema)]
struct MapUpload {
    /// The CSV file
    #[schema(value_type = String, content_media_type = "text/csv")]
    file: Bytes,
    /// `1` updates rows that match existing maps (a field or a file part)
    #[schema(nullable = false, examples("1"))]
    overwrite: Option<String>,
}

// The answer `"Updated maps."` (a doc comment would show in the document).
#[derive(Serialize, ToSchema)]
enum UpdatedMaps {
    #[serde(rename = "Updated maps.")]
    UpdatedMaps,
}

/// Multipart `file` (CSV) and optional `overwrite` (a file part or field containing `1`).
#[utoipa::path(post, path = "/manage/maps", tag = "admin", security(("login" = [])),
    summary = "Uploads maps (CSV) into existing events",
    description = "The CSV's columns: `kacky_id`, `author`, `event` (e.g. `KK9`; create the event first), \
        `prefix`, optionally `at` (author time, ms), `difficulty` (0–100), `tmx_id`, `tm_uid`. The whole file is \
        stored in one transaction or not at all.",
    request_body(content = MapUpload, content_type = "multipart/form-data"),
    responses(
        AdminOnly,
        Internal,
        (status = 200, description = "Stored", body = inline(UpdatedMaps), example = "Updated maps."),
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
) -> Result<Json<UpdatedMaps>, ApiError> {
    let (mut file, mut overwrite) = (None, None);
    while let Some(field) = form.next_field().await? {
        match field.name() {
            Some("file") => {
                if field.file_name().is_some_and(str::is_empty) {
                    return Err(ApiError::body(StatusCode::BAD_REQUEST, "Missing file"));
                }
                file = Some(field.bytes().await?);
            }
            Some("overwrite") => overwrite = Some(String::from_utf8_lossy(&field.bytes().await?).into_owned()),
            _ => {}
        }
    }
    let file = file.ok_or_else(|| ApiError::bad_request("the multipart field `file` (the CSV) is missing"))?;
    let upload = MapUpload { file, overwrite };
    let rows = mapcsv::parse(&upload.file).map_err(|e| ApiError::body(StatusCode::UNPROCESSABLE_ENTITY, e.0))?;
    let overwrite = upload.overwrite.as_deref().map(str::trim_ascii) == Some("1");
    let now = state.clock.now().format("%Y-%m-%d %H:%M:%S").to_string();
    let outcome = state.db.run(move |c| db::admin::upload_maps(c, &rows, overwrite, &now)).await?;
    state.cache.invalidate();
    match outcome {
        Upload::Done { .. } => Ok(Json(UpdatedMaps::UpdatedMaps)),
        Upload::UnknownEvent(e) => {
            Err(ApiError::body(StatusCode::UNPROCESSABLE_ENTITY, format!("Unknown event {e}: create it first")))
        }
        Upload::WouldOverwrite => Err(ApiError::body(
            StatusCode::CONFLICT,
            "Your action would overwrite already existing maps! You may set 'overwrite' to 1",
        )),
    }
}

/// `POST /mapinfo/<t>/<id>`: the `reset` key, with any value (`""` included), resets.
#[derive(Deserialize, ToSchema)]
struct ResetWr {
    #[serde(default, deserialize_with = "input::given")]
    #[schema(value_type = Value, required = false, examples(""))]
    reset: bool,
}

/// `{"reset": …}` (any value, `""` included) resets the map's world record.
#[utoipa::path(post, path = "/mapinfo/{event}/{kacky_id}", tag = "admin", security(("login" = [])),
    summary = "Resets a map's world record",
    params(
        ("event" = String, Path, description = "An event type (`kk`, `kr` or `kx`), any case", pattern = "^[kK][kKrRxX]$", example = "kk"),
        ("kacky_id" = String, Path, description = "The map's kacky id", pattern = "^[0-9]{1,6}$", example = "75"),
    ),
    request_body = ResetWr,
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
    Body(body): Body<ResetWr>,
) -> Result<Json<Value>, ApiError> {
    let t = event_type(&event)?;
    let id =
        KackyId::parse(&kacky_id).ok_or_else(|| ApiError::bad_request(format!("`{kacky_id}` is not a kacky id")))?;
    if body.reset {
        let n = state.db.run(move |c| db::admin::reset_wr(c, t, id)).await?;
        state.cache.invalidate();
        if n == 0 {
            return Err(ApiError::not_found(format!("no {} map with kacky id {id} has a world record", t.as_upper())));
        }
    }
    Ok(ok())
}
