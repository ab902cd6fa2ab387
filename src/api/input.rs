//! Input at the edge: path segments parsed into the [`crate::domain`] types with the old
//! answers for bad ones, query flags, and JSON bodies read into one typed struct each
//! ([`Body`]) as the old frontends send them, with clear 400 messages.
//!
//! A body struct derives `Deserialize` (read leniently: absent keys and `null`s are `None`,
//! extra keys such as the frontends' `token` are ignored, and its fields take the field
//! readers below) and `ToSchema` (the same struct documents the body), and converts into the
//! domain types with `TryFrom`, which checks what serde cannot (missing keys, lengths, rules).

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use axum::extract::{FromRequest, Request};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

use super::{ApiError, ApiJson};
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

/// A JSON object body read into `T`. Its content type, syntax and size are checked as by
/// [`ApiJson`]; anything but an object, and any field a reader refuses, is a 400 `{"msg"}`
/// naming the key (`` `user` must be a string, got a number ``), as the old hand-written checks
/// answered.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ApiJson(body) = ApiJson::<Value>::from_request(req, state).await?;
        read(object(body)?).map(Self).map_err(ApiError::bad_request)
    }
}

/// The body must be a JSON object.
fn object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::bad_request(format!("expected a JSON object, got {}", kind(&other)))),
    }
}

/// An object read into `T`; the message of a refused field starts with its key (the innermost
/// one: the old messages named `edition`, not `create.edition`). An error of the whole object
/// (a body struct that reads itself, like the password reset's two forms) is kept as it is.
pub fn read<T: DeserializeOwned>(body: Map<String, Value>) -> Result<T, String> {
    serde_path_to_error::deserialize(Value::Object(body)).map_err(|e| {
        let key = e.path().iter().rev().find_map(|s| match s {
            Segment::Map { key } => Some(key.clone()),
            _ => None,
        });
        let msg = e.into_inner().to_string();
        match key {
            Some(key) => format!("`{key}` {msg}"),
            None => msg,
        }
    })
}

/// What the old messages call a JSON value of the wrong type.
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

/// Field reader: a string; `null` reads as absent.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        v => Err(de::Error::custom(format!("must be a string, got {}", kind(&v)))),
    }
}

/// Field reader: a string, anything else (a number, `null`) read as absent — for fields
/// where any other value simply does not match (a password, a type code).
pub fn any_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// Field reader: an integer, or a string holding one (the admin form sends strings).
pub fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    let n = match &v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.map(Some).ok_or_else(|| de::Error::custom(format!("must be a whole number, got {}", kind(&v))))
}

/// Field reader: whether the key is given at all, with any value (`null` included).
pub fn given<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

/// Field reader of an object nested in a body: absent or `null` is `None`, an object is read
/// into `T` (through the same deserializer, so its fields' messages name them), anything else
/// is refused with `must` (e.g. "must be an object").
pub fn nested<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D, must: &'static str) -> Result<Option<T>, D::Error> {
    struct Nested<T>(&'static str, PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Nested<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<T>, E> {
            Err(E::custom(self.0))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Option<T>, E> {
            Err(E::custom(self.0))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<T>, E> {
            Err(E::custom(self.0))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<T>, E> {
            Err(E::custom(self.0))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Option<T>, E> {
            Err(E::custom(self.0))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Option<T>, A::Error> {
            Err(de::Error::custom(self.0))
        }
    }

    d.deserialize_any(Nested(must, PhantomData))
}

/// A required string of `min` to `max` characters, as read by [`string`].
pub fn required(value: Option<String>, key: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let s = at_most(value, key, max)?.ok_or_else(|| ApiError::bad_request(format!("`{key}` is missing")))?;
    if s.chars().count() < min {
        return Err(ApiError::bad_request(format!("`{key}` must have at least {min} characters")));
    }
    Ok(s)
}

/// An optional string of at most `max` characters, as read by [`string`].
pub fn at_most(value: Option<String>, key: &str, max: usize) -> Result<Option<String>, ApiError> {
    match value {
        Some(s) if s.chars().count() > max => {
            Err(ApiError::bad_request(format!("`{key}` is longer than {max} characters")))
        }
        value => Ok(value),
    }
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
