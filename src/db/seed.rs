//! The KK1–KK8 / KR1–KR4 history, embedded in the binary (CSV files under `seed/`, produced
//! from the old system's MariaDB dump by `seed/gen_seed.py`) and loaded into an empty database
//! on first start. Loading is one transaction and is recorded in `app_meta`, so it happens at
//! most once and never half-way.

use rusqlite::{params, Connection, Transaction};
use rust_embed::RustEmbed;
use serde::de::DeserializeOwned;
use serde::Deserialize;

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
    let data = SeedFiles::get(file).ok_or_else(|| DbError::Seed(format!("{file} is not embedded")))?;
    csv::Reader::from_reader(data.data.as_ref())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| DbError::Seed(format!("{file}: {e}")))
}

/// `\N` marks NULL in the mapping file (an empty field is an empty string).
fn nullable(v: &str) -> Option<&str> {
    (v != "\\N").then_some(v)
}

/// Loads the history unless it was loaded before (or the database already holds events, e.g.
/// from `import-mysql`). Returns whether anything was loaded.
pub fn seed_if_empty(conn: &mut Connection) -> Result<bool, DbError> {
    let tx = conn.transaction()?;
    let seeded = meta::get(&tx, SEEDED_KEY)?.is_some();
    let has_events: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM events)", [], |r| r.get(0))?;
    if seeded || has_events {
        return Ok(false);
    }
    load(&tx)?;
    meta::set(&tx, SEEDED_KEY, "1")?;
    tx.commit()?;
    Ok(true)
}

fn load(tx: &Transaction) -> Result<(), DbError> {
    let mut st = tx.prepare("INSERT INTO events (id, name, shortname, type, edition, startdate, enddate, visible) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
    for e in rows::<EventRow>("events.csv")? {
        st.execute(params![
            e.id,
            e.name,
            e.shortname,
            e.r#type.to_ascii_uppercase(),
            e.edition,
            e.startdate,
            e.enddate,
            e.visible
        ])?;
    }
    let mut st = tx.prepare("INSERT INTO maps (id, event_id, name, kacky_id, kacky_id_int, map_version, author, tmx_id, tm_uid, difficulty) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")?;
    for m in rows::<MapRow>("maps.csv")? {
        st.execute(params![
            m.id,
            m.event_id,
            m.name,
            m.kacky_id,
            m.kacky_id_int,
            m.map_version,
            m.author,
            m.tmx_id,
            m.tm_uid,
            m.difficulty
        ])?;
    }
    let mut st = tx.prepare("INSERT INTO worldrecords (id, map_id, nickname, login, score, date, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
    for w in rows::<WrRow>("worldrecords.csv")? {
        st.execute(params![w.id, w.map_id, w.nickname, w.login, w.score, w.date, w.source])?;
    }
    let mut st =
        tx.prepare("INSERT INTO tmx_tmlogin_mapping (tmx_login, tmf_login, tm20_login) VALUES (?1, ?2, ?3)")?;
    for r in rows::<MappingRow>("tmx_tmlogin_mapping.csv")? {
        st.execute(params![nullable(&r.tmx_login), nullable(&r.tmf_login), nullable(&r.tm20_login)])?;
    }
    Ok(())
}
