//! `ApiError`: every failure a handler or extractor can return, mapped to a status code and a
//! JSON body in one place. Old-system bodies are kept where the old system had a defined
//! answer; everything else gets `{"msg": "<what is wrong>"}`. Internal errors are logged with
//! their source chain and answered with a generic 500, never with SQL text or a stack trace.

use axum::extract::multipart::MultipartError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::db::DbError;
use crate::domain::Invalid;

#[derive(Debug)]
pub enum ApiError {
    /// 404 `"404 Error: bad path"`: the old answer for a bad event type or edition in a path.
    BadPath,
    /// Any status with an exact JSON body (old-system strings like `"Conflict"`).
    Body(StatusCode, Value),
    /// Any 4xx (or a 502/503/504 naming the upstream problem) with `{"msg": …}`.
    Msg(StatusCode, String),
    /// 429 `{"msg": "too many <what>; retry in <n> s"}` with `Retry-After: <n>`.
    TooMany { what: &'static str, retry_after_s: i64 },
    /// 503 `{"msg": "<what> is busy; retry in <n> s"}` with `Retry-After: <n>`: a bounded
    /// queue (password hashing, outgoing calls) is full.
    Busy { what: &'static str, retry_after_s: i64 },
    /// 500 `{"msg": "Internal Server Error"}`; the error and its sources go to the log only.
    Internal(anyhow::Error),
}

impl ApiError {
    /// 400 `{"msg": …}`.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::Msg(StatusCode::BAD_REQUEST, msg.into())
    }
    /// 401 `{"msg": …}`: the auth extractors' answers.
    pub fn unauthorized(msg: impl Into<String>) -> Self {
        Self::Msg(StatusCode::UNAUTHORIZED, msg.into())
    }
    /// 422 `{"msg": …}`.
    pub fn unprocessable(msg: impl Into<String>) -> Self {
        Self::Msg(StatusCode::UNPROCESSABLE_ENTITY, msg.into())
    }
    /// 404 `{"msg": …}`.
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::Msg(StatusCode::NOT_FOUND, msg.into())
    }
    /// 413 `{"msg": …}`.
    pub fn too_large() -> Self {
        Self::Msg(StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than 1 MiB".into())
    }
    /// An exact JSON body with any status.
    pub fn body(status: StatusCode, body: impl Into<Value>) -> Self {
        Self::Body(status, body.into())
    }
    /// 500 for a failure that is ours, with a description for the log.
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }
    /// The error of a computation shared by several callers (the cache hands each an `Arc`).
    pub fn shared(e: std::sync::Arc<ApiError>) -> Self {
        std::sync::Arc::try_unwrap(e).unwrap_or_else(|e| match &*e {
            Self::BadPath => Self::BadPath,
            Self::Body(status, body) => Self::Body(*status, body.clone()),
            Self::Msg(status, msg) => Self::Msg(*status, msg.clone()),
            Self::TooMany { what, retry_after_s } => Self::TooMany { what, retry_after_s: *retry_after_s },
            Self::Busy { what, retry_after_s } => Self::Busy { what, retry_after_s: *retry_after_s },
            Self::Internal(inner) => Self::Internal(anyhow::anyhow!("{inner:#}")),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::BadPath => (StatusCode::NOT_FOUND, Json(json!("404 Error: bad path"))).into_response(),
            Self::Body(status, body) => (status, Json(body)).into_response(),
            Self::Msg(status, msg) => (status, Json(json!({ "msg": msg }))).into_response(),
            Self::TooMany { what, retry_after_s } => {
                let body = Json(json!({ "msg": format!("too many {what}; retry in {retry_after_s} s") }));
                (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, retry_after_s.to_string())], body)
                    .into_response()
            }
            Self::Busy { what, retry_after_s } => {
                let body = Json(json!({ "msg": format!("{what} is busy; retry in {retry_after_s} s") }));
                (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, retry_after_s.to_string())], body)
                    .into_response()
            }
            Self::Internal(e) => {
                tracing::error!("internal error: {e:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "msg": "Internal Server Error" }))).into_response()
            }
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(DbError::from(e).into())
    }
}

/// The old refusals of event creation are 400s with the message as a JSON string.
impl From<crate::db::admin::CreateEventError> for ApiError {
    fn from(e: crate::db::admin::CreateEventError) -> Self {
        match e {
            crate::db::admin::CreateEventError::Db(e) => e.into(),
            refused => Self::body(StatusCode::BAD_REQUEST, refused.to_string()),
        }
    }
}

/// A domain value that does not parse is the client's mistake: 400 with the rule it broke.
impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self::bad_request(e.0)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Self::Msg(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a JSON body with Content-Type: application/json".into(),
            ),
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::too_large(),
            JsonRejection::JsonSyntaxError(e) => {
                Self::bad_request(format!("the body is not valid JSON: {}", e.body_text()))
            }
            JsonRejection::JsonDataError(e) => {
                Self::unprocessable(format!("the JSON body has the wrong shape: {}", e.body_text()))
            }
            other => Self::bad_request(format!("could not read the body: {}", other.body_text())),
        }
    }
}

impl From<MultipartError> for ApiError {
    fn from(e: MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::too_large();
        }
        Self::bad_request(format!("could not read the multipart body: {}", e.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::not_found(format!("bad path: {}", r.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request(format!("bad query string: {}", r.body_text()))
    }
}
