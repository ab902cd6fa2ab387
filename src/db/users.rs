//! Accounts, their profile fields, reset tokens and revoked token ids.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

pub use crate::domain::username_key;
use crate::domain::{legacy_username_key, lookalike_key, UserName, LEGACY_KEY_PREFIX};

mod rekey;

pub use rekey::{rekey, Rekeyed, KEY_RULE_META, LOOKALIKE_RULE_META};

/// A user as the auth layer needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub is_admin: bool,
    pub token_version: i64,
}

const ACCOUNT: &str = "SELECT id, username, password, is_admin, token_version FROM users";

fn account(r: &rusqlite::Row) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        username: r.get(1)?,
        password: r.get(2)?,
        is_admin: r.get(3)?,
        token_version: r.get(4)?,
    })
}

/// The two keys a typed name is looked up by, in this order: the key of an account that kept
/// its old key when the keys were recomputed (`OLD:` + the old rule's key, see
/// [`rekey`]), then the current key. `WHERE username_key IN (?1, ?2)` with these binds finds
/// at most two rows; [`PREFER_LEGACY`] picks the first.
fn lookup_keys(name: &str) -> [String; 2] {
    [format!("{LEGACY_KEY_PREFIX}{}", legacy_username_key(name)), username_key(name)]
}

/// Orders the rows of a look-up by [`lookup_keys`]: an exact match under the old rule wins.
const PREFER_LEGACY: &str = "ORDER BY username_key = ?1 DESC LIMIT 1";

/// The account a typed name means (login, `admin promote`): see `lookup_keys`.
pub fn by_name(conn: &Connection, name: &str) -> rusqlite::Result<Option<Account>> {
    let [legacy, key] = lookup_keys(name);
    conn.prepare_cached(&format!("{ACCOUNT} WHERE username_key IN (?1, ?2) {PREFER_LEGACY}"))?
        .query_row([legacy, key], account)
        .optional()
}

pub fn by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<Account>> {
    conn.prepare_cached(&format!("{ACCOUNT} WHERE id = ?1"))?.query_row([id], account).optional()
}

/// Creates the account and its empty profile; `None` if the name is taken: its key is in use,
/// or it looks like an existing name (same [`lookalike_key`], read through its index). The
/// check runs inside the immediate transaction of the insert, so two look-alike registrations
/// cannot both pass it.
pub fn create(
    conn: &mut Connection,
    name: &UserName,
    password: &str,
    mail_hash: &str,
    is_admin: bool,
) -> rusqlite::Result<Option<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let lookalike = name.lookalike_key();
    if looks_taken(&tx, &lookalike)? {
        return Ok(None);
    }
    let inserted = tx
        .prepare_cached("INSERT INTO users (username, username_key, password, mail, is_admin, lookalike_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (username_key) DO NOTHING")?
        .execute(params![name.as_str(), name.key(), password, mail_hash, is_admin, lookalike])?;
    if inserted == 0 {
        return Ok(None);
    }
    let id = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO user_fields (user_id) VALUES (?1)")?.execute([id])?;
    tx.commit()?;
    Ok(Some(id))
}

/// Whether an account's name has this look-alike key: one look-up in the index, plus the
/// names of accounts whose key is not computed yet (none after the start-up [`rekey`]; an
/// import run beside the server could leave some until the next start).
fn looks_taken(conn: &Connection, lookalike: &str) -> rusqlite::Result<bool> {
    let indexed: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE lookalike_key = ?1)")?
        .query_row([lookalike], |r| r.get(0))?;
    if indexed {
        return Ok(true);
    }
    let mut st = conn.prepare_cached("SELECT username FROM users WHERE lookalike_key IS NULL")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        if lookalike_key(r.get_ref(0)?.as_str()?) == lookalike {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Stores a new password hash; with `revoke` every earlier token of the user stops working.
pub fn set_password(conn: &Connection, id: i64, hash: &str, revoke: bool) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE users SET password = ?2, token_version = token_version + ?3 WHERE id = ?1")?
        .execute(params![id, hash, revoke as i64])?;
    Ok(())
}

pub fn set_mail(conn: &Connection, id: i64, mail_hash: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE users SET mail = ?2 WHERE id = ?1")?.execute(params![id, mail_hash])?;
    Ok(())
}

pub fn set_admin(conn: &Connection, name: &str, admin: bool) -> rusqlite::Result<bool> {
    let [legacy, key] = lookup_keys(name);
    let n = conn
        .prepare_cached(&format!(
            "UPDATE users SET is_admin = ?3 WHERE id = (SELECT id FROM users WHERE username_key IN (?1, ?2) {PREFER_LEGACY})"
        ))?
        .execute(params![legacy, key, admin])?;
    Ok(n > 0)
}

/// Deletes the account; profile, sheet, alarms and reset tokens go with it (cascade).
pub fn delete(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM users WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Profile fields (discord, tm20, tmnf, the finish-feed opt-in).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    pub discord: String,
    pub tm20: String,
    pub tmnf: String,
    pub finish_feed: bool,
}

pub fn fields(conn: &Connection, id: i64) -> rusqlite::Result<Fields> {
    conn.prepare_cached(
        "SELECT discord_handle, tm20_login, tmnf_login, finish_feed FROM user_fields WHERE user_id = ?1",
    )?
    .query_row([id], |r| Ok(Fields { discord: r.get(0)?, tm20: r.get(1)?, tmnf: r.get(2)?, finish_feed: r.get(3)? }))
    .optional()
    .map(Option::unwrap_or_default)
}

/// A profile change from `/usermgnt`: `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub tmnf: Option<String>,
    pub tm20: Option<String>,
    pub discord: Option<String>,
    /// Follow the account's game login in the finish feed.
    pub finish_feed: Option<bool>,
    /// A new argon2id hash; setting it revokes every earlier token.
    pub password_hash: Option<String>,
    pub mail_hash: Option<String>,
}

/// Applies a whole profile change in one transaction, so a failure stores none of it.
pub fn update_profile(conn: &mut Connection, id: i64, u: &ProfileUpdate) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for (column, value) in [("tmnf_login", &u.tmnf), ("tm20_login", &u.tm20), ("discord_handle", &u.discord)] {
        if let Some(v) = value {
            set_field(&tx, id, column, v)?;
        }
    }
    if let Some(on) = u.finish_feed {
        tx.prepare_cached(
            "INSERT INTO user_fields (user_id, finish_feed) VALUES (?1, ?2) \
             ON CONFLICT (user_id) DO UPDATE SET finish_feed = excluded.finish_feed",
        )?
        .execute(params![id, on])?;
    }
    if let Some(h) = &u.password_hash {
        set_password(&tx, id, h, true)?;
    }
    if let Some(m) = &u.mail_hash {
        set_mail(&tx, id, m)?;
    }
    tx.commit()
}

/// Sets one profile field; `column` is one of the three fixed names.
fn set_field(conn: &Connection, id: i64, column: &'static str, value: &str) -> rusqlite::Result<()> {
    debug_assert!(["discord_handle", "tm20_login", "tmnf_login"].contains(&column));
    let sql = format!("INSERT INTO user_fields (user_id, {column}) VALUES (?1, ?2) ON CONFLICT (user_id) DO UPDATE SET {column} = excluded.{column}");
    conn.prepare_cached(&sql)?.execute(params![id, value])?;
    Ok(())
}

/// The account matching a name and a mail hash, for password reset.
pub fn for_reset(conn: &Connection, name: &str, mail_hash: &str) -> rusqlite::Result<Option<Account>> {
    let [legacy, key] = lookup_keys(name);
    conn.prepare_cached(&format!("{ACCOUNT} WHERE username_key IN (?1, ?2) AND mail = ?3 {PREFER_LEGACY}"))?
        .query_row(params![legacy, key, mail_hash], account)
        .optional()
}

/// Stores the user's one live reset token (hashed), replacing an older one.
pub fn put_reset_token(conn: &Connection, user_id: i64, token_hash: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO reset_tokens (user_id, token_hash, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at")?
        .execute(params![user_id, token_hash, now])?;
    Ok(())
}

pub fn drop_reset_token(conn: &Connection, user_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM reset_tokens WHERE user_id = ?1")?.execute([user_id])?;
    Ok(())
}

/// Consumes a reset token created at or after `not_before`: single use. Expired ones are
/// deleted on the way.
pub fn take_reset_token(conn: &Connection, token_hash: &str, not_before: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("DELETE FROM reset_tokens WHERE created_at < ?1")?.execute([not_before])?;
    conn.prepare_cached("DELETE FROM reset_tokens WHERE token_hash = ?1 RETURNING user_id")?
        .query_row([token_hash], |r| r.get(0))
        .optional()
}

/// Revokes a token id until its expiry, pruning entries whose tokens expired anyway.
pub fn revoke(conn: &Connection, jti: &str, now: i64, expires_at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM revoked_tokens WHERE expires_at < ?1")?.execute([now])?;
    conn.prepare_cached("INSERT OR IGNORE INTO revoked_tokens (jti, revoked_at, expires_at) VALUES (?1, ?2, ?3)")?
        .execute(params![jti, now, expires_at])?;
    Ok(())
}

pub fn is_revoked(conn: &Connection, jti: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?1)")?.query_row([jti], |r| r.get(0))
}

/// What the auth extractor needs for one request, in one pooled round trip: whether the token
/// id is revoked, and the account the token names.
pub fn token_state(conn: &Connection, jti: &str, user_id: i64) -> rusqlite::Result<(bool, Option<Account>)> {
    Ok((is_revoked(conn, jti)?, by_id(conn, user_id)?))
}
