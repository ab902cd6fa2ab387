//! Event administration writes: new events, visibility, map uploads, WR resets.

use rusqlite::{params, Connection, TransactionBehavior};

use super::history::{self, MapRecord, WorldRecord};
use crate::domain::EventType;
use crate::mapcsv::MapUpload;

/// A new event as validated by the API layer.
pub struct NewEvent {
    pub name: String,
    pub t: EventType,
    pub edition: i64,
    pub start: String,
    pub end: String,
    pub min_id: i64,
    pub max_id: i64,
}

/// Why an event cannot be created: the old messages.
pub fn create_event(conn: &mut Connection, e: &NewEvent) -> rusqlite::Result<Result<i64, String>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM events WHERE type = ?1 AND edition = ?2)",
        params![e.t.as_upper(), e.edition],
        |r| r.get(0),
    )?;
    if exists {
        return Ok(Err(format!("{}{} already exists!", e.name, e.edition)));
    }
    let name_taken = tx
        .prepare("SELECT name FROM events")?
        .query_map([], |r| r.get::<_, String>(0))?
        .filter_map(Result::ok)
        .any(|n| crate::tmtext::plain(&n).to_lowercase() == crate::tmtext::plain(&e.name).to_lowercase());
    if name_taken {
        return Ok(Err(format!("{} already exists!", e.edition)));
    }
    let clash: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM maps m JOIN events ev ON ev.id = m.event_id WHERE ev.type = ?1 AND m.kacky_id_int BETWEEN ?2 AND ?3)",
        params![e.t.as_upper(), e.min_id.min(e.max_id), e.max_id.max(e.min_id)],
        |r| r.get(0),
    )?;
    if clash {
        return Ok(Err("There already are maps in the pool with the Kacky IDs you provided!".into()));
    }
    tx.execute(
        "INSERT INTO events (name, shortname, type, edition, startdate, enddate, visible) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
        params![e.name, format!("{}{}", e.t.as_upper(), e.edition), e.t.as_upper(), e.edition, e.start, e.end],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(Ok(id))
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
pub fn reset_wr(conn: &Connection, t: EventType, kacky_id: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE worldrecords SET score = 1, nickname = 'reset_by_admin', login = 'reset_by_admin' \
         WHERE map_id IN (SELECT m.id FROM maps m JOIN events e ON e.id = m.event_id WHERE e.type = ?1 AND m.kacky_id_int = ?2)",
        params![t.as_upper(), kacky_id],
    )
}
