//! Bench-only: many concurrent `/live` viewers against one server, for `bench/live.sh`.
//!
//! Opens `viewers` connections (from source addresses 127.1.x.y, `per_address` each, so a
//! per-client cap of that size is not hit), sends `GET /live` on each and reads the
//! Server-Sent Events. For every `event: map` it notes when it arrived against the change's
//! `start` (the instant the new map began): the delivery delay. Meanwhile a probe asks
//! `probe_path` on its own keep-alive connection every 20 ms and records the latencies. After
//! `seconds` it prints one `key=value` line per figure.
//!
//! Usage: `bench_live_viewers <host:port> <viewers> <seconds> [per_address=8] [probe_path=/eventstatus]`

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Per map change (server, start): viewers that got it and the longest delay (ms).
type Changes = Mutex<HashMap<(i64, String), (usize, i64)>>;

#[derive(Default)]
struct Stats {
    streaming: AtomicUsize,
    refused: AtomicUsize,
    failed: AtomicUsize,
    ended: AtomicUsize,
    changes: Changes,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bench_live_viewers <host:port> <viewers> <seconds> [per_address] [probe_path]";
    let addr: SocketAddr = args.first().and_then(|a| a.parse().ok()).expect(usage);
    let viewers: usize = args.get(1).and_then(|a| a.parse().ok()).expect(usage);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    let per_address: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(8);
    let probe_path = args.get(4).cloned().unwrap_or_else(|| "/eventstatus".into());

    let stats = Arc::new(Stats::default());
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(viewers);
    // In waves, so the listen backlog is never the bottleneck.
    for wave in (0..viewers).collect::<Vec<_>>().chunks(250) {
        let mut connects = Vec::new();
        for &i in wave {
            let n = i / per_address.max(1);
            let source = IpAddr::V4(Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 1) as u8));
            connects.push(tokio::spawn(connect(addr, source)));
        }
        for c in connects {
            match c.await.expect("connect task") {
                Ok(stream) => tasks.push(tokio::spawn(view(stream, stats.clone()))),
                Err(e) => {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("connect failed: {e}");
                }
            }
        }
    }
    let connected_in = started.elapsed();
    // The probe runs on a thread and runtime of its own, so the viewers' reading does not
    // delay its timing (they still share the machine's cores with it and the server).
    let probe = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("probe runtime");
        rt.block_on(probe(addr, probe_path, Duration::from_secs(seconds)))
    });
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let latencies = tokio::task::spawn_blocking(move || probe.join().expect("probe thread")).await.expect("join");
    report(&stats, connected_in, latencies);
    std::process::exit(0);
}

async fn connect(addr: SocketAddr, source: IpAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let mut stream = socket.connect(addr).await?;
    stream.write_all(b"GET /live HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n").await?;
    Ok(stream)
}

/// Reads one stream until it ends, noting every map change.
async fn view(mut stream: TcpStream, stats: Arc<Stats>) {
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut chunk = [0u8; 8192];
    let mut head_seen = false;
    // How far `buf` has been searched for the end of an event already.
    let mut scanned: usize = 0;
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let arrived = Utc::now();
        buf.extend_from_slice(&chunk[..n]);
        if !head_seen {
            let Some(end) = find(&buf, b"\r\n\r\n") else { continue };
            if !buf.starts_with(b"HTTP/1.1 200") {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                return;
            }
            stats.streaming.fetch_add(1, Ordering::Relaxed);
            head_seen = true;
            buf.drain(..end + 4);
        }
        while let Some(at) = find(&buf[scanned.saturating_sub(1)..], b"\n\n") {
            let end = scanned.saturating_sub(1) + at;
            let block: Vec<u8> = buf.drain(..end + 2).collect();
            note(&String::from_utf8_lossy(&block), arrived, &stats.changes);
            scanned = 0;
        }
        scanned = buf.len();
    }
    if head_seen {
        stats.ended.fetch_add(1, Ordering::Relaxed);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One SSE block (chunked transfer framing lines are ignored: they hold no `event:`/`data:`).
fn note(block: &str, arrived: DateTime<Utc>, changes: &Changes) {
    if !block.lines().any(|l| l == "event: map") {
        return;
    }
    let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else { return };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(data) else { return };
    let (Some(server), Some(start)) = (v["server"].as_i64(), v["start"].as_str()) else { return };
    let Ok(at) = start.parse::<DateTime<Utc>>() else { return };
    let delay = (arrived - at).num_milliseconds();
    let mut changes = changes.lock().unwrap();
    let entry = changes.entry((server, start.to_owned())).or_insert((0, i64::MIN));
    entry.0 += 1;
    entry.1 = entry.1.max(delay);
}

/// `GET path` every 20 ms on one keep-alive connection for `length`; the latencies, with
/// when each request was sent (since the probe started).
async fn probe(addr: SocketAddr, path: String, length: Duration) -> Vec<(Duration, Duration)> {
    let mut latencies = Vec::new();
    let begun = Instant::now();
    let end = Instant::now() + length;
    let mut conn: Option<TcpStream> = None;
    let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
    let mut buf = vec![0u8; 64 * 1024];
    while Instant::now() < end {
        let started = Instant::now();
        let stream = match conn.as_mut() {
            Some(s) => s,
            None => conn.insert(TcpStream::connect(addr).await.expect("probe connect")),
        };
        let ok = stream.write_all(request.as_bytes()).await.is_ok() && read_answer(stream, &mut buf).await;
        if ok {
            latencies.push((started.elapsed(), started - begun));
        } else {
            conn = None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies
}

/// Reads one answer with a `Content-Length` body.
async fn read_answer(stream: &mut TcpStream, buf: &mut [u8]) -> bool {
    let mut have = 0;
    loop {
        let Ok(n) = stream.read(&mut buf[have..]).await else { return false };
        if n == 0 {
            return false;
        }
        have += n;
        let Some(head) = find(&buf[..have], b"\r\n\r\n") else { continue };
        let text = String::from_utf8_lossy(&buf[..head]).to_ascii_lowercase();
        let length = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if have >= head + 4 + length {
            return text.starts_with("http/1.1 200");
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(stats: &Stats, connected_in: Duration, probed: Vec<(Duration, Duration)>) {
    let slowest = probed.iter().max().copied();
    let mut latencies: Vec<Duration> = probed.into_iter().map(|(l, _)| l).collect();
    latencies.sort();
    let changes = stats.changes.lock().unwrap();
    let streaming = stats.streaming.load(Ordering::Relaxed);
    println!("viewers_streaming={streaming}");
    println!("viewers_refused={}", stats.refused.load(Ordering::Relaxed));
    println!("viewers_failed={}", stats.failed.load(Ordering::Relaxed));
    println!("viewers_ended_early={}", stats.ended.load(Ordering::Relaxed));
    println!("connected_in_ms={}", connected_in.as_millis());
    println!("map_changes={}", changes.len());
    let complete = changes.values().filter(|(n, _)| *n == streaming).count();
    println!("map_changes_seen_by_every_viewer={complete}");
    let worst = changes.values().map(|(_, d)| *d).max().unwrap_or(0);
    println!("map_change_worst_delay_ms={worst}");
    let mut by_start: Vec<_> = changes.iter().collect();
    by_start.sort_by(|a, b| a.0 .1.cmp(&b.0 .1).then(a.0 .0.cmp(&b.0 .0)));
    for ((server, start), (n, delay)) in by_start {
        println!("change server={server} start={start} viewers={n} worst_delay_ms={delay}");
    }
    println!("probe_requests={}", latencies.len());
    println!("probe_p50_ms={:.2}", percentile(&latencies, 0.50));
    println!("probe_p99_ms={:.2}", percentile(&latencies, 0.99));
    println!("probe_p999_ms={:.2}", percentile(&latencies, 0.999));
    println!("probe_max_ms={:.2}", percentile(&latencies, 1.0));
    if let Some((_, at)) = slowest {
        println!("probe_max_at_s={:.1}", at.as_secs_f64());
    }
}
