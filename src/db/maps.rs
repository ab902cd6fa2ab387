//! Maps joined with their world record and, for a logged-in user, their sheet data: the rows
//! behind `/spreadsheet…` and `/mapinfo…`.

use rusqlite::{params, Connection, Row};

use crate::domain::{EventType, KackyId};

/// The user's own columns for one map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserCols {
    /// `None` when the user has no spreadsheet row for the map.
    pub sheet: Option<SheetCols>,
    pub alarm: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SheetCols {
    pub map_diff: i64,
    pub map_pb: i64,
    pub map_rank: i64,
    pub clip: String,
}

/// One map with its world record.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRow {
    pub map_id: i64,
    pub kacky_id: i64,
    pub version: String,
    pub author: String,
    pub rating: i64,
    pub wr_nickname: String,
    pub wr_login: String,
    /// `None` when the map has no world record row.
    pub wr_score: Option<i64>,
    pub user: Option<UserCols>,
}

const SELECT: &str = "SELECT m.id, m.kacky_id_int, m.map_version, m.author, m.difficulty, \
       w.nickname, w.login, w.score, \
       s.map_diff, s.map_pb, s.map_rank, s.clip, a.map_id IS NOT NULL \
     FROM events e JOIN maps m ON m.event_id = e.id \
     LEFT JOIN worldrecords w ON w.map_id = m.id \
     LEFT JOIN spreadsheet s ON s.map_id = m.id AND s.user_id = ?3 \
     LEFT JOIN alarms a ON a.map_id = m.id AND a.user_id = ?3";

fn map_row(r: &Row, with_user: bool) -> rusqlite::Result<MapRow> {
    let sheet = match r.get::<_, Option<i64>>(8)? {
        Some(map_diff) => Some(SheetCols { map_diff, map_pb: r.get(9)?, map_rank: r.get(10)?, clip: r.get(11)? }),
        None => None,
    };
    Ok(MapRow {
        map_id: r.get(0)?,
        kacky_id: r.get(1)?,
        version: r.get(2)?,
        author: r.get(3)?,
        rating: r.get(4)?,
        wr_nickname: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
        wr_login: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
        wr_score: r.get(7)?,
        user: with_user.then(|| UserCols { sheet, alarm: r.get(12).unwrap_or(false) }),
    })
}

/// Keeps one row per kacky id (the newest map, i.e. the current version), in kacky-id order.
/// Rows must arrive ordered by kacky id, then map id.
fn dedupe(rows: Vec<MapRow>) -> Vec<MapRow> {
    let mut out: Vec<MapRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match out.last_mut() {
            Some(last) if last.kacky_id == row.kacky_id => *last = row,
            _ => out.push(row),
        }
    }
    out
}

/// The sheet of one edition (or of every edition with `edition = None`) of a type.
pub fn sheet(
    conn: &Connection,
    t: EventType,
    edition: Option<i64>,
    user: Option<i64>,
) -> rusqlite::Result<Vec<MapRow>> {
    let sql = format!("{SELECT} WHERE e.type = ?1 AND (?2 IS NULL OR e.edition = ?2) ORDER BY m.kacky_id_int, m.id");
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params![t.as_upper(), edition, user], |r| map_row(r, user.is_some()))?;
    Ok(dedupe(rows.collect::<rusqlite::Result<_>>()?))
}

/// The current version of the map `type` + kacky id, across editions.
pub fn by_kacky_id(
    conn: &Connection,
    t: EventType,
    kacky_id: KackyId,
    user: Option<i64>,
) -> rusqlite::Result<Option<MapRow>> {
    let sql = format!("{SELECT} WHERE e.type = ?1 AND m.kacky_id_int = ?2 ORDER BY m.id DESC LIMIT 1");
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query_map(params![t.as_upper(), kacky_id.get(), user], |r| map_row(r, user.is_some()))?;
    rows.next().transpose()
}
