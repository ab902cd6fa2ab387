//! Registration floods and the shared resources they could exhaust: the hashing queue (bounded,
//! logins first, 503 with `Retry-After` when full), the per-address registration limit, and
//! the look-alike check (an index look-up, not a scan of every account). Time bounds here are
//! liveness bounds with a wide margin, not performance claims.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use kacky_backend::hashpool::{Kind, QUEUE};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{spawn, spawn_with, Options, TestApp, LIVE_KK7};

/// `n` registrations at once with fresh names, each from `from(i)` (an `X-Forwarded-For`
/// address, or none); their statuses and bodies, with the `Retry-After` header.
async fn flood(app: &TestApp, n: usize, from: impl Fn(usize) -> Option<String>) -> Vec<(u16, Value, Option<String>)> {
    let requests = (0..n).map(|i| {
        let mut req = app.client.post(app.url("/register")).json(&json!({
            "user": format!("flood{i}"), "pwd": "long enough", "mail": format!("f{i}@example.com")
        }));
        if let Some(addr) = from(i) {
            req = req.header("X-Forwarded-For", addr);
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            (status, r.json::<Value>().await.unwrap(), retry)
        }
    });
    join_all(requests).await
}

/// Logs `user` in while `during` runs; the login's status and how long it took.
async fn login_during<F: std::future::Future>(app: &TestApp, user: &str, during: F) -> (u16, Duration, F::Output) {
    let login = async {
        // Let the flood's requests reach the server first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let (status, _) = app.post_json("/login", json!({"user": user, "pwd": "correct horse"}), None).await;
        (status, started.elapsed())
    };
    let ((status, took), out) = tokio::join!(login, during);
    (status, took, out)
}

/// 150 registrations at once from one address: 10 a minute are served (`login_rate_per_min`), the rest
/// get 429 before any hashing, and a correct login beside them answers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_flood_from_one_address_leaves_a_login_fast() {
    let app = spawn().await;
    app.register_login("alice", "correct horse").await;
    let (status, took, answers) = login_during(&app, "alice", flood(&app, 150, |_| None)).await;
    eprintln!("login beside the flood from one address: {status} in {took:?}");
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(2), "the login took {took:?}");
    let created = answers.iter().filter(|a| a.0 == 201).count();
    let limited = answers.iter().filter(|a| a.0 == 429).count();
    // Alice's own registration was the first of the 10.
    assert_eq!(created, 9, "{:?}", answers.iter().map(|a| a.0).collect::<Vec<_>>());
    assert_eq!(limited, 141);
    let (_, body, retry) = answers.iter().find(|a| a.0 == 429).unwrap();
    assert!(body["msg"].as_str().unwrap().starts_with("too many registrations; retry in"), "{body}");
    assert!(retry.as_deref().and_then(|r| r.parse::<u64>().ok()).is_some_and(|s| (1..=60).contains(&s)));
}

/// 300 registrations at once from 300 addresses (behind a trusted proxy): the hashing queue
/// fills, the overflow is answered 503 with `Retry-After` at once, and a correct login beside
/// them goes ahead of the queued registrations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_flood_from_many_addresses_gets_503s_and_a_login_stays_fast() {
    let config = format!("{LIVE_KK7}trusted_proxies: [127.0.0.1]\n");
    let app = spawn_with(Options { config: &config, ..Default::default() }).await;
    app.register_login("alice", "correct horse").await;
    let from = |i: usize| Some(format!("10.1.{}.{}", i / 200, i % 200 + 1));
    let (status, took, answers) = login_during(&app, "alice", flood(&app, 300, from)).await;
    eprintln!("login beside the flood from 300 addresses: {status} in {took:?}");
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(2), "the login took {took:?}");
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert!(statuses.iter().all(|s| [201, 503].contains(s)), "{statuses:?}");
    let busy = answers.iter().find(|a| a.0 == 503).expect("some registrations found the queue full");
    assert!(busy.1["msg"].as_str().unwrap().starts_with("password hashing is busy; retry in"), "{}", busy.1);
    assert_eq!(busy.2.as_deref(), Some("2"));
    let created = statuses.iter().filter(|s| **s == 201).count();
    let stored: i64 = app.sql().query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(stored as usize, created + 1, "every 201 is stored, no 503 is");
}

/// Registrations whose clients hang up before their turn are never hashed: with every hashing
/// thread held, 40 registrations from 40 addresses fill the queue (32) and hang up; the queue
/// empties while no hash can run, and once the threads are free the 32 are skipped, not
/// hashed, and none is stored. Counted, not timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_whose_clients_left_are_skipped() {
    let config = format!("{LIVE_KK7}trusted_proxies: [127.0.0.1]\n");
    let app = spawn_with(Options { config: &config, ..Default::default() }).await;
    app.register_login("idle", "correct horse").await;
    // Hold every hashing thread, so the flood's registrations can only queue.
    let hasher = app.state.hasher.clone();
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let mut releases = Vec::new();
    for _ in 0..hasher.threads() {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        releases.push(release);
        let (hasher, started_tx) = (hasher.clone(), started_tx.clone());
        tokio::spawn(async move {
            let held = hasher.run(Kind::Login, move || {
                started_tx.send(()).unwrap();
                let _ = wait.recv();
            });
            held.await.unwrap();
        });
    }
    for _ in 0..hasher.threads() {
        started_rx.recv_timeout(Duration::from_secs(30)).expect("a hashing thread is held");
    }
    let skipped_before = hasher.skipped();
    // Forty registrations from forty addresses, each on its own connection and one after the
    // other: the first 32 wait in the queue, the other 8 get 503 (read before the next one is
    // sent, so none of them can arrive after the hang-ups and take a freed place). Raw sockets:
    // a dropped reqwest future need not close its connection at once, a dropped socket does.
    let addr = app.url("/").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut clients = Vec::new();
    for i in 0..40 {
        let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let body =
            json!({"user": format!("flood{i}"), "pwd": "long enough", "mail": format!("f{i}@example.com")}).to_string();
        let request = format!(
            "POST /register HTTP/1.1\r\nHost: kacky\r\nContent-Type: application/json\r\n\
             X-Forwarded-For: 10.2.0.{}\r\nContent-Length: {}\r\n\r\n{body}",
            i + 1,
            body.len()
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        if i < QUEUE {
            let started = Instant::now();
            while hasher.queued(Kind::NewPassword) < i + 1 {
                assert!(started.elapsed() < Duration::from_secs(30), "registration {i} never queued");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        } else {
            let mut head = [0u8; 12];
            tokio::time::timeout(Duration::from_secs(30), socket.read_exact(&mut head))
                .await
                .expect("an answer to the registration beyond the queue")
                .unwrap();
            assert_eq!(&head, b"HTTP/1.1 503", "registration {i} finds the queue full");
        }
        clients.push(socket);
    }
    // The clients hang up. The queue empties as the server notices, while no hash can run.
    drop(clients);
    let started = Instant::now();
    while hasher.queued(Kind::NewPassword) > 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the abandoned registrations stay queued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    releases.clear();
    app.register_login("alice", "correct horse").await;
    assert_eq!(hasher.skipped() - skipped_before, QUEUE as u64, "every abandoned registration is skipped, none hashed");
    let stored: i64 = app.sql().query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 2, "no abandoned registration was stored");
}
