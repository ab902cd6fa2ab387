//! Accounts: register, login, logout, profile, delete (password reset is in `reset`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::User;
use super::input::{self, at_most, check_mail, kind, required, Body};
use super::openapi::{HashBusy, Internal, JsonBody, Login, OkAnswer, TooMany};
use super::response::ok;
use super::{ApiError, AppState, ClientIp};
use crate::auth::{self, Claims, Verified};
use crate::db;
use crate::domain::{
    username_key, GameLogin, NewPassword, UserName, GAME_LOGIN_MAX, PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX,
};
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

// The schemas' lengths below are literals (the annotations take no constants); they must
// follow these.
const _: () = assert!(USERNAME_MAX == 80 && PASSWORD_MIN == 8 && PASSWORD_MAX == 80 && GAME_LOGIN_MAX == 50);

/// `POST /register`.
#[derive(Deserialize, ToSchema)]
struct Registration {
    /// Not blank; stored NFKC-normalised and trimmed. Control, format (zero-width, bidi) and other
    /// invisible characters are refused (400), and a name that is, or looks like, a taken one
    /// gets 409 `"Conflict"`.
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 80, pattern = "\\S",
        examples("sir_blud"))]
    user: Option<String>,
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 8, max_length = 80, examples("correct horse"))]
    pwd: Option<String>,
    /// A mail address (`a@b.c`, no spaces); only its hash is stored
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 3, max_length = 80, format = Email,
        examples("blud@example.com"))]
    mail: Option<String>,
}

/// A registration, checked.
struct NewAccount {
    user: UserName,
    pwd: NewPassword,
    mail: String,
}

impl TryFrom<Registration> for NewAccount {
    type Error = ApiError;
    fn try_from(r: Registration) -> Result<Self, ApiError> {
        let user = UserName::parse(&required(r.user, "user", 1, USERNAME_MAX)?)?;
        let pwd = NewPassword::parse(&required(r.pwd, "pwd", 1, PASSWORD_MAX)?, "pwd")?;
        let mail = required(r.mail, "mail", 3, 80)?;
        check_mail(&mail)?;
        Ok(Self { user, pwd, mail })
    }
}

// The answer `"Created"` (a doc comment would show in the document).
#[derive(Serialize, ToSchema)]
enum Created {
    Created,
}

/// Creates an account
#[utoipa::path(post, path = "/register", tag = "accounts",
    request_body = Registration,
    responses(
        JsonBody,
        Internal,
        (status = 201, description = "The account exists now", body = inline(Created), example = "Created"),
        (status = 409, description = "The name is taken (the JSON string \"Conflict\")", body = super::openapi::Error,
            example = "Conflict"),
        TooMany,
        HashBusy,
    ))]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(registration): Body<Registration>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let NewAccount { user, pwd, mail } = registration.try_into()?;
    // Every well-formed registration counts, made or refused: each costs a hash.
    let _counted = state
        .limiter
        .try_acquire(&[format!("register-ip:{}", ClientKey::from(ip))], state.clock.now())
        .map_err(|retry_after_s| ApiError::TooMany { what: "registrations", retry_after_s })?;
    let hash = state.hash(Kind::NewPassword, move || auth::hash_password(pwd.expose())).await?;
    let created = state.db.run(move |c| db::users::create(c, &user, &hash, &auth::sha256_hex(&mail), false)).await?;
    match created {
        Some(_) => Ok((StatusCode::CREATED, Json(Created::Created))),
        None => Err(ApiError::body(StatusCode::CONFLICT, "Conflict")),
    }
}

/// `POST /login`.
#[derive(Deserialize, ToSchema)]
struct Credentials {
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 80, examples("sir_blud"))]
    user: Option<String>,
    #[serde(default, deserialize_with = "input::string")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 80, examples("correct horse"))]
    pwd: Option<String>,
}

/// A login token.
#[derive(Serialize, ToSchema)]
struct LoginToken {
    /// HS256 JWT with the claims `sub` (name), `isAdmin` (0/1), `uid`, `ver`, `exp` …
    access_token: String,
    /// When it expires: unix time in seconds
    expires: i64,
}

/// Each attempt is reserved with the rate limiter (per client address and per name) before
/// argon2 runs, and given back only when the password was right: parallel guesses cannot
/// outrun the limit. Unknown names are verified against a dummy hash, so they take as long.
#[utoipa::path(post, path = "/login", tag = "accounts",
    summary = "Logs in: a token for the `login` security scheme",
    description = "Failed attempts are limited to `login_rate_per_min` (10) a minute per client address and per \
        user name (429 with `Retry-After`).",
    request_body = Credentials,
    responses(
        JsonBody,
        Internal,
        (status = 200, description = "Logged in", body = LoginToken),
        (status = 401, description = "Wrong name or password (the JSON strings \"Wrong username or password\" or \
            \"Unauthorized\")", body = super::openapi::Error, example = "Wrong username or password"),
        (status = 429, description = "Too many failed logins from this address or for this name",
            body = super::openapi::Error, headers(("Retry-After" = i64, description = "Seconds until the next try"))),
        HashBusy,
    ))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(credentials): Body<Credentials>,
) -> Result<Json<LoginToken>, ApiError> {
    let user = required(credentials.user, "user", 1, USERNAME_MAX)?;
    let pwd = required(credentials.pwd, "pwd", 1, PASSWORD_MAX)?;
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
    Ok(Json(LoginToken { access_token: state.jwt.issue(claims), expires: exp }))
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

/// The caller's profile.
#[derive(Serialize, ToSchema)]
struct Profile {
    /// Discord user id (or name as typed)
    discord: String,
    /// The Discord account verified through `POST /discord/link` (`null` when none)
    discord_link: Option<DiscordLink>,
    /// Whether the finish feed follows the account's game login for the current event
    finish_feed: bool,
    /// TM2020 login (used for KR)
    tm20: String,
    /// TMNF login (used for KK)
    tmnf: String,
}

/// A verified Discord account.
#[derive(Serialize, ToSchema)]
struct DiscordLink {
    /// The Discord user id
    id: String,
    /// Its display name when it was linked
    name: String,
}

/// The caller's profile: game logins, Discord name and link, the finish-feed opt-in
#[utoipa::path(get, path = "/usermgnt", tag = "accounts", security(("login" = [])),
    responses(Login, Internal, (status = 200, description = "The profile (empty strings when unset)", body = Profile)))]
async fn profile(State(state): State<AppState>, User(user): User) -> Result<Json<Profile>, ApiError> {
    let (f, link) = state
        .db
        .run(move |c| Ok::<_, rusqlite::Error>((db::users::fields(c, user.id)?, db::discord::link(c, user.id)?)))
        .await?;
    Ok(Json(Profile {
        discord: f.discord,
        discord_link: link.map(|l| DiscordLink { id: l.id, name: l.name }),
        finish_feed: f.finish_feed,
        tm20: f.tm20,
        tmnf: f.tmnf,
    }))
}

/// `POST /usermgnt`: any of the keys; absent or `null` keys are left as they are (other keys,
/// like the `token` the frontend sends, are ignored).
#[derive(Deserialize, ToSchema)]
struct ProfileUpdate {
    /// A TMNF login: letters, digits, `_`, `-`, `.` (not `.` or `..`); `""` clears it
    #[serde(default, deserialize_with = "input::string")]
    #[schema(nullable, max_length = 50, pattern = "^[A-Za-z0-9_.-]*$")]
    tmnf: Option<String>,
    /// A TM2020 login, same alphabet
    #[serde(default, deserialize_with = "input::string")]
    #[schema(nullable, max_length = 50, pattern = "^[A-Za-z0-9_.-]*$")]
    tm20: Option<String>,
    /// A Discord user id or a pasted mention `<@123…>` (stored as the bare id), or a name
    #[serde(default, deserialize_with = "input::string")]
    #[schema(nullable, max_length = 80)]
    discord: Option<String>,
    /// Follow the account's game login (for the current event's game) in the finish feed
    #[serde(default, deserialize_with = "true_or_false")]
    #[schema(nullable)]
    finish_feed: Option<bool>,
    /// A new password; ends every earlier login token
    #[serde(default, deserialize_with = "input::string")]
    #[schema(nullable, min_length = 8, max_length = 80)]
    pwd: Option<String>,
    /// A new mail address (`a@b.c`)
    #[serde(default, deserialize_with = "input::string")]
    #[schema(nullable, max_length = 80)]
    mail: Option<String>,
}

/// `finish_feed`: a boolean, or 1/0.
fn true_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => Ok(Some(n.as_i64() == Some(1))),
        v => Err(de::Error::custom(format!("must be true or false, got {}", kind(&v)))),
    }
}

/// A profile update, checked; the password is still to be hashed.
struct ProfileChange {
    tmnf: Option<String>,
    tm20: Option<String>,
    discord: Option<String>,
    finish_feed: Option<bool>,
    pwd: Option<NewPassword>,
    mail: Option<String>,
}

impl TryFrom<ProfileUpdate> for ProfileChange {
    type Error = ApiError;
    fn try_from(u: ProfileUpdate) -> Result<Self, ApiError> {
        let login = |value, key| -> Result<Option<String>, ApiError> {
            Ok(at_most(value, key, GAME_LOGIN_MAX)?
                .map(|l| GameLogin::parse(&l, key))
                .transpose()?
                .map(GameLogin::into_string))
        };
        let tmnf = login(u.tmnf, "tmnf")?;
        let tm20 = login(u.tm20, "tm20")?;
        // A Discord user id (also pasted as a mention `<@…>`) is stored as the bare id, which the
        // alarm notifications mention; anything else is kept as typed and listed by name.
        let discord = at_most(u.discord, "discord", 80)?
            .map(|d| crate::notify::message::discord_id(&d).map_or_else(|| d.clone(), str::to_owned));
        let pwd = at_most(u.pwd, "pwd", PASSWORD_MAX)?.map(|p| NewPassword::parse(&p, "pwd")).transpose()?;
        let mail = at_most(u.mail, "mail", 80)?;
        if let Some(mail) = &mail {
            check_mail(mail)?;
        }
        Ok(Self { tmnf, tm20, discord, finish_feed: u.finish_feed, pwd, mail })
    }
}

/// Validates every given key first, then applies them all in one transaction: no partial
/// updates (the old one applied keys up to the first bad one).
#[utoipa::path(post, path = "/usermgnt", tag = "accounts", security(("login" = [])),
    summary = "Updates the caller's profile (game logins, Discord, password, mail)",
    description = "Every given key is checked first, then all are stored in one transaction. A new password ends \
        every earlier login token, this one included.",
    request_body = ProfileUpdate,
    responses(JsonBody, Login, Internal, HashBusy, (status = 200, description = "Stored", body = OkAnswer)))]
async fn update_profile(
    State(state): State<AppState>,
    User(user): User,
    Body(update): Body<ProfileUpdate>,
) -> Result<Json<Value>, ApiError> {
    let ProfileChange { tmnf, tm20, discord, finish_feed, pwd, mail } = update.try_into()?;
    let password_hash = match pwd {
        Some(p) => Some(state.hash(Kind::NewPassword, move || auth::hash_password(p.expose())).await?),
        None => None,
    };
    // The feed follows game logins: a changed login or opt-in changes who is followed.
    let follow_changed = finish_feed.is_some() || tmnf.is_some() || tm20.is_some();
    let update = db::users::ProfileUpdate {
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
