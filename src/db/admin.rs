//! Event administration writes: new events, visibility, map uploads, WR resets.

use rusqlite::{params, Connection, TransactionBehavior};

use super::events;
use super::history::{self, EventRecord, MapRecord, WorldRecord};
use crate::domain::{Edition, EventType, KackyId};
use crate::mapcsv::MapUpload;

/// A new event as validated by the API layer.
pub struct NewEvent {
    pub name: String,
    pub t: EventType,
    pub edition: Edition,
    pub start: String,
    pub end: String,
    /// The kacky id range the event's maps will use (either order).
    pub min_id: KackyId,
    pub max_id: KackyId,
}

/// Why an event was not created. The refusals carry the old backend's messages, which the API
/// answers as a JSON string with status 400.
#[derive(Debug, thiserror::Error)]
pub enum CreateEventError {
    /// 400: an event of this type and edition exists (the old message names the new event's
    /// name and edition).
    #[error("{name}{edition} already exists!")]
    EditionTaken { name: String, edition: Edition },
    /// 400: an event has the same name, compared as plain text without case.
    #[error("{edition} already exists!")]
    NameTaken { edition: Edition },
    /// 400: maps of this type already use a kacky id in the range.
    #[error("There already are maps in the pool with the Kacky IDs you provided!")]
    KackyIdsTaken,
    /// 500: the database failed.
    #[error(transparent)]
    Db(#[from] rusqlite::Error),
}

/// Creates the event (hidden) unless its edition, name or kacky id range is taken; returns the
/// new event's id. The checks and the insert share one immediate transaction, so two admins
/// cannot create the same event at once.
pub fn create_event(conn: &mut Connection, e: &NewEvent) -> Result<i64, CreateEventError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if events::find(&tx, e.t, e.edition.get())?.is_some() {
        return Err(CreateEventError::EditionTaken { name: e.name.clone(), edition: e.edition });
    }
    if name_taken(&tx, &e.name)? {
        return Err(CreateEventError::NameTaken { edition: e.edition });
    }
    let (low, high) = (e.min_id.min(e.max_id), e.max_id.max(e.min_id));
    if kacky_ids_taken(&tx, e.t, low, high)? {
        return Err(CreateEventError::KackyIdsTaken);
    }
    let event = EventRecord {
        id: None,
        name: e.name.clone(),
        shortname: format!("{}{}", e.t.as_upper(), e.edition),
        event_type: e.t.as_upper().to_owned(),
        edition: e.edition.get(),
        startdate: e.start.clone(),
        enddate: e.end.clone(),
        visible: 0,
    };
    let id = history::insert_event(&tx, &event)?;
    tx.commit()?;
    Ok(id)
}

/// Whether an event's name equals `name` as plain text (`$`-codes removed), ignoring case.
fn name_taken(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    let wanted = crate::tmtext::plain(name).to_lowercase();
    Ok(conn
        .prepare_cached("SELECT name FROM events")?
        .query_map([], |r| r.get::<_, String>(0))?
        .filter_map(Result::ok)
        .any(|n| crate::tmtext::plain(&n).to_lowercase() == wanted))
}

/// Whether a map of an event of type `t` has a kacky id in `low..=high`.
fn kacky_ids_taken(conn: &Connection, t: EventType, low: KackyId, high: KackyId) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM maps m JOIN events ev ON ev.id = m.event_id WHERE ev.type = ?1 AND m.kacky_id_int BETWEEN ?2 AND ?3)",
    )?
    .query_row(params![t.as_upper(), low.get(), high.get()], |r| r.get(0))
}

/// Sets visibility (`Some`) or toggles it (`None`); `false` if there is no such event.
pub fn set_visible(conn: &Connection, id: i64, visible: Option<bool>) -> rusqlite::Result<bool> {
    let n = match visible {
        Some(v) => conn.execute("UPDATE events SET visible = ?2 WHERE id = ?1", params![id, v])?,
        None => conn.execute("UPDATE events SET visible = 1 - visible WHERE id = ?1", [id])?,
    };
    Ok(n > 0)
}

/// Outcome of an upload attempt.
#[derive(Debug, PartialEq)]
pub enum Upload {
    Done { inserted: usize, updated: usize },
    UnknownEvent(String),
    WouldOverwrite,
}

/// Writes all rows in one transaction, or nothing: new maps get an author-time WR (source
/// `AT`); existing maps (same event, kacky id and version) are updated only with `overwrite`.
pub fn upload_maps(conn: &mut Connection, rows: &[MapUpload], overwrite: bool, now: &str) -> rusqlite::Result<Upload> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut plan = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(ev) = history::event_by_shortname(&tx, &row.event)? else {
            return Ok(Upload::UnknownEvent(row.event.clone()));
        };
        let existing = history::find_map(&tx, ev, row.kacky_id_int, &row.version)?;
        if existing.is_some() && !overwrite {
            return Ok(Upload::WouldOverwrite);
        }
        plan.push((ev, existing, row));
    }
    let (mut inserted, mut updated) = (0, 0);
    for (ev, existing, row) in plan {
        let map = map_record(existing, ev, row);
        let map_id = match existing {
            Some(id) => {
                // Event, kacky id and version are the ones the map was found by: the upsert
                // changes only name, kacky_id text, author, TMX id, uid and difficulty.
                history::upsert_map(&tx, &map)?;
                updated += 1;
                id
            }
            None => {
                let id = history::insert_map(&tx, &map)?;
                inserted += 1;
                id
            }
        };
        let at = WorldRecord {
            id: None,
            map_id,
            nickname: String::new(),
            login: row.author.clone(),
            score: row.at,
            date: now.to_owned(),
            source: "AT".into(),
        };
        if history::upsert_at_worldrecord(&tx, &at)? {
            history::queue_wr_notify(&tx, map_id)?;
        }
    }
    tx.commit()?;
    Ok(Upload::Done { inserted, updated })
}

/// The map row an upload row describes, under `id` (`None` for a new map).
fn map_record(id: Option<i64>, event_id: i64, row: &MapUpload) -> MapRecord {
    MapRecord {
        id,
        event_id,
        name: row.name.clone(),
        kacky_id: row.kacky_id.clone(),
        kacky_id_int: row.kacky_id_int,
        map_version: row.version.clone(),
        author: row.author.clone(),
        tmx_id: row.tmx_id.clone(),
        tm_uid: row.tm_uid.clone(),
        difficulty: row.difficulty,
    }
}

/// Marks every WR of `type` + kacky id as reset (score 1, `reset_by_admin`), for the records
/// API to restore. Returns the number of rows changed.
pub fn reset_wr(conn: &Connection, t: EventType, kacky_id: KackyId) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE worldrecords SET score = 1, nickname = 'reset_by_admin', login = 'reset_by_admin' \
         WHERE map_id IN (SELECT m.id FROM maps m JOIN events e ON e.id = m.event_id WHERE e.type = ?1 AND m.kacky_id_int = ?2)",
        params![t.as_upper(), kacky_id.get()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_the_old_messages() {
        let edition = Edition::of(9);
        let taken = CreateEventError::EditionTaken { name: "Kackiest Kacky 9".into(), edition };
        assert_eq!(taken.to_string(), "Kackiest Kacky 99 already exists!");
        assert_eq!(CreateEventError::NameTaken { edition }.to_string(), "9 already exists!");
        assert_eq!(
            CreateEventError::KackyIdsTaken.to_string(),
            "There already are maps in the pool with the Kacky IDs you provided!"
        );
    }
}
