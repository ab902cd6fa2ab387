//! `import-mysql`, `backup` and the database part of `check-config`, run through the real binary
//! on a phpMyAdmin-style fixture of the old backend's database.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};
use serde_json::json;

use crate::common::{spawn_with, write, Options, SECRETS};

const BIN: &str = env!("CARGO_BIN_EXE_kacky-backend");

/// Every table the import writes, in a fixed order.
pub const TABLES: &[&str] = &[
    "events",
    "maps",
    "worldrecords",
    "worldrecords_discord_notify",
    "tmx_tmlogin_mapping",
    "users",
    "user_fields",
    "alarms",
    "spreadsheet",
    "revoked_tokens",
    "reset_tokens",
];

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Runs the binary with config files pointing at `<dir>/kacky.db` (the file `spawn_with` uses).
pub fn run(dir: &Path, args: &[&str]) -> Output {
    let db = dir.join("kacky.db");
    let config = write(dir, "import-config.yaml", &format!("database: {}\n", db.display()));
    let secrets = write(dir, "import-secrets.yaml", SECRETS);
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env("RUST_LOG", "warn").arg("--config").arg(&config).arg("--secrets").arg(&secrets);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("KACKY_") || k.ends_with("_FILE")) {
        cmd.env_remove(k);
    }
    cmd.args(args).output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `import-mysql` and insists on success.
pub fn import_ok(dir: &Path, dump: &Path) -> String {
    let out = run(dir, &["import-mysql", dump.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}\nstdout: {}", text(&out.stderr), text(&out.stdout));
    text(&out.stdout)
}

pub fn count(db: &Connection, table: &str) -> i64 {
    db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

pub fn counts(db_path: &Path) -> Vec<(&'static str, i64)> {
    let db = Connection::open(db_path).unwrap();
    TABLES.iter().map(|t| (*t, count(&db, t))).collect()
}

const SMALL_COUNTS: &[(&str, i64)] = &[
    ("events", 2),
    ("maps", 5),
    ("worldrecords", 5),
    ("worldrecords_discord_notify", 1),
    ("tmx_tmlogin_mapping", 2),
    ("users", 3),
    ("user_fields", 3),
    ("alarms", 2),
    ("spreadsheet", 4),
    ("revoked_tokens", 1),
    ("reset_tokens", 0),
];

fn check_history_rows(db: &Connection) {
    let event: (String, String, i64) = db
        .query_row("SELECT shortname, type, visible FROM events WHERE id = 2", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(event, ("KR1".into(), "KR".into(), 0), "type is upper-cased");
    type MapRow = (i64, String, String, i64, String, String, String, String, i64);
    let map = |id: i64| -> MapRow {
        db.query_row("SELECT event_id, name, kacky_id, kacky_id_int, map_version, author, tmx_id, tm_uid, difficulty FROM maps WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
        })
        .unwrap()
    };
    let kk1 = "$o$i$a00K$a60a$aa0ck$0a0iest Kack$a00$a00y $0f4#5";
    assert_eq!(
        map(2),
        (1, kk1.into(), "5".into(), 5, "".into(), "nixion4".into(), "".into(), "".into(), 0),
        "NULLs → defaults"
    );
    let v2 = "$o$i$aa0Kack$05ay Re$09alo$6a0ad$aa0ed $4f0#5 [v2]";
    assert_eq!(map(5), (2, v2.into(), "5 [v2]".into(), 5, "[v2]".into(), "Nadeo".into(), "".into(), "uid5".into(), 42));
    assert_eq!(map(3).5, "sokko's");
    let wr = |map_id: i64| -> (i64, String, String, i64, String, String) {
        db.query_row(
            "SELECT id, nickname, login, score, date, source FROM worldrecords WHERE map_id = ?1",
            [map_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap()
    };
    assert_eq!(wr(1), (9, "newer".into(), "newer_login".into(), 9000, "2023-12-01 10:00:00".into(), "KKDB".into()));
    assert_eq!(wr(2), (2, "tmxuser".into(), "".into(), 14480, "1970-01-01 01:00:00".into(), "TMX".into()));
    assert_eq!(wr(3).1, "$s$eee$osim$555($111'$ccc×$eee$wॅ$m$111'$555)");
    let notify: (i64, i64, i64) = db
        .query_row("SELECT id, notified, time_diff FROM worldrecords_discord_notify", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(notify, (9, 0, 500));
    let mut st =
        db.prepare("SELECT tmx_login, tmf_login, tm20_login FROM tmx_tmlogin_mapping ORDER BY tmx_login").unwrap();
    let mapping: Vec<(Option<String>, Option<String>, Option<String>)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(
        mapping,
        vec![
            (Some("Acetm".into()), Some("embergers".into()), None),
            (Some("nixion".into()), Some("nixion4 ".into()), Some("nixion_tm20".into()))
        ]
    );
}

fn check_account_rows(db: &Connection) {
    let user = |id: i64| -> (String, String, String, String, i64, i64) {
        db.query_row(
            "SELECT username, username_key, password, mail, is_admin, token_version FROM users WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap()
    };
    let oneil = user(2);
    assert_eq!((oneil.0.as_str(), oneil.1.as_str()), ("o'neil", "o'neil"));
    assert_eq!(oneil.2, "sha256$9028ea0d15decaa35b2da21c0290af3b1a5ba0a30a591906f89b5074e209ea72");
    assert_eq!(oneil.3, "bd68e20593d08fc00961472814ae69f1dac23a8b49d9090d90684651bca4f0f3");
    assert_eq!((oneil.4, oneil.5), (0, 0));
    let admin = user(1);
    assert_eq!((admin.0.as_str(), admin.1.as_str(), admin.4), ("Admin", "admin", 1));
    let fields = |id: i64| -> (String, String, String) {
        db.query_row("SELECT discord_handle, tm20_login, tmnf_login FROM user_fields WHERE user_id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
    };
    assert_eq!(fields(2), ("oneil".into(), "".into(), "oneil_nf".into()));
    assert_eq!(fields(3), ("".into(), "".into(), "".into()));
    let mut st = db.prepare("SELECT user_id, map_id FROM alarms ORDER BY map_id").unwrap();
    let alarms: Vec<(i64, i64)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(alarms, vec![(2, 4), (2, 5)], "`3;5; 5;x` → the KR1 maps 3 and 5 (the most recent event)");
    let sheet = |u: i64, m: i64| -> (i64, i64, i64, String) {
        db.query_row(
            "SELECT map_diff, map_pb, map_rank, clip FROM spreadsheet WHERE user_id = ?1 AND map_id = ?2",
            [u, m],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
    };
    assert_eq!(sheet(3, 5), (0, 0, 0, "".into()));
    assert_eq!(sheet(1, 2), (6, 0, 0, "it's hard".into()));
    let (jti, revoked, expires): (String, i64, i64) = db
        .query_row("SELECT jti, revoked_at, expires_at FROM revoked_tokens", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(jti, "6f1c2d7e-1111-4a4a-9b9b-123456789abc");
    assert!((revoked - 1_696_161_600).abs() <= 14 * 3600, "2023-10-01 12:00 local: {revoked}");
    assert_eq!(expires - revoked, 100 * 86_400);
    let seeded: Option<String> =
        db.query_row("SELECT value FROM app_meta WHERE key = 'history_seeded'", [], |r| r.get(0)).optional().unwrap();
    assert_eq!(seeded.as_deref(), Some("1"));
}

#[test]
fn small_dump_imports_every_table_and_twice_is_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let out = import_ok(dir.path(), &fixture("old_backend_small.sql"));
    for line in ["events: 2", "maps: 5", "worldrecords: 5", "users: 3", "alarms: 2", "revoked_tokens: 1"] {
        assert!(out.contains(line), "{line} missing in:\n{out}");
    }
    assert!(out.contains("reset_tokens rows dropped") && out.contains("skipped table `kacky_stats`"), "{out}");
    let db_path = dir.path().join("kacky.db");
    assert_eq!(counts(&db_path), SMALL_COUNTS);
    let db = Connection::open(&db_path).unwrap();
    check_history_rows(&db);
    check_account_rows(&db);
    import_ok(dir.path(), &fixture("old_backend_small.sql"));
    assert_eq!(counts(&db_path), SMALL_COUNTS);
    check_history_rows(&db);
    check_account_rows(&db);
}

/// The fixture plus `extra`, and the line `extra` starts on.
pub(crate) fn broken_dump(dir: &Path, extra: &str) -> (PathBuf, usize) {
    let base = std::fs::read_to_string(fixture("old_backend_small.sql")).unwrap();
    let line = base.lines().count() + 1;
    (write(dir, "broken.sql", &format!("{base}{extra}")), line)
}

pub(crate) fn import_fails(dir: &Path, dump: &Path) -> String {
    let out = run(dir, &["import-mysql", dump.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

#[test]
fn a_bad_row_or_broken_dump_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("kacky.db");
    let (bad_fk, line) = broken_dump(
        dir.path(),
        "INSERT INTO `worldrecords` (`id`, `map_id`, `nickname`, `login`, `score`, `date`, `source`) VALUES\n\
         (50, 999, 'x', 'x', 1, '2023-01-01 00:00:00', 'KKDB');\n",
    );
    let err = import_fails(dir.path(), &bad_fk);
    assert!(err.contains(&format!("line {line}")) && err.contains("`worldrecords`"), "{err}");
    assert!(err.contains("FOREIGN KEY") && err.contains("nothing was written"), "{err}");
    assert!(counts(&db_path).iter().all(|(_, n)| *n == 0), "a failed import into a new database leaves it empty");
    import_ok(dir.path(), &fixture("old_backend_small.sql"));
    let before = counts(&db_path);
    let err = import_fails(dir.path(), &bad_fk);
    assert!(err.contains(&format!("line {line}")), "{err}");
    let (unterminated, line) = broken_dump(dir.path(), "INSERT INTO `events` (`id`, `name`) VALUES\n(3, 'oops);\n");
    let err = import_fails(dir.path(), &unterminated);
    assert!(err.contains(&format!("line {line}")) && err.contains("unterminated"), "{err}");
    let (no_user, line) =
        broken_dump(dir.path(), "INSERT INTO `kack_users` (`id`, `username`) VALUES (4, 'nopass');\n");
    let err = import_fails(dir.path(), &no_user);
    assert!(err.contains(&format!("line {line}")) && err.contains("`password`"), "{err}");
    let (taken, line) = broken_dump(
        dir.path(),
        "INSERT INTO `kack_users` (`id`, `username`, `password`, `mail`) VALUES (4, 'ADMIN ', 'ab', 'cd');\n",
    );
    let err = import_fails(dir.path(), &taken);
    assert!(err.contains(&format!("line {line}")) && err.contains("already used by user id 1"), "{err}");
    assert_eq!(counts(&db_path), before);
    let out = run(dir.path(), &["import-mysql", "/nonexistent/dump.sql"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent/dump.sql"));
}

#[tokio::test]
async fn imported_user_logs_in_and_a_reimport_keeps_the_upgraded_password() {
    let dir = tempfile::tempdir().unwrap();
    import_ok(dir.path(), &fixture("old_backend_small.sql"));
    let app = spawn_with(Options { dir: Some(dir), ..Default::default() }).await;
    let (status, body) =
        app.post_json("/login", json!({"user": "O'Neil ", "pwd": "correct horse battery"}), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.post_json("/login", json!({"user": "Admin", "pwd": "hunter22pass"}), None).await;
    assert_eq!(status, 200);
    let password = |db: &Connection| -> String {
        db.query_row("SELECT password FROM users WHERE id = 2", [], |r| r.get(0)).unwrap()
    };
    let upgraded = password(&app.sql());
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
    let dir = app.stop().await;
    let out = import_ok(dir.path(), &fixture("old_backend_small.sql"));
    assert!(out.contains("passwords already upgraded to argon2id and kept"), "{out}");
    let db = Connection::open(dir.path().join("kacky.db")).unwrap();
    assert_eq!(password(&db), upgraded, "the re-import keeps the argon2id hash");
    assert!(db
        .query_row("SELECT password FROM users WHERE id = 3", [], |r| r.get::<_, String>(0))
        .unwrap()
        .starts_with("sha256$"));
    let app = spawn_with(Options { dir: Some(dir), ..Default::default() }).await;
    let (status, _) = app.post_json("/login", json!({"user": "o'neil", "pwd": "correct horse battery"}), None).await;
    assert_eq!(status, 200);
}

/// Inserts revoked tokens through its own connection until stopped; returns how many.
fn writer_loop(db_path: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let db = Connection::open(db_path).unwrap();
        db.busy_timeout(Duration::from_secs(10)).unwrap();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            db.execute(
                "INSERT INTO revoked_tokens (jti, revoked_at, expires_at) VALUES (?1, 0, 0)",
                [format!("jti-{n}")],
            )
            .unwrap();
            n += 1;
        }
        n
    })
}

#[test]
fn backup_while_writing_and_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("kacky.db");
    let out = run(dir.path(), &["backup", "copy.db"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("does not exist"), "{}", text(&out.stderr));
    assert_eq!(run(dir.path(), &["migrate"]).status.code(), Some(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = writer_loop(db_path.clone(), stop.clone());
    std::thread::sleep(Duration::from_millis(100));
    let out = run(dir.path(), &["backup", "copy.db"]);
    let out_again = run(dir.path(), &["backup", "copy.db"]);
    let out_force = run(dir.path(), &["backup", "copy.db", "--force"]);
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("copy.db"), "{}", text(&out.stdout));
    assert_eq!(out_again.status.code(), Some(1));
    assert!(text(&out_again.stderr).contains("--force"), "{}", text(&out_again.stderr));
    assert_eq!(out_force.status.code(), Some(0), "{}", text(&out_force.stderr));
    assert!(written > 0);
    let copy = Connection::open(dir.path().join("copy.db")).unwrap();
    let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    assert_eq!(count(&copy, "maps"), 776);
    assert_eq!(count(&copy, "events"), 12);
    assert!(count(&copy, "revoked_tokens") as u64 <= written);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let out = run(dir.path(), &["check-config"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("integrity ok, schema version"), "{}", text(&out.stdout));
}

#[test]
fn check_config_fails_on_a_corrupt_database() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(dir.path(), &["migrate"]).status.code(), Some(0));
    let db_path = dir.path().join("kacky.db");
    Connection::open(&db_path)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
        .unwrap();
    let mut bytes = std::fs::read(&db_path).unwrap();
    let len = bytes.len();
    for b in &mut bytes[len / 2..len / 2 + 8192] {
        *b = 0x5a;
    }
    std::fs::write(&db_path, bytes).unwrap();
    let out = run(dir.path(), &["check-config"]);
    assert_eq!(out.status.code(), Some(1), "stdout: {} stderr: {}", text(&out.stdout), text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: ") && err.contains("integrity check"), "{err}");
}
