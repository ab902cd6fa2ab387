//! Malformed input found by an attack on the API (issue 13), and the leftover differences from
//! the old backend that are kept on purpose (each listed in docs/COMPATIBILITY.md).

use serde_json::{json, Value};

use crate::admin::admin_token;
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
