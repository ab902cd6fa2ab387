//! Writers for the history tables: events, maps, world records (plus the Discord notify flags)
//! and the TMX login mapping. Rows are upserted by primary key so a second run of the same dump
//! changes nothing.

use rusqlite::{params, OptionalExtension, Transaction};

use super::row::{Row, RowResult};
use super::Summary;

/// `events`: the type is upper-cased because the old admin form stored it as sent (`kr`).
pub(super) fn event(tx: &Transaction, row: &Row, _: &mut Summary) -> RowResult<bool> {
    tx.prepare_cached(
        "INSERT INTO events (id, name, shortname, type, edition, startdate, enddate, visible)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, shortname = excluded.shortname,
           type = excluded.type, edition = excluded.edition, startdate = excluded.startdate,
           enddate = excluded.enddate, visible = excluded.visible",
    )?
    .execute(params![
        row.int("id")?,
        row.text("name")?,
        row.text("shortname")?,
        row.text("type")?.trim().to_ascii_uppercase(),
        row.int("edition")?,
        row.text("startdate")?,
        row.text("enddate")?,
        row.flag("visible")?,
    ])?;
    Ok(true)
}

/// `maps`: `kackyevent` becomes `event_id`; the nullable old columns get their defaults.
pub(super) fn map(tx: &Transaction, row: &Row, _: &mut Summary) -> RowResult<bool> {
    tx.prepare_cached(
        "INSERT INTO maps (id, event_id, name, kacky_id, kacky_id_int, map_version, author,
           tmx_id, tm_uid, difficulty)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET event_id = excluded.event_id, name = excluded.name,
           kacky_id = excluded.kacky_id, kacky_id_int = excluded.kacky_id_int,
           map_version = excluded.map_version, author = excluded.author,
           tmx_id = excluded.tmx_id, tm_uid = excluded.tm_uid, difficulty = excluded.difficulty",
    )?
    .execute(params![
        row.int("id")?,
        row.int("kackyevent")?,
        row.text("name")?,
        row.text("kacky_id")?,
        row.int("kacky_id_int")?,
        row.text_or("map_version", ""),
        row.text("author")?,
        row.text_or("tmx_id", ""),
        row.text_or("tm_uid", ""),
        row.int_or("difficulty", 0)?,
    ])?;
    Ok(true)
}

/// `worldrecords`: SQLite keeps one record per map. Among the dump's rows for a map the highest
/// id (the newest) wins; a row already in the database for that map under another id is
/// replaced, since the dump is the newer source.
pub(super) fn worldrecord(tx: &Transaction, row: &Row, s: &mut Summary) -> RowResult<bool> {
    let id = row.int("id")?;
    let map_id = row.int("map_id")?;
    let other: Option<(i64, bool)> = tx
        .prepare_cached(
            "SELECT w.id, EXISTS (SELECT 1 FROM temp.import_wr i WHERE i.id = w.id)
             FROM worldrecords w WHERE w.map_id = ?1 AND w.id <> ?2",
        )?
        .query_row(params![map_id, id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((other_id, from_dump)) = other {
        if from_dump {
            s.wr_duplicates += 1;
            if other_id > id {
                return Ok(false);
            }
            s.uncount("worldrecords");
        }
        tx.prepare_cached("DELETE FROM worldrecords WHERE id = ?1")?.execute([other_id])?;
    }
    upsert_worldrecord(tx, row, id, map_id)?;
    tx.prepare_cached("INSERT OR IGNORE INTO temp.import_wr (id) VALUES (?1)")?.execute([id])?;
    Ok(true)
}

fn upsert_worldrecord(tx: &Transaction, row: &Row, id: i64, map_id: i64) -> RowResult<()> {
    tx.prepare_cached(
        "INSERT INTO worldrecords (id, map_id, nickname, login, score, date, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET map_id = excluded.map_id, nickname = excluded.nickname,
           login = excluded.login, score = excluded.score, date = excluded.date,
           source = excluded.source",
    )?
    .execute(params![
        id,
        map_id,
        row.text_or("nickname", ""),
        row.text_or("login", ""),
        row.int("score")?,
        row.text("date")?,
        row.text_or("source", ""),
    ])?;
    Ok(())
}

/// `worldrecords_discord_notify` (only in some installations). A flag whose record was dropped
/// as an older duplicate has nothing to point at and is skipped.
pub(super) fn wr_notify(tx: &Transaction, row: &Row, s: &mut Summary) -> RowResult<bool> {
    let id = row.int("id")?;
    let exists: bool =
        tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM worldrecords WHERE id = ?1)")?.query_row([id], |r| r.get(0))?;
    if !exists {
        s.notify_orphans += 1;
        return Ok(false);
    }
    tx.prepare_cached(
        "INSERT INTO worldrecords_discord_notify (id, notified, time_diff) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET notified = excluded.notified, time_diff = excluded.time_diff",
    )?
    .execute(params![id, row.int_or("notified", 0)?, row.int_or("time_diff", 0)?])?;
    Ok(true)
}

/// `tmx_tmlogin_mapping` has no key, so the dump's content replaces the table's.
pub(super) fn mapping(tx: &Transaction, row: &Row, s: &mut Summary) -> RowResult<bool> {
    s.replace_mapping(tx)?;
    tx.prepare_cached("INSERT INTO tmx_tmlogin_mapping (tmx_login, tmf_login, tm20_login) VALUES (?1, ?2, ?3)")?
        .execute(params![row.opt_text("tmx_login"), row.opt_text("tmf_login"), row.opt_text("tm20_login"),])?;
    Ok(true)
}
