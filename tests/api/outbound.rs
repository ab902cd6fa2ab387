//! Outgoing calls run on their own bounded threads: a records API that never answers, asked
//! by 600 clients at once, neither delays the pages that only need the database nor grows a
//! backlog (the calls beyond the records API's threads and queue are refused at once).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::Value;

use crate::common::{spawn_with, Fake, Options, LIVE_KK7};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_records_api_leaves_sheet_pages_fast() {
    let asked = Arc::new(AtomicUsize::new(0));
    let hang = Arc::new(AtomicBool::new(true));
    let hanging = {
        let (asked, hang) = (asked.clone(), hang.clone());
        axum::Router::new().fallback(move || {
            asked.fetch_add(1, Ordering::SeqCst);
            let hang = hang.load(Ordering::SeqCst);
            async move {
                if hang {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                "{}"
            }
        })
    };
    let fake = Fake::start(hanging).await;
    let config = format!("{LIVE_KK7}records_api_url: {}\n", fake.base);
    let app = spawn_with(Options { config: &config, ..Default::default() }).await;
    let token = app.register_login("alice", "correct horse").await;

    // More callers than tokio's blocking pool has threads (512), each with its own path (no
    // shared cache entry), every one waiting for the records API's 5 s timeout.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let callers = join_all((0..600).map(|i| {
        let (client, url) = (client.clone(), app.url(&format!("/records/pb/hunter{i}/KK")));
        tokio::spawn(async move {
            let r = client.get(url).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    }));
    let callers = tokio::spawn(callers);
    let started = Instant::now();
    while asked.load(Ordering::SeqCst) < 8 {
        assert!(started.elapsed() < Duration::from_secs(10), "the records API was never asked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    for path in ["/spreadsheet/kk/7", "/events", "/usermgnt", "/eventstatus"] {
        let started = Instant::now();
        let (status, body) = app.get_auth(path, &token).await;
        let took = started.elapsed();
        eprintln!("{path} beside 600 hanging records calls: {status} in {took:?}");
        assert_eq!(status, 200, "{path}: {body}");
        assert!(took < Duration::from_secs(2), "{path} waited {took:?} behind the records API");
    }
    // A write too: it needs a database thread just as much.
    let started = Instant::now();
    let (status, _) =
        app.post_json("/spreadsheet/kk", serde_json::json!({"mapid": "201", "diff": 3}), Some(&token)).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_secs(2), "a sheet write waited {:?}", started.elapsed());

    // The queued calls get answers once the records API is back; the first ones time out.
    hang.store(false, Ordering::SeqCst);
    let answers = callers.await.unwrap();
    let answers: Vec<(u16, Value)> = answers.into_iter().map(Result::unwrap).collect();
    let count = |f: &dyn Fn(&(u16, Value)) -> bool| answers.iter().filter(|a| f(a)).count();
    let refused = count(&|(s, b)| *s == 502 && b["msg"].as_str().is_some_and(|m| m.contains("are waiting")));
    let (timed_out, answered) = (count(&|a| a.0 == 504), count(&|a| a.0 == 200));
    eprintln!("records calls: {timed_out} timed out upstream, {answered} answered later, {refused} refused at once");
    assert_eq!(refused + timed_out + answered, 600, "{:?}", answers.iter().map(|a| a.0).collect::<Vec<_>>());
    assert!(timed_out + answered <= 8 + 32, "only the records API's threads and queue waited for it");
    assert!(asked.load(Ordering::SeqCst) <= 8 + 32, "calls beyond the queue were never made");
}
