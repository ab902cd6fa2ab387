//! The public read API against the seeded history.

use serde_json::{json, Value};

use crate::common::{spawn, spawn_with, Options};

#[tokio::test]
async fn index_and_health() {
    let app = spawn().await;
    let (status, body) = app.get_text("/").await;
    assert_eq!((status, body.as_str()), (200, "nothing to see here, go awaiii"));
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(body["database"], "ok");
    assert!(body["schema_version"].as_i64().unwrap() >= 1);
}

#[tokio::test]
async fn events_lists_twelve_plain_names_in_id_order() {
    let app = spawn().await;
    let (status, body) = app.get("/events").await;
    assert_eq!(status, 200);
    let list = body.as_array().unwrap();
    assert_eq!(list.len(), 12);
    let short: Vec<String> = list.iter().map(|e| format!("{}{}", e["type"].as_str().unwrap(), e["edition"])).collect();
    assert_eq!(short, ["KK1", "KK2", "KK3", "KK4", "KK5", "KK6", "KK7", "KR1", "KR2", "KR3", "KK8", "KR4"]);
    assert_eq!(list[0], json!({"edition": 1, "name": "Kackiest Kacky 1", "type": "KK"}));
    assert_eq!(list[11]["name"], "Kacky Reloaded 4");
    assert!(list.iter().all(|e| !e["name"].as_str().unwrap().contains('$')));
}

#[tokio::test]
async fn kk7_sheet_has_75_rows_matching_history() {
    let app = spawn().await;
    let (status, body) = app.get("/spreadsheet/kk/7").await;
    assert_eq!(status, 200);
    let rows = body.as_array().unwrap();
    assert_eq!(rows.len(), 75);
    let ids: Vec<i64> = rows.iter().map(|r| r["kacky_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (201..=275).collect::<Vec<_>>());
    assert_eq!(
        rows[0],
        json!({"author": "nixion4", "kacky_id": 201, "kacky_id_int": 201, "rating": 8, "version": "", "wr_holder": "nixion4", "wr_score": 17580})
    );
    assert_eq!(
        (rows[1]["author"].as_str(), rows[1]["wr_holder"].as_str(), rows[1]["wr_score"].as_i64()),
        (Some("stuplink"), Some("simo_900"), Some(17920))
    );
    assert_eq!(
        (rows[2]["author"].as_str(), rows[2]["wr_holder"].as_str(), rows[2]["wr_score"].as_i64()),
        (Some("theinsan3"), Some("ehkla"), Some(13800))
    );
    // Every row agrees with the database, field by field.
    let db = app.sql();
    let mut st = db
        .prepare("SELECT m.kacky_id_int, m.author, w.score, w.login FROM maps m JOIN events e ON e.id = m.event_id JOIN worldrecords w ON w.map_id = m.id WHERE e.shortname = 'KK7' ORDER BY m.kacky_id_int")
        .unwrap();
    let expected: Vec<(i64, String, i64, String)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
    for (row, (id, author, score, login)) in rows.iter().zip(expected) {
        assert_eq!(row["kacky_id"], id);
        assert_eq!(row["author"], author.as_str());
        assert_eq!(row["wr_score"], score);
        if !login.is_empty() {
            assert_eq!(row["wr_holder"], login.as_str());
        }
    }
}

#[tokio::test]
async fn kk1_first_row_and_plain_tmx_holders() {
    let app = spawn().await;
    let (_, body) = app.get("/spreadsheet/KK/1").await;
    let rows = body.as_array().unwrap();
    assert_eq!(rows.len(), 70);
    assert_eq!(
        (rows[0]["kacky_id"].as_i64(), rows[0]["author"].as_str(), rows[0]["wr_score"].as_i64()),
        (Some(1), Some("nixion4"), Some(2760))
    );
    assert_eq!(rows[0]["wr_holder"], "nellike");
    // A TMX-sourced WR has no login: the holder is the nickname, plain unless rawnicks is set.
    let (_, kk4) = app.get("/spreadsheet/kk/4").await;
    let row = kk4.as_array().unwrap().iter().find(|r| r["kacky_id"] == -16).unwrap().clone();
    assert_eq!(row["wr_holder"], "sqryu01");
    let (_, raw) = app.get("/spreadsheet/kk/4?rawnicks=1").await;
    let raw_row = raw.as_array().unwrap().iter().find(|r| r["kacky_id"] == -16).unwrap().clone();
    assert_eq!(raw_row["wr_holder"], "$F00s$F12q$E13r$E25y$D26u$D380$C391");
}

#[tokio::test]
async fn all_editions_and_versions() {
    let app = spawn().await;
    let (_, kr) = app.get("/spreadsheet/kr/all").await;
    let kr = kr.as_array().unwrap();
    assert_eq!(kr.len(), 300);
    assert_eq!(kr.first().unwrap()["kacky_id"], 1);
    assert_eq!(kr.last().unwrap()["kacky_id"], 300);
    let v2 = kr.iter().find(|r| r["kacky_id"] == 17).unwrap();
    assert_eq!(v2["version"], "[v2]");
    let (_, kk) = app.get("/spreadsheet/kk/all").await;
    assert_eq!(kk.as_array().unwrap().len(), 476);
    let (_, kr4) = app.get("/spreadsheet/kr/4").await;
    let m226 = kr4.as_array().unwrap().iter().find(|r| r["kacky_id"] == 226).unwrap().clone();
    assert_eq!(
        (m226["author"].as_str(), m226["wr_score"].as_i64(), m226["wr_holder"].as_str()),
        (Some("Adralonter"), Some(24375), Some("dazzzyy"))
    );
    let (status, none) = app.get("/spreadsheet/kr/99").await;
    assert_eq!((status, none), (200, json!([])));
}

#[tokio::test]
async fn bad_paths_get_the_old_404_body() {
    let app = spawn().await;
    for path in [
        "/spreadsheet/xx/1",
        "/spreadsheet/kr/-1",
        "/spreadsheet/kr/abc",
        "/mapinfo/xx/1",
        "/mapinfo/kr/abc",
        "/wrleaderboard/xx",
        "/spreadsheet/kr/99999999999999999999999",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!((status, body), (404, json!("404 Error: bad path")), "{path}");
    }
    let (status, body) = app.get("/no/such/thing").await;
    assert_eq!(status, 404);
    assert!(body["msg"].as_str().unwrap().contains("/no/such/thing"));
    let (status, body) = app.get("/mapinfo/kr/999").await;
    assert_eq!(status, 404);
    assert!(body["msg"].as_str().unwrap().contains("999"));
}

#[tokio::test]
async fn mapinfo_returns_the_current_version() {
    let app = spawn().await;
    let (status, body) = app.get("/mapinfo/kr/17").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"author": "elconn7", "kacky_id": 17, "kacky_id_int": 17, "rating": 27, "version": "[v2]", "wr_holder": "TeraTM", "wr_score": 21322})
    );
    let (_, kk) = app.get("/mapinfo/KK/-151").await;
    assert_eq!(kk["kacky_id"], -151);
}

fn total(list: &Value) -> i64 {
    list.as_array().unwrap().iter().map(|h| h["nwrs"].as_i64().unwrap()).sum()
}

#[tokio::test]
async fn wr_leaderboards_match_sql_counts() {
    let app = spawn().await;
    let (status, kk) = app.get("/wrleaderboard/kk").await;
    assert_eq!(status, 200);
    let (_, kr) = app.get("/wrleaderboard/KR?html=False").await;
    assert_eq!(kk.as_array().unwrap().len(), 162);
    assert_eq!(kr.as_array().unwrap().len(), 134);
    let db = app.sql();
    let count = |t: &str| -> i64 {
        db.query_row(
            "SELECT COUNT(*) FROM worldrecords w JOIN maps m ON m.id = w.map_id JOIN events e ON e.id = m.event_id \
             WHERE e.type = ?1 AND (w.login <> '' OR EXISTS (SELECT 1 FROM tmx_tmlogin_mapping x WHERE x.tmx_login = w.nickname COLLATE NOCASE AND x.tmf_login IS NOT NULL AND ?1 = 'KK'))",
            [t],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(total(&kk), count("KK"));
    assert_eq!(total(&kk), 468);
    assert_eq!(total(&kr), count("KR"));
    assert_eq!(total(&kr), 299);
    assert_eq!((kk[0]["login"].as_str(), kk[0]["nwrs"].as_i64()), (Some("embergers"), Some(43)));
    assert_eq!(
        (kr[0]["login"].as_str(), kr[0]["nwrs"].as_i64(), kr[0]["nickname"].as_str()),
        (Some("ThatGuyTM"), Some(14), Some(""))
    );
    // The nickname is the one of the holder's most recent WR, rendered as HTML by default.
    let (_, raw) = app.get("/wrleaderboard/kk?html=False").await;
    assert_eq!(raw[0]["nickname"], "$fffSir Blud II");
    assert!(kk[0]["nickname"].as_str().unwrap().starts_with("<span"));
    let nwrs: Vec<i64> = kk.as_array().unwrap().iter().map(|h| h["nwrs"].as_i64().unwrap()).collect();
    assert!(nwrs.windows(2).all(|w| w[0] >= w[1]));
}

#[tokio::test]
async fn eventstatus_phases() {
    let app = spawn().await;
    let (_, body) = app.get("/eventstatus").await;
    assert_eq!(body, json!({"edition": 7, "status": "active", "type": "KK"}));
    let pre = spawn_with(Options {
        config: "eventtype: KR\nedition: 5\ncompstart: 2099-12-20T20:00\ncompend: 2100-01-20T20:00\n",
        clock: kacky_backend::clock::Clock::manual("2099-12-10T00:00:00Z".parse().unwrap()),
        ..Default::default()
    })
    .await;
    let (_, body) = pre.get("/eventstatus").await;
    assert_eq!(body, json!({"edition": 5, "start": "2099-12-20T20:00:00", "status": "pre", "type": "KR"}));
    pre.state.clock.set("2100-01-25T00:00:00Z".parse().unwrap());
    assert_eq!(pre.get("/eventstatus").await.1["status"], "post");
    pre.state.clock.set("2100-06-25T00:00:00Z".parse().unwrap());
    assert_eq!(pre.get("/eventstatus").await.1, json!({"status": "offseason"}));
    // forcephase only in testing mode.
    assert_eq!(pre.get("/eventstatus?forcephase=active").await.1, json!({"status": "offseason"}));
    let testing =
        spawn_with(Options { config: "testing_mode: 1\neventtype: KK\nedition: 7\n", ..Default::default() }).await;
    assert_eq!(testing.get("/eventstatus").await.1["status"], "active");
    assert_eq!(
        testing.get("/eventstatus?forcephase=post").await.1,
        json!({"edition": 7, "status": "post", "type": "KK"})
    );
    assert_eq!(testing.get("/eventstatus?forcephase=bogus").await.1["status"], "active");
}

#[tokio::test]
async fn cors_echoes_origin_and_answers_preflight() {
    let app = spawn().await;
    let r = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/spreadsheet/kk/7"))
        .header("Origin", "https://kacky.gg")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "https://kacky.gg");
    assert!(r.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    assert!(r.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    let r = app.client.get(app.url("/events")).header("Origin", "https://kacky.gg").send().await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "https://kacky.gg");
}

#[tokio::test]
async fn restricted_cors_origins() {
    let app = spawn_with(Options {
        config: "eventtype: KK\nedition: 7\ncors_origins: [\"https://kacky.gg\"]\n",
        ..Default::default()
    })
    .await;
    let r = app.client.get(app.url("/events")).header("Origin", "https://evil.example").send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = app.client.get(app.url("/events")).header("Origin", "https://kacky.gg").send().await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "https://kacky.gg");
}

#[tokio::test]
async fn oversized_body_is_413_json() {
    let app = spawn().await;
    let big = vec![b'x'; 2 * 1024 * 1024];
    let r =
        app.client.post(app.url("/events")).header("content-type", "application/json").body(big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert!(body["msg"].as_str().unwrap().contains("1 MiB"));
}

#[tokio::test]
async fn seeding_is_idempotent_across_restarts() {
    let app = spawn().await;
    let dir = app.stop().await;
    let again = spawn_with(Options { dir: Some(dir), ..Default::default() }).await;
    let db = again.sql();
    let counts: (i64, i64, i64, i64) = db
        .query_row("SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM maps), (SELECT COUNT(*) FROM worldrecords), (SELECT COUNT(*) FROM tmx_tmlogin_mapping)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap();
    assert_eq!(counts, (12, 776, 776, 24));
}
