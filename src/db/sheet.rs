//! Writes to a user's personal sheet: difficulty, clip, Discord alarm.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::domain::{Difficulty, Edition, EventType, KackyId};

/// One `POST /spreadsheet/<type>` change; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct SheetChange {
    pub diff: Option<Difficulty>,
    pub clip: Option<String>,
    /// `Some(Some(on))` sets the alarm, `Some(None)` toggles it.
    pub alarm: Option<Option<bool>>,
}

/// What [`update`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetOutcome {
    Done,
    /// No map of that type has the kacky id: nothing stored.
    NoSuchMap,
    /// An alarm for a map outside the current event: nothing stored.
    NotCurrentEvent,
}

/// Applies a whole change to the current version of the map `t` + `kacky_id` in one
/// transaction (taken for writing at once, so a toggle reads and writes atomically), or
/// nothing.
pub fn update(
    conn: &mut Connection,
    user: i64,
    t: EventType,
    kacky_id: KackyId,
    change: &SheetChange,
    current: (EventType, Edition),
) -> rusqlite::Result<SheetOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some((map, edition)) = resolve_map(&tx, t, kacky_id.get())? else { return Ok(SheetOutcome::NoSuchMap) };
    if change.alarm.is_some() && (t, edition) != (current.0, current.1.get()) {
        return Ok(SheetOutcome::NotCurrentEvent);
    }
    if let Some(d) = change.diff {
        set_diff(&tx, user, map, d.get())?;
    }
    if let Some(clip) = &change.clip {
        set_clip(&tx, user, map, clip)?;
    }
    if let Some(on) = change.alarm {
        set_alarm(&tx, user, map, on)?;
    }
    tx.commit()?;
    Ok(SheetOutcome::Done)
}

/// The current version of a map: (map id, edition).
fn resolve_map(conn: &Connection, t: EventType, kacky_id: i64) -> rusqlite::Result<Option<(i64, i64)>> {
    conn.prepare_cached(
        "SELECT m.id, e.edition FROM maps m JOIN events e ON e.id = m.event_id \
         WHERE e.type = ?1 AND m.kacky_id_int = ?2 ORDER BY m.id DESC LIMIT 1",
    )?
    .query_row(params![t.as_upper(), kacky_id], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()
}

fn set_diff(conn: &Connection, user: i64, map: i64, diff: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO spreadsheet (user_id, map_id, map_diff) VALUES (?1, ?2, ?3) ON CONFLICT (user_id, map_id) DO UPDATE SET map_diff = excluded.map_diff")?
        .execute(params![user, map, diff])?;
    Ok(())
}

fn set_clip(conn: &Connection, user: i64, map: i64, clip: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO spreadsheet (user_id, map_id, clip) VALUES (?1, ?2, ?3) ON CONFLICT (user_id, map_id) DO UPDATE SET clip = excluded.clip")?
        .execute(params![user, map, clip])?;
    Ok(())
}

/// Sets the alarm to `on`, or toggles it when `on` is `None`. Each form is atomic: a set is
/// one statement, a toggle runs inside the caller's transaction.
fn set_alarm(conn: &Connection, user: i64, map: i64, on: Option<bool>) -> rusqlite::Result<()> {
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
