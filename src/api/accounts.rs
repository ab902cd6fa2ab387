//! Accounts: register, login, logout, profile, delete (password reset is in `reset`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::User;
use super::input::{check_mail, kind, object, opt_str, req_str};
use super::openapi::{constant, HashBusy, Internal, JsonBody, Login, OkAnswer, TooMany};
use super::response::ok;
use super::{ApiError, ApiJson, AppState, ClientIp};
use crate::auth::{self, Claims, Verified};
use crate::db;
use crate::db::users::ProfileUpdate;
use crate::domain::{username_key, GameLogin, NewPassword, UserName, GAME_LOGIN_MAX, PASSWORD_MAX, USERNAME_MAX};
use crate::hashpool::Kind;
use crate::ratelimit::ClientKey;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(profile, update_profile))
        .routes(routes!(delete_account))
}

/// Creates an account
#[utoipa::path(post, path = "/register", tag = "accounts",
    request_body = shapes::Registration,
    responses(
        JsonBody,
        Internal,
        (status = 201, description = "The account exists now", body = inline(shapes::Created), example = "Created"),
        (status = 409, description = "The name is taken (the JSON string \"Conflict\")", body = super::openapi::Error,
            example = "Conflict"),
        TooMany,
        HashBusy,
    ))]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let m = object(body)?;
    let user = UserName::parse(&req_str(&m, "user", 1, USERNAME_MAX)?)?;
    let pwd = NewPassword::parse(&req_str(&m, "pwd", 1, PASSWORD_MAX)?, "pwd")?;
    let mail = req_str(&m, "mail", 3, 80)?;
    check_mail(&mail)?;
    // Every well-formed registration counts, made or refused: each costs a hash.
    let _counted = state
        .limiter
        .try_acquire(&[format!("register-ip:{}", ClientKey::from(ip))], state.clock.now())
        .map_err(|retry_after_s| ApiError::TooMany { what: "registrations", retry_after_s })?;
    let hash = state.hash(Kind::NewPassword, move || auth::hash_password(pwd.expose())).await?;
    let created = state.db.run(move |c| db::users::create(c, &user, &hash, &auth::sha256_hex(&mail), false)).await?;
    match created {
        Some(_) => Ok((StatusCode::CREATED, Json(json!("Created")))),
        None => Err(ApiError::body(StatusCode::CONFLICT, "Conflict")),
    }
}

/// Each attempt is reserved with the rate limiter (per client address and per name) before
/// argon2 runs, and given back only when the password was right: parallel guesses cannot
/// outrun the limit. Unknown names are verified against a dummy hash, so they take as long.
#[utoipa::path(post, path = "/login", tag = "accounts",
    summary = "Logs in: a token for the `login` security scheme",
    description = "Failed attempts are limited to `login_rate_per_min` (10) a minute per client address and per \
        user name (429 with `Retry-After`).",
    request_body = shapes::Credentials,
    responses(
        JsonBody,
        Internal,
        (status = 200, description = "Logged in", body = shapes::LoginToken),
        (status = 401, description = "Wrong name or password (the JSON strings \"Wrong username or password\" or \
            \"Unauthorized\")", body = super::openapi::Error, example = "Wrong username or password"),
        (status = 429, description = "Too many failed logins from this address or for this name",
            body = super::openapi::Error, headers(("Retry-After" = i64, description = "Seconds until the next try"))),
        HashBusy,
    ))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let m = object(body)?;
    let user = req_str(&m, "user", 1, USERNAME_MAX)?;
    let pwd = req_str(&m, "pwd", 1, PASSWORD_MAX)?;
    let now = state.clock.now();
    let keys = [format!("login-ip:{}", ClientKey::from(ip)), format!("login-user:{}", username_key(&user))];
    let reservation = state
        .limiter
        .try_acquire(&keys, now)
        .map_err(|retry_after_s| ApiError::TooMany { what: "failed logins", retry_after_s })?;
    let name = user.clone();
    let account = state.db.run(move |c| db::users::by_name(c, &name)).await?;
    let stored = account.as_ref().map_or_else(|| state.dummy_hash.to_string(), |a| a.password.clone());
    let verified = state.hash(Kind::Login, move || auth::verify_password(&pwd, &stored)).await?;
    let (account, verified) = match (account, verified) {
        (Some(a), v) if v != Verified::No => (a, v),
        (found, _) => {
            let msg = if found.is_some() { "Unauthorized" } else { "Wrong username or password" };
            return Err(ApiError::body(StatusCode::UNAUTHORIZED, msg));
        }
    };
    state.limiter.release(reservation);
    if let Verified::YesUpgrade(new_hash) = verified {
        let id = account.id;
        state.db.run(move |c| db::users::set_password(c, id, &new_hash, false)).await?;
    }
    let iat = now.timestamp();
    let exp = iat + state.settings.jwt_expiry_days * 86_400;
    let claims = Claims {
        fresh: false,
        iat,
        jti: crate::auth::new_jti(),
        typ: "access".into(),
        sub: user,
        nbf: iat,
        exp,
        is_admin: account.is_admin as u8,
        uid: account.id,
        ver: account.token_version,
        pad: String::new(),
    };
    Ok(Json(json!({ "access_token": state.jwt.issue(claims), "expires": exp })))
}

/// Logs out: the token stops working
#[utoipa::path(get, path = "/logout", tag = "accounts", security(("login" = [])),
    responses(Login, Internal, (status = 200, description = "Logged out", body = OkAnswer)))]
async fn logout(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    let (jti, exp, now) = (user.claims.jti.clone(), user.claims.exp, state.clock.now().timestamp());
    let revoked = jti.clone();
    state.db.run(move |c| db::users::revoke(c, &jti, now, exp)).await?;
    state.sessions.revoked(&revoked).await;
    Ok(ok())
}

/// The caller's profile: game logins, Discord name and link, the finish-feed opt-in
#[utoipa::path(get, path = "/usermgnt", tag = "accounts", security(("login" = [])),
    responses(Login, Internal, (status = 200, description = "The profile (empty strings when unset)", body = shapes::Profile)))]
async fn profile(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    let (f, link) = state
        .db
        .run(move |c| Ok::<_, rusqlite::Error>((db::users::fields(c, user.id)?, db::discord::link(c, user.id)?)))
        .await?;
    let link = link.map(|l| json!({"id": l.id, "name": l.name}));
    Ok(Json(json!({
        "discord": f.discord,
        "discord_link": link,
        "finish_feed": f.finish_feed,
        "tm20": f.tm20,
        "tmnf": f.tmnf,
    })))
}

/// Validates every given key first, then applies them all in one transaction: no partial
/// updates (the old one applied keys up to the first bad one).
#[utoipa::path(post, path = "/usermgnt", tag = "accounts", security(("login" = [])),
    summary = "Updates the caller's profile (game logins, Discord, password, mail)",
    description = "Every given key is checked first, then all are stored in one transaction. A new password ends \
        every earlier login token, this one included.",
    request_body = shapes::ProfileUpdate,
    responses(JsonBody, Login, Internal, HashBusy, (status = 200, description = "Stored", body = OkAnswer)))]
async fn update_profile(
    State(state): State<AppState>,
    User(user): User,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let m = object(body)?;
    let login = |key| -> Result<Option<GameLogin>, ApiError> {
        Ok(opt_str(&m, key, GAME_LOGIN_MAX)?.map(|l| GameLogin::parse(&l, key)).transpose()?)
    };
    let tmnf = login("tmnf")?.map(GameLogin::into_string);
    let tm20 = login("tm20")?.map(GameLogin::into_string);
    // A Discord user id (also pasted as a mention `<@…>`) is stored as the bare id, which the
    // alarm notifications mention; anything else is kept as typed and listed by name.
    let discord = opt_str(&m, "discord", 80)?
        .map(|d| crate::notify::message::discord_id(&d).map_or_else(|| d.clone(), str::to_owned));
    let finish_feed = match m.get("finish_feed") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => Some(n.as_i64() == Some(1)),
        Some(v) => return Err(ApiError::bad_request(format!("`finish_feed` must be true or false, got {}", kind(v)))),
    };
    let pwd = opt_str(&m, "pwd", PASSWORD_MAX)?.map(|p| NewPassword::parse(&p, "pwd")).transpose()?;
    let mail = opt_str(&m, "mail", 80)?;
    if let Some(mail) = &mail {
        check_mail(mail)?;
    }
    let password_hash = match pwd {
        Some(p) => Some(state.hash(Kind::NewPassword, move || auth::hash_password(p.expose())).await?),
        None => None,
    };
    // The feed follows game logins: a changed login or opt-in changes who is followed.
    let follow_changed = finish_feed.is_some() || tmnf.is_some() || tm20.is_some();
    let update = ProfileUpdate {
        tmnf,
        tm20,
        discord,
        finish_feed,
        password_hash,
        mail_hash: mail.map(|m| auth::sha256_hex(&m)),
    };
    let revokes = update.password_hash.is_some();
    state.db.run(move |c| db::users::update_profile(c, user.id, &update)).await?;
    if revokes {
        state.sessions.forget(user.id).await;
    }
    if follow_changed {
        state.finishes.followed_changed();
    }
    // Game logins show in the user's live answers (finished flags).
    state.cache.user_wrote(user.id);
    Ok(ok())
}

/// Deletes the caller's account and everything of it
#[utoipa::path(post, path = "/usermgnt/delete", tag = "accounts", security(("login" = [])),
    responses(Login, Internal, (status = 200, description = "Deleted; the account's tokens stop working", body = OkAnswer)))]
async fn delete_account(State(state): State<AppState>, User(user): User) -> Result<Json<Value>, ApiError> {
    state.db.run(move |c| db::users::delete(c, user.id)).await?;
    state.sessions.forget(user.id).await;
    Ok(ok())
}

/// Body and answer shapes that the handlers read from loose JSON or build with `json!()`, for
/// the OpenAPI document only.
#[allow(dead_code)]
mod shapes {
    use utoipa::ToSchema;

    use crate::domain::{PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX};

    // The lengths below are literals (the annotations take no constants); they must follow these.
    const _: () = assert!(USERNAME_MAX == 80 && PASSWORD_MIN == 8 && PASSWORD_MAX == 80);

    /// `POST /register`.
    #[derive(ToSchema)]
    pub struct Registration {
        /// Not blank; stored NFKC-normalised and trimmed. Control, format (zero-width, bidi) and other
        /// invisible characters are refused (400), and a name that is, or looks like, a taken one
        /// gets 409 `"Conflict"`.
        #[schema(min_length = 1, max_length = 80, pattern = "\\S", examples("sir_blud"))]
        pub user: String,
        #[schema(min_length = 8, max_length = 80, examples("correct horse"))]
        pub pwd: String,
        /// A mail address (`a@b.c`, no spaces); only its hash is stored
        #[schema(min_length = 3, max_length = 80, format = Email, examples("blud@example.com"))]
        pub mail: String,
    }

    /// `POST /login`.
    #[derive(ToSchema)]
    pub struct Credentials {
        #[schema(min_length = 1, max_length = 80, examples("sir_blud"))]
        pub user: String,
        #[schema(min_length = 1, max_length = 80, examples("correct horse"))]
        pub pwd: String,
    }

    /// A login token.
    #[derive(ToSchema)]
    pub struct LoginToken {
        /// HS256 JWT with the claims `sub` (name), `isAdmin` (0/1), `uid`, `ver`, `exp` …
        pub access_token: String,
        /// When it expires: unix time in seconds
        pub expires: i64,
    }

    /// The caller's profile.
    #[derive(ToSchema)]
    pub struct Profile {
        /// Discord user id (or name as typed)
        pub discord: String,
        /// The Discord account verified through `POST /discord/link` (`null` when none)
        pub discord_link: Option<DiscordLink>,
        /// Whether the finish feed follows the account's game login for the current event
        pub finish_feed: bool,
        /// TM2020 login (used for KR)
        pub tm20: String,
        /// TMNF login (used for KK)
        pub tmnf: String,
    }

    /// A verified Discord account.
    #[derive(ToSchema)]
    pub struct DiscordLink {
        /// The Discord user id
        pub id: String,
        /// Its display name when it was linked
        pub name: String,
    }

    /// `POST /usermgnt`: any of the keys; absent or `null` keys are left as they are (other keys,
    /// like the `token` the frontend sends, are ignored).
    #[derive(ToSchema)]
    pub struct ProfileUpdate {
        /// A TMNF login: letters, digits, `_`, `-`, `.` (not `.` or `..`); `""` clears it
        #[schema(nullable, max_length = 50, pattern = "^[A-Za-z0-9_.-]*$")]
        pub tmnf: Option<String>,
        /// A TM2020 login, same alphabet
        #[schema(nullable, max_length = 50, pattern = "^[A-Za-z0-9_.-]*$")]
        pub tm20: Option<String>,
        /// A Discord user id or a pasted mention `<@123…>` (stored as the bare id), or a name
        #[schema(nullable, max_length = 80)]
        pub discord: Option<String>,
        /// Follow the account's game login (for the current event's game) in the finish feed
        #[schema(nullable)]
        pub finish_feed: Option<bool>,
        /// A new password; ends every earlier login token
        #[schema(nullable, min_length = 8, max_length = 80)]
        pub pwd: Option<String>,
        /// A new mail address (`a@b.c`)
        #[schema(nullable, max_length = 80)]
        pub mail: Option<String>,
    }

    /// `"Created"`.
    pub struct Created;

    impl utoipa::PartialSchema for Created {
        fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
            super::constant("Created").into()
        }
    }

    impl ToSchema for Created {}
}
