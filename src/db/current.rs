//! The current event's map ids (the real set, not a min..max range: BUG-31).

use rusqlite::Connection;

use crate::domain::{Edition, EventType};

/// Kacky ids of the event `type` + `edition`, ascending, without duplicates.
pub fn ids(conn: &Connection, t: EventType, edition: Edition) -> rusqlite::Result<Vec<i64>> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT m.kacky_id_int FROM maps m JOIN events e ON e.id = m.event_id \
         WHERE e.type = ?1 AND e.edition = ?2 ORDER BY m.kacky_id_int",
    )?;
    let rows = st.query_map(rusqlite::params![t.as_upper(), edition.get()], |r| r.get(0))?;
    rows.collect()
}
