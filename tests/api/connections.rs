//! The connection layer (`src/server.rs`) on real sockets: read deadlines (request head,
//! request body, keep-alive idle), `/live` untouched by them, shutdown with a grace deadline,
//! and the connection cap under an open-file limit. Timeouts are a few seconds here so the
//! tests stay short; time bounds are liveness bounds (generous), never performance claims.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{spawn_with, write, Options, LIVE_KK7, SECRETS};

const BIN: &str = env!("CARGO_BIN_EXE_kacky-backend");

/// Reads until the server closes the connection (EOF, or a reset when it closed with our
/// bytes unread) and returns what arrived; `None` if it is still open after `within`.
async fn read_until_closed<R: AsyncReadExt + Unpin>(stream: &mut R, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(e) => panic!("read failed: {e}"),
            }
        }
    };
    tokio::time::timeout(within, read).await.ok().map(|()| got)
}

fn addr_of(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// 200 clients trickle request heads (a byte every 200 ms, as slowloris does): the API still
/// answers a normal client, and each trickler is closed by the header read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_request_heads_neither_starve_the_api_nor_stay_open() {
    let config = format!("{LIVE_KK7}header_read_timeout_s: 1\nrequest_timeout_s: 2\nkeepalive_idle_timeout_s: 2\n");
    let app = spawn_with(Options { config: &config, ..Default::default() }).await;
    let addr = addr_of(&app.base);
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /eventstatus HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        let (rd, mut wr) = s.into_split();
        readers.push(rd);
        writers.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if wr.write_all(b"a").await.is_err() {
                    break;
                }
            }
        }));
    }
    let started = Instant::now();
    let (status, body) = app.get("/eventstatus").await;
    let answered = started.elapsed();
    eprintln!("/eventstatus beside 200 trickling connections answered in {answered:?}");
    assert_eq!(status, 200, "{body}");
    assert!(answered < Duration::from_secs(2), "the API stalled for {answered:?}");

    let started = Instant::now();
    for (i, rd) in readers.iter_mut().enumerate() {
        // Header timeout (1 s) plus slack; the server sends nothing, it just closes.
        let got = read_until_closed(rd, Duration::from_secs(6)).await;
        assert_eq!(got.as_deref(), Some(&[][..]), "trickler {i} was not closed (or got an answer)");
    }
    eprintln!("all 200 tricklers closed {:?} after the check", started.elapsed());
    for w in writers {
        w.abort();
    }
}

/// An idle keep-alive connection lives longer than the header timeout (a second request on
/// it is served) and is closed after `keepalive_idle_timeout_s`.
#[tokio::test]
async fn idle_keep_alive_connections_get_their_own_timeout() {
    let config = format!("{LIVE_KK7}header_read_timeout_s: 1\nkeepalive_idle_timeout_s: 2\n");
    let app = spawn_with(Options { config: &config, ..Default::default() }).await;
    let mut s = TcpStream::connect(addr_of(&app.base)).await.unwrap();
    let request = b"GET /eventstatus HTTP/1.1\r\nHost: x\r\n\r\n";
    for round in 0..2 {
        if round == 1 {
            // Idle for longer than the header timeout, within the idle timeout.
            tokio::time::sleep(Duration::from_millis(1300)).await;
        }
        s.write_all(request).await.unwrap();
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.unwrap().unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"), "{}", String::from_utf8_lossy(&buf[..n]));
    }
    let got = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert_eq!(got.as_deref(), Some(&[][..]), "the idle connection was not closed");
}

/// A body trickled slower than `request_timeout_s` ends as 408 `{"msg": …}` and the
/// connection is closed; the handler's own view of the broken body never leaks out as 4xx/5xx.
#[tokio::test]
async fn a_slow_request_body_is_cut_off_with_408() {
    let config = format!("{LIVE_KK7}header_read_timeout_s: 1\nrequest_timeout_s: 2\n");
    let app = spawn_with(Options { config: &config, ..Default::default() }).await;
    let s = TcpStream::connect(addr_of(&app.base)).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    let head = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    wr.write_all(head.as_bytes()).await.unwrap();
    // A byte every 200 ms until shortly before the deadline, then nothing: the server then
    // closes with nothing of ours unread, so the close is a FIN and never a reset that could
    // overtake its answer.
    let trickle = tokio::spawn(async move {
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if wr.write_all(b" ").await.is_err() {
                break;
            }
        }
        wr
    });
    let started = Instant::now();
    let got = read_until_closed(&mut rd, Duration::from_secs(8)).await.expect("the connection was closed");
    eprintln!("slow body answered and closed after {:?}", started.elapsed());
    trickle.abort();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    assert!(text.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{text}");
    let body: serde_json::Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert!(body["msg"].as_str().unwrap().contains("2 s"), "{body}");
}

/// The real binary with its whole log (stdout and stderr) captured.
pub(crate) struct Logged {
    child: Child,
    pub(crate) base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Logged {
    fn start(mut cmd: Command) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipes: [Box<dyn Read + Send>; 2] =
            [Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
        for pipe in pipes {
            let (log, tx) = (log.clone(), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(i) = line.find("listening on http://") {
                        let _ = tx.send(line[i + "listening on ".len()..].trim().to_owned());
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let mut server = Self { child, base: String::new(), log };
        server.base = rx.recv_timeout(Duration::from_secs(30)).expect("server announced its address");
        server
    }

    pub(crate) fn lines_with(&self, needle: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|l| l.contains(needle)).count()
    }

    fn sigterm(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// The exit code, or `None` if the process is still running after `within`.
    async fn wait_exit(&mut self, within: Duration) -> Option<Option<i32>> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `program args…` in `dir` with none of the `CONFIG_FILE`-style or `KACKY_*` variables of
/// the test's environment (like `binary::command`, for any program).
fn clean_command(program: &str, dir: &Path) -> Command {
    let mut c = Command::new(program);
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

/// The binary serving the demo (simulated live event) with these overrides.
pub(crate) fn demo(dir: &Path, overrides: &[(&str, &str)]) -> Logged {
    let mut cmd = clean_command(BIN, dir);
    cmd.env("KACKY_PORT", "0");
    for (k, v) in overrides {
        cmd.env(format!("KACKY_{}", k.to_ascii_uppercase()), v);
    }
    Logged::start(cmd)
}

/// `/live` is a response that lasts: none of the read timeouts (all 1 s here) cut it.
#[tokio::test]
async fn live_streams_outlast_the_read_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let one = [
        ("header_read_timeout_s", "1"),
        ("request_timeout_s", "1"),
        ("keepalive_idle_timeout_s", "1"),
        ("live_keepalive_s", "1"),
    ];
    let server = demo(dir.path(), &one);
    let mut s = TcpStream::connect(addr_of(&server.base)).await.unwrap();
    s.write_all(b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 16384];
    while started.elapsed() < Duration::from_millis(2500) {
        match tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await {
            Ok(Ok(0)) => panic!("the stream was closed after {:?}", started.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => panic!("the stream broke after {:?}: {e}", started.elapsed()),
            Err(_) => panic!("no keep-alive for 3 s"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK") && text.contains("event: snapshot"), "{text}");
    assert!(text.matches("\n:").count() >= 1, "keep-alive comments kept coming: {text}");
}

/// SIGTERM with a half-sent head, a half-sent body (its handler waiting) and a `/live`
/// stream open: the stream ends at once, the rest get `shutdown_grace_s`, and the process
/// exits 0 soon after.
#[tokio::test]
async fn sigterm_with_half_sent_requests_exits_0_within_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let long_reads = [("header_read_timeout_s", "60"), ("request_timeout_s", "60"), ("shutdown_grace_s", "1")];
    let mut server = demo(dir.path(), &long_reads);
    let addr = addr_of(&server.base);
    let mut live = TcpStream::connect(&addr).await.unwrap();
    live.write_all(b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 64];
    assert!(live.read(&mut buf).await.unwrap() > 0, "the stream started");
    let mut half_head = TcpStream::connect(&addr).await.unwrap();
    half_head.write_all(b"GET /eventstatus HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut half_body = TcpStream::connect(&addr).await.unwrap();
    let head = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"us";
    half_body.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    server.sigterm();
    assert!(read_until_closed(&mut live, Duration::from_secs(2)).await.is_some(), "/live ended at once");
    let code = server.wait_exit(Duration::from_secs(1 + 5)).await;
    eprintln!("exit {code:?} {:?} after SIGTERM", started.elapsed());
    assert_eq!(code, Some(Some(0)), "exited with 0 within shutdown_grace_s + 5 s");
    assert_eq!(server.lines_with("still open after 1 s; closing them"), 1, "the grace deadline ended it");
    for s in [&mut half_head, &mut half_body] {
        assert!(read_until_closed(s, Duration::from_secs(1)).await.is_some());
    }
}

/// The binary under a 1,024 open-file limit with `extra` config, and 1,100 connections that
/// send nothing, opened at once: `/eventstatus` on a new connection, sent once the server has
/// logged `full` (it is out of connections), still answers (once the header timeout, 2 s, has
/// shed idle ones), and every one of the 1,100 gets through in the end. Returns the server
/// (and its directory) for log checks.
async fn flood_under_file_limit(extra: &str, full: &str) -> (Logged, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kacky.db");
    let config = format!("port: 0\nheader_read_timeout_s: 2\ndatabase: {}\n{extra}", db.display());
    let config = write(dir.path(), "config.yaml", &config);
    let secrets = write(dir.path(), "secrets.yaml", SECRETS);
    let mut cmd = clean_command("sh", dir.path());
    cmd.args(["-c", "ulimit -n 1024 && exec \"$0\" \"$@\"", BIN, "--config"])
        .arg(&config)
        .arg("--secrets")
        .arg(&secrets)
        .arg("serve");
    let server = Logged::start(cmd);
    let addr = addr_of(&server.base);

    // Beyond what the server holds plus its listen backlog, connects wait for the kernel
    // (SYN retransmission), so they are opened concurrently.
    let opener = {
        let addr = addr.clone();
        tokio::spawn(async move { futures_util::future::join_all((0..1100).map(|_| TcpStream::connect(&addr))).await })
    };
    let started = Instant::now();
    while server.lines_with(full) == 0 {
        assert!(started.elapsed() < Duration::from_secs(15), "the server never logged {full:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("{full:?} logged {:?} after the first connect", started.elapsed());
    let started = Instant::now();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let mut attempts = 0;
    let status = loop {
        attempts += 1;
        match client.get(format!("{}/eventstatus", server.base)).send().await {
            Ok(r) => break r.status().as_u16(),
            Err(e) if attempts < 3 => eprintln!("attempt {attempts}: {e}; retrying"),
            Err(e) => panic!("no answer in {attempts} attempts: {e}"),
        }
    };
    eprintln!("/eventstatus answered {status} after {:?}", started.elapsed());
    assert_eq!(status, 200);
    let idle = tokio::time::timeout(Duration::from_secs(30), opener).await.expect("all connects ended").unwrap();
    let failed: Vec<_> = idle.iter().filter_map(|s| s.as_ref().err()).collect();
    assert!(failed.is_empty(), "{} connects failed, e.g. {:?}", failed.len(), failed.first());
    eprintln!("all 1,100 connects succeeded {:?} after /eventstatus was sent", started.elapsed());
    drop(idle);
    // Let the accept loop log whatever it was going to.
    tokio::time::sleep(Duration::from_millis(200)).await;
    (server, dir)
}

/// Default cap (768) below the 1,024-file limit: the cap, not the file limit, stops
/// accepting; it is logged a few times at most, and accepts never fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_idle_connections_than_the_file_limit_with_the_default_cap() {
    let (server, _dir) = flood_under_file_limit("", "connection cap reached").await;
    let cap_lines = server.lines_with("connection cap reached");
    assert!((1..=3).contains(&cap_lines), "cap reached lines: {cap_lines}");
    assert_eq!(server.lines_with("Too many open files"), 0);
}

/// A cap above the file limit (a misconfiguration, warned about at start): accepts fail with
/// EMFILE, the loop backs off and logs a handful of lines, not one per attempt, and the
/// server still answers once idle connections are shed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_errors_at_the_file_limit_back_off_quietly() {
    let (server, _dir) = flood_under_file_limit("max_connections: 4096\n", "Too many open files").await;
    assert_eq!(server.lines_with("max_connections is 4096 but the process may open only 1024 files"), 1);
    let emfile = server.lines_with("Too many open files");
    assert!((1..=5).contains(&emfile), "'Too many open files' lines: {emfile}");
}
