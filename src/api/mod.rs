//! HTTP layer: shared state, the route table, middleware (CORS, body limit, access log) and
//! the extractors that turn malformed input into [`ApiError`]s instead of axum's plain text.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;

// Infrastructure shared by the handler modules.
pub mod auth;
pub mod cache;
pub mod error;
mod input;
pub mod openapi;
pub mod response;
pub mod sessions;
pub mod state;
pub mod streams;

// Handler modules, one per area; each exposes `router()` and imports none of the others.
mod accounts;
mod admin;
mod bots;
mod calendar;
mod discord;
mod finishes;
mod health;
mod live;
mod public;
mod records;
mod reset;
mod schedule;
mod sheet;
mod streamer;
mod worldrecords;

pub use calendar::redact_path;
pub use error::ApiError;
pub use state::AppState;

/// Request bodies above this are refused with 413, as in the old system.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// JSON body extractor whose rejections are [`ApiError`]s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path extractor whose rejections are [`ApiError`]s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query extractor whose rejections are [`ApiError`]s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Multipart extractor whose rejection (not `multipart/form-data`, no `boundary`) is an
/// [`ApiError`] (400 `{"msg": …}`) instead of axum's plain text.
pub struct ApiMultipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(Self)
            .map_err(|r| ApiError::bad_request(format!("expected a multipart/form-data body: {}", r.body_text())))
    }
}

/// The whole route table, top to bottom, behind the middleware. The handler modules' routes
/// come with their OpenAPI operations; the collected document is served at `/openapi.json`.
pub fn router(state: AppState) -> Router {
    let cors = cors_layer(&state.settings.cors_origins);
    let (routes, api) = OpenApiRouter::with_openapi(openapi::base())
        .merge(public::router())
        .merge(accounts::router())
        .merge(reset::router())
        .merge(records::router())
        .merge(streamer::router())
        .merge(admin::router())
        .merge(sheet::router())
        .merge(live::router())
        .merge(schedule::router())
        .merge(calendar::router())
        .merge(bots::router())
        .merge(finishes::router())
        .merge(worldrecords::router())
        .merge(discord::router())
        .merge(health::router())
        .split_for_parts();
    routes
        .route(openapi::PATH, openapi::serve(&openapi::finish(api)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(reject_large_bodies))
        .layer(cors)
        .layer(middleware::from_fn_with_state(state.clone(), access_log))
        .with_state(state)
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::Msg(StatusCode::METHOD_NOT_ALLOWED, format!("method {method} is not allowed for {}", uri.path()))
}

/// As permissive as the old flask-cors setup (echo the origin and requested headers) unless
/// `cors_origins` lists the allowed origins.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.is_empty() {
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new().allow_origin(allow_origin).allow_headers(AllowHeaders::mirror_request()).allow_methods([
        Method::DELETE,
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
        Method::POST,
        Method::PUT,
    ])
}

/// Refuses a declared body over the limit before anything reads it.
async fn reject_large_bodies(req: Request, next: Next) -> Response {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return ApiError::too_large().into_response();
    }
    next.run(req).await
}

/// The client's address: the peer, or the `X-Forwarded-For` entry added by a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded =
        headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    let hops: Vec<IpAddr> = forwarded.filter_map(|h| h.trim().parse().ok()).collect();
    hops.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer)
}

/// One line per request (method, path with a calendar feed's token redacted, status,
/// milliseconds, client address) and its metrics (by route template: axum's [`MatchedPath`],
/// `unmatched` for the 404 fallback).
async fn access_log(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = calendar::redact_path(req.uri().path()).into_owned();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let client = peer.map(|p| client_ip(p, req.headers(), &state.settings.trusted_proxies));
    let response = next.run(req).await;
    crate::metrics::http_request(&route, &method, response.status().as_u16(), start.elapsed());
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let client = client.map(|c| c.to_string()).unwrap_or_else(|| "-".into());
    tracing::info!(target: "access", "{method} {path} {} {ms:.1}ms {client}", response.status().as_u16());
    response
}

/// Extracts the client address for handlers (rate limits) the same way the access log does.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(Self(client_ip(peer, &parts.headers, &state.settings.trusted_proxies)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        assert_eq!(client_ip(proxy, &h, &[]), proxy);
        assert_eq!(client_ip(proxy, &h, &[proxy]), "5.6.7.8".parse::<IpAddr>().unwrap());
        let other: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(client_ip(other, &h, &[proxy]), other);
    }
}
