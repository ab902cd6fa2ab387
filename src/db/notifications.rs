//! What the notifier already handled, so every (user, map, play) is notified once, across
//! restarts. A play is (server, play number, map): the identity the timetable gives it, which
//! stays the same however the projected start moves (see `live::slots`). Rows from before play
//! numbers existed (none) match by the start within `tolerance_s`.

use rusqlite::{params, Connection, TransactionBehavior};

/// Delivery state of one notification row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Claimed; the message is on its way (a crash now loses it rather than sending it twice).
    Sending,
    Sent,
    /// Gave up (the play started before Discord took the message).
    Failed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

/// One play as the notifier keys it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayKey {
    pub kacky_id: i64,
    pub server: i64,
    /// The play's number on the server.
    pub play: i64,
    /// Unix seconds, as projected when claimed.
    pub start: i64,
}

/// Claims the play for those of `users` not notified of it yet, in one write transaction, and
/// returns them: two planners can never both claim a user.
pub fn claim(
    conn: &mut Connection,
    users: &[i64],
    play: PlayKey,
    tolerance_s: i64,
    now: i64,
) -> rusqlite::Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut claimed = Vec::new();
    {
        let mut seen = tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM notifications WHERE user_id = ?1 AND server = ?3 AND play = ?6 \
             AND kacky_id = ?2) OR EXISTS (SELECT 1 FROM notifications WHERE user_id = ?1 AND kacky_id = ?2 \
             AND server = ?3 AND play_start BETWEEN ?4 - ?5 AND ?4 + ?5 AND play IS NULL)",
        )?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO notifications (user_id, kacky_id, server, play_start, play, state, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'sending', ?6)",
        )?;
        for &user in users {
            let args = params![user, play.kacky_id, play.server, play.start, tolerance_s, play.play];
            let done: bool = seen.query_row(args, |r| r.get(0))?;
            if !done {
                insert.execute(params![user, play.kacky_id, play.server, play.start, play.play, now])?;
                claimed.push(user);
            }
        }
    }
    tx.commit()?;
    Ok(claimed)
}

/// Records how the delivery of a claimed play ended for `users`.
pub fn finish(conn: &mut Connection, users: &[i64], play: PlayKey, state: State, now: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut st = tx.prepare_cached(
            "UPDATE notifications SET state = ?5, updated_at = ?6 \
             WHERE user_id = ?1 AND server = ?3 AND play = ?4 AND kacky_id = ?2",
        )?;
        for &user in users {
            st.execute(params![user, play.kacky_id, play.server, play.play, state.as_str(), now])?;
        }
    }
    tx.commit()
}

/// Forgets plays that started before `before` (unix seconds): they can never come again.
pub fn prune(conn: &Connection, before: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM notifications WHERE play_start < ?1")?.execute([before])
}

/// `(sent, failed)` counts, for `/healthz`.
pub fn counts(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.prepare_cached(
        "SELECT COALESCE(SUM(state = 'sent'), 0), COALESCE(SUM(state = 'failed'), 0) FROM notifications",
    )?
    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
}
