//! Malformed input found by an attack on the API (issue 13), and the leftover differences from
//! the old backend that are kept on purpose (each listed in docs/COMPATIBILITY.md).

use serde_json::{json, Value};

use crate::admin::{admin_token, upload, NEW_EVENT};
use crate::common::{spawn, TestApp};

/// Sends `body` to `/manage/maps` with `content_type` (none when `None`).
async fn post_maps(app: &TestApp, token: &str, content_type: Option<&str>, body: &str) -> (u16, String, Value) {
    let mut req = app.client.post(app.url("/manage/maps")).bearer_auth(token).body(body.to_owned());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let text = r.text().await.unwrap();
    (status, ct, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn a_map_upload_that_is_not_multipart_gets_a_json_400() {
    let app = spawn().await;
    let admin = admin_token(&app, "boss").await;
    for (content_type, body) in [
        (Some("application/json"), r#"{"file": "kacky_id,author,event,prefix\n1,a,KK9,p\n"}"#),
        (Some("multipart/form-data"), "--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n1\r\n--x--\r\n"),
        (Some("text/csv"), "kacky_id,author,event,prefix\n1,a,KK9,p\n"),
        (None, "kacky_id,author,event,prefix\n1,a,KK9,p\n"),
    ] {
        let (status, ct, body) = post_maps(&app, &admin, content_type, body).await;
        assert_eq!(status, 400, "{content_type:?}: {body}");
        assert_eq!(ct, "application/json", "{content_type:?}");
        let msg = body["msg"].as_str().unwrap_or_else(|| panic!("{content_type:?}: not {{\"msg\"}}: {body}"));
        assert!(msg.starts_with("expected a multipart/form-data body"), "{msg}");
    }
    // An empty boundary, or a multipart body that breaks off, is still answered in JSON.
    for (content_type, body) in [
        ("multipart/form-data; boundary=", ""),
        ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-da"),
    ] {
        let (status, ct, body) = post_maps(&app, &admin, Some(content_type), body).await;
        assert_eq!((status, ct.as_str()), (400, "application/json"), "{content_type}: {body}");
        assert!(body["msg"].is_string(), "{body}");
    }
    // The admin check still comes first.
    let user = app.register_login("pleb", "password1").await;
    let (status, _, body) = post_maps(&app, &user, Some("application/json"), "{}").await;
    assert_eq!((status, body), (401, json!("Not authorized. Your actions will have consequences.")));
}

#[tokio::test]
async fn a_csv_naming_one_map_twice_is_refused_and_the_database_cannot_hold_it() {
    let app = spawn().await;
    let admin = admin_token(&app, "boss").await;
    app.post_json("/manage/events", serde_json::from_str(NEW_EVENT).unwrap(), Some(&admin)).await;
    let maps = || -> i64 { app.sql().query_row("SELECT COUNT(*) FROM maps", [], |r| r.get(0)).unwrap() };
    let before = maps();
    let twice = "kacky_id,author,event,prefix\n276,a,KK9,p\n17 [v2],b,KK9,p\n278,c,KK9,p\n17 [v2],d,KK9,p\n";
    for overwrite in [false, true] {
        assert_eq!(
            upload(&app, &admin, twice, overwrite).await,
            (422, json!("rows 3 and 5 are the same map KK9 #17 [v2]")),
            "overwrite {overwrite}"
        );
        assert_eq!(maps(), before);
    }
    let (s, b) = upload(&app, &admin, "kacky_id,author,event,prefix\n276,a,KK9,p\n 276 ,b,KK9,p\n", false).await;
    assert_eq!((s, b), (422, json!("rows 2 and 3 are the same map KK9 #276")));
    // Other versions, or the same kacky id in another event, are other maps.
    let fine = "kacky_id,author,event,prefix\n17,a,KK9,p\n17 [v2],b,KK9,p\n17 [V2],c,KK9,p\n201,d,KK7,p\n";
    assert_eq!(upload(&app, &admin, fine, true).await, (200, json!("Updated maps.")));
    assert_eq!(upload(&app, &admin, fine, true).await, (200, json!("Updated maps.")));
    assert_eq!(maps(), before + 3, "the KK7 row overwrote an existing map, the rest were inserted once");
    // The schema makes a second row impossible whatever writes it.
    let dup = app.sql().execute(
        "INSERT INTO maps (event_id, name, kacky_id, kacky_id_int, map_version, author)
         SELECT event_id, name, kacky_id, kacky_id_int, map_version, 'x' FROM maps WHERE kacky_id = '17 [v2]'",
        [],
    );
    assert!(dup.unwrap_err().to_string().contains("UNIQUE constraint failed"));
}

/// The differences from the old backend that stay, as documented in docs/COMPATIBILITY.md.
#[tokio::test]
async fn kept_differences_from_the_old_backend() {
    let app = spawn().await;
    // `mapid` as a JSON number is read like the string the frontend sends (old: 404 text).
    let t = app.register_login("numbers", "password1").await;
    assert_eq!(app.post_json("/spreadsheet/kk", json!({"mapid": 201, "diff": 3}), Some(&t)).await, (200, json!("OK")));
    let (_, sheet) = app.get_auth("/spreadsheet/kk/7", &t).await;
    let row = sheet.as_array().unwrap().iter().find(|r| r["kacky_id"] == 201).unwrap().clone();
    assert_eq!(row["map_diff"], 3, "{row}");
    let (s, b) = app.post_json("/spreadsheet/kk", json!({"mapid": 201.5, "diff": 3}), Some(&t)).await;
    assert_eq!(s, 400, "{b}");
    assert!(b["msg"].is_string());

    // Reset tokens: an unknown (or used, or expired) one is 401 "Unauthorized" as in the old
    // backend; a malformed one is 400 {"msg"} (old: 401 "Missing Authorization Header").
    let (s, b) = app.post_json("/pwdreset", json!({"token": "zzzzzz", "pwd": "password9"}), None).await;
    assert_eq!((s, b), (401, json!("Unauthorized")));
    let (s, b) = app.post_json("/pwdreset", json!({"token": "zzzzz", "pwd": "password9"}), None).await;
    assert_eq!(s, 400);
    assert!(b["msg"].as_str().unwrap().contains("`token`"), "{b}");

    // Event dates with seconds are read (old: 400 "Bad Request"); the date part is stored.
    let admin = admin_token(&app, "boss").await;
    let with_seconds = NEW_EVENT.replace("2024-03-01T20:00", "2024-03-01T20:00:59");
    let (s, b) = app.post_json("/manage/events", serde_json::from_str(&with_seconds).unwrap(), Some(&admin)).await;
    assert_eq!((s, b), (200, json!("OK")));
    let start: String =
        app.sql().query_row("SELECT startdate FROM events WHERE shortname = 'KK9'", [], |r| r.get(0)).unwrap();
    assert_eq!(start, "2024-03-01");
    let too_long = NEW_EVENT.replace("2024-03-01T20:00", "2024-03-01T20:00:59.5").replace("\"9\"", "\"12\"");
    assert_eq!(app.post_json("/manage/events", serde_json::from_str(&too_long).unwrap(), Some(&admin)).await.0, 400);

    // WR leaderboard: logins are shown without trailing blanks (the TMX mapping has `dawidnh6 `;
    // here embergers' latest own record, which names the holder, gets two), and group as one.
    app.sql()
        .execute(
            "UPDATE worldrecords SET login = 'embergers  ' WHERE id = \
             (SELECT id FROM worldrecords WHERE login = 'embergers' ORDER BY date DESC, id DESC LIMIT 1)",
            [],
        )
        .unwrap();
    let (_, kk) = app.get("/wrleaderboard/kk?html=False").await;
    assert_eq!((kk[0]["login"].as_str(), kk[0]["nwrs"].as_i64()), (Some("embergers"), Some(43)));
    let logins: Vec<&str> = kk.as_array().unwrap().iter().map(|h| h["login"].as_str().unwrap()).collect();
    assert!(logins.contains(&"dawidnh6"), "{logins:?}");
    assert!(logins.iter().all(|l| l.trim() == *l), "{logins:?}");
}
