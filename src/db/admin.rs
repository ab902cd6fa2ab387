//! Event administration writes: new events, visibility, map uploads, WR resets.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

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

fn event_id(tx: &Transaction, shortname: &str) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached("SELECT id FROM events WHERE shortname = ?1")?.query_row([shortname], |r| r.get(0)).optional()
}

/// Writes all rows in one transaction, or nothing: new maps get an author-time WR (source
/// `AT`); existing maps (same event, kacky id and version) are updated only with `overwrite`.
pub fn upload_maps(conn: &mut Connection, rows: &[MapUpload], overwrite: bool, now: &str) -> rusqlite::Result<Upload> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut plan = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(ev) = event_id(&tx, &row.event)? else { return Ok(Upload::UnknownEvent(row.event.clone())) };
        let existing: Option<i64> = tx
            .prepare_cached("SELECT id FROM maps WHERE event_id = ?1 AND kacky_id_int = ?2 AND map_version = ?3")?
            .query_row(params![ev, row.kacky_id_int, row.version], |r| r.get(0))
            .optional()?;
        if existing.is_some() && !overwrite {
            return Ok(Upload::WouldOverwrite);
        }
        plan.push((ev, existing, row));
    }
    let (mut inserted, mut updated) = (0, 0);
    for (ev, existing, row) in plan {
        let map_id = match existing {
            Some(id) => {
                tx.prepare_cached("UPDATE maps SET name = ?2, kacky_id = ?3, author = ?4, tmx_id = ?5, tm_uid = ?6, difficulty = ?7 WHERE id = ?1")?
                    .execute(params![id, row.name, row.kacky_id, row.author, row.tmx_id, row.tm_uid, row.difficulty])?;
                updated += 1;
                id
            }
            None => {
                tx.prepare_cached("INSERT INTO maps (event_id, name, kacky_id, kacky_id_int, map_version, author, tmx_id, tm_uid, difficulty) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?
                    .execute(params![ev, row.name, row.kacky_id, row.kacky_id_int, row.version, row.author, row.tmx_id, row.tm_uid, row.difficulty])?;
                inserted += 1;
                tx.last_insert_rowid()
            }
        };
        let wr = tx
            .prepare_cached("INSERT INTO worldrecords (map_id, nickname, login, score, date, source) VALUES (?1, '', ?2, ?3, ?4, 'AT') \
                 ON CONFLICT (map_id) DO UPDATE SET login = excluded.login, score = excluded.score, date = excluded.date WHERE worldrecords.source = 'AT'")?
            .execute(params![map_id, row.author, row.at, now])?;
        if wr > 0 {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO worldrecords_discord_notify (id) SELECT id FROM worldrecords WHERE map_id = ?1",
            )?
            .execute([map_id])?;
        }
    }
    tx.commit()?;
    Ok(Upload::Done { inserted, updated })
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
