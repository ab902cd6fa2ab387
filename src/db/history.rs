//! Writes to the history tables (events, maps, world records, their Discord notify flags and
//! the TMX login mapping), shared by the three ways history gets in:
//!
//! - the embedded seed ([`super::seed`]) loads into empty tables: `insert_*` with explicit ids,
//!   so a duplicate id in the seed files fails loudly;
//! - the MariaDB import (`crate::import`) upserts by id with the dump's values winning:
//!   `upsert_*`;
//! - the admin upload ([`super::admin::upload_maps`]) inserts new maps without an id (SQLite
//!   picks the rowid) or upserts them by id, and writes an author-time world record with
//!   [`upsert_at_worldrecord`] and [`queue_wr_notify`].
//!
//! Each table's column list is written once (the `*_insert!` macros) and every variant adds
//! only its conflict clause. Statements are `prepare_cached`, since the seed writes hundreds of
//! rows and an import can write many thousands.

use rusqlite::{params, Connection, OptionalExtension};

/// An `events` row.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// `None` lets SQLite pick the next rowid (a new event created by an admin).
    pub id: Option<i64>,
    /// Raw `$`-formatted name.
    pub name: String,
    /// `KK7`; the map upload finds events by it.
    pub shortname: String,
    /// A family code (`KK`, `KR`, `KX`; the column checks upper case); callers upper-case what they read.
    pub event_type: String,
    pub edition: i64,
    pub startdate: String,
    pub enddate: String,
    /// 0 or 1 (the column has a CHECK).
    pub visible: i64,
}

/// A `maps` row.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRecord {
    /// `None` lets SQLite pick the next rowid (a map new to the admin upload).
    pub id: Option<i64>,
    pub event_id: i64,
    pub name: String,
    /// With the version suffix, e.g. `17 [v2]`.
    pub kacky_id: String,
    pub kacky_id_int: i64,
    /// `''` or e.g. `[v2]`.
    pub map_version: String,
    pub author: String,
    pub tmx_id: String,
    pub tm_uid: String,
    pub difficulty: i64,
}

/// A `worldrecords` row (one per map: `map_id` is unique).
#[derive(Debug, Clone, PartialEq)]
pub struct WorldRecord {
    /// `None` lets SQLite pick the next rowid.
    pub id: Option<i64>,
    pub map_id: i64,
    pub nickname: String,
    pub login: String,
    /// Milliseconds.
    pub score: i64,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub date: String,
    /// Where the record comes from (`TMX`, `DEDI`, `AT` for an author time, …).
    pub source: String,
}

/// A `worldrecords_discord_notify` row: the flags the Discord bot keeps per world record.
#[derive(Debug, Clone, PartialEq)]
pub struct WrNotify {
    /// The world record's id.
    pub id: i64,
    pub notified: i64,
    pub time_diff: i64,
}

/// A `tmx_tmlogin_mapping` row: a TMX user name and the game logins it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginMapping {
    pub tmx_login: Option<String>,
    pub tmf_login: Option<String>,
    pub tm20_login: Option<String>,
}

/// `INSERT INTO events` with every column, `?1`…`?8` in [`EventRecord`] order.
macro_rules! event_insert {
    () => {
        "INSERT INTO events (id, name, shortname, type, edition, startdate, enddate, visible)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    };
}

/// `INSERT INTO maps` with every column, `?1`…`?10` in [`MapRecord`] order.
macro_rules! map_insert {
    () => {
        "INSERT INTO maps (id, event_id, name, kacky_id, kacky_id_int, map_version, author,
           tmx_id, tm_uid, difficulty)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    };
}

/// `INSERT INTO worldrecords` with every column, `?1`…`?7` in [`WorldRecord`] order.
macro_rules! worldrecord_insert {
    () => {
        "INSERT INTO worldrecords (id, map_id, nickname, login, score, date, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    };
}

/// Runs one of the `events` statements above, which all bind the same parameters.
fn execute_event(conn: &Connection, sql: &str, e: &EventRecord) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params![
        e.id,
        e.name,
        e.shortname,
        e.event_type,
        e.edition,
        e.startdate,
        e.enddate,
        e.visible
    ])
}

/// Runs one of the `maps` statements above, which all bind the same parameters.
fn execute_map(conn: &Connection, sql: &str, m: &MapRecord) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params![
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
    ])
}

/// Runs one of the `worldrecords` statements above, which all bind the same parameters.
fn execute_worldrecord(conn: &Connection, sql: &str, w: &WorldRecord) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params![w.id, w.map_id, w.nickname, w.login, w.score, w.date, w.source])
}

/// Inserts an event; an existing id (or type + edition, or shortname) is an error. Returns the
/// event's id, which SQLite picks when `e.id` is `None`.
pub fn insert_event(conn: &Connection, e: &EventRecord) -> rusqlite::Result<i64> {
    execute_event(conn, event_insert!(), e)?;
    Ok(conn.last_insert_rowid())
}

/// Inserts an event or, when its id exists, overwrites every column with `e`'s values.
pub fn upsert_event(conn: &Connection, e: &EventRecord) -> rusqlite::Result<()> {
    let sql = concat!(
        event_insert!(),
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, shortname = excluded.shortname,
           type = excluded.type, edition = excluded.edition, startdate = excluded.startdate,
           enddate = excluded.enddate, visible = excluded.visible"
    );
    execute_event(conn, sql, e)?;
    Ok(())
}

/// The id of the event with this shortname (`KK7`), the key the map upload uses.
pub fn event_by_shortname(conn: &Connection, shortname: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM events WHERE shortname = ?1")?.query_row([shortname], |r| r.get(0)).optional()
}

/// Whether any event exists: the seed only loads into a database without history, and an
/// import marks the history as present only when it brought events.
pub fn has_events(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM events)")?.query_row([], |r| r.get(0))
}

/// Inserts a map; an existing id is an error. Returns the map's id, which SQLite picks when
/// `m.id` is `None`.
pub fn insert_map(conn: &Connection, m: &MapRecord) -> rusqlite::Result<i64> {
    execute_map(conn, map_insert!(), m)?;
    Ok(conn.last_insert_rowid())
}

/// Inserts a map or, when its id exists, overwrites every column with `m`'s values.
pub fn upsert_map(conn: &Connection, m: &MapRecord) -> rusqlite::Result<()> {
    let sql = concat!(
        map_insert!(),
        " ON CONFLICT (id) DO UPDATE SET event_id = excluded.event_id, name = excluded.name,
           kacky_id = excluded.kacky_id, kacky_id_int = excluded.kacky_id_int,
           map_version = excluded.map_version, author = excluded.author,
           tmx_id = excluded.tmx_id, tm_uid = excluded.tm_uid, difficulty = excluded.difficulty"
    );
    execute_map(conn, sql, m)?;
    Ok(())
}

/// The id of a map of an event by kacky id and version: what the map upload treats as "the
/// same map" (an exact match: `[v2]` and `[V2]` are different versions).
pub fn find_map(conn: &Connection, event_id: i64, kacky_id_int: i64, version: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM maps WHERE event_id = ?1 AND kacky_id_int = ?2 AND map_version = ?3")?
        .query_row(params![event_id, kacky_id_int, version], |r| r.get(0))
        .optional()
}

/// Inserts a world record; an existing id or a second record for the map is an error.
pub fn insert_worldrecord(conn: &Connection, w: &WorldRecord) -> rusqlite::Result<()> {
    execute_worldrecord(conn, worldrecord_insert!(), w)?;
    Ok(())
}

/// Inserts a world record or, when its id exists, overwrites every column with `w`'s values.
/// A record of the same map under another id still conflicts: the caller removes it first.
pub fn upsert_worldrecord(conn: &Connection, w: &WorldRecord) -> rusqlite::Result<()> {
    let sql = concat!(
        worldrecord_insert!(),
        " ON CONFLICT (id) DO UPDATE SET map_id = excluded.map_id, nickname = excluded.nickname,
           login = excluded.login, score = excluded.score, date = excluded.date,
           source = excluded.source"
    );
    execute_worldrecord(conn, sql, w)?;
    Ok(())
}

/// The author-time record the admin upload gives a map (`w.source` is `AT`, `w.id` is `None`):
/// inserted when the map has no record, and replacing login, score and date only while the
/// map's record is itself an `AT` one, so a real record is never overwritten by an author time.
/// Returns whether a row was written.
pub fn upsert_at_worldrecord(conn: &Connection, w: &WorldRecord) -> rusqlite::Result<bool> {
    debug_assert_eq!(w.source, "AT");
    let sql = concat!(
        worldrecord_insert!(),
        " ON CONFLICT (map_id) DO UPDATE SET login = excluded.login, score = excluded.score,
           date = excluded.date WHERE worldrecords.source = 'AT'"
    );
    Ok(execute_worldrecord(conn, sql, w)? > 0)
}

/// Whether a world record with this id exists (a notify flag needs its record).
pub fn worldrecord_exists(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM worldrecords WHERE id = ?1)")?.query_row([id], |r| r.get(0))
}

/// Deletes a world record (and, by cascade, its notify flags).
pub fn delete_worldrecord(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM worldrecords WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Stores the notify flags of a world record, overwriting existing ones.
pub fn upsert_wr_notify(conn: &Connection, n: &WrNotify) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO worldrecords_discord_notify (id, notified, time_diff) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET notified = excluded.notified, time_diff = excluded.time_diff",
    )?
    .execute(params![n.id, n.notified, n.time_diff])?;
    Ok(())
}

/// Gives the world record of `map_id` default (not yet notified) flags unless it has flags
/// already, so the Discord bot announces a record the admin upload just wrote.
pub fn queue_wr_notify(conn: &Connection, map_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO worldrecords_discord_notify (id) SELECT id FROM worldrecords WHERE map_id = ?1",
    )?
    .execute([map_id])?;
    Ok(())
}

/// Adds a login mapping row (the table has no key: callers replace it as a whole).
pub fn insert_mapping(conn: &Connection, m: &LoginMapping) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO tmx_tmlogin_mapping (tmx_login, tmf_login, tm20_login) VALUES (?1, ?2, ?3)")?
        .execute(params![m.tmx_login, m.tmf_login, m.tm20_login])?;
    Ok(())
}

/// Empties the login mapping before a new complete copy goes in.
pub fn clear_mapping(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM tmx_tmlogin_mapping")?.execute([])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    /// A migrated, empty database (the directory must outlive it).
    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("history.db")).unwrap();
        db.migrate().unwrap();
        (dir, db)
    }

    fn event(id: Option<i64>, edition: i64, name: &str) -> EventRecord {
        EventRecord {
            id,
            name: name.into(),
            shortname: format!("KK{edition}"),
            event_type: "KK".into(),
            edition,
            startdate: "2024-01-01".into(),
            enddate: "2024-01-31".into(),
            visible: 1,
        }
    }

    fn map(id: Option<i64>, event_id: i64, kacky_id: i64, author: &str) -> MapRecord {
        MapRecord {
            id,
            event_id,
            name: format!("Kacky #{kacky_id}"),
            kacky_id: kacky_id.to_string(),
            kacky_id_int: kacky_id,
            map_version: String::new(),
            author: author.into(),
            tmx_id: String::new(),
            tm_uid: String::new(),
            difficulty: 0,
        }
    }

    fn record(map_id: i64, source: &str, score: i64) -> WorldRecord {
        WorldRecord {
            id: None,
            map_id,
            nickname: String::new(),
            login: "someone".into(),
            score,
            date: "2024-01-02 03:04:05".into(),
            source: source.into(),
        }
    }

    fn text(conn: &Connection, sql: &str, id: i64) -> String {
        conn.query_row(sql, [id], |r| r.get(0)).unwrap()
    }

    #[test]
    fn insert_refuses_an_existing_id_and_upsert_overwrites() {
        let (_dir, db) = db();
        let conn = db.conn().unwrap();
        assert_eq!(insert_event(&conn, &event(Some(5), 1, "one")).unwrap(), 5);
        assert!(insert_event(&conn, &event(Some(5), 2, "two")).is_err());
        upsert_event(&conn, &event(Some(5), 1, "renamed")).unwrap();
        assert_eq!(text(&conn, "SELECT name FROM events WHERE id = ?1", 5), "renamed");
        assert_eq!(insert_event(&conn, &event(None, 2, "two")).unwrap(), 6, "a new rowid");
        assert!(has_events(&conn).unwrap());
        assert_eq!(event_by_shortname(&conn, "KK2").unwrap(), Some(6));

        let id = insert_map(&conn, &map(None, 5, 17, "alice")).unwrap();
        assert!(insert_map(&conn, &map(Some(id), 5, 17, "alice")).is_err());
        upsert_map(&conn, &map(Some(id), 5, 17, "alicia")).unwrap();
        assert_eq!(text(&conn, "SELECT author FROM maps WHERE id = ?1", id), "alicia");
        assert_eq!(find_map(&conn, 5, 17, "").unwrap(), Some(id));
        assert_eq!(find_map(&conn, 5, 17, "[v2]").unwrap(), None);
    }

    #[test]
    fn an_author_time_replaces_only_an_author_time() {
        let (_dir, db) = db();
        let conn = db.conn().unwrap();
        insert_event(&conn, &event(Some(1), 1, "one")).unwrap();
        let (a, b) =
            (insert_map(&conn, &map(None, 1, 1, "x")).unwrap(), insert_map(&conn, &map(None, 1, 2, "y")).unwrap());
        let score = |map_id: i64| -> i64 {
            conn.query_row("SELECT score FROM worldrecords WHERE map_id = ?1", [map_id], |r| r.get(0)).unwrap()
        };
        let notify_rows =
            || -> i64 { conn.query_row("SELECT COUNT(*) FROM worldrecords_discord_notify", [], |r| r.get(0)).unwrap() };

        assert!(upsert_at_worldrecord(&conn, &record(a, "AT", 100)).unwrap());
        queue_wr_notify(&conn, a).unwrap();
        assert!(upsert_at_worldrecord(&conn, &record(a, "AT", 90)).unwrap());
        queue_wr_notify(&conn, a).unwrap();
        assert_eq!((score(a), notify_rows()), (90, 1));

        insert_worldrecord(&conn, &WorldRecord { id: Some(50), ..record(b, "TMX", 70) }).unwrap();
        assert!(!upsert_at_worldrecord(&conn, &record(b, "AT", 60)).unwrap());
        assert_eq!(score(b), 70, "a real record stays");
        upsert_wr_notify(&conn, &WrNotify { id: 50, notified: 1, time_diff: 3 }).unwrap();
        queue_wr_notify(&conn, b).unwrap();
        let notified: i64 =
            conn.query_row("SELECT notified FROM worldrecords_discord_notify WHERE id = 50", [], |r| r.get(0)).unwrap();
        assert_eq!(notified, 1, "queueing keeps existing flags");

        assert!(worldrecord_exists(&conn, 50).unwrap());
        delete_worldrecord(&conn, 50).unwrap();
        assert!(!worldrecord_exists(&conn, 50).unwrap());
        assert_eq!(notify_rows(), 1, "the flags went with their record");
    }

    #[test]
    fn the_mapping_is_replaced_as_a_whole() {
        let (_dir, db) = db();
        let conn = db.conn().unwrap();
        let row = LoginMapping { tmx_login: Some("tmx".into()), tmf_login: None, tm20_login: Some(String::new()) };
        insert_mapping(&conn, &row).unwrap();
        insert_mapping(&conn, &row).unwrap();
        let count = || -> i64 { conn.query_row("SELECT COUNT(*) FROM tmx_tmlogin_mapping", [], |r| r.get(0)).unwrap() };
        assert_eq!(count(), 2);
        clear_mapping(&conn).unwrap();
        assert_eq!(count(), 0);
    }
}
