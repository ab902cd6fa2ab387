//! Migration V4 (one map row per event, kacky id and version) on a database that already holds
//! duplicates: built at schema version 3 by the real migration files, then upgraded by the
//! binary's own migration path.

use rusqlite::{params, Connection};
use serde_json::json;

use crate::admin::{admin_token, upload};
use crate::common::{spawn_with, Options};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The newest migration's version: the schema after an upgrade.
fn latest_version() -> i64 {
    embedded::migrations::runner().get_migrations().iter().map(|m| i64::from(m.version())).max().unwrap()
}

/// A database at schema version 3 (before the unique index) in `dir`, as `kacky.db`.
fn database_at_v3(dir: &std::path::Path) -> Connection {
    let mut conn = Connection::open(dir.join("kacky.db")).unwrap();
    embedded::migrations::runner().set_target(refinery::Target::Version(3)).run(&mut conn).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    conn
}

/// The duplicates the old upload bug (or an import) left: KK9 #5 three times, KK9 #6 [v2]
/// twice, and two maps that only share the kacky id with them.
fn fill_with_duplicates(conn: &Connection) {
    conn.execute_batch(
        "INSERT INTO events (id, name, shortname, type, edition, startdate, enddate, visible)
           VALUES (20, 'Kackiest Kacky 9', 'KK9', 'KK', 9, '2024-03-01', '2024-03-31', 1);
         INSERT INTO maps (id, event_id, name, kacky_id, kacky_id_int, map_version, author) VALUES
           (100, 20, 'p5', '5', 5, '', 'first'), (101, 20, 'p5', '5', 5, '', 'second'),
           (102, 20, 'p5', '5', 5, '', 'third'), (103, 20, 'p6', '6 [v2]', 6, '[v2]', 'a'),
           (104, 20, 'p6', '6 [v2]', 6, '[v2]', 'b'), (105, 20, 'p6', '6', 6, '', 'plain six'),
           (106, 20, 'p7', '7', 7, '', 'seven');
         INSERT INTO users (id, username, username_key, password, mail) VALUES
           (1, 'one', 'one', 'x', 'x'), (2, 'two', 'two', 'x', 'x');
         INSERT INTO spreadsheet (user_id, map_id, map_diff, clip) VALUES
           (1, 100, 1, 'one-100'), (1, 101, 2, 'one-101'), (2, 100, 3, 'two-100'),
           (2, 102, 4, 'two-102'), (1, 103, 5, 'one-103'), (1, 105, 6, 'one-105');
         INSERT INTO alarms (user_id, map_id) VALUES (1, 100), (1, 102), (2, 101), (2, 103);
         INSERT INTO worldrecords (id, map_id, login, score, date) VALUES
           (500, 100, 'w500', 50, '2024-03-02 00:00:00'), (501, 101, 'w501', 51, '2024-03-03 00:00:00'),
           (502, 103, 'w502', 52, '2024-03-02 00:00:00'), (503, 104, 'w503', 53, '2024-03-03 00:00:00'),
           (504, 105, 'w504', 54, '2024-03-03 00:00:00');
         INSERT INTO worldrecords_discord_notify (id, notified) VALUES (500, 1), (501, 0), (502, 1), (503, 0);",
    )
    .unwrap();
}

fn rows(conn: &Connection, sql: &str) -> Vec<Vec<i64>> {
    let mut st = conn.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| (0..n).map(|i| r.get(i)).collect()).unwrap().map(Result::unwrap).collect()
}

#[test]
fn duplicates_are_merged_into_the_newest_map_row() {
    let dir = tempfile::tempdir().unwrap();
    fill_with_duplicates(&database_at_v3(dir.path()));
    let db = kacky_backend::db::Db::open(&dir.path().join("kacky.db")).unwrap();
    assert_eq!(db.migrate().unwrap(), latest_version());
    let conn = db.conn().unwrap();

    let maps: Vec<Vec<i64>> = rows(&conn, "SELECT id FROM maps ORDER BY id");
    assert_eq!(maps, [[102], [104], [105], [106]], "the newest row of each group stays");
    // Sheet rows: the kept map's own row wins (two-102), else the newest older one's (one-101).
    let sheet: Vec<(i64, i64, i64, String)> = conn
        .prepare("SELECT user_id, map_id, map_diff, clip FROM spreadsheet ORDER BY user_id, map_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected = [(1, 102, 2, "one-101"), (1, 104, 5, "one-103"), (1, 105, 6, "one-105"), (2, 102, 4, "two-102")];
    assert_eq!(sheet, expected.map(|(u, m, d, c)| (u, m, d, c.to_owned())));
    let alarms: Vec<Vec<i64>> = rows(&conn, "SELECT user_id, map_id FROM alarms ORDER BY user_id, map_id");
    assert_eq!(alarms, [[1, 102], [2, 102], [2, 104]]);
    // World records: a kept map without one gets the newest of its duplicates' (501); a kept map
    // with one keeps it (503); notify flags go with their records.
    let wrs: Vec<Vec<i64>> = rows(&conn, "SELECT id, map_id FROM worldrecords ORDER BY id");
    assert_eq!(wrs, [[501, 102], [503, 104], [504, 105]]);
    let notify: Vec<Vec<i64>> = rows(&conn, "SELECT id, notified FROM worldrecords_discord_notify ORDER BY id");
    assert_eq!(notify, [[501, 0], [503, 0]]);
    let dangling: i64 = conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(dangling, 0, "no row points at a deleted map");
    let dup = conn.execute(
        "INSERT INTO maps (event_id, name, kacky_id, kacky_id_int, map_version, author) VALUES (20, 'p5', '5', 5, '', 'x')",
        params![],
    );
    assert!(dup.unwrap_err().to_string().contains("UNIQUE constraint failed"));
}

/// The bug the index closes, end to end: after the merge an overwrite changes the map the
/// sheet shows, and the sheet lists it once.
#[tokio::test]
async fn after_the_merge_an_overwrite_changes_the_map_the_sheet_shows() {
    let dir = tempfile::tempdir().unwrap();
    fill_with_duplicates(&database_at_v3(dir.path()));
    let app = spawn_with(Options { dir: Some(dir), ..Default::default() }).await;
    let version: i64 =
        app.sql().query_row("SELECT MAX(version) FROM refinery_schema_history", [], |r| r.get(0)).unwrap();
    assert_eq!(version, latest_version());
    let fives = |sheet: &serde_json::Value| -> Vec<String> {
        let rows = sheet.as_array().unwrap().iter().filter(|r| r["kacky_id"] == 5);
        rows.map(|r| r["author"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(fives(&app.get("/spreadsheet/kk/9").await.1), ["third"]);
    let admin = admin_token(&app, "boss").await;
    let csv = "kacky_id,author,event,prefix\n5,fourth,KK9,p\n";
    assert_eq!(upload(&app, &admin, csv, true).await, (200, json!("Updated maps.")));
    assert_eq!(fives(&app.get("/spreadsheet/kk/9").await.1), ["fourth"]);
}

/// An import cannot bring the duplicates back: a dump repeating a map stops at that line and
/// writes nothing (see docs/MIGRATING.md on the import).
#[test]
fn an_import_repeating_a_map_stops_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (dump, line) = crate::import::broken_dump(
        dir.path(),
        "INSERT INTO `maps` (`id`, `kackyevent`, `name`, `kacky_id`, `kacky_id_int`, `map_version`, `author`) VALUES\n\
         (900, 1, 'again #3', '3', 3, '', 'x');\n",
    );
    let err = crate::import::import_fails(dir.path(), &dump);
    assert!(err.contains(&format!("line {line}")) && err.contains("`maps`"), "{err}");
    assert!(err.contains("UNIQUE constraint failed: maps.event_id, maps.kacky_id_int, maps.map_version"), "{err}");
}
