//! The finish feed's endpoints: `GET /finishes` (the current event's happenings, oldest first,
//! paged by id) and the admin's list of followed logins (`GET`/`PUT /manage/followed`).

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Admin;
use super::input::{kind, Body};
use super::openapi::{AdminOnly, Error, Internal, JsonBody};
use super::{ApiError, ApiQuery, AppState};
use crate::db;
use crate::db::finishes::Query;
use crate::domain::{FinishItem, FinishKind};

/// Most happenings in one answer, and the default.
const MAX_LIMIT: i64 = 500;
const DEFAULT_LIMIT: i64 = 100;
/// Most logins an admin follows, and their longest length (as a profile's game login).
const MAX_FOLLOWED: usize = 500;
const MAX_LOGIN: usize = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(finishes)).routes(routes!(followed, set_followed))
}

/// A page of happenings.
#[derive(Serialize, ToSchema)]
struct FinishPage {
    /// Oldest first
    items: Vec<FinishItem>,
    /// The `since` of the next page: the last item's id, or the `since` asked for when there
    /// is none (poll with it to get only what is new)
    next: i64,
}

fn query(q: &HashMap<String, String>) -> Result<Query, ApiError> {
    let since =
        match q.get("since").map(|s| s.trim()) {
            None | Some("") => 0,
            Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::bad_request(format!("`since` must be a happening id (0 or more), got \"{s}\""))
            })?,
        };
    let limit = match q.get("limit").map(|s| s.trim()) {
        None | Some("") => DEFAULT_LIMIT,
        Some(s) => s.parse::<i64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
            ApiError::bad_request(format!("`limit` must be a whole number from 1 to {MAX_LIMIT}, got \"{s}\""))
        })?,
    };
    let kind = match q.get("type").map(|s| s.trim()) {
        None | Some("") => None,
        Some(s) => Some(FinishKind::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!("`type` must be one of finish, pb, wr, milestone, got \"{s}\""))
        })?),
    };
    let login = match q.get("login").map(|s| s.trim()) {
        None | Some("") => None,
        Some(s) if s.chars().count() > MAX_LOGIN => {
            return Err(ApiError::bad_request(format!("`login` is longer than {MAX_LOGIN} characters")))
        }
        Some(s) => Some(s.to_owned()),
    };
    Ok(Query { since, login, kind, limit })
}

/// The current event's happenings after `since`, oldest first: first finishes, better
/// personal bests, new world records and finish-count milestones of the followed players.
#[utoipa::path(get, path = "/finishes", tag = "records",
    summary = "The finish feed: first finishes, personal bests, world records, milestones",
    description = "The current event's happenings with an id above `since`, oldest first, at most `limit`. Poll \
        with the answer's `next` as `since` to get only what is new. The same items come on `/live` as \
        `event: finish`. Kept until a week after the event.",
    params(
        ("since" = Option<i64>, Query, description = "Only happenings with a higher id (default 0)", minimum = 0),
        ("login" = Option<String>, Query, description = "Only this player (case-insensitive)", max_length = 50),
        ("type" = Option<FinishKind>, Query, description = "Only this kind"),
        ("limit" = Option<i64>, Query, description = "At most this many (default 100)", minimum = 1, maximum = 500),
    ),
    responses(
        Internal,
        (status = 200, description = "A page, oldest first", body = FinishPage),
        (status = 400, description = "A parameter is out of range or not one of the kinds", body = Error),
    ))]
async fn finishes(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HashMap<String, String>>,
) -> Result<Json<FinishPage>, ApiError> {
    let q = query(&q)?;
    let event = (state.settings.eventtype, state.settings.edition);
    let since = q.since;
    let items = state.db.run(move |c| db::finishes::list(c, event, &q)).await?;
    let next = items.last().map_or(since, |i| i.id);
    Ok(Json(FinishPage { items, next }))
}

/// The logins an admin follows, and how many accounts opted in.
#[derive(Serialize, ToSchema)]
struct Followed {
    /// Game logins an admin follows (for streamers without an account), sorted
    logins: Vec<String>,
    /// Accounts that opted in (`finish_feed: true` in `POST /usermgnt`) with a login for the
    /// current event's game; they are followed too
    accounts: i64,
}

/// `PUT /manage/followed`: the whole list.
#[derive(Deserialize, ToSchema)]
struct FollowedUpdate {
    /// Game logins (TMNF logins for KK, TM2020 names for KR), at most 500; blanks around
    /// them are removed, duplicates dropped
    #[serde(default, deserialize_with = "strings")]
    #[schema(value_type = Vec<String>, required = true, max_items = 500, examples(json!(["wirtual", "simo_900"])))]
    logins: Option<Vec<String>>,
}

/// `logins`: a list of strings (`null` is not one).
fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let list = match Value::deserialize(d)? {
        Value::Array(list) => list,
        v => return Err(de::Error::custom(format!("must be a list of strings, got {}", kind(&v)))),
    };
    let strings = list.into_iter().map(|v| match v {
        Value::String(s) => Ok(s),
        v => Err(de::Error::custom(format!("must be a list of strings, found {}", kind(&v)))),
    });
    strings.collect::<Result<_, _>>().map(Some)
}

/// The logins of a `PUT /manage/followed` body, checked: trimmed, sorted, without duplicates.
struct Logins(Vec<String>);

impl TryFrom<FollowedUpdate> for Logins {
    type Error = ApiError;
    fn try_from(update: FollowedUpdate) -> Result<Self, ApiError> {
        let list = update.logins.ok_or_else(|| ApiError::bad_request("`logins` is missing"))?;
        if list.len() > MAX_FOLLOWED {
            return Err(ApiError::bad_request(format!("`logins` holds more than {MAX_FOLLOWED} logins")));
        }
        let mut out = Vec::with_capacity(list.len());
        for s in &list {
            let login = s.trim();
            if login.is_empty() || login.chars().count() > MAX_LOGIN || login.chars().any(char::is_control) {
                return Err(ApiError::bad_request(format!(
                    "every login must have 1 to {MAX_LOGIN} characters and no control characters, got {s:?}"
                )));
            }
            out.push(login.to_owned());
        }
        out.sort();
        out.dedup();
        Ok(Self(out))
    }
}

async fn followed_answer(state: &AppState) -> Result<Followed, ApiError> {
    let t = state.settings.eventtype;
    let (logins, accounts) = state
        .db
        .run(move |c| {
            Ok::<_, rusqlite::Error>((db::finishes::admin_followed(c)?, db::finishes::opted_in_accounts(c, t)?))
        })
        .await?;
    Ok(Followed { logins, accounts })
}

/// The players the finish feed follows besides the opted-in accounts
#[utoipa::path(get, path = "/manage/followed", tag = "admin", security(("login" = [])),
    responses(AdminOnly, Internal, (status = 200, description = "The admin's list", body = Followed)))]
async fn followed(State(state): State<AppState>, _admin: Admin) -> Result<Json<Followed>, ApiError> {
    Ok(Json(followed_answer(&state).await?))
}

/// Replaces the list of followed logins
#[utoipa::path(put, path = "/manage/followed", tag = "admin", security(("login" = [])),
    description = "The follower reads the new list after its current walk through the players; a login new to \
        it is learned on its first poll (nothing it did before is announced).",
    request_body = FollowedUpdate,
    responses(
        JsonBody,
        AdminOnly,
        Internal,
        (status = 200, description = "Stored; the list as it is now", body = Followed),
    ))]
async fn set_followed(
    State(state): State<AppState>,
    _admin: Admin,
    Body(update): Body<FollowedUpdate>,
) -> Result<Json<Followed>, ApiError> {
    let Logins(logins) = update.try_into()?;
    let now = state.clock.now();
    state.db.run(move |c| db::finishes::set_admin_followed(c, &logins, now)).await?;
    state.finishes.followed_changed();
    Ok(Json(followed_answer(&state).await?))
}
