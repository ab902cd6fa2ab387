//! The world-record ingestion API of the records updater: a new record, the same one again, a
//! worse one refused, an admin's reset listed and restored, wrong tokens refused.

use reqwest::Method;
use serde_json::{json, Value};

use crate::admin::admin_token;
use crate::common::{spawn_with, Options, TestApp, LIVE_KK7, SECRETS};

const WRITER: &str = "writer-token-0123456789";

async fn spawn_writer() -> TestApp {
    let secrets = format!("{SECRETS}records_writer_token: {WRITER}\n");
    spawn_with(Options { config: LIVE_KK7, secrets: &secrets, ..Default::default() }).await
}

async fn offer(app: &TestApp, path: &str, body: Value, token: &str) -> (u16, Value) {
    app.send_json(Method::PUT, path, body, Some(token)).await
}

async fn wr_of(app: &TestApp, t: &str, id: i64) -> (i64, String) {
    let (s, m) = app.get(&format!("/mapinfo/{t}/{id}")).await;
    assert_eq!(s, 200, "{m}");
    (m["wr_score"].as_i64().unwrap(), m["wr_holder"].as_str().unwrap().to_owned())
}

async fn feed(app: &TestApp) -> Vec<Value> {
    app.get("/finishes").await.1["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn records_are_taken_when_better_refused_when_worse_and_resets_are_restored() {
    let app = spawn_writer().await;
    let (old, _) = wr_of(&app, "kk", 201).await;

    // A better record: stored, shown at once, a `wr` happening of the current event.
    let new = json!({"score": old - 10, "login": "speedy", "nickname": "$f00Speedy", "source": "KKDB", "date": "2024-06-01 12:00:00"});
    let (s, body) = offer(&app, "/manage/worldrecords/kk/201", new.clone(), WRITER).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!((body["changed"].as_bool(), body["outcome"].as_str()), (Some(true), Some("improved")));
    let wr = &body["worldrecord"];
    assert_eq!(
        (wr["type"].as_str(), wr["edition"].as_i64(), wr["score"].as_i64()),
        (Some("KK"), Some(7), Some(old - 10))
    );
    assert_eq!(
        (wr["login"].as_str(), wr["source"].as_str(), wr["reset"].as_bool()),
        (Some("speedy"), Some("KKDB"), Some(false))
    );
    let event = &body["event"];
    assert_eq!(
        (event["type"].as_str(), event["login"].as_str(), event["kacky_id"].as_i64()),
        (Some("wr"), Some("speedy"), Some(201))
    );
    assert_eq!(
        (event["score"].as_i64(), event["previous_score"].as_i64(), event["rank"].as_i64()),
        (Some(old - 10), Some(old), Some(1))
    );
    assert_eq!(wr_of(&app, "kk", 201).await, (old - 10, "speedy".to_owned()));
    let (_, board) = app.get("/wrleaderboard/kk?html=False").await;
    assert!(board.as_array().unwrap().iter().any(|h| h["login"] == "speedy"), "{board}");
    assert_eq!(feed(&app).await, vec![event.clone()]);

    // The same record again: nothing changes, no second happening.
    let (s, body) = offer(&app, "/manage/worldrecords/kk/201", new, WRITER).await;
    assert_eq!((s, body["outcome"].as_str(), body["event"].is_null()), (200, Some("same"), true), "{body}");
    // Worse, or equal by someone else: refused, nothing stored.
    for (score, login) in [(old, "slow"), (old - 10, "tied")] {
        let worse = json!({"score": score, "login": login, "source": "TMX"});
        let (s, body) = offer(&app, "/manage/worldrecords/kk/201", worse, WRITER).await;
        assert_eq!(s, 409, "{body}");
        assert!(body["msg"].as_str().unwrap().contains("not better"), "{body}");
    }
    assert_eq!(wr_of(&app, "kk", 201).await.0, old - 10);
    assert_eq!(feed(&app).await.len(), 1);

    // An admin resets it: the updater lists it and restores it with any score, quietly.
    let admin = admin_token(&app, "boss").await;
    assert_eq!(app.post_json("/mapinfo/kk/201", json!({"reset": ""}), Some(&admin)).await.0, 200);
    let (s, resets) = app.get_auth("/manage/worldrecords?reset=1", WRITER).await;
    assert_eq!(s, 200);
    let resets = resets.as_array().unwrap();
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert_eq!(
        (resets[0]["kacky_id"].as_i64(), resets[0]["score"].as_i64(), resets[0]["reset"].as_bool()),
        (Some(201), Some(1), Some(true))
    );
    assert!(!resets[0]["tmx_id"].as_str().unwrap().is_empty(), "the updater finds its sources by these");
    let restore = json!({"score": old + 500, "nickname": "tmx_guy", "source": "TMX", "date": 1_717_243_200});
    let (s, body) = offer(&app, "/manage/worldrecords/kk/201", restore, &admin).await;
    assert_eq!((s, body["outcome"].as_str(), body["event"].is_null()), (200, Some("restored"), true), "{body}");
    assert_eq!(body["worldrecord"]["date"], "2024-06-01 12:00:00");
    assert_eq!(wr_of(&app, "kk", 201).await, (old + 500, "tmx_guy".to_owned()));
    assert_eq!(app.get_auth("/manage/worldrecords?reset=1", WRITER).await.1, json!([]));
    assert_eq!(feed(&app).await.len(), 1);

    // A map of an older edition takes a record too, but it is no news of the current event.
    let (old_kk1, _) = wr_of(&app, "kk", 1).await;
    let (s, body) =
        offer(&app, "/manage/worldrecords/KK/1", json!({"score": old_kk1 - 1, "login": "x", "source": "DEDI"}), WRITER)
            .await;
    assert_eq!((s, body["changed"].as_bool(), body["event"].is_null()), (200, Some(true), true), "{body}");
    let (s, all) = app.get_auth("/manage/worldrecords?type=kk", WRITER).await;
    assert_eq!(s, 200);
    assert!(all.as_array().unwrap().len() > 400, "every KK record");
}

#[tokio::test]
async fn wrong_tokens_and_bad_offers_are_refused_and_change_nothing() {
    let app = spawn_writer().await;
    let (old, holder) = wr_of(&app, "kk", 202).await;
    let good = json!({"score": old - 1, "login": "x", "source": "KKDB"});
    let user = app.register_login("someone", "password1").await;
    for (token, status) in [(Some("wrong-token"), 401), (Some(&user[..]), 401), (None, 401), (Some("a.b.c"), 401)] {
        let (s, body) = app.send_json(Method::PUT, "/manage/worldrecords/kk/202", good.clone(), token).await;
        assert_eq!(s, status, "{token:?}: {body}");
        let (s, _) = app.send_json(Method::GET, "/manage/worldrecords", Value::Null, token).await;
        assert_eq!(s, status, "{token:?}");
    }
    let bad = [
        json!({"login": "x", "source": "KKDB"}),
        json!({"score": 1, "login": "x", "source": "KKDB"}),
        json!({"score": "fast", "login": "x", "source": "KKDB"}),
        json!({"score": old - 1, "source": "KKDB"}),
        json!({"score": old - 1, "login": "x", "source": "no spaces"}),
        json!({"score": old - 1, "login": "x", "source": "KKDB", "date": "yesterday"}),
        json!({"score": old - 1, "login": "x", "source": "KKDB", "version": "beta"}),
        json!([1, 2]),
    ];
    for body in bad {
        let (s, answer) = offer(&app, "/manage/worldrecords/kk/202", body.clone(), WRITER).await;
        assert_eq!(s, 400, "{body}: {answer}");
        assert!(answer["msg"].is_string(), "{answer}");
    }
    assert_eq!(offer(&app, "/manage/worldrecords/zz/202", good.clone(), WRITER).await.0, 404);
    assert_eq!(offer(&app, "/manage/worldrecords/kk/999999", good.clone(), WRITER).await.0, 404);
    assert_eq!(offer(&app, "/manage/worldrecords/kk/abc", good.clone(), WRITER).await.0, 400);
    assert_eq!(app.get_auth("/manage/worldrecords?type=zz", WRITER).await.0, 400);
    assert_eq!(wr_of(&app, "kk", 202).await, (old, holder));
    // KR #17 exists only as [v2]: found without a version, not as v3.
    let (kr_old, _) = wr_of(&app, "kr", 17).await;
    let kr = json!({"score": kr_old - 1, "login": "TeraTM2", "source": "NADO", "version": "v3"});
    assert_eq!(offer(&app, "/manage/worldrecords/kr/17", kr, WRITER).await.0, 404);
    let kr = json!({"score": kr_old - 1, "login": "TeraTM2", "source": "NADO"});
    let (s, body) = offer(&app, "/manage/worldrecords/kr/17", kr, WRITER).await;
    assert_eq!((s, body["worldrecord"]["version"].as_str()), (200, Some("[v2]")), "{body}");
}
