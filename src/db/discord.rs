//! Discord on the account: the OAuth2 link flow's one-time `state`s (stored hashed), the
//! verified link itself, and the mentions sent per Discord id (for the hourly cap on typed ids).

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// Stores a new link flow's state hash for the user, dropping expired ones on the way and the
/// user's oldest beyond the newest `open` (so no account can fill the table).
pub fn put_state(
    conn: &Connection,
    user_id: i64,
    state_hash: &str,
    now: i64,
    not_before: i64,
    open: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM discord_link_states WHERE created_at < ?1")?.execute([not_before])?;
    conn.prepare_cached("INSERT INTO discord_link_states (state_hash, user_id, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![state_hash, user_id, now])?;
    conn.prepare_cached(
        "DELETE FROM discord_link_states WHERE user_id = ?1 AND state_hash <> ?3 AND state_hash NOT IN \
         (SELECT state_hash FROM discord_link_states WHERE user_id = ?1 AND state_hash <> ?3 \
          ORDER BY created_at DESC, state_hash LIMIT ?2 - 1)",
    )?
    .execute(params![user_id, open, state_hash])?;
    Ok(())
}

/// Consumes a state created at or after `not_before`: single use, whatever happens next.
/// Returns the user who started the flow.
pub fn take_state(conn: &Connection, state_hash: &str, not_before: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("DELETE FROM discord_link_states WHERE created_at < ?1")?.execute([not_before])?;
    conn.prepare_cached("DELETE FROM discord_link_states WHERE state_hash = ?1 RETURNING user_id")?
        .query_row([state_hash], |r| r.get(0))
        .optional()
}

/// A verified Discord account on a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub id: String,
    pub name: String,
}

/// The user's verified Discord account, if linked.
pub fn link(conn: &Connection, user_id: i64) -> rusqlite::Result<Option<Link>> {
    conn.prepare_cached(
        "SELECT discord_id, COALESCE(discord_name, '') FROM user_fields WHERE user_id = ?1 AND discord_id IS NOT NULL",
    )?
    .query_row([user_id], |r| Ok(Link { id: r.get(0)?, name: r.get(1)? }))
    .optional()
}

/// Links the verified Discord account to the user. A Discord account links to one account at
/// most: another account holding it loses it (its owner just proved it is theirs). Returns the
/// id of that other account, if any.
pub fn set_link(conn: &mut Connection, user_id: i64, link: &Link) -> rusqlite::Result<Option<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let previous: Option<i64> = tx
        .prepare_cached("SELECT user_id FROM user_fields WHERE discord_id = ?1 AND user_id <> ?2")?
        .query_row(params![link.id, user_id], |r| r.get(0))
        .optional()?;
    tx.prepare_cached("UPDATE user_fields SET discord_id = NULL, discord_name = NULL WHERE discord_id = ?1")?
        .execute([&link.id])?;
    tx.prepare_cached(
        "INSERT INTO user_fields (user_id, discord_id, discord_name) VALUES (?1, ?2, ?3) \
         ON CONFLICT (user_id) DO UPDATE SET discord_id = excluded.discord_id, discord_name = excluded.discord_name",
    )?
    .execute(params![user_id, link.id, link.name])?;
    tx.commit()?;
    Ok(previous)
}

/// Removes the user's link; whether there was one.
pub fn unlink(conn: &Connection, user_id: i64) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE user_fields SET discord_id = NULL, discord_name = NULL WHERE user_id = ?1 AND discord_id IS NOT NULL",
        )?
        .execute([user_id])?;
    Ok(n > 0)
}

/// Of `ids`, those mentioned fewer than `cap` times since `since` (unix seconds), each taken
/// once more at `now`, in one write transaction: what a message may ping. Older rows are
/// pruned on the way.
pub fn take_mentions(
    conn: &mut Connection,
    ids: &[String],
    cap: i64,
    since: i64,
    now: i64,
) -> rusqlite::Result<Vec<String>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached("DELETE FROM discord_mentions WHERE at < ?1")?.execute([since])?;
    let mut allowed = Vec::new();
    {
        let mut count =
            tx.prepare_cached("SELECT COUNT(*) FROM discord_mentions WHERE discord_id = ?1 AND at >= ?2")?;
        let mut add = tx.prepare_cached("INSERT INTO discord_mentions (discord_id, at) VALUES (?1, ?2)")?;
        for id in ids {
            let n: i64 = count.query_row(params![id, since], |r| r.get(0))?;
            if n < cap {
                add.execute(params![id, now])?;
                allowed.push(id.clone());
            }
        }
    }
    tx.commit()?;
    Ok(allowed)
}
