//! Crash safety of the real binary: writers run against it over HTTP while it is killed with
//! SIGKILL at random moments; after every restart each write it acknowledged is in the
//! database and `PRAGMA integrity_check` says `ok`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngExt;
use serde_json::json;

use crate::binary::{command, start};
use crate::common::{write, LIVE_KK7, SECRETS};

/// Kill-and-restart rounds.
const ROUNDS: usize = 12;
/// Concurrent sheet writers, each with its own account.
const WRITERS: usize = 2;
/// The KK7 maps the writers cycle through.
const MAPS: u64 = 75;

/// What the server acknowledged (answered 2xx), shared by the writer tasks.
#[derive(Default)]
struct Acked {
    /// Registered account names.
    users: Vec<String>,
    /// (writer, kacky id) → the highest write number acknowledged for it. Writes of one writer
    /// are sequential, so the stored clip may only be that write or a later one.
    clips: HashMap<(usize, u64), u64>,
}

struct Shared {
    acked: Mutex<Acked>,
    /// Each writer's next write number, kept across rounds.
    next: [AtomicU64; WRITERS],
    /// Requests sent and not yet answered: the writes a kill interrupts.
    in_flight: AtomicUsize,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap()
}

async fn post(client: &reqwest::Client, url: String, body: serde_json::Value, token: Option<&str>) -> Option<u16> {
    let mut req = client.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    Some(req.send().await.ok()?.status().as_u16())
}

async fn login(client: &reqwest::Client, base: &str, user: &str) -> String {
    let r = client.post(format!("{base}/login")).json(&json!({"user": user, "pwd": "password1"})).send().await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Writes clip `w<writer>-<n>` to map 201 + n mod 75, for ever; records each acknowledged one.
async fn sheet_writer(base: String, writer: usize, token: String, shared: Arc<Shared>) {
    let client = client();
    loop {
        let n = shared.next[writer].fetch_add(1, Ordering::SeqCst);
        let kacky_id = 201 + n % MAPS;
        let body = json!({"mapid": kacky_id.to_string(), "clip": format!("w{writer}-{n}")});
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        let status = post(&client, format!("{base}/spreadsheet/kk"), body, Some(&token)).await;
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        match status {
            Some(200) => {
                let mut acked = shared.acked.lock().unwrap();
                let last = acked.clips.entry((writer, kacky_id)).or_default();
                *last = (*last).max(n);
            }
            Some(s) => panic!("sheet write answered {s}"),
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Registers new accounts one after another; records each acknowledged one.
async fn registrar(base: String, round: usize, shared: Arc<Shared>) {
    let client = client();
    for i in 0.. {
        let user = format!("crash-{round}-{i}");
        let body = json!({"user": user, "pwd": "password1", "mail": "crash@example.com"});
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        let status = post(&client, format!("{base}/register"), body, None).await;
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        match status {
            Some(201) => shared.acked.lock().unwrap().users.push(user),
            Some(s) => panic!("registration answered {s}"),
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Checks the database file (while the restarted server runs): intact, and every acknowledged
/// write present. Returns how many acknowledged writes were checked.
fn verify(db: &Path, shared: &Shared) -> usize {
    let conn = rusqlite::Connection::open(db).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let acked = shared.acked.lock().unwrap();
    for user in &acked.users {
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM users WHERE username = ?1", [user], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "acknowledged registration of {user} lost");
    }
    let mut clip = conn
        .prepare(
            "SELECT s.clip FROM spreadsheet s JOIN users u ON u.id = s.user_id JOIN maps m ON m.id = s.map_id
             JOIN events e ON e.id = m.event_id WHERE u.username = ?1 AND e.shortname = 'KK7' AND m.kacky_id_int = ?2",
        )
        .unwrap();
    for (&(writer, kacky_id), &n) in &acked.clips {
        let stored: String = clip
            .query_row(rusqlite::params![format!("writer{writer}"), kacky_id as i64], |r| r.get(0))
            .unwrap_or_else(|e| panic!("acknowledged clip w{writer}-{n} on #{kacky_id} lost: {e}"));
        let (who, stored_n) = stored.split_once('-').unwrap();
        assert_eq!(who, format!("w{writer}"));
        assert!(stored_n.parse::<u64>().unwrap() >= n, "#{kacky_id} holds {stored}, w{writer}-{n} was acknowledged");
    }
    acked.users.len() + acked.clips.len()
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    // No outside calls: the game-server poll goes to a closed local port.
    // One client registers for as long as it can: the per-address limit on registrations
    // (`login_rate_per_min`) is raised out of its way.
    let config = format!("{LIVE_KK7}port: 0\ngameserver_api_url: http://127.0.0.1:9/\nlogin_rate_per_min: 1000000\n");
    write(dir.path(), "config.yaml", &config);
    write(dir.path(), "secrets.yaml", SECRETS);
    let db = dir.path().join("kacky.db");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let shared = Arc::new(Shared {
        acked: Mutex::default(),
        next: std::array::from_fn(|_| AtomicU64::new(0)),
        in_flight: AtomicUsize::new(0),
    });
    let mut rng = rand::rng();
    let mut tokens = Vec::new();
    let mut interrupted = 0;
    for round in 0..=ROUNDS {
        let (server, base) = start(command(dir.path()));
        verify(&db, &shared);
        if round == ROUNDS {
            // The last start only checks; also once through the API.
            let (status, rows) = rt.block_on(async {
                let r = client().get(format!("{base}/spreadsheet/kk/7")).bearer_auth(&tokens[0]).send().await.unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
            });
            assert_eq!(status, 200);
            let with_clip =
                rows.as_array().unwrap().iter().filter(|r| r["clip"].as_str().is_some_and(|c| c.starts_with("w0-")));
            assert!(with_clip.count() > 0, "writer 0's clips are on its sheet");
            break;
        }
        if round == 0 {
            tokens = rt.block_on(async {
                let client = client();
                let mut tokens = Vec::new();
                for w in 0..WRITERS {
                    let user = format!("writer{w}");
                    let body = json!({"user": user, "pwd": "password1", "mail": "w@example.com"});
                    assert_eq!(post(&client, format!("{base}/register"), body, None).await, Some(201));
                    tokens.push(login(&client, &base, &user).await);
                }
                tokens
            });
        }
        let mut tasks = vec![rt.spawn(registrar(base.clone(), round, shared.clone()))];
        for (w, token) in tokens.iter().enumerate() {
            tasks.push(rt.spawn(sheet_writer(base.clone(), w, token.clone(), shared.clone())));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(150..900)));
        interrupted += shared.in_flight.load(Ordering::SeqCst);
        drop(server); // SIGKILL, then wait for the process
        rt.block_on(async {
            for t in tasks {
                t.abort();
                if let Err(e) = t.await {
                    if e.is_panic() {
                        std::panic::resume_unwind(e.into_panic());
                    }
                }
            }
        });
        shared.in_flight.store(0, Ordering::SeqCst);
    }
    let checked = verify(&db, &shared);
    let acked = shared.acked.lock().unwrap();
    let writes: u64 = shared.next.iter().map(|n| n.load(Ordering::SeqCst)).sum();
    eprintln!(
        "{ROUNDS} kills: {} registrations and {writes} sheet writes attempted, {} (writer, map) slots checked, {interrupted} requests in flight at the kills",
        acked.users.len(),
        acked.clips.len()
    );
    assert!(!acked.users.is_empty(), "no registration was acknowledged");
    assert!(acked.clips.len() >= 50, "sheet writes acknowledged: {}", acked.clips.len());
    assert!(interrupted >= ROUNDS / 2, "writes in flight at the kills: {interrupted}");
    assert!(checked > 0);
}
