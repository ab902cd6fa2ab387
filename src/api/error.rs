//! `ApiError`: every failure a handler can return, mapped to a status code and a JSON body in
//! one place. Old-system bodies are kept where the old system had a defined answer; everything
//! else gets `{"msg": "<what is wrong>"}`. Internal errors are logged, never shown.

use axum::extract::multipart::MultipartError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::db::DbError;

#[derive(Debug)]
pub enum ApiError {
    /// 404 `"404 Error: bad path"`: the old answer for a bad event type or edition in a path.
    BadPath,
    /// Any status with an exact JSON body (old-system strings like `"Conflict"`).
    Body(StatusCode, Value),
    /// Any 4xx with `{"msg": …}`.
    Msg(StatusCode, String),
    /// 500 `{"msg": "Internal Server Error"}`; the detail goes to the log only.
    Internal(String),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::Msg(StatusCode::BAD_REQUEST, msg.into())
    }
    pub fn unprocessable(msg: impl Into<String>) -> Self {
        Self::Msg(StatusCode::UNPROCESSABLE_ENTITY, msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::Msg(StatusCode::NOT_FOUND, msg.into())
    }
    pub fn body(status: StatusCode, body: impl Into<Value>) -> Self {
        Self::Body(status, body.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::BadPath => (StatusCode::NOT_FOUND, Json(json!("404 Error: bad path"))).into_response(),
            Self::Body(status, body) => (status, Json(body)).into_response(),
            Self::Msg(status, msg) => (status, Json(json!({ "msg": msg }))).into_response(),
            Self::Internal(detail) => {
                tracing::error!("internal error: {detail}");
                (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "msg": "Internal Server Error" }))).into_response()
            }
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(format!("database error: {e}"))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Self::Msg(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a JSON body with Content-Type: application/json".into(),
            ),
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
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
            return too_large();
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

pub fn too_large() -> ApiError {
    ApiError::Msg(StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than 1 MiB".into())
}
