//! Writing world records: what the records updater sends to the ingestion API and what the
//! finish follower reads from the records API's leaderboards. A better score replaces the
//! record, an admin's reset (score 1, `reset_by_admin`) takes any score, anything else is
//! refused; sending the same record again changes nothing.

use rusqlite::{params, Connection, OptionalExtension};

use crate::domain::{Edition, EventType};

/// The score an admin's reset leaves (`POST /mapinfo`): "awaiting restore".
pub const RESET_SCORE: i64 = 1;

/// WR scores meaning "no record" in the old data: `1800000` (30 minutes, the old "no record")
/// and the placeholder `9999999` (one KR4 row, #290). A record offered for such a map is its
/// first.
pub const NO_RECORD: [i64; 2] = [1_800_000, 9_999_999];

/// A map that can hold a world record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapRef {
    pub map_id: i64,
    pub event_type: EventType,
    pub edition: Edition,
    pub kacky_id: i64,
    /// `""` or e.g. `[v2]`.
    pub version: String,
}

/// Why a map could not be picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Found(MapRef),
    NotFound,
    /// No version was given and the kacky id has several: these.
    Ambiguous(Vec<String>),
}

/// The map of type `t` with this kacky id and version (`[v2]`). Without a version: the first
/// version (`""`) if it exists, else the only one.
pub fn pick_map(conn: &Connection, t: EventType, kacky_id: i64, version: Option<&str>) -> rusqlite::Result<Pick> {
    let mut st = conn.prepare_cached(
        "SELECT m.id, e.edition, m.map_version FROM maps m JOIN events e ON e.id = m.event_id \
         WHERE e.type = ?1 AND m.kacky_id_int = ?2 ORDER BY m.map_version, e.edition, m.id",
    )?;
    let maps: Vec<(i64, i64, String)> = st
        .query_map(params![t.as_upper(), kacky_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let chosen = match version {
        Some(v) => maps.iter().find(|m| m.2 == v),
        None => maps.iter().find(|m| m.2.is_empty()).or(if maps.len() == 1 { maps.first() } else { None }),
    };
    Ok(match chosen {
        Some((map_id, edition, version)) => Pick::Found(MapRef {
            map_id: *map_id,
            event_type: t,
            edition: Edition::of(*edition),
            kacky_id,
            version: version.clone(),
        }),
        None if version.is_none() && maps.len() > 1 => Pick::Ambiguous(maps.into_iter().map(|m| m.2).collect()),
        None => Pick::NotFound,
    })
}

/// A world record as a source reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Milliseconds, above [`RESET_SCORE`].
    pub score: i64,
    pub login: String,
    /// `$`-formatted.
    pub nickname: String,
    /// `KKDB`, `KRDB`, `TMX`, `DEDI`, `NADO` …
    pub source: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub date: String,
}

/// What an offered record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// The map had no record; now it has this one.
    First,
    /// It beat the record of this score.
    Improved { previous: i64 },
    /// The map's record was reset by an admin; this one restores it.
    Restored,
    /// The map already holds this score by this login: nothing changed.
    Same,
    /// Not better than the current record (equal by another holder, or worse): nothing changed.
    Refused(Record),
}

impl Offer {
    /// Whether the stored record changed.
    pub fn changed(&self) -> bool {
        matches!(self, Self::First | Self::Improved { .. } | Self::Restored)
    }
}

/// Offers `r` as the world record of `map_id`. Run it inside an immediate (write) transaction,
/// so the read and the write are one step.
pub fn offer(tx: &Connection, map_id: i64, r: &Record) -> rusqlite::Result<Offer> {
    let current = tx
        .prepare_cached("SELECT score, login, nickname, source, date FROM worldrecords WHERE map_id = ?1")?
        .query_row([map_id], |row| {
            Ok(Record {
                score: row.get(0)?,
                login: row.get(1)?,
                nickname: row.get(2)?,
                source: row.get(3)?,
                date: row.get(4)?,
            })
        })
        .optional()?;
    let outcome = match current {
        None => Offer::First,
        Some(c) if NO_RECORD.contains(&c.score) && r.score < c.score => Offer::First,
        Some(c) if c.score == RESET_SCORE => Offer::Restored,
        Some(c) if c.score == r.score && c.login == r.login => Offer::Same,
        Some(c) if r.score < c.score => Offer::Improved { previous: c.score },
        Some(c) => Offer::Refused(c),
    };
    if outcome.changed() {
        tx.prepare_cached(
            "INSERT INTO worldrecords (map_id, nickname, login, score, date, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (map_id) DO UPDATE SET nickname = excluded.nickname, login = excluded.login, \
             score = excluded.score, date = excluded.date, source = excluded.source",
        )?
        .execute(params![map_id, r.nickname, r.login, r.score, r.date, r.source])?;
    }
    Ok(outcome)
}

/// One stored world record, as `GET /manage/worldrecords` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub map: MapRef,
    pub tmx_id: String,
    pub tm_uid: String,
    pub record: Record,
}

const STORED: &str = "SELECT m.id, e.type, e.edition, m.kacky_id_int, m.map_version, m.tmx_id, m.tm_uid, \
       w.score, w.login, w.nickname, w.source, w.date \
     FROM worldrecords w JOIN maps m ON m.id = w.map_id JOIN events e ON e.id = m.event_id";

/// The world records of type `t` (every type when `None`), only the reset ones with
/// `reset_only`, by type, kacky id and version.
pub fn list(conn: &Connection, t: Option<EventType>, reset_only: bool) -> rusqlite::Result<Vec<Stored>> {
    let mut st = conn.prepare_cached(&format!(
        "{STORED} WHERE (?1 IS NULL OR e.type = ?1) AND (?2 = 0 OR w.score = ?3) \
         ORDER BY e.type, m.kacky_id_int, m.map_version, e.edition"
    ))?;
    let rows = st.query_map(params![t.map(EventType::as_upper), reset_only, RESET_SCORE], stored)?;
    rows.collect()
}

/// The world record of one map.
pub fn of_map(conn: &Connection, map_id: i64) -> rusqlite::Result<Option<Stored>> {
    conn.prepare_cached(&format!("{STORED} WHERE m.id = ?1"))?.query_row([map_id], stored).optional()
}

fn stored(r: &rusqlite::Row) -> rusqlite::Result<Stored> {
    let t: String = r.get(1)?;
    Ok(Stored {
        map: MapRef {
            map_id: r.get(0)?,
            event_type: EventType::parse(&t).unwrap_or(EventType::Kk),
            edition: Edition::of(r.get(2)?),
            kacky_id: r.get(3)?,
            version: r.get(4)?,
        },
        tmx_id: r.get(5)?,
        tm_uid: r.get(6)?,
        record: Record {
            score: r.get(7)?,
            login: r.get(8)?,
            nickname: r.get(9)?,
            source: r.get(10)?,
            date: r.get(11)?,
        },
    })
}

/// The maps of an event with their version, by kacky id: what the follower looks up.
pub fn event_maps(conn: &Connection, t: EventType, edition: Edition) -> rusqlite::Result<Vec<MapRef>> {
    let mut st = conn.prepare_cached(
        "SELECT m.id, m.kacky_id_int, m.map_version FROM maps m JOIN events e ON e.id = m.event_id \
         WHERE e.type = ?1 AND e.edition = ?2 ORDER BY m.kacky_id_int, m.map_version",
    )?;
    let rows = st.query_map(params![t.as_upper(), edition.get()], |r| {
        Ok(MapRef { map_id: r.get(0)?, event_type: t, edition, kacky_id: r.get(1)?, version: r.get(2)? })
    })?;
    rows.collect()
}
