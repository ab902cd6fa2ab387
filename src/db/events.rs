//! Events (one row per edition).

use rusqlite::{Connection, OptionalExtension};

use crate::domain::EventType;

/// An event row as the API needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    /// Raw `$`-formatted name.
    pub name: String,
    pub event_type: String,
    pub edition: i64,
    pub visible: bool,
}

/// All events (or only visible ones) in id order, which is the order the frontend shows.
pub fn list(conn: &Connection, only_visible: bool) -> rusqlite::Result<Vec<Event>> {
    let mut st = conn.prepare_cached(
        "SELECT id, name, type, edition, visible FROM events WHERE visible = 1 OR ?1 = 0 ORDER BY id",
    )?;
    let rows = st.query_map([only_visible], |r| {
        Ok(Event { id: r.get(0)?, name: r.get(1)?, event_type: r.get(2)?, edition: r.get(3)?, visible: r.get(4)? })
    })?;
    rows.collect()
}

/// The id of the event `type`+`edition`, if it exists.
pub fn find(conn: &Connection, t: EventType, edition: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM events WHERE type = ?1 AND edition = ?2")?
        .query_row(rusqlite::params![t.as_upper(), edition], |r| r.get(0))
        .optional()
}

/// The raw (`$`-formatted) name of the event `type`+`edition`, if it exists.
pub fn name(conn: &Connection, t: EventType, edition: crate::domain::Edition) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT name FROM events WHERE type = ?1 AND edition = ?2")?
        .query_row(rusqlite::params![t.as_upper(), edition.get()], |r| r.get(0))
        .optional()
}
