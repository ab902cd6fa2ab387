//! The finish feed's storage: happenings (`finish_events`), what the follower knows of each
//! followed player (`finish_state`, `finish_players`), the logins an admin follows, and the
//! Discord delivery claims of the finish webhook.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::domain::{Edition, EventType, FinishItem, FinishKind, Game};

/// A happening before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: FinishKind,
    pub login: String,
    pub kacky_id: Option<i64>,
    pub score: Option<i64>,
    pub rank: Option<i64>,
    pub previous_score: Option<i64>,
    pub count: Option<i64>,
}

/// A personal best as the follower keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pb {
    pub score: i64,
    pub rank: Option<i64>,
}

const ITEM: &str = "SELECT id, kind, login, kacky_id, score, rank, previous_score, count, at FROM finish_events";

fn item(r: &Row) -> rusqlite::Result<FinishItem> {
    let kind: String = r.get(1)?;
    let at: i64 = r.get(8)?;
    Ok(FinishItem {
        id: r.get(0)?,
        kind: FinishKind::parse(&kind).unwrap_or(FinishKind::Finish),
        login: r.get(2)?,
        kacky_id: r.get(3)?,
        score: r.get(4)?,
        rank: r.get(5)?,
        previous_score: r.get(6)?,
        count: r.get(7)?,
        at: unix(at),
    })
}

fn unix(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(s, 0).single().unwrap_or_default()
}

/// Stores a happening of the event `t` + `edition` noticed at `at`; `None` when it was stored
/// before (a map is first finished, and a milestone reached, once per player and event). With
/// `to_discord` it waits for the finish webhook (`pending`).
pub fn insert(
    conn: &Connection,
    (t, edition): (EventType, Edition),
    e: &NewEvent,
    at: DateTime<Utc>,
    to_discord: bool,
) -> rusqlite::Result<Option<FinishItem>> {
    let id: Option<i64> = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO finish_events \
             (event_type, edition, kind, login, kacky_id, score, rank, previous_score, count, at, discord) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
        )?
        .query_row(
            params![
                t.as_upper(),
                edition.get(),
                e.kind.as_str(),
                e.login,
                e.kacky_id,
                e.score,
                e.rank,
                e.previous_score,
                e.count,
                at.timestamp(),
                if to_discord { "pending" } else { "off" }
            ],
            |r| r.get(0),
        )
        .optional()?;
    Ok(id.map(|id| FinishItem {
        id,
        kind: e.kind,
        login: e.login.clone(),
        kacky_id: e.kacky_id,
        score: e.score,
        rank: e.rank,
        previous_score: e.previous_score,
        count: e.count,
        at: unix(at.timestamp()),
    }))
}

/// What `GET /finishes` asks for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only ids above this.
    pub since: i64,
    /// Only this login (case-insensitive).
    pub login: Option<String>,
    pub kind: Option<FinishKind>,
    pub limit: i64,
}

/// The event's happenings after `q.since`, oldest first, at most `q.limit`. Each filter has
/// an index that leads (a login's or a kind's few rows among many).
pub fn list(conn: &Connection, (t, edition): (EventType, Edition), q: &Query) -> rusqlite::Result<Vec<FinishItem>> {
    let sql = if q.login.is_some() {
        format!(
            "{ITEM} INDEXED BY finish_events_login WHERE login = ?4 COLLATE NOCASE AND id > ?3 \
             AND event_type = ?1 AND edition = ?2 AND (?5 IS NULL OR kind = ?5) ORDER BY id LIMIT ?6"
        )
    } else if q.kind.is_some() {
        format!(
            "{ITEM} INDEXED BY finish_events_kind WHERE event_type = ?1 AND edition = ?2 AND kind = ?5 \
             AND id > ?3 AND ?4 IS NULL ORDER BY id LIMIT ?6"
        )
    } else {
        format!(
            "{ITEM} INDEXED BY finish_events_event WHERE event_type = ?1 AND edition = ?2 AND id > ?3 \
             AND ?4 IS NULL AND (?5 IS NULL OR kind = ?5) ORDER BY id LIMIT ?6"
        )
    };
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(
        params![t.as_upper(), edition.get(), q.since, q.login, q.kind.map(FinishKind::as_str), q.limit],
        item,
    )?;
    rows.collect()
}

/// The personal bests known for `login` in the event, or `None` when the player was never
/// polled (their first poll only learns).
pub fn known(
    conn: &Connection,
    (t, edition): (EventType, Edition),
    login: &str,
) -> rusqlite::Result<Option<BTreeMap<i64, Pb>>> {
    let learned: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM finish_players WHERE event_type = ?1 AND edition = ?2 AND login = ?3)",
        )?
        .query_row(params![t.as_upper(), edition.get(), login], |r| r.get(0))?;
    if !learned {
        return Ok(None);
    }
    let mut st = conn.prepare_cached(
        "SELECT kacky_id, score, rank FROM finish_state WHERE event_type = ?1 AND edition = ?2 AND login = ?3",
    )?;
    let rows = st.query_map(params![t.as_upper(), edition.get(), login], |r| {
        Ok((r.get(0)?, Pb { score: r.get(1)?, rank: r.get(2)? }))
    })?;
    rows.collect::<rusqlite::Result<BTreeMap<_, _>>>().map(Some)
}

/// Stores what is known of `login` now (these maps' bests) and marks the player learned.
pub fn learn(
    conn: &Connection,
    (t, edition): (EventType, Edition),
    login: &str,
    pbs: &[(i64, Pb)],
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO finish_state (event_type, edition, login, kacky_id, score, rank) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT DO UPDATE SET score = excluded.score, rank = excluded.rank",
    )?;
    for (id, pb) in pbs {
        st.execute(params![t.as_upper(), edition.get(), login, id, pb.score, pb.rank])?;
    }
    conn.prepare_cached(
        "INSERT OR IGNORE INTO finish_players (event_type, edition, login, learned_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![t.as_upper(), edition.get(), login, now.timestamp()])?;
    Ok(())
}

/// The game-login column of the profile for an event type's game.
fn login_column(t: EventType) -> &'static str {
    match t.game() {
        Game::Tmnf => "tmnf_login",
        Game::Tm2020 => "tm20_login",
    }
}

/// The players the follower polls for an event type: every login an admin follows and the
/// game login of every account that opted in, trimmed, without duplicates, sorted.
pub fn followed(conn: &Connection, t: EventType) -> rusqlite::Result<Vec<String>> {
    let column = login_column(t);
    let sql = format!(
        "SELECT login FROM followed_logins UNION \
         SELECT TRIM({column}) FROM user_fields WHERE finish_feed = 1 AND TRIM({column}) <> '' ORDER BY 1"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// How many accounts opted in with a login for the event type's game.
pub fn opted_in_accounts(conn: &Connection, t: EventType) -> rusqlite::Result<i64> {
    let column = login_column(t);
    let sql = format!("SELECT COUNT(*) FROM user_fields WHERE finish_feed = 1 AND TRIM({column}) <> ''");
    conn.prepare_cached(&sql)?.query_row([], |r| r.get(0))
}

/// The logins an admin follows, sorted.
pub fn admin_followed(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT login FROM followed_logins ORDER BY login")?;
    let rows = st.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Replaces the admin's list (kept logins keep their `added_at`).
pub fn set_admin_followed(conn: &mut Connection, logins: &[String], now: DateTime<Utc>) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute("CREATE TEMP TABLE IF NOT EXISTS followed_new (login TEXT PRIMARY KEY)", [])?;
    tx.execute("DELETE FROM temp.followed_new", [])?;
    {
        let mut put = tx.prepare_cached("INSERT OR IGNORE INTO temp.followed_new (login) VALUES (?1)")?;
        for l in logins {
            put.execute([l])?;
        }
    }
    tx.execute("DELETE FROM followed_logins WHERE login NOT IN (SELECT login FROM temp.followed_new)", [])?;
    tx.execute(
        "INSERT OR IGNORE INTO followed_logins (login, added_at) SELECT login, ?1 FROM temp.followed_new",
        [now.timestamp()],
    )?;
    tx.execute("DELETE FROM temp.followed_new", [])?;
    tx.commit()
}

/// An account that follows a login, as the finish messages mention it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follower {
    pub login: String,
    pub user_id: i64,
    pub username: String,
    /// The typed `discord` profile field.
    pub discord: String,
    /// The Discord id verified through OAuth2.
    pub discord_id: Option<String>,
}

/// The opted-in accounts whose game login for `t` is one of `logins` (exact, trimmed).
pub fn followers(conn: &Connection, t: EventType, logins: &[String]) -> rusqlite::Result<Vec<Follower>> {
    let column = login_column(t);
    let sql = format!(
        "SELECT TRIM(f.{column}), u.id, u.username, f.discord_handle, f.discord_id \
         FROM user_fields f JOIN users u ON u.id = f.user_id \
         WHERE f.finish_feed = 1 AND TRIM(f.{column}) = ?1 ORDER BY u.id"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let mut out = Vec::new();
    for login in logins {
        let rows = st.query_map([login], |r| {
            Ok(Follower {
                login: r.get(0)?,
                user_id: r.get(1)?,
                username: r.get(2)?,
                discord: r.get(3)?,
                discord_id: r.get(4)?,
            })
        })?;
        for f in rows {
            out.push(f?);
        }
    }
    Ok(out)
}

/// Claims up to `limit` happenings waiting for the finish webhook (oldest first) in one write
/// transaction: two posters can never both claim one, and a crash after the claim loses the
/// message rather than sending it twice.
pub fn claim_pending(conn: &mut Connection, limit: i64, now: DateTime<Utc>) -> rusqlite::Result<Vec<FinishItem>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let items = {
        let mut st = tx.prepare_cached(&format!("{ITEM} WHERE discord = 'pending' ORDER BY id LIMIT ?1"))?;
        let rows = st.query_map([limit], item)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    {
        let mut st =
            tx.prepare_cached("UPDATE finish_events SET discord = 'sending', discord_at = ?2 WHERE id = ?1")?;
        for i in &items {
            st.execute(params![i.id, now.timestamp()])?;
        }
    }
    tx.commit()?;
    Ok(items)
}

/// How the delivery of claimed happenings ended.
pub fn delivered(conn: &mut Connection, ids: &[i64], sent: bool, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut st = tx.prepare_cached("UPDATE finish_events SET discord = ?2, discord_at = ?3 WHERE id = ?1")?;
        for id in ids {
            st.execute(params![id, if sent { "sent" } else { "failed" }, now.timestamp()])?;
        }
    }
    tx.commit()
}

/// Happenings waiting for the finish webhook, for `/healthz` (the partial index counts them).
pub fn pending(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM finish_events INDEXED BY finish_events_pending WHERE discord = 'pending'",
    )?
    .query_row([], |r| r.get(0))
}

/// How long happenings are kept after their event's end (and after they happened).
pub const RETENTION_DAYS: i64 = 7;

/// Forgets what is past keeping: happenings and follower state of other events once they are
/// [`RETENTION_DAYS`] old, and of the current event once its window ended that long ago.
/// Returns the number of happenings deleted.
pub fn prune(
    conn: &mut Connection,
    (t, edition): (EventType, Edition),
    window_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    let cutoff = (now - chrono::Duration::days(RETENTION_DAYS)).timestamp();
    let current_over = window_end.is_some_and(|end| now > end + chrono::Duration::days(RETENTION_DAYS));
    let tx = conn.transaction()?;
    // `?3 = 0`: the current event is still kept.
    let other = "NOT (event_type = ?1 AND edition = ?2 AND ?3 = 0)";
    let n = tx.execute(
        &format!("DELETE FROM finish_events WHERE at < ?4 AND {other}"),
        params![t.as_upper(), edition.get(), current_over, cutoff],
    )?;
    for table in ["finish_state", "finish_players"] {
        tx.execute(&format!("DELETE FROM {table} WHERE {other}"), params![t.as_upper(), edition.get(), current_over])?;
    }
    tx.commit()?;
    Ok(n)
}
