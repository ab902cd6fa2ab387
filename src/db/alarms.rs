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
