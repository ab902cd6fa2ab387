//! The streamer message and its target (one row), kept across restarts.

use rusqlite::{params, Connection, OptionalExtension};

pub fn get(conn: &Connection) -> rusqlite::Result<(String, String)> {
    conn.prepare_cached("SELECT target, message FROM stream_message WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map(Option::unwrap_or_default)
}

pub fn set_message(conn: &Connection, message: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO stream_message (id, message) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET message = excluded.message")?
        .execute(params![message])?;
    Ok(())
}

pub fn set_target(conn: &Connection, target: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO stream_message (id, target) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET target = excluded.target")?
        .execute(params![target])?;
    Ok(())
}
