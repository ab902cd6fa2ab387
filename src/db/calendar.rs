//! Calendar feeds: one secret feed per user, found by the hash of its token.

use rusqlite::{params, Connection, OptionalExtension};

/// Stores the user's feed token hash, replacing an earlier one (whose URL stops working).
pub fn put_feed(conn: &Connection, user_id: i64, token_hash: &str, now: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
    )?
    .execute(params![user_id, token_hash, now])?;
    Ok(())
}

/// Revokes the user's feed; `false` if there was none.
pub fn delete_feed(conn: &Connection, user_id: i64) -> rusqlite::Result<bool> {
    Ok(conn.prepare_cached("DELETE FROM calendar_feeds WHERE user_id = ?1")?.execute([user_id])? > 0)
}

/// The user whose feed has this token hash (unique index).
pub fn feed_owner(conn: &Connection, token_hash: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT user_id FROM calendar_feeds WHERE token_hash = ?1")?
        .query_row([token_hash], |r| r.get(0))
        .optional()
}
