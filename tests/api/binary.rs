//! End-to-end tests of the real binary: the no-config demo and config failure modes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::write;

const BIN: &str = env!("CARGO_BIN_EXE_kacky-backend");

/// Runs the binary in `dir` with no `CONFIG_FILE`-style variables inherited.
pub(crate) fn command(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_remove("CONFIG_FILE")
        .env_remove("SECRETS_FILE")
        .env_remove("SERVERS_FILE")
        .env("RUST_LOG", "info");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("KACKY_")) {
        c.env_remove(k);
    }
    c
}

pub(crate) struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server and returns its base URL, read from the "listening on" log line.
pub(crate) fn start(mut cmd: Command) -> (Running, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // Output to a pipe (systemd's journal, a log collector) is plain text.
            if line.contains('\u{1b}') {
                let _ = tx.send(Err(line));
                return;
            }
            if let Some(i) = line.find("listening on http://") {
                let _ = tx.send(Ok(line[i + "listening on ".len()..].trim().to_owned()));
            }
        }
    });
    let base = rx.recv_timeout(Duration::from_secs(30)).expect("server announced its address");
    let base = base.unwrap_or_else(|line| panic!("a log line with terminal escape codes: {line:?}"));
    (running, base)
}

#[tokio::test]
async fn demo_without_any_config_files_serves() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.env("KACKY_PORT", "0");
    let (_server, base) = start(cmd);
    let client = reqwest::Client::new();
    let status: serde_json::Value =
        client.get(format!("{base}/eventstatus")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["status"], "active");
    let r = client.get(format!("{base}/spreadsheet/kk/7")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let rows: Vec<serde_json::Value> = r.json().await.unwrap();
    assert_eq!(rows.len(), 75);
    assert!(base.starts_with("http://127.0.0.1:"), "the demo binds loopback only: {base}");
    assert!(dir.path().join("kacky.db").exists());
    let health: serde_json::Value = client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["notifier"]["enabled"], false, "{health}");
}

/// One line points the demo at a Discord webhook; `/healthz` shows the notifier (never the URL).
#[tokio::test]
async fn demo_with_a_webhook_shows_the_notifier() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.env("KACKY_PORT", "0").env("KACKY_DISCORD_WEBHOOK_URL", "http://127.0.0.1:9/api/webhooks/1/demo-secret");
    let (_server, base) = start(cmd);
    let body = reqwest::get(format!("{base}/healthz")).await.unwrap().text().await.unwrap();
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["notifier"]["enabled"], true, "{health}");
    assert_eq!(health["notifier"]["pending"], 0);
    assert!(!body.contains("demo-secret"), "{body}");
}

fn run_check(dir: &Path, files: &[(&str, &str)]) -> (i32, String) {
    for (name, body) in files {
        write(dir, name, body);
    }
    let out = command(dir).arg("check-config").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn missing_required_secret_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run_check(dir.path(), &[("config.yaml", "eventtype: KK\n"), ("secrets.yaml", "api_pwd: x\n")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("secrets.yaml") && err.contains("jwt_secret") && err.contains("missing"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_datetime_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) =
        run_check(dir.path(), &[("config.yaml", "compend: next friday\n"), ("secrets.yaml", "jwt_secret: x\n")]);
    assert_eq!(code, 2);
    assert!(err.contains("config.yaml: key `compend`: expected a date-time"), "{err}");
}

#[test]
fn bad_type_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run_check(dir.path(), &[("config.yaml", "port: [1, 2]\n"), ("secrets.yaml", "jwt_secret: x\n")]);
    assert_eq!(code, 2);
    assert!(err.contains("config.yaml: key `port`: expected an integer, found a list"), "{err}");
    let (code, err) = run_check(dir.path(), &[("config.yaml", "eventtype: KY\n")]);
    assert_eq!(code, 2);
    assert!(err.contains("key `eventtype`: expected KK, KR or KX, found \"KY\""), "{err}");
}

#[test]
fn broken_yaml_and_bad_servers_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run_check(dir.path(), &[("config.yaml", "port: [1, 2\n"), ("secrets.yaml", "jwt_secret: x\n")]);
    assert_eq!(code, 2);
    assert!(err.contains("config.yaml: not valid YAML"), "{err}");
    let (code, err) = run_check(
        dir.path(),
        &[("config.yaml", "port: 1\n"), ("servers.yaml", "S1: {server_number: 1, timelimit: -5, maps: [1]}\n")],
    );
    assert_eq!(code, 2);
    assert!(err.contains("servers.yaml: key `S1.timelimit`: expected a positive number"), "{err}");
}

#[test]
fn old_style_env_paths_and_env_overrides() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "c.yaml", "eventtype: KK\nedition: 3\n");
    write(dir.path(), "s.yaml", "jwt_secret: x\n");
    let out = command(dir.path())
        .env("CONFIG_FILE", "c.yaml")
        .env("SECRETS_FILE", "s.yaml")
        .env("KACKY_EDITION", "8")
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("event: KK8"));
    let out = command(dir.path())
        .env("CONFIG_FILE", "c.yaml")
        .env("KACKY_JWT_SECRET", "from-env")
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = command(dir.path()).args(["--config", "missing.yaml", "check-config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.yaml: file not found"));
}

/// Keys a file does not declare are logged and ignored: the old system's as accepted for
/// compatibility, others as unknown. A `KACKY_*` variable that is no key is silent.
#[test]
fn unknown_keys_are_reported_and_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "config.yaml", "eventtype: KK\nworkers: 4\ncolour: red\n");
    write(dir.path(), "secrets.yaml", "jwt_secret: x\ndbpwd: y\nport: 1\n");
    let out = command(dir.path()).env("KACKY_NOT_A_KEY", "1").arg("check-config").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("config.yaml: unknown key `colour` ignored"), "{stdout}");
    assert!(stdout.contains("config.yaml: key `workers` is accepted for compatibility and ignored"), "{stdout}");
    assert!(stdout.contains("secrets.yaml: key `dbpwd` is accepted for compatibility and ignored"), "{stdout}");
    assert!(stdout.contains("secrets.yaml: unknown key `port` ignored"), "a key of the other file: {stdout}");
    assert!(!stdout.contains("not_a_key"), "{stdout}");
    assert!(stdout.contains("event: KK4"), "{stdout}");
}

#[test]
fn migrate_command_creates_and_seeds_the_database() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "config.yaml", "database: data/k.db\n");
    write(dir.path(), "secrets.yaml", "jwt_secret: x\n");
    let out = command(dir.path()).arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap().count();
    let expected = format!("schema version {migrations}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&expected), "{expected}");
    let db = rusqlite::Connection::open(dir.path().join("data/k.db")).unwrap();
    let n: i64 = db.query_row("SELECT COUNT(*) FROM maps", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 776);
}

/// Config date-times without an offset are local time: the zone is named at start (and by
/// `check-config`), and one that falls in the daylight-saving gap is refused with the gap
/// named, not a misleading "expected a date-time". The zone is a POSIX `TZ` rule (Central
/// European Time), so no time zone database is needed.
#[test]
fn zone_less_dates_name_their_time_zone_and_a_dst_gap() {
    const CET: &str = "CET-1CEST,M3.5.0,M10.5.0/3";
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secrets.yaml", "jwt_secret: x\n");
    let config = |start: &str| {
        let text = format!("port: 0\ndatabase: k.db\ncompstart: {start}\ncompend: 2024-04-30T20:00\n");
        write(dir.path(), "config.yaml", &text);
    };
    config("2024-03-31T02:30");
    let out = command(dir.path()).env("TZ", CET).arg("check-config").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "config.yaml: key `compstart`: \"2024-03-31T02:30\" does not exist in the local time zone TZ={CET}: \
             the clocks jump from UTC+01:00 to UTC+02:00 over it (daylight saving time). Write it with an offset, \
             like 2024-03-31T02:30:00+01:00"
        )),
        "{stderr}"
    );

    config("2024-03-30T02:30");
    let out = command(dir.path()).env("TZ", CET).arg("check-config").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let named = format!("read in the local time zone TZ={CET} (UTC+0");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&named), "{}", String::from_utf8_lossy(&out.stdout));

    let mut child =
        command(dir.path()).env("TZ", CET).arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let mut zone_lines = 0;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        zone_lines += usize::from(line.contains(&named) && line.contains("compstart, compend"));
        if line.contains("listening on http://") {
            break;
        }
    }
    assert_eq!(zone_lines, 1, "the start-up log names the zone once");
}
