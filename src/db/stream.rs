//! The streamer message and its target (one row), kept across restarts.

use rusqlite::{params, Connection, OptionalExtension};

fn get(conn: &Connection) -> rusqlite::Result<(String, String)> {
    conn.prepare_cached("SELECT target, message FROM stream_message WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map(Option::unwrap_or_default)
}

/// The message when the target names the account `user_id` (looked up as a login looks up a
/// typed name, so of two accounts whose names now mean the same, only the one that logs in with
/// the target sees it), else `""`.
pub fn message_for(conn: &Connection, user_id: i64) -> rusqlite::Result<String> {
    let (target, message) = get(conn)?;
    let mine = !target.is_empty() && super::users::by_name(conn, &target)?.is_some_and(|a| a.id == user_id);
    Ok(if mine { message } else { String::new() })
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
