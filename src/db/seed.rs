//! The KK1–KK8 / KR1–KR4 history, embedded in the binary (CSV files under `seed/`, produced
//! from the old system's MariaDB dump by `seed/gen_seed.py`) and loaded into an empty database
//! on first start. Loading is one transaction and is recorded in `app_meta`, so it happens at
//! most once and never half-way. The rows go in with the plain inserts of [`super::history`]
//! (explicit ids; a duplicate is an error, not an update).

use rusqlite::{Connection, Transaction};
use rust_embed::RustEmbed;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::history::{self, EventRecord, LoginMapping, MapRecord, WorldRecord};
use super::{meta, DbError};

#[derive(RustEmbed)]
#[folder = "seed/"]
#[include = "*.csv"]
struct SeedFiles;

const SEEDED_KEY: &str = "history_seeded";

#[derive(Deserialize)]
struct EventRow {
    id: i64,
    name: String,
    shortname: String,
    r#type: String,
    edition: i64,
    startdate: String,
    enddate: String,
    visible: i64,
}

#[derive(Deserialize)]
struct MapRow {
    id: i64,
    event_id: i64,
    name: String,
    kacky_id: String,
    kacky_id_int: i64,
    map_version: String,
    author: String,
    tmx_id: String,
    tm_uid: String,
    difficulty: i64,
}

#[derive(Deserialize)]
struct WrRow {
    id: i64,
    map_id: i64,
    nickname: String,
    login: String,
    score: i64,
    date: String,
    source: String,
}

#[derive(Deserialize)]
struct MappingRow {
    tmx_login: String,
    tmf_login: String,
    tm20_login: String,
}

fn rows<T: DeserializeOwned>(file: &str) -> Result<Vec<T>, DbError> {
    let data = SeedFiles::get(file).ok_or_else(|| DbError::SeedMissing { file: file.to_owned() })?;
    csv::Reader::from_reader(data.data.as_ref())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|source| DbError::Seed { file: file.to_owned(), source })
}

/// `\N` marks NULL in the mapping file (an empty field is an empty string).
fn nullable(v: String) -> Option<String> {
    (v != "\\N").then_some(v)
}

/// Loads the history unless it was loaded before (or the database already holds events, e.g.
/// from `import-mysql`). Returns whether anything was loaded.
pub fn seed_if_empty(conn: &mut Connection) -> Result<bool, DbError> {
    let tx = conn.transaction()?;
    let seeded = meta::get(&tx, SEEDED_KEY)?.is_some();
    if seeded || history::has_events(&tx)? {
        return Ok(false);
    }
    load(&tx)?;
    meta::set(&tx, SEEDED_KEY, "1")?;
    tx.commit()?;
    Ok(true)
}

fn load(tx: &Transaction) -> Result<(), DbError> {
    for e in rows::<EventRow>("events.csv")? {
        history::insert_event(tx, &e.into())?;
    }
    for m in rows::<MapRow>("maps.csv")? {
        history::insert_map(tx, &m.into())?;
    }
    for w in rows::<WrRow>("worldrecords.csv")? {
        history::insert_worldrecord(tx, &w.into())?;
    }
    for r in rows::<MappingRow>("tmx_tmlogin_mapping.csv")? {
        history::insert_mapping(tx, &r.into())?;
    }
    Ok(())
}

/// The seed keeps its ids; the type is upper-cased, as the column's check wants.
impl From<EventRow> for EventRecord {
    fn from(e: EventRow) -> Self {
        EventRecord {
            id: Some(e.id),
            name: e.name,
            shortname: e.shortname,
            event_type: e.r#type.to_ascii_uppercase(),
            edition: e.edition,
            startdate: e.startdate,
            enddate: e.enddate,
            visible: e.visible,
        }
    }
}

impl From<MapRow> for MapRecord {
    fn from(m: MapRow) -> Self {
        MapRecord {
            id: Some(m.id),
            event_id: m.event_id,
            name: m.name,
            kacky_id: m.kacky_id,
            kacky_id_int: m.kacky_id_int,
            map_version: m.map_version,
            author: m.author,
            tmx_id: m.tmx_id,
            tm_uid: m.tm_uid,
            difficulty: m.difficulty,
        }
    }
}

impl From<WrRow> for WorldRecord {
    fn from(w: WrRow) -> Self {
        WorldRecord {
            id: Some(w.id),
            map_id: w.map_id,
            nickname: w.nickname,
            login: w.login,
            score: w.score,
            date: w.date,
            source: w.source,
        }
    }
}

impl From<MappingRow> for LoginMapping {
    fn from(r: MappingRow) -> Self {
        LoginMapping {
            tmx_login: nullable(r.tmx_login),
            tmf_login: nullable(r.tmf_login),
            tm20_login: nullable(r.tm20_login),
        }
    }
}
