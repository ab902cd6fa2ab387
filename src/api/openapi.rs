//! The OpenAPI 3.1 document served at `GET /openapi.json`, generated from the code so it cannot
//! drift: every handler carries a `#[utoipa::path]` annotation (method, path, parameters, body,
//! every answer), each handler module's `router()` registers its handlers through
//! `utoipa_axum::routes!` (the route *is* the annotation), and [`super::router`] collects the paths
//! while it builds the route table. This module holds what the annotations share: the document's
//! base ([`base`]: info, tags, security schemes, the shared schemas), the answer groups that
//! extractors produce on many routes ([`JsonBody`], [`Login`], [`AdminOnly`], [`Internal`],
//! [`Upstream`], [`LoginSegment`]) and the cached answers' 304s ([`Cached`]), and [`finish`],
//! which adds the answers of the layers outside the handlers (413 and 408) to every operation.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, MethodRouter};
use serde_json::json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, PartialSchema, ToSchema};

use super::AppState;

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

/// The security scheme of the login token (`Authorization: Bearer <JWT>` from `POST /login`);
/// the annotations name it `"login"` (they take literals only), as [`BOT`] is `"bot"`.
pub const LOGIN: &str = "login";
/// The security scheme of community bots (`Authorization: Bearer <bot_api_token>`).
pub const BOT: &str = "bot";
/// The security scheme of the records updater (`Authorization: Bearer <records_writer_token>`).
pub const WRITER: &str = "writer";

/// Content type of the plain-text answers (chat-bot endpoints, `/`), as the old backend sent it.
pub const TEXT: &str = "text/html; charset=utf-8";

const DESCRIPTION: &str = "The HTTP API of kacky-backend, the backend of the Kacky event website \
(Kackiest Kacky on TMNF; Kacky Reloaded and Kacky Remixed on TM2020). It keeps the old Flask \
backend's paths, JSON shapes and status codes; see docs/API.md (linked from the README) and \
docs/COMPATIBILITY.md in the repository for every endpoint and every deliberate difference.\n\n\
Conventions: error answers are JSON, either `{\"msg\": \"…\"}` naming the problem or, where the old \
backend had a defined answer, a JSON string such as `\"Conflict\"` (schema `Error`). Success answers \
are JSON too (`\"OK\"` where the old backend answered that), except the chat-bot text answers \
(`text/html`), the calendar feed (`text/calendar`) and `/live` (`text/event-stream`). Every request \
whose declared body is over 1 MiB gets 413; a request body that has not fully arrived 30 s (the \
`request_timeout_s` setting) after the request started gets 408. Unknown paths get 404 \
`{\"msg\": \"no such endpoint: …\"}`, a known path with another method 405; a path parameter that is \
not valid UTF-8 once percent-decoded gets 404 `{\"msg\": \"bad path: …\"}`.";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "kacky-backend",
        version = env!("CARGO_PKG_VERSION"),
        description = DESCRIPTION,
        license(name = "MIT")
    ),
    components(schemas(Error, OkAnswer)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "history", description = "Past and current events, spreadsheets, maps and world records"),
        (name = "live", description = "The running event: dashboard, live spreadsheet, next runs"),
        (name = "schedule", description = "Play times with absolute times, the live stream, alarms and the calendar feed"),
        (name = "accounts", description = "Registration, login, profile, password reset"),
        (name = "sheet", description = "The caller's own spreadsheet columns"),
        (name = "records", description = "Backed by the records API (personal bests, finishes, chat-bot helpers)"),
        (name = "streamer", description = "Streamer messages"),
        (name = "admin", description = "Event administration (admin accounts only)"),
        (name = "bots", description = "The API for community bots"),
        (name = "discord", description = "Linking a Discord account (OAuth2)"),
        (name = "operations", description = "Health check and this document")
    )
)]
struct Base;

/// The document before the routes are added: info, tags, security schemes, shared schemas.
pub fn base() -> OpenApi {
    <Base as utoipa::OpenApi>::openapi()
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, api: &mut OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        let mut login = Http::new(HttpAuthScheme::Bearer);
        login.bearer_format = Some("JWT".into());
        login.description = Some(
            "The login token: `access_token` of `POST /login`, sent as `Authorization: Bearer <token>`. \
             Optional-login endpoints treat a missing, empty or bad token as anonymous."
                .into(),
        );
        components.security_schemes.insert(LOGIN.into(), SecurityScheme::Http(login).into());
        let mut bot = Http::new(HttpAuthScheme::Bearer);
        bot.description = Some(
            "`bot_api_token` from secrets.yaml, sent as `Authorization: Bearer <bot_api_token>`. Without a \
             configured token the bot endpoints answer 404."
                .into(),
        );
        components.security_schemes.insert(BOT.into(), SecurityScheme::Http(bot).into());
        let mut writer = Http::new(HttpAuthScheme::Bearer);
        writer.description = Some(
            "`records_writer_token` from secrets.yaml, sent as `Authorization: Bearer <records_writer_token>`: the \
             records updater. An admin's login token works too."
                .into(),
        );
        components.security_schemes.insert(WRITER.into(), SecurityScheme::Http(writer).into());
    }
}

/// Every error answer: `{"msg": "…"}` naming the problem, or — where the old backend had a
/// defined answer — a JSON string such as `"Conflict"`, `"404 Error: bad path"` or
/// `"Not authorized. Your actions will have consequences."`.
pub struct Error;

impl PartialSchema for Error {
    fn schema() -> RefOr<Schema> {
        let msg = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("msg", ObjectBuilder::new().schema_type(Type::String))
            .required("msg");
        let old = ObjectBuilder::new().schema_type(Type::String).description(Some("An old-system answer"));
        OneOfBuilder::new()
            .item(msg)
            .item(old)
            .description(Some(
                "`{\"msg\": \"…\"}` naming the problem, or an old-system JSON string such as \"Conflict\", \
                 \"404 Error: bad path\" or \"Not authorized. Your actions will have consequences.\"",
            ))
            .examples([json!({"msg": "`user` is missing"}), json!("404 Error: bad path")])
            .into()
    }
}

impl ToSchema for Error {
    fn name() -> Cow<'static, str> {
        "Error".into()
    }
}

/// The old JSON-string success answer `"OK"`.
pub struct OkAnswer;

impl PartialSchema for OkAnswer {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["OK"]))
            .description(Some("The old JSON-string success answer"))
            .into()
    }
}

impl ToSchema for OkAnswer {
    fn name() -> Cow<'static, str> {
        "Ok".into()
    }
}

/// A JSON string constant as an inline schema (`"Created"`, `"Updated maps."`).
pub fn constant(value: &'static str) -> Schema {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some([value])).into()
}

/// An answer with the shared [`Error`] body.
pub fn error(description: &str) -> RefOr<Response> {
    let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
    ResponseBuilder::new().description(description).content("application/json", body).build().into()
}

/// The answers of [`super::ApiJson`] (besides 413 and 408, which [`finish`] adds).
pub struct JsonBody;

impl IntoResponses for JsonBody {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            (
                "400".into(),
                error(
                    "Bad input: the body is not valid JSON or not an object, or a field is missing, of the \
                     wrong type or out of range (the message names it)",
                ),
            ),
            ("415".into(), error("The body was not sent with `Content-Type: application/json`")),
        ])
    }
}

const NO_LOGIN: &str = "No valid login: the `Authorization` header is missing or not `Bearer …`, or the token \
has expired, was revoked (logout, password change or reset) or its account is gone";
const BAD_TOKEN: &str = "The `Authorization` header or the token is malformed (`Bearer` without a token, not \
a token of this server)";

/// The answers of the [`super::auth::User`] extractor (login required).
pub struct Login;

impl IntoResponses for Login {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([("401".into(), error(NO_LOGIN)), ("422".into(), error(BAD_TOKEN))])
    }
}

/// The answers of the [`super::auth::Admin`] extractor (admin login required).
pub struct AdminOnly;

impl IntoResponses for AdminOnly {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let not_admin =
            format!("{NO_LOGIN}; or the account is not an admin (the JSON string \"{}\")", super::auth::NOT_AUTHORIZED);
        BTreeMap::from([("401".into(), error(&not_admin)), ("422".into(), error(BAD_TOKEN))])
    }
}

/// 500: a failure of ours (database, hashing threads); logged, answered without details.
pub struct Internal;

impl IntoResponses for Internal {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "500".into(),
            error("A failure of the server (logged); the body is `{\"msg\": \"Internal Server Error\"}`"),
        )])
    }
}

/// An error answer with a `Retry-After` header (seconds).
fn with_retry_after(description: &str) -> RefOr<Response> {
    let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
    let header = HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
        .description(Some("Seconds until the next try"))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", body)
        .header("Retry-After", header)
        .build()
        .into()
}

/// 429 of a rate limit (see [`crate::ratelimit`]).
pub struct TooMany;

impl IntoResponses for TooMany {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "429".into(),
            with_retry_after(
                "Too many attempts from this client address (an IPv6 client counts by its /64) within a minute; \
                 `{\"msg\": \"too many …; retry in <n> s\"}`",
            ),
        )])
    }
}

/// 503 of a full password-hashing queue (see [`crate::hashpool`]).
pub struct HashBusy;

impl IntoResponses for HashBusy {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([(
            "503".into(),
            with_retry_after(
                "The password hashing queue is full (the server is under a flood of registrations or logins); \
                 `{\"msg\": \"password hashing is busy; retry in <n> s\"}`",
            ),
        )])
    }
}

/// 502/504 of the endpoints backed by the records API.
pub struct Upstream;

impl IntoResponses for Upstream {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            ("502".into(), error("The records API is unreachable, too many calls to it are waiting, or it answered something unusable")),
            ("504".into(), error("The records API did not answer within 5 s")),
        ])
    }
}

/// The answers of a game login taken from the path and sent on to the records API as one
/// path segment (the chat-bot endpoints).
pub struct LoginSegment;

impl IntoResponses for LoginSegment {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            ("400".into(), error("The login is `.` or `..`")),
            ("404".into(), error("The login is not valid UTF-8 once percent-decoded (`{\"msg\": \"bad path: …\"}`)")),
        ])
    }
}

/// The 304 of a cacheable answer and the cache headers it carries. [`finish`] gives the
/// operation's 200 the same headers: a 304 sends what the 200 it validates would send
/// (RFC 9110, 15.4.5), so writing them once keeps the two from drifting apart.
fn not_modified(cache_control: &str, per_caller: bool) -> BTreeMap<String, RefOr<Response>> {
    use super::response::PRIVATE;
    let header = |description: String| {
        HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .description(Some(description))
            .build()
    };
    let mut response = ResponseBuilder::new()
        .description("`If-None-Match` named the current ETag")
        .header("ETag", header("Strong validator of the body".into()));
    response = if per_caller {
        response
            .header("Cache-Control", header(format!("`{cache_control}` anonymous, `{PRIVATE}` logged in")))
            .header("Vary", header("`Authorization`".into()))
    } else {
        response.header("Cache-Control", header(format!("`{cache_control}`")))
    };
    BTreeMap::from([("304".into(), response.build().into())])
}

/// 304, and the cache headers of a cached answer: of live data or history (`LIVE`), the same
/// for everyone or personalised by a login token (`PER_CALLER`). Named by the aliases below.
pub struct Cached<const LIVE: bool, const PER_CALLER: bool>;

impl<const LIVE: bool, const PER_CALLER: bool> IntoResponses for Cached<LIVE, PER_CALLER> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        not_modified(if LIVE { super::response::LIVE } else { super::response::HISTORY }, PER_CALLER)
    }
}

/// A public answer of history data.
pub type CachedHistory = Cached<false, false>;
/// A public answer of live data.
pub type CachedLive = Cached<true, false>;
/// A history answer that a login token personalises.
pub type CachedHistoryPerCaller = Cached<false, true>;
/// A live answer that a login token personalises.
pub type CachedLivePerCaller = Cached<true, true>;

/// Completes the collected document: OpenAPI path templates for axum's catch-all segments
/// (`{*path}` → `{path}`), the cache headers of a 304 on its operation's 200, the answers of the
/// layers outside the handlers on every operation (413 for a declared body over 1 MiB, checked
/// before routing; 408 where a body is read), and the document's own path.
pub fn finish(mut api: OpenApi) -> OpenApi {
    let paths = std::mem::take(&mut api.paths.paths);
    for (path, mut item) in paths {
        for op in operations(&mut item) {
            let reads_body = op.request_body.is_some();
            let responses = &mut op.responses.responses;
            if let Some(RefOr::T(not_modified)) = responses.get("304") {
                let headers = not_modified.headers.clone();
                if let Some(RefOr::T(ok)) = responses.get_mut("200") {
                    ok.headers.extend(headers);
                }
            }
            responses.entry("413".into()).or_insert_with(|| error("The declared request body is over 1 MiB"));
            if reads_body {
                responses.entry("408".into()).or_insert_with(|| {
                    error("The request body had not fully arrived `request_timeout_s` (30 s) after the request started")
                });
            }
        }
        api.paths.paths.insert(path.replace("{*", "{"), item);
    }
    let own = OperationBuilder::new()
        .tag("operations")
        .operation_id(Some("openapi"))
        .summary(Some("This document (OpenAPI 3.1)"))
        .response(
            "200",
            ResponseBuilder::new()
                .description("The OpenAPI document, generated from the code at start-up")
                .content("application/json", ContentBuilder::new().schema(Some(ObjectBuilder::new())).build()),
        )
        .response("413", error("The declared request body is over 1 MiB"));
    api.paths.paths.insert(PATH.into(), PathItem::new(HttpMethod::Get, own));
    api
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// `GET /openapi.json`: the document, serialized once.
pub fn serve(api: &OpenApi) -> MethodRouter<AppState> {
    let body = Bytes::from(api.to_json().unwrap_or_else(|e| {
        tracing::error!("the OpenAPI document does not serialize: {e}");
        String::from("{}")
    }));
    get(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() }
    })
}
