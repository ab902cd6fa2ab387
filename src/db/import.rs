//! Statements only the MariaDB import (`crate::import`) runs: its temporary work tables, the
//! world-record and alarm bookkeeping built on them, and the account-side upserts by id (the
//! running site never chooses ids). The history tables are written through [`super::history`].
//! The decisions (which row wins, the password merge rule, what the summary counts) stay in
//! the importer; these functions only read and write.

use rusqlite::{params, Connection, OptionalExtension};

use super::maps::SheetCols;
use super::users::Fields;

/// Creates the work tables of one import, in the connection's `temp` schema so they vanish
/// with it even if the import fails: `import_wr` lists the world records written from the
/// dump (to tell a duplicate within the dump from a record already in the database) and
/// `import_alarms` parks alarm ids until every map is known.
pub fn create_work_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE import_wr (id INTEGER PRIMARY KEY);
         CREATE TEMP TABLE import_alarms (user_id INTEGER, kacky_id_int INTEGER,
           PRIMARY KEY (user_id, kacky_id_int)) WITHOUT ROWID;",
    )
}

/// Drops the work tables once the import is done with them.
pub fn drop_work_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("DROP TABLE temp.import_wr; DROP TABLE temp.import_alarms;")
}

/// The world record a map has under another id than the one being imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherWr {
    pub id: i64,
    /// Written earlier by this import (a duplicate within the dump), not already there before.
    pub from_dump: bool,
}

/// The record `map_id` already has under an id other than `id`, if any: SQLite keeps one
/// record per map, so the importer must decide which of the two stays.
pub fn other_wr_on_map(conn: &Connection, map_id: i64, id: i64) -> rusqlite::Result<Option<OtherWr>> {
    conn.prepare_cached(
        "SELECT w.id, EXISTS (SELECT 1 FROM temp.import_wr i WHERE i.id = w.id)
         FROM worldrecords w WHERE w.map_id = ?1 AND w.id <> ?2",
    )?
    .query_row(params![map_id, id], |r| Ok(OtherWr { id: r.get(0)?, from_dump: r.get(1)? }))
    .optional()
}

/// Notes that world record `id` came from the dump (see [`other_wr_on_map`]).
pub fn mark_wr_imported(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO temp.import_wr (id) VALUES (?1)")?.execute([id])?;
    Ok(())
}

/// Parks one alarm (a user and a kacky id) until [`resolve_alarms`]; repeats collapse.
pub fn park_alarm(conn: &Connection, user_id: i64, kacky_id_int: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO temp.import_alarms (user_id, kacky_id_int) VALUES (?1, ?2)")?
        .execute([user_id, kacky_id_int])?;
    Ok(())
}

/// The alarm rule: the old alarms carry no event, so a kacky id means the map with that
/// `kacky_id_int` in the most recent event (highest `events.id`) that has one. Parked alarms
/// become `alarms` rows (existing ones are kept); ids matching no map are dropped. Returns
/// (alarms resolved, entries without a map).
pub fn resolve_alarms(conn: &Connection) -> rusqlite::Result<(u64, u64)> {
    conn.execute_batch(
        "CREATE TEMP TABLE import_alarm_maps AS
         SELECT a.user_id, (SELECT m.id FROM maps m WHERE m.kacky_id_int = a.kacky_id_int
                            ORDER BY m.event_id DESC, m.id DESC LIMIT 1) AS map_id
         FROM temp.import_alarms a;
         INSERT OR IGNORE INTO alarms (user_id, map_id)
         SELECT user_id, map_id FROM temp.import_alarm_maps WHERE map_id IS NOT NULL;",
    )?;
    let (found, missing): (i64, i64) =
        conn.query_row("SELECT COUNT(map_id), COUNT(*) - COUNT(map_id) FROM temp.import_alarm_maps", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    conn.execute_batch("DROP TABLE temp.import_alarm_maps")?;
    Ok((found.unsigned_abs(), missing.unsigned_abs()))
}

/// What the database holds for a user id, for the importer's merge decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub username_key: String,
    /// The stored hash: legacy `sha256$…` or argon2id.
    pub password: String,
}

pub fn stored_user(conn: &Connection, id: i64) -> rusqlite::Result<Option<StoredUser>> {
    conn.prepare_cached("SELECT username_key, password FROM users WHERE id = ?1")?
        .query_row([id], |r| Ok(StoredUser { username_key: r.get(0)?, password: r.get(1)? }))
        .optional()
}

/// The id of another account (not `id`) using the name key `key`: the importer names it
/// instead of failing on a bare UNIQUE error.
pub fn name_owner_other_than(conn: &Connection, key: &str, id: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM users WHERE username_key = ?1 AND id <> ?2")?
        .query_row(params![key, id], |r| r.get(0))
        .optional()
}

/// An account as the import writes it: the id is the old system's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedUser {
    pub id: i64,
    pub username: String,
    pub username_key: String,
    /// The hash chosen by the merge rule.
    pub password: String,
    /// sha256 hex of the address.
    pub mail: String,
    /// 0 or 1.
    pub is_admin: i64,
}

/// Inserts or overwrites the account with this id. A changed password bumps the token
/// version, so tokens issued before the import stop working.
pub fn upsert_user(conn: &Connection, u: &ImportedUser) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO users (id, username, username_key, password, mail, is_admin, token_version, lookalike_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)
         ON CONFLICT (id) DO UPDATE SET username = excluded.username,
           username_key = excluded.username_key, lookalike_key = excluded.lookalike_key, mail = excluded.mail,
           is_admin = excluded.is_admin, password = excluded.password,
           token_version = token_version + (password <> excluded.password)",
    )?
    .execute(params![
        u.id,
        u.username,
        u.username_key,
        u.password,
        u.mail,
        u.is_admin,
        crate::domain::lookalike_key(&u.username)
    ])?;
    Ok(())
}

/// Inserts or overwrites the profile fields of `user_id`.
pub fn upsert_user_fields(conn: &Connection, user_id: i64, f: &Fields) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO user_fields (user_id, discord_handle, tm20_login, tmnf_login)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id) DO UPDATE SET discord_handle = excluded.discord_handle,
           tm20_login = excluded.tm20_login, tmnf_login = excluded.tmnf_login",
    )?
    .execute(params![user_id, f.discord, f.tm20, f.tmnf])?;
    Ok(())
}

/// Inserts or overwrites a user's spreadsheet row for one map.
pub fn upsert_sheet_row(conn: &Connection, user_id: i64, map_id: i64, s: &SheetCols) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO spreadsheet (user_id, map_id, map_diff, map_pb, map_rank, clip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id, map_id) DO UPDATE SET map_diff = excluded.map_diff,
           map_pb = excluded.map_pb, map_rank = excluded.map_rank, clip = excluded.clip",
    )?
    .execute(params![user_id, map_id, s.map_diff, s.map_pb, s.map_rank, s.clip])?;
    Ok(())
}

/// Records a revoked token id; one revoked already keeps its dates.
pub fn insert_revoked_token(conn: &Connection, jti: &str, revoked_at: i64, expires_at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO revoked_tokens (jti, revoked_at, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (jti) DO NOTHING",
    )?
    .execute(params![jti, revoked_at, expires_at])?;
    Ok(())
}
