//! Metrics on the private port: the real router and the real metrics server on 127.0.0.1,
//! scraped over HTTP like Prometheus does.
//!
//! The recorder is global to the test process, so counters also move with the other tests
//! running beside these: counters are checked as "went up by at least", and the scrapes that
//! fill in state-derived gauges run one at a time (`SCRAPES`).

use std::time::Duration;

use kacky_backend::clock::Clock;
use kacky_backend::hashpool::{HashPool, Kind};
use kacky_backend::live::poll_now;

use crate::common::{spawn, TestApp};
use crate::live::{answer, fake_gameserver, spawn_live_with, t0, Answer};

/// Scrapes that set state-derived gauges (open streams, poll ages) must not interleave.
static SCRAPES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The metrics server of `app`'s state on a port of its own.
async fn metrics_port(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(kacky_backend::metrics::serve(listener, app.state.clone()));
    base
}

/// One scrape of `base/metrics`.
async fn scrape(base: &str) -> String {
    let _one_at_a_time = SCRAPES.lock().await;
    let r = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    r.text().await.unwrap()
}

/// The value of the series written exactly as `series` (`name{label="v",…}`), 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// The value of `series` in the process's recorder now (installing it if needed), for tests
/// elsewhere that check one counter without a metrics port.
pub(crate) fn recorded(series: &str) -> f64 {
    value(&kacky_backend::metrics::handle().expect("the recorder installs").render(), series)
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_the_public_port_has_no_metrics() {
    let app = spawn().await;
    let base = metrics_port(&app).await;
    let sheet = r#"kacky_http_requests_total{route="/spreadsheet/{event}/{edition}",method="GET",status="200"}"#;
    let bad = r#"kacky_http_requests_total{route="/spreadsheet/{event}/{edition}",method="GET",status="404"}"#;
    let unmatched = r#"kacky_http_requests_total{route="unmatched",method="GET",status="404"}"#;
    let timed = r#"kacky_http_request_duration_seconds_count{route="/spreadsheet/{event}/{edition}"}"#;
    let before = scrape(&base).await;

    for _ in 0..3 {
        assert_eq!(app.get("/spreadsheet/KK/7").await.0, 200);
    }
    assert_eq!(app.get("/spreadsheet/XX/7").await.0, 404, "an unknown event type");
    // The public port keeps answering 404 (JSON) for /metrics, counted as unmatched.
    let (status, body) = app.get("/metrics").await;
    assert_eq!(status, 404);
    assert!(body["msg"].as_str().unwrap().contains("/metrics"), "{body}");

    let after = scrape(&base).await;
    assert!(value(&after, sheet) >= value(&before, sheet) + 3.0, "{after}");
    assert!(value(&after, bad) > value(&before, bad), "{after}");
    assert!(value(&after, unmatched) > value(&before, unmatched), "{after}");
    assert!(value(&after, timed) >= value(&before, timed) + 4.0, "{after}");
    assert!(after.contains("# TYPE kacky_http_request_duration_seconds histogram"), "{after}");
    assert!(after
        .contains(r#"kacky_http_request_duration_seconds_bucket{route="/spreadsheet/{event}/{edition}",le="0.005"}"#));
    // No raw path becomes a label value.
    assert!(!after.contains("/spreadsheet/KK/7") && !after.contains("XX"), "{after}");

    // The metrics port serves nothing else, and answers in JSON.
    let r = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<serde_json::Value>().await.unwrap()["msg"].is_string());
}

#[tokio::test]
async fn answer_cache_hits_misses_and_database_pool_waits() {
    let app = spawn().await;
    let base = metrics_port(&app).await;
    let (hit, miss) =
        (r#"kacky_answer_cache_requests_total{result="hit"}"#, r#"kacky_answer_cache_requests_total{result="miss"}"#);
    let waits = "kacky_db_pool_wait_seconds_count";
    let before = scrape(&base).await;
    // A fresh app: the first answer is computed, the next two come from the cache.
    for _ in 0..3 {
        assert_eq!(app.get("/events").await.0, 200);
    }
    let after = scrape(&base).await;
    assert!(value(&after, miss) > value(&before, miss), "{after}");
    assert!(value(&after, hit) >= value(&before, hit) + 2.0, "{after}");
    assert!(value(&after, waits) > value(&before, waits), "{after}");
    assert!(after.contains("# TYPE kacky_db_pool_wait_seconds histogram"), "{after}");
}

#[tokio::test]
async fn open_live_streams_are_counted_while_they_are_open() {
    let app = spawn().await;
    let base = metrics_port(&app).await;
    let open = |text: &str| value(text, "kacky_live_streams_open");
    assert_eq!(open(&scrape(&base).await), 0.0);
    let first = app.client.get(app.url("/live")).send().await.unwrap();
    let second = app.client.get(app.url("/live")).send().await.unwrap();
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let text = scrape(&base).await;
    assert_eq!(open(&text), 2.0, "{text}");
    // The default: half of max_connections (768).
    assert_eq!(value(&text, "kacky_live_streams_max"), 384.0);
    drop(first);
    // The server notices the closed stream at its next write (a keep-alive at the latest).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while open(&scrape(&base).await) != 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "a closed stream is still counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(second);
}

#[tokio::test]
async fn polls_are_counted_per_server_and_ages_follow_the_clock() {
    let (fake, script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let clock = Clock::manual(t0());
    let app = spawn_live_with(&fake, &clock, 3600, "").await;
    let base = metrics_port(&app).await;
    let series = |result: &str| {
        format!(r#"kacky_poll_server_results_total{{server="1",name="Kackiest Kacky 7 - Server 1",result="{result}"}}"#)
    };
    let age = r#"kacky_poll_age_seconds{server="1",name="Kackiest Kacky 7 - Server 1"}"#;
    let (ok, failed) = (r#"kacky_polls_total{result="ok"}"#, r#"kacky_polls_total{result="failed"}"#);

    let before = scrape(&base).await;
    poll_now(&app.state).await;
    clock.advance(chrono::Duration::seconds(42));
    let after = scrape(&base).await;
    assert!(value(&after, ok) > value(&before, ok), "{after}");
    assert!(value(&after, &series("ok")) > value(&before, &series("ok")), "{after}");
    assert_eq!(value(&after, age), 42.0, "{after}");

    // A failed poll counts as failed for every server; the age keeps growing from the last good one.
    script.set(Answer::Status(500));
    clock.advance(chrono::Duration::seconds(18));
    poll_now(&app.state).await;
    let last = scrape(&base).await;
    assert!(value(&last, failed) > value(&after, failed), "{last}");
    assert!(value(&last, &series("failed")) > value(&after, &series("failed")), "{last}");
    assert_eq!(value(&last, age), 60.0, "{last}");
}

#[tokio::test]
async fn the_hashing_queue_depth_counts_waiting_jobs() {
    let app = spawn().await;
    let base = metrics_port(&app).await;
    let pool = std::sync::Arc::new(HashPool::new(1));
    let (release, wait) = std::sync::mpsc::channel::<()>();
    // The one thread is busy; three more jobs wait behind it.
    let busy = tokio::spawn({
        let pool = pool.clone();
        async move { pool.run(Kind::Login, move || wait.recv().ok()).await }
    });
    let waiting: Vec<_> = (0..3)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(Kind::Login, move || i).await })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let depth = value(&scrape(&base).await, "kacky_hashing_queue_depth");
        if depth >= 3.0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "queue depth {depth}, expected at least 3");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    release.send(()).unwrap();
    assert_eq!(busy.await.unwrap(), Ok(Some(())));
    for (i, job) in waiting.into_iter().enumerate() {
        assert_eq!(job.await.unwrap(), Ok(i));
    }
}

/// The real binary: `KACKY_METRICS_LISTEN` (as in the README's demo line) opens the private
/// port beside the public one, which keeps answering 404 for `/metrics`.
#[tokio::test]
async fn the_binary_serves_metrics_on_the_private_port_only() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = crate::binary::command(dir.path());
    cmd.env("KACKY_PORT", "0").env("KACKY_METRICS_LISTEN", "127.0.0.1:0");
    let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _child = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            for (prefix, what) in [("listening on http://", "public"), ("metrics on http://", "metrics")] {
                if let Some(i) = line.find(prefix) {
                    let url = line[i + prefix.len() - "http://".len()..].trim().trim_end_matches("/metrics");
                    let _ = tx.send((what, url.to_owned()));
                }
            }
        }
    });
    let mut urls = std::collections::HashMap::new();
    while urls.len() < 2 {
        let (what, url) = rx.recv_timeout(Duration::from_secs(30)).expect("both ports announced");
        urls.insert(what, url);
    }
    let (public, private) = (&urls["public"], &urls["metrics"]);
    assert_ne!(public, private);
    assert_eq!(reqwest::get(format!("{public}/spreadsheet/kk/7")).await.unwrap().status(), 200);
    assert_eq!(reqwest::get(format!("{public}/metrics")).await.unwrap().status(), 404);
    let text = reqwest::get(format!("{private}/metrics")).await.unwrap().text().await.unwrap();
    let sheet = r#"kacky_http_requests_total{route="/spreadsheet/{event}/{edition}",method="GET",status="200"}"#;
    assert_eq!(value(&text, sheet), 1.0, "{text}");
    assert_eq!(value(&text, r#"kacky_http_requests_total{route="unmatched",method="GET",status="404"}"#), 1.0);
    // The demo's simulated servers were polled at start (recorded: the recorder came first).
    assert!(value(&text, r#"kacky_polls_total{result="ok"}"#) >= 1.0, "{text}");
    assert!(text.contains("kacky_poll_age_seconds{server=\"1\""), "{text}");
    assert!(text.contains("kacky_hashing_queue_depth 0"), "{text}");
}
