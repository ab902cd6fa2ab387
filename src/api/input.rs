//! Input at the edge: path segments parsed into the [`crate::domain`] types with the old
//! answers for bad ones, query flags, and fields read out of loosely-typed JSON bodies with
//! clear 400 messages (the old API takes objects whose keys are optional and sometimes `null`).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::ApiError;
use crate::domain::{EditionSel, EventType, KackyId};

/// `kk`/`kr` in any case, else the old 404 "bad path".
pub fn event_type(raw: &str) -> Result<EventType, ApiError> {
    EventType::parse(raw).ok_or(ApiError::BadPath)
}

/// An edition number or `all`, else the old 404 "bad path".
pub fn edition_sel(raw: &str) -> Result<EditionSel, ApiError> {
    EditionSel::parse_path(raw).ok_or(ApiError::BadPath)
}

/// A kacky id in a path of the history pages, else the old 404 "bad path".
pub fn kacky_id_path(raw: &str) -> Result<KackyId, ApiError> {
    KackyId::parse(raw).ok_or(ApiError::BadPath)
}

/// A query flag like `?rawnicks=1`: present and non-empty.
pub fn flag(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key).is_some_and(|v| !v.is_empty())
}

/// A query value read as an integer (`?list=1`, `?string=1`); anything else is `None`.
pub fn int_param(q: &HashMap<String, String>, key: &str) -> Option<i64> {
    q.get(key).and_then(|v| v.trim().parse().ok())
}

/// The body must be a JSON object.
pub fn object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::bad_request(format!("expected a JSON object, got {}", kind(&other)))),
    }
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// An optional string field (absent or `null` = `None`) of at most `max` characters.
pub fn opt_str(m: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(ApiError::bad_request(format!("`{key}` is longer than {max} characters"))),
        Some(v) => Err(ApiError::bad_request(format!("`{key}` must be a string, got {}", kind(v)))),
    }
}

/// A required string field with a length range.
pub fn req_str(m: &Map<String, Value>, key: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let s = opt_str(m, key, max)?.ok_or_else(|| ApiError::bad_request(format!("`{key}` is missing")))?;
    if s.chars().count() < min {
        return Err(ApiError::bad_request(format!("`{key}` must have at least {min} characters")));
    }
    Ok(s)
}

/// Present and not `null`.
pub fn present(m: &Map<String, Value>, key: &str) -> bool {
    m.get(key).is_some_and(|v| !v.is_null())
}

/// A plausible mail address: something@something.tld, no spaces.
pub fn check_mail(mail: &str) -> Result<(), ApiError> {
    let ok = match mail.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        }
        None => false,
    };
    if !ok || mail.contains(char::is_whitespace) {
        return Err(ApiError::bad_request("`mail` must be a mail address"));
    }
    Ok(())
}
