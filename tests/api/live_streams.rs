//! `/live` streams on real sockets can never starve the API: streams get a bounded share of the
//! connections, one client a bounded number of streams, refused streams close their
//! connection, and a stream whose client reads nothing is dropped at the write-stall deadline.
//! Time bounds are liveness bounds with a wide margin, not performance claims.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::{spawn_with, Options, TestApp, LIVE_KK7};

fn addr_of(app: &TestApp) -> std::net::SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

/// A `/live` request on its own connection (from `forwarded` behind the proxy, if given) that
/// never reads its answer.
async fn silent_viewer(app: &TestApp, forwarded: Option<String>) -> TcpStream {
    let mut s = TcpStream::connect(addr_of(app)).await.unwrap();
    let xff = forwarded.map(|a| format!("X-Forwarded-For: {a}\r\n")).unwrap_or_default();
    s.write_all(format!("GET /live HTTP/1.1\r\nHost: x\r\n{xff}\r\n").as_bytes()).await.unwrap();
    s
}

/// `/eventstatus` on a fresh connection: its status and how long it took (20 s at most).
async fn eventstatus(app: &TestApp) -> (Option<u16>, Duration) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let started = Instant::now();
    let status = client.get(app.url("/eventstatus")).send().await.ok().map(|r| r.status().as_u16());
    (status, started.elapsed())
}

/// The status line of what the server sent on `s` within 5 s (`None`: nothing yet).
async fn status_line(s: &mut TcpStream) -> Option<String> {
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.ok()?.ok()?;
    String::from_utf8_lossy(&buf[..n]).lines().next().map(str::to_owned)
}

/// The attack of the issue, scaled to 64 connections: as many silent `/live` requests from
/// one address as the server has connections. Only 8 become streams (the per-client cap), the
/// others are refused with 429 and their connections closed, and the API keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_live_requests_from_one_address_leave_the_api_answering() {
    let config = format!("{LIVE_KK7}max_connections: 64\n");
    let app = spawn_with(Options { config: &config, ..Default::default() }).await;
    let mut viewers = Vec::new();
    for _ in 0..64 {
        viewers.push(silent_viewer(&app, None).await);
    }
    let (status, took) = eventstatus(&app).await;
    eprintln!("/eventstatus beside 64 silent /live requests from one address: {status:?} in {took:?}");
    assert_eq!(status, Some(200));
    assert!(took < Duration::from_secs(2), "{took:?}");
    let mut lines = Vec::new();
    for v in &mut viewers {
        lines.push(status_line(v).await.unwrap_or_default());
    }
    let streams = lines.iter().filter(|l| l.starts_with("HTTP/1.1 200")).count();
    let refused = lines.iter().filter(|l| l.starts_with("HTTP/1.1 429")).count();
    assert_eq!((streams, refused), (8, 56), "{lines:?}");
}

/// The same from 64 addresses behind the trusted proxy: half the connections (the default
/// `live_max_streams`) become streams, the rest are refused with 503 and closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_live_requests_from_many_addresses_leave_the_api_answering() {
    let config = format!("{LIVE_KK7}max_connections: 64\ntrusted_proxies: [127.0.0.1]\n");
    let app = spawn_with(Options { config: &config, ..Default::default() }).await;
    let mut viewers = Vec::new();
    for i in 0..64 {
        viewers.push(silent_viewer(&app, Some(format!("10.3.0.{}", i + 1))).await);
    }
    let (status, took) = eventstatus(&app).await;
    eprintln!("/eventstatus beside 64 silent /live requests from 64 addresses: {status:?} in {took:?}");
    assert_eq!(status, Some(200));
    assert!(took < Duration::from_secs(2), "{took:?}");
    let mut lines = Vec::new();
    for v in &mut viewers {
        lines.push(status_line(v).await.unwrap_or_default());
    }
    let streams = lines.iter().filter(|l| l.starts_with("HTTP/1.1 200")).count();
    let refused = lines.iter().filter(|l| l.starts_with("HTTP/1.1 503")).count();
    assert_eq!((streams, refused), (32, 32), "{lines:?}");
}

/// Forty servers changing maps every minute make an hour's snapshot of about 200 KB.
fn busy_servers() -> String {
    let maps: Vec<String> = (201..=220).map(|m| m.to_string()).collect();
    (1..=40)
        .map(|i| {
            format!(
                "\"Kackiest Kacky 7 - Server {i}\": {{server_number: {i}, difficulty: white, timelimit: 1, \
                 server_login: s{i}, maps: [{}]}}\n",
                maps.join(", ")
            )
        })
        .collect()
}

/// A viewer that reads nothing (a small receive buffer, so the big snapshot fills it and the
/// server's send buffer) holds the only stream slot until the write-stall deadline (1 s here)
/// drops it; then another viewer gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_client_reads_nothing_is_dropped_at_the_write_stall_deadline() {
    let config = "eventtype: KK\nedition: 7\ntesting_mode: 1\nlive_max_streams: 1\nwrite_stall_timeout_s: 1\n";
    let servers = busy_servers();
    let app = spawn_with(Options { config, servers: Some(&servers), ..Default::default() }).await;
    let (status, snapshot) = app.get_text("/schedule?hours=1").await;
    assert_eq!(status, 200);
    assert!(snapshot.len() > 150_000, "the snapshot is big enough to fill the buffers: {} bytes", snapshot.len());

    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(addr_of(&app)).await.unwrap();
    stalled.write_all(b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let started = Instant::now();
    while app.state.live_streams.open() == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the silent viewer's stream never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let started = Instant::now();
    let mut refused = 0;
    loop {
        let status = client.get(app.url("/live")).send().await.map(|r| r.status().as_u16());
        match status {
            Ok(200) => break,
            Ok(503) => refused += 1,
            other => panic!("{other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the silent viewer kept its slot");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("the silent viewer's slot came back after {:?} ({refused} refusals)", started.elapsed());
    assert!(refused > 0, "the silent viewer held the slot at first");
    // Its connection is closed: what it can still read ends.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stalled.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the silent viewer's connection is still open");
}
