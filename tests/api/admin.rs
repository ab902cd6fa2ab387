//! Event administration: admin checks, events, visibility, map CSV upload, WR reset.

use serde_json::{json, Value};

use crate::common::{spawn, TestApp};

/// Registers `name` and makes it an admin directly in the database (as `admin promote` does).
pub(crate) async fn admin_token(app: &TestApp, name: &str) -> String {
    app.register_login(name, "password1").await;
    app.sql().execute("UPDATE users SET is_admin = 1 WHERE username = ?1", [name]).unwrap();
    app.login(name, "password1").await
}

pub(crate) async fn upload(app: &TestApp, token: &str, csv: &str, overwrite: bool) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("maps.csv"));
    if overwrite {
        form = form.part(
            "overwrite",
            reqwest::multipart::Part::bytes(b"1".to_vec()).file_name("blob").mime_str("text/plain").unwrap(),
        );
    }
    let r = app.client.post(app.url("/manage/maps")).bearer_auth(token).multipart(form).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub(crate) const NEW_EVENT: &str = r#"{"create": {"name": "Kackiest Kacky 9", "type": "kk", "edition": "9", "startDate": "2024-03-01T20:00", "endDate": "2024-03-31T22:00", "minID": "276", "maxID": "350"}}"#;

#[tokio::test]
async fn create_event_upload_maps_and_see_them() {
    let app = spawn().await;
    let admin = admin_token(&app, "boss").await;
    assert_eq!(crate::common::payload(&admin)["isAdmin"], 1);
    let (s, b) = app.post_json("/manage/events", serde_json::from_str(NEW_EVENT).unwrap(), Some(&admin)).await;
    assert_eq!((s, b), (200, json!("OK")));
    let (s, b) = app.post_json("/manage/events", serde_json::from_str(NEW_EVENT).unwrap(), Some(&admin)).await;
    assert_eq!((s, b), (400, json!("Kackiest Kacky 99 already exists!")));
    let clash = NEW_EVENT.replace("\"9\"", "\"10\"").replace("Kacky 9", "Kacky 10").replace("276", "270");
    assert_eq!(
        app.post_json("/manage/events", serde_json::from_str(&clash).unwrap(), Some(&admin)).await.1,
        json!("There already are maps in the pool with the Kacky IDs you provided!")
    );
    let bad_date = NEW_EVENT.replace("2024-03-01T20:00", "someday").replace("\"9\"", "\"11\"");
    assert_eq!(
        app.post_json("/manage/events", serde_json::from_str(&bad_date).unwrap(), Some(&admin)).await,
        (400, json!("Invalid date format!"))
    );
    // The new event is hidden until made visible; its type is upper-cased.
    let (_, all) = app.post_json("/events", json!({"visibility": "true"}), Some(&admin)).await;
    let kk9 = all.as_array().unwrap().iter().find(|e| e["edition"] == 9).unwrap().clone();
    assert_eq!((kk9["type"].as_str(), kk9["visible"].as_i64()), (Some("KK"), Some(0)));
    assert_eq!(app.get("/events").await.1.as_array().unwrap().len(), 12);
    let csv = "kacky_id,author,event,prefix,at,difficulty\n276,alice,KK9,$o$i Kacky #,15000,40\n277,bob,KK9,$o$i Kacky #,,\n278 [v2],carl,KK9,$o$i Kacky #,21000,10\n";
    assert_eq!(upload(&app, &admin, csv, false).await, (200, json!("Updated maps.")));
    let (_, rows) = app.get("/spreadsheet/kk/9").await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        (
            rows[0]["kacky_id"].as_i64(),
            rows[0]["author"].as_str(),
            rows[0]["wr_score"].as_i64(),
            rows[0]["rating"].as_i64()
        ),
        (Some(276), Some("alice"), Some(15000), Some(40))
    );
    assert_eq!(rows[2]["version"], "[v2]");
    // Overwrite guard, then a real overwrite.
    let changed = csv.replace("alice", "alicia");
    let (s, b) = upload(&app, &admin, &changed, false).await;
    assert_eq!((s, b), (409, json!("Your action would overwrite already existing maps! You may set 'overwrite' to 1")));
    assert_eq!(app.get("/spreadsheet/kk/9").await.1[0]["author"], "alice");
    assert_eq!(upload(&app, &admin, &changed, true).await.0, 200);
    assert_eq!(app.get("/spreadsheet/kk/9").await.1[0]["author"], "alicia");
    assert_eq!(app.get("/spreadsheet/kk/9").await.1.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_bad_csv_row_leaves_the_database_unchanged() {
    let app = spawn().await;
    let admin = admin_token(&app, "boss").await;
    app.post_json("/manage/events", serde_json::from_str(NEW_EVENT).unwrap(), Some(&admin)).await;
    let count = || -> i64 { app.sql().query_row("SELECT COUNT(*) FROM maps", [], |r| r.get(0)).unwrap() };
    let before = count();
    for (csv, status, msg) in [
        (
            "kacky_id,author,event,prefix\n276,a,KK9,p\n277,,KK9,p\n",
            422,
            "Values for required columns must be set at all times!",
        ),
        ("kacky_id,author,event\n276,a,KK9\n", 422, "Missing required columns"),
        ("kacky_id,author,event,prefix,colour\n276,a,KK9,p,red\n", 422, "Unknown columns"),
        ("kacky_id,author,event,prefix,at\n276,a,KK9,p,1\n277,b,KK9,p,fast\n", 422, "row 3: at must be a whole number"),
        ("kacky_id,author,event,prefix\n276,a,KK9,p\n277,b,KK99,p\n", 422, "Unknown event KK99"),
    ] {
        let (s, b) = upload(&app, &admin, csv, false).await;
        assert_eq!(s, status, "{csv}");
        assert!(b.as_str().unwrap().contains(msg), "{b}");
        assert_eq!(count(), before, "{csv}");
    }
}

#[tokio::test]
async fn visibility_toggle_and_wr_reset() {
    let app = spawn().await;
    let admin = admin_token(&app, "boss").await;
    let vis = |value: Value| json!({"visible": {"id": 1, "value": value}});
    assert_eq!(app.post_json("/manage/events", vis(json!("on")), Some(&admin)).await.0, 200);
    assert_eq!(app.get("/events").await.1.as_array().unwrap().len(), 11, "\"on\" toggles: KK1 hidden");
    app.post_json("/manage/events", vis(json!("on")), Some(&admin)).await;
    assert_eq!(app.get("/events").await.1.as_array().unwrap().len(), 12);
    app.post_json("/manage/events", vis(json!(false)), Some(&admin)).await;
    app.post_json("/manage/events", vis(json!("false")), Some(&admin)).await;
    assert_eq!(app.get("/events").await.1.as_array().unwrap().len(), 11, "false stays false");
    assert_eq!(
        app.post_json("/manage/events", json!({"visible": {"id": 999, "value": true}}), Some(&admin)).await.0,
        404
    );
    assert_eq!(app.post_json("/mapinfo/kr/17", json!({"reset": ""}), Some(&admin)).await, (200, json!("OK")));
    let (_, info) = app.get("/mapinfo/kr/17").await;
    assert_eq!((info["wr_score"].as_i64(), info["wr_holder"].as_str()), (Some(1), Some("reset_by_admin")));
    assert_eq!(app.post_json("/mapinfo/xx/17", json!({"reset": ""}), Some(&admin)).await.0, 404);
}

#[tokio::test]
async fn admin_flag_comes_from_the_database() {
    let app = spawn().await;
    let admin = admin_token(&app, "boss").await;
    let user = app.register_login("pleb", "password1").await;
    let body = json!({"visible": {"id": 1, "value": false}});
    assert_eq!(
        app.post_json("/manage/events", body.clone(), Some(&user)).await,
        (401, json!("Not authorized. Your actions will have consequences."))
    );
    assert_eq!(app.post_json("/manage/events", body.clone(), None).await.1["msg"], "Missing Authorization Header");
    assert_eq!(app.post_json("/events", json!({"visibility": "true"}), Some(&user)).await.0, 401);
    assert_eq!(
        app.post_json("/events", json!({"visibility": "false"}), Some(&user)).await.1.as_array().unwrap().len(),
        12
    );
    // Demoted: the token still says isAdmin 1, but the database decides.
    app.sql().execute("UPDATE users SET is_admin = 0 WHERE username = 'boss'", []).unwrap();
    assert_eq!(crate::common::payload(&admin)["isAdmin"], 1);
    assert_eq!(app.post_json("/manage/events", body.clone(), Some(&admin)).await.0, 401);
    assert_eq!(app.post_json("/mapinfo/kr/17", json!({"reset": ""}), Some(&admin)).await.0, 401);
    assert_eq!(upload(&app, &admin, "kacky_id,author,event,prefix\n1,a,KK1,p\n", true).await.0, 401);
}

/// An upload that is not `multipart/form-data` is a JSON 400, not axum's plain text.
#[tokio::test]
async fn a_map_upload_that_is_not_multipart_is_a_json_400() {
    let app = spawn().await;
    let admin = admin_token(&app, "boss").await;
    let (s, b) = app.post_json("/manage/maps", json!({"file": "kacky_id,author"}), Some(&admin)).await;
    assert_eq!(s, 400);
    assert!(b["msg"].as_str().unwrap().starts_with("expected a multipart/form-data body"), "{b}");
}
