//! Streamer message endpoints.

use serde_json::json;

use crate::common::{spawn, spawn_with, Options};

#[tokio::test]
async fn only_the_target_sees_the_message_and_it_survives_a_restart() {
    let app = spawn().await;
    let bob = app.register_login("bob", "password1").await;
    let alice = app.register_login("alice", "password1").await;
    assert_eq!(app.post_json("/target", json!({"pwd": "streampw", "target": "Bob "}), None).await, (200, json!("OK")));
    assert_eq!(
        app.post_json("/post", json!({"pwd": "streampw", "message": "hello streamer  "}), None).await,
        (200, json!("OK"))
    );
    assert_eq!(app.get_auth("/stream", &bob).await, (200, json!({"data": "hello streamer"})));
    assert_eq!(app.get_auth("/stream", &alice).await, (200, json!({"data": ""})));
    assert_eq!(app.get("/stream").await.0, 401);
    let dir = app.stop().await;
    let again = spawn_with(Options { dir: Some(dir), ..Default::default() }).await;
    let bob = again.login("bob", "password1").await;
    assert_eq!(again.get_auth("/stream", &bob).await.1, json!({"data": "hello streamer"}));
}

#[tokio::test]
async fn wrong_password_is_403_and_changes_nothing() {
    let app = spawn().await;
    app.post_json("/target", json!({"pwd": "streampw", "target": "bob"}), None).await;
    app.post_json("/post", json!({"pwd": "streampw", "message": "first"}), None).await;
    assert_eq!(
        app.post_json("/post", json!({"pwd": "wrong", "message": "evil"}), None).await,
        (403, json!("Forbidden"))
    );
    assert_eq!(app.post_json("/target", json!({"message": "no pwd"}), None).await.0, 403);
    assert_eq!(app.post_json("/target", json!({"pwd": "wrong", "target": "eve"}), None).await.0, 403);
    assert_eq!(app.post_json("/post", json!({"pwd": "streampw"}), None).await.0, 400);
    assert_eq!(app.post_json("/post", json!({"pwd": "streampw", "message": 5}), None).await.0, 400);
    let (target, message): (String, String) =
        app.sql().query_row("SELECT target, message FROM stream_message", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!((target.as_str(), message.as_str()), ("bob", "first"));
}
