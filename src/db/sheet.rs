//! Writes to a user's personal sheet: difficulty, clip, Discord alarm.

use rusqlite::{params, Connection, OptionalExtension};

use crate::domain::EventType;

/// The current version of a map: (map id, edition).
pub fn resolve_map(conn: &Connection, t: EventType, kacky_id: i64) -> rusqlite::Result<Option<(i64, i64)>> {
    conn.prepare_cached(
        "SELECT m.id, e.edition FROM maps m JOIN events e ON e.id = m.event_id \
         WHERE e.type = ?1 AND m.kacky_id_int = ?2 ORDER BY m.id DESC LIMIT 1",
    )?
    .query_row(params![t.as_upper(), kacky_id], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
}

pub fn set_diff(conn: &Connection, user: i64, map: i64, diff: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO spreadsheet (user_id, map_id, map_diff) VALUES (?1, ?2, ?3) ON CONFLICT (user_id, map_id) DO UPDATE SET map_diff = excluded.map_diff")?
        .execute(params![user, map, diff])?;
    Ok(())
}

pub fn set_clip(conn: &Connection, user: i64, map: i64, clip: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO spreadsheet (user_id, map_id, clip) VALUES (?1, ?2, ?3) ON CONFLICT (user_id, map_id) DO UPDATE SET clip = excluded.clip")?
        .execute(params![user, map, clip])?;
    Ok(())
}

/// Sets the alarm to `on`, or toggles it when `on` is `None`. Each form is atomic: a set is
/// one statement, a toggle runs inside the caller's transaction.
pub fn set_alarm(conn: &Connection, user: i64, map: i64, on: Option<bool>) -> rusqlite::Result<()> {
    let on = match on {
        Some(v) => v,
        None => !conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM alarms WHERE user_id = ?1 AND map_id = ?2)")?
            .query_row(params![user, map], |r| r.get::<_, bool>(0))?,
    };
    let sql = if on {
        "INSERT OR IGNORE INTO alarms (user_id, map_id) VALUES (?1, ?2)"
    } else {
        "DELETE FROM alarms WHERE user_id = ?1 AND map_id = ?2"
    };
    conn.prepare_cached(sql)?.execute(params![user, map])?;
    Ok(())
}
