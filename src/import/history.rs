//! Writers for the history tables: events, maps, world records (plus the Discord notify flags)
//! and the TMX login mapping. Rows are upserted by primary key so a second run of the same dump
//! changes nothing; the statements are the shared ones of [`crate::db::history`].

use rusqlite::Transaction;

use super::row::{Row, RowResult};
use super::Summary;
use crate::db::history::{self, EventRecord, LoginMapping, MapRecord, WorldRecord, WrNotify};
use crate::db::import as work;
use crate::domain::EventType;

/// `events`: the type is read as a family code in any case (the old admin form stored it as
/// sent, `kr`); a type no family has is a row error, as the old schema's check made it.
pub(super) fn event(tx: &Transaction, row: &Row, _: &mut Summary) -> RowResult<bool> {
    let raw = row.text("type")?;
    let t = EventType::parse(&raw)
        .ok_or_else(|| format!("type: expected an event type ({}), found \"{raw}\"", crate::domain::codes_listed()))?;
    let event = EventRecord {
        id: Some(row.int("id")?),
        name: row.text("name")?,
        shortname: row.text("shortname")?,
        event_type: t.as_upper().to_owned(),
        edition: row.int("edition")?,
        startdate: row.text("startdate")?,
        enddate: row.text("enddate")?,
        visible: row.flag("visible")?,
    };
    history::upsert_event(tx, &event)?;
    Ok(true)
}

/// `maps`: `kackyevent` becomes `event_id`; the nullable old columns get their defaults.
pub(super) fn map(tx: &Transaction, row: &Row, _: &mut Summary) -> RowResult<bool> {
    let map = MapRecord {
        id: Some(row.int("id")?),
        event_id: row.int("kackyevent")?,
        name: row.text("name")?,
        kacky_id: row.text("kacky_id")?,
        kacky_id_int: row.int("kacky_id_int")?,
        map_version: row.text_or("map_version", ""),
        author: row.text("author")?,
        tmx_id: row.text_or("tmx_id", ""),
        tm_uid: row.text_or("tm_uid", ""),
        difficulty: row.int_or("difficulty", 0)?,
    };
    history::upsert_map(tx, &map)?;
    Ok(true)
}

/// `worldrecords`: SQLite keeps one record per map. Among the dump's rows for a map the highest
/// id (the newest) wins; a row already in the database for that map under another id is
/// replaced, since the dump is the newer source.
pub(super) fn worldrecord(tx: &Transaction, row: &Row, s: &mut Summary) -> RowResult<bool> {
    let id = row.int("id")?;
    let map_id = row.int("map_id")?;
    if let Some(other) = work::other_wr_on_map(tx, map_id, id)? {
        if other.from_dump {
            s.wr_duplicates += 1;
            if other.id > id {
                return Ok(false);
            }
            s.uncount("worldrecords");
        }
        history::delete_worldrecord(tx, other.id)?;
    }
    let record = WorldRecord {
        id: Some(id),
        map_id,
        nickname: row.text_or("nickname", ""),
        login: row.text_or("login", ""),
        score: row.int("score")?,
        date: row.text("date")?,
        source: row.text_or("source", ""),
    };
    history::upsert_worldrecord(tx, &record)?;
    work::mark_wr_imported(tx, id)?;
    Ok(true)
}

/// `worldrecords_discord_notify` (only in some installations). A flag whose record was dropped
/// as an older duplicate has nothing to point at and is skipped.
pub(super) fn wr_notify(tx: &Transaction, row: &Row, s: &mut Summary) -> RowResult<bool> {
    let id = row.int("id")?;
    if !history::worldrecord_exists(tx, id)? {
        s.notify_orphans += 1;
        return Ok(false);
    }
    let flags = WrNotify { id, notified: row.int_or("notified", 0)?, time_diff: row.int_or("time_diff", 0)? };
    history::upsert_wr_notify(tx, &flags)?;
    Ok(true)
}

/// `tmx_tmlogin_mapping` has no key, so the dump's content replaces the table's.
pub(super) fn mapping(tx: &Transaction, row: &Row, s: &mut Summary) -> RowResult<bool> {
    s.replace_mapping(tx)?;
    let mapping = LoginMapping {
        tmx_login: row.opt_text("tmx_login"),
        tmf_login: row.opt_text("tmf_login"),
        tm20_login: row.opt_text("tm20_login"),
    };
    history::insert_mapping(tx, &mapping)?;
    Ok(true)
}
