//! Who the Discord messages ping. With the account link configured only verified ids ring, in
//! the alarm and the finish messages alike; a typed id is listed by name. Without it a typed id
//! rings as before, but at most `discord_mentions_per_hour` times an hour.

use std::time::{Duration, Instant};

use kacky_backend::clock::Clock;
use kacky_backend::live::poll_now;
use serde_json::json;

use crate::common::TestApp;
use crate::finishes::{fake_records, finishes, poll_each, spawn_feed_with};
use crate::live::{answer, fake_gameserver, t0};
use crate::notify::{advance_to, alarm, expect_messages, fake_discord, player, spawn_notifying_with};

const LINKING: &str = "public_url: https://kacky.example.org\n";
const LINKING_SECRETS: &str = "discord_client_id: '4242'\ndiscord_client_secret: client-secret-x\n";

/// Stores a verified Discord id on the account (what the OAuth2 callback does; its flow is
/// tested in `discord_link`).
fn verify(app: &TestApp, name: &str, id: &str) {
    let n = app
        .sql()
        .execute(
            "UPDATE user_fields SET discord_id = ?2, discord_name = 'them' \
             WHERE user_id = (SELECT id FROM users WHERE username = ?1)",
            [name, id],
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn with_linking_alarms_ping_only_verified_ids() {
    let (game, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let (discord, d) = fake_discord().await;
    let clock = Clock::manual(t0());
    let app = spawn_notifying_with(&game, &discord, &clock, None, LINKING, LINKING_SECRETS).await;
    poll_now(&app.state).await;
    let linked = player(&app, "linked", "111111111111111111").await;
    verify(&app, "linked", "222222222222222222");
    let typed = player(&app, "typed", "333333333333333333").await;
    alarm(&app, &linked, 205, true).await;
    alarm(&app, &typed, 205, true).await;
    advance_to(&clock, 900);
    let got = expect_messages(&d, 1, Duration::from_secs(3)).await;
    let content = got[0]["content"].as_str().unwrap();
    assert!(content.contains("\n<@222222222222222222>\nAlso alarmed: typed"), "{content}");
    assert!(!content.contains("111111111111111111") && !content.contains("333333333333333333"), "{content}");
    assert_eq!(got[0]["allowed_mentions"], json!({"parse": [], "users": ["222222222222222222"]}));
}

#[tokio::test]
async fn without_linking_a_typed_id_rings_at_most_so_often_an_hour() {
    let (game, _script) = fake_gameserver(answer((203, 300), (230, 60))).await;
    let (discord, d) = fake_discord().await;
    let clock = Clock::manual(t0());
    let app = spawn_notifying_with(&game, &discord, &clock, None, "discord_mentions_per_hour: 1\n", "").await;
    poll_now(&app.state).await;
    let typed = player(&app, "typed", "333333333333333333").await;
    // Server 2: 231 starts at +540 (due at once), 232 at +1140 (due at +540).
    alarm(&app, &typed, 231, true).await;
    let got = expect_messages(&d, 1, Duration::from_secs(3)).await;
    assert_eq!(got[0]["allowed_mentions"]["users"], json!(["333333333333333333"]));
    alarm(&app, &typed, 232, true).await;
    advance_to(&clock, 540);
    let got = expect_messages(&d, 2, Duration::from_secs(3)).await;
    let content = got[1]["content"].as_str().unwrap();
    assert!(content.contains("#232") && content.contains("Also alarmed: typed"), "{content}");
    assert_eq!(got[1]["allowed_mentions"]["users"], json!([]), "over the cap: named, not pinged");
}

#[tokio::test]
async fn with_linking_finish_messages_ping_only_verified_followers() {
    let clock = Clock::manual(t0());
    let (records, r) = fake_records(&clock).await;
    let (discord, d) = crate::finishes::fake_discord().await;
    let extra = format!("records_rate_per_min: 60\n{LINKING}");
    let app =
        spawn_feed_with("eventtype: KK\nedition: 7", &records, &discord, &clock, &extra, LINKING_SECRETS, None).await;
    for (name, login, typed) in
        [("hunter", "hunter_tm", "111111111111111111"), ("typer", "typer_tm", "333333333333333333")]
    {
        let token = app.register_login(name, "password1").await;
        let profile = json!({"tmnf": login, "finish_feed": true, "discord": typed});
        assert_eq!(app.post_json("/usermgnt", profile, Some(&token)).await.0, 200);
    }
    verify(&app, "hunter", "222222222222222222");
    poll_each(&clock, &r, &["hunter_tm", "typer_tm"]).await;
    r.set_pbs("hunter_tm", json!({"201": {"score": 30_000, "kacky_rank": 2}}));
    r.set_pbs("typer_tm", json!({"202": {"score": 31_000, "kacky_rank": 3}}));
    poll_each(&clock, &r, &["hunter_tm", "typer_tm"]).await;
    finishes(&app, 2).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while d.lines().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lines = d.lines();
    let hunter = lines.iter().find(|l| l.contains("hunter\\_tm")).expect("hunter's line");
    let typer = lines.iter().find(|l| l.contains("typer\\_tm")).expect("typer's line");
    assert!(hunter.ends_with("<@222222222222222222>"), "{hunter}");
    assert!(!typer.contains("<@"), "{typer}");
    let bodies = d.delivered.lock().unwrap().clone();
    let pinged: Vec<_> =
        bodies.iter().flat_map(|b| b["allowed_mentions"]["users"].as_array().unwrap().clone()).collect();
    assert_eq!(pinged, vec![json!("222222222222222222")]);
}
