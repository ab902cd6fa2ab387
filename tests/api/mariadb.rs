//! `import-mysql` against a real MariaDB: a private server is started in a temp directory, the
//! old schema is created and filled with the project's own history (the seed CSVs) plus a few
//! accounts, `mysqldump` writes the dump, and the import must reproduce every row.
//!
//! Skipped (with a note) when no MariaDB server binary is installed, unless
//! `KACKY_TEST_MARIADB=1` (as in CI), which makes it required.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::common::{spawn_with, Options};
use crate::import::{counts, import_ok, text};

/// The MariaDB programs the test needs.
struct Tools {
    server: PathBuf,
    install_db: PathBuf,
    client: PathBuf,
    dump: PathBuf,
}

/// The first of `names` found on PATH or in the sbin directories (not always on a user's PATH).
fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"].map(PathBuf::from);
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).chain(extra).collect();
    names.iter().find_map(|n| dirs.iter().map(|d| d.join(n)).find(|p| p.is_file()))
}

fn tools() -> Option<Tools> {
    Some(Tools {
        server: find(&["mariadbd", "mysqld"])?,
        install_db: find(&["mariadb-install-db", "mysql_install_db"])?,
        client: find(&["mariadb", "mysql"])?,
        dump: find(&["mariadb-dump", "mysqldump"])?,
    })
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| text(&o.stdout).trim() == "0")
}

/// A private MariaDB server on a unix socket (no TCP), killed on drop.
struct Server {
    child: Child,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(tools: &Tools) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let root = running_as_root();
        let mut install = Command::new(&tools.install_db);
        install.arg("--no-defaults").arg(format!("--datadir={}", data.display()));
        install.args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if root {
            install.arg("--user=root");
        }
        let out = install.output().unwrap();
        assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
        let socket = dir.path().join("sock");
        let mut server = Command::new(&tools.server);
        server.arg("--no-defaults").arg(format!("--datadir={}", data.display()));
        server.arg(format!("--socket={}", socket.display()));
        server.arg(format!("--pid-file={}", dir.path().join("pid").display()));
        server.arg(format!("--log-error={}", dir.path().join("error.log").display()));
        server.args(["--skip-networking", "--skip-log-bin", "--innodb-buffer-pool-size=16M"]);
        if root {
            server.arg("--user=root");
        }
        let child = server.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let mut s = Server { child, socket, dir };
        s.wait_ready(tools);
        s
    }

    fn wait_ready(&mut self, tools: &Tools) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = self.client(tools).arg("-e").arg("SELECT 1").output().is_ok_and(|o| o.status.success());
            if ok {
                return;
            }
            let log = std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
            assert!(self.child.try_wait().unwrap().is_none(), "mariadbd exited:\n{log}");
            assert!(Instant::now() < deadline, "mariadbd did not come up:\n{log}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A client command connected to this server as root.
    fn client(&self, tools: &Tools) -> Command {
        let mut c = Command::new(&tools.client);
        c.arg("--no-defaults").arg(format!("--socket={}", self.socket.display()));
        c.args(["--user=root", "--default-character-set=utf8mb4"]);
        c
    }

    /// Feeds `sql` to the `mariadb` client.
    fn execute(&self, tools: &Tools, sql: &str) {
        let mut child =
            self.client(tools).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "mariadb client failed: {}", text(&out.stderr));
    }

    /// `mysqldump kacky` into `file`, in the tool's default format (no column lists).
    fn dump(&self, tools: &Tools, file: &Path) {
        let out = Command::new(&tools.dump)
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["--user=root", "--default-character-set=utf8mb4", "kacky"])
            .output()
            .unwrap();
        assert!(out.status.success(), "mysqldump failed: {}", text(&out.stderr));
        std::fs::write(file, out.stdout).unwrap();
    }
}

/// A MySQL string literal with the escapes mysqldump uses.
fn sql_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1a}' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn seed_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seed").join(name)
}

/// The rows of a seed CSV as text (`\N` = NULL, as in the mapping file).
fn csv_rows(name: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(seed_file(name)).unwrap();
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

/// One INSERT for a seed CSV; every value is sent as a string literal and MariaDB converts it.
fn seed_insert(table: &str, columns: &str, csv: &str) -> String {
    let rows: Vec<String> = csv_rows(csv)
        .iter()
        .map(|r| {
            let vals: Vec<String> = r.iter().map(|v| if v == "\\N" { "NULL".into() } else { sql_str(v) }).collect();
            format!("({})", vals.join(","))
        })
        .collect();
    format!("INSERT INTO `{table}` ({columns}) VALUES\n{};\n", rows.join(",\n"))
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Four accounts: an admin, a name with a quote, a non-ASCII name without profile row; alarms
/// that hit KR4 (242, also a KK7 id), KR1 (5, also KK1) and KK8 (-151).
fn accounts_sql() -> String {
    let user = |id: u32, name: &str, pwd: &str, mail: &str, admin: u8| {
        format!("({id}, {}, '{}', '{}', {admin})", sql_str(name), sha256(pwd), sha256(mail))
    };
    format!(
        "INSERT INTO kack_users (id, username, password, mail, is_admin) VALUES {}, {}, {}, {};\n\
         INSERT INTO user_fields (id, discord_handle, tm20_login, tmnf_login, alarms) VALUES\n\
           (1, 'admin#1', 'AdminTM', 'admin_nf', ''), (2, 'oneil', NULL, 'oneil_nf', '242;245; 250;250'),\n\
           (3, NULL, NULL, NULL, '5;-151;9999;x');\n\
         INSERT INTO spreadsheet (user_id, map_id, map_diff, map_pb, map_rank, clip) VALUES\n\
           (1, 1, 3, 0, 0, 'https://clip/1'), (2, 500, 6, 0, 0, 'it''s \\\\ hard'), (3, 1021, NULL, NULL, NULL, NULL);\n\
         INSERT INTO token_blacklist (id, jti, date) VALUES (1, 'jti-1', '2023-10-01 12:00:00'), (2, 'jti-2', '2023-10-02 13:00:00');\n\
         INSERT INTO reset_tokens (user_id, timestamp, token) VALUES (2, '2023-11-01 10:00:00', 'abc123');\n",
        user(1, "Admin", "hunter22pass", "admin@example.com", 1),
        user(2, "o'neil", "correct horse battery", "oneil@example.com", 0),
        user(3, "Bob", "bobs-password-1", "bob@example.com", 0),
        user(4, "Zoë", "zoes-password-1", "zoe@example.com", 0),
    )
}

/// The old database: schema fixture, the seed history, the accounts.
fn old_database_sql() -> String {
    let schema = std::fs::read_to_string(crate::import::fixture("old_schema.sql")).unwrap();
    let mut sql = format!("CREATE DATABASE kacky CHARACTER SET utf8mb3;\nUSE kacky;\n{schema}\n");
    let ev = "id, name, shortname, type, edition, startdate, enddate, visible";
    sql += &seed_insert("events", ev, "events.csv");
    let maps = "id, kackyevent, name, kacky_id, kacky_id_int, map_version, author, tmx_id, tm_uid, difficulty";
    sql += &seed_insert("maps", maps, "maps.csv");
    sql += &seed_insert("worldrecords", "id, map_id, nickname, login, score, date, source", "worldrecords.csv");
    sql += &seed_insert("tmx_tmlogin_mapping", "tmx_login, tmf_login, tm20_login", "tmx_tmlogin_mapping.csv");
    sql + &accounts_sql()
}

/// A query's rows as text, NULL as `\N`, for comparison with the CSVs.
fn rows_as_text(db: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut st = db.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => "\\N".to_owned(),
                    ValueRef::Integer(v) => v.to_string(),
                    ValueRef::Real(v) => v.to_string(),
                    ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
                })
            })
            .collect()
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn check_history_matches_seed(db: &Connection) {
    let ev = "SELECT id, name, shortname, type, edition, startdate, enddate, visible FROM events ORDER BY id";
    assert_eq!(rows_as_text(db, ev), csv_rows("events.csv"));
    let maps = "SELECT id, event_id, name, kacky_id, kacky_id_int, map_version, author, tmx_id, tm_uid, difficulty FROM maps ORDER BY id";
    assert_eq!(rows_as_text(db, maps), csv_rows("maps.csv"));
    let wrs = "SELECT id, map_id, nickname, login, score, date, source FROM worldrecords ORDER BY id";
    assert_eq!(rows_as_text(db, wrs), csv_rows("worldrecords.csv"));
    let mut mapping = rows_as_text(db, "SELECT tmx_login, tmf_login, tm20_login FROM tmx_tmlogin_mapping");
    let mut expected = csv_rows("tmx_tmlogin_mapping.csv");
    mapping.sort();
    expected.sort();
    assert_eq!(mapping, expected);
}

fn check_accounts(db: &Connection) {
    let users = rows_as_text(db, "SELECT id, username, username_key, password, mail, is_admin FROM users ORDER BY id");
    let expect = |id: &str, name: &str, key: &str, pwd: &str, mail: &str, admin: &str| {
        vec![id.into(), name.into(), key.into(), format!("sha256${}", sha256(pwd)), sha256(mail), admin.into()]
    };
    assert_eq!(users[0], expect("1", "Admin", "admin", "hunter22pass", "admin@example.com", "1"));
    assert_eq!(users[1], expect("2", "o'neil", "o'neil", "correct horse battery", "oneil@example.com", "0"));
    assert_eq!(users[3], expect("4", "Zoë", "zoë", "zoes-password-1", "zoe@example.com", "0"));
    let fields =
        rows_as_text(db, "SELECT user_id, discord_handle, tm20_login, tmnf_login FROM user_fields ORDER BY user_id");
    assert_eq!(fields[1], ["2", "oneil", "", "oneil_nf"]);
    assert_eq!(fields[2], ["3", "", "", ""]);
    let alarms = rows_as_text(
        db,
        "SELECT a.user_id, e.shortname, m.kacky_id_int FROM alarms a JOIN maps m ON m.id = a.map_id
         JOIN events e ON e.id = m.event_id ORDER BY a.user_id, m.kacky_id_int",
    );
    let expected =
        [("2", "KR4", "242"), ("2", "KR4", "245"), ("2", "KR4", "250"), ("3", "KK8", "-151"), ("3", "KR1", "5")];
    let expected: Vec<Vec<String>> =
        expected.iter().map(|(a, b, c)| vec![a.to_string(), b.to_string(), c.to_string()]).collect();
    assert_eq!(alarms, expected);
    let sheet = rows_as_text(db, "SELECT * FROM spreadsheet ORDER BY user_id");
    assert_eq!(sheet[1], ["2", "500", "6", "0", "0", "it's \\ hard"]);
    assert_eq!(sheet[2], ["3", "1021", "0", "0", "0", ""]);
    let revoked = rows_as_text(db, "SELECT jti, expires_at - revoked_at FROM revoked_tokens ORDER BY jti");
    assert_eq!(revoked, [["jti-1", "8640000"], ["jti-2", "8640000"]]);
}

#[tokio::test]
async fn mysqldump_of_a_real_mariadb_imports() {
    let required = std::env::var("KACKY_TEST_MARIADB").is_ok_and(|v| v == "1");
    let Some(tools) = tools() else {
        assert!(!required, "KACKY_TEST_MARIADB=1 but no MariaDB server (mariadbd/mysqld) is installed");
        eprintln!(
            "note: skipping the MariaDB import test: no mariadbd/mysqld found (set KACKY_TEST_MARIADB=1 to require it)"
        );
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let dump_file = work.path().join("kacky.sql");
    {
        let server = Server::start(&tools);
        server.execute(&tools, &old_database_sql());
        server.dump(&tools, &dump_file);
    }
    let dump = std::fs::read_to_string(&dump_file).unwrap();
    assert!(
        dump.contains("INSERT INTO `maps` VALUES"),
        "mysqldump's own format: no column lists, the old column order"
    );
    drop(dump);
    let out = import_ok(work.path(), &dump_file);
    assert!(
        out.contains("reset_tokens rows dropped (reset codes are short-lived; users can request a new one): 1"),
        "{out}"
    );
    let db_path = work.path().join("kacky.db");
    let expected = [
        ("events", 12),
        ("maps", 776),
        ("worldrecords", 776),
        ("worldrecords_discord_notify", 0),
        ("tmx_tmlogin_mapping", 24),
        ("users", 4),
        ("user_fields", 3),
        ("alarms", 5),
        ("spreadsheet", 3),
        ("revoked_tokens", 2),
        ("reset_tokens", 0),
    ];
    assert_eq!(counts(&db_path), expected);
    let db = Connection::open(&db_path).unwrap();
    check_history_matches_seed(&db);
    check_accounts(&db);
    drop(db);
    import_ok(work.path(), &dump_file);
    assert_eq!(counts(&db_path), expected, "a second import changes nothing");
    let app = spawn_with(Options { dir: Some(work), ..Default::default() }).await;
    let (status, body) = app.post_json("/login", json!({"user": "o'neil", "pwd": "correct horse battery"}), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.post_json("/login", json!({"user": "zoë", "pwd": "zoes-password-1"}), None).await;
    assert_eq!(status, 200);
}
