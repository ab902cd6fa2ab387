//! Alarms (a player wants to be told when a map comes up), read for the schedule pages, the
//! calendar feed and the notifier. Writes are in [`super::sheet`].

use rusqlite::{params, Connection};

use crate::domain::{Edition, EventType};

/// Kacky ids the user set an alarm on in the event `t` + `edition`, ascending.
pub fn alarmed_ids(conn: &Connection, user_id: i64, t: EventType, edition: Edition) -> rusqlite::Result<Vec<i64>> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT m.kacky_id_int FROM alarms a JOIN maps m ON m.id = a.map_id \
         JOIN events e ON e.id = m.event_id \
         WHERE a.user_id = ?1 AND e.type = ?2 AND e.edition = ?3 ORDER BY m.kacky_id_int",
    )?;
    let rows = st.query_map(params![user_id, t.as_upper(), edition.get()], |r| r.get(0))?;
    rows.collect()
}

/// A player with an alarm on a map, as the notifier and the bot API need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarmed {
    pub kacky_id: i64,
    pub user_id: i64,
    pub username: String,
    /// The profile's `discord` field as stored (a Discord user id, or anything else).
    pub discord: String,
    /// The Discord id verified through the account link, if any.
    pub discord_id: Option<String>,
}

/// Every alarm on a map of the event `t` + `edition`, by kacky id then user id.
pub fn alarmed_users(conn: &Connection, t: EventType, edition: Edition) -> rusqlite::Result<Vec<Alarmed>> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT m.kacky_id_int, u.id, u.username, COALESCE(f.discord_handle, ''), f.discord_id \
         FROM alarms a JOIN maps m ON m.id = a.map_id JOIN events e ON e.id = m.event_id \
         JOIN users u ON u.id = a.user_id LEFT JOIN user_fields f ON f.user_id = u.id \
         WHERE e.type = ?1 AND e.edition = ?2 ORDER BY m.kacky_id_int, u.id",
    )?;
    let rows = st.query_map(params![t.as_upper(), edition.get()], |r| {
        Ok(Alarmed {
            kacky_id: r.get(0)?,
            user_id: r.get(1)?,
            username: r.get(2)?,
            discord: r.get(3)?,
            discord_id: r.get(4)?,
        })
    })?;
    rows.collect()
}
