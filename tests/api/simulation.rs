//! The simulated event: the real app against 13 simulated game servers (the shipped KR4
//! servers.yaml, 75 maps; ten servers change maps in 30–60 s like KK ones, three in 5–20 s
//! like KR ones and have their own `map_change_s` in servers.yaml) for seven days on the
//! manual clock, polled about once a minute, with game-server restarts, admin skips, a
//! 10-minute API outage and a 20-minute restart of the backend. Checked against the
//! simulator's truth:
//!
//! - every alarmed play rings exactly once, before it starts and no earlier than the lead time
//!   plus one slot, unless the documented rule skips it (it started while the backend was
//!   down, or right after an admin skip); never twice across the restart;
//! - `/live` announces exactly the real map changes, each once, and the calendar feed names
//!   every play by one UID in every fetch;
//! - `/schedule` predicts plays 1 h, 6 h and 24 h ahead with a p95 error of at most 1, 3 and 8
//!   minutes after the first hour of learning (printed beside the time-limit-only projection's).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use kacky_backend::clock::Clock;
use kacky_backend::config::Servers;
use kacky_backend::live::poll_now;
use kacky_backend::live::simulator::{Behaviour, ServerSpec, SimPlay, Simulator};
use serde_json::{json, Value};

use crate::common::{spawn_with, Options, TestApp, SECRETS};
use crate::notify::player;
use crate::schedule::{fetch_feed, parse_feed};
use crate::sim_world::{discord, gameserver, p95, settle, Message, Subscriber};

const LEAD_S: i64 = 600;

/// The shipped servers.yaml, the red and black servers with their own change time.
fn servers_yaml() -> String {
    let mut yaml = include_str!("../../config/servers.yaml").to_owned();
    for n in [11, 12, 13] {
        yaml = yaml.replace(&format!("server_number: {n}\n"), &format!("server_number: {n}\n  map_change_s: 10\n"));
    }
    yaml
}

fn specs(yaml: &str) -> Vec<ServerSpec> {
    let mut servers = Servers::from_mapping("servers.yaml", serde_yaml::from_str(yaml).unwrap()).unwrap().list;
    servers.sort_by_key(|s| s.server_number);
    let change = |n: i64| if n <= 10 { (30, 60) } else { (5, 20) };
    servers
        .into_iter()
        .map(|s| ServerSpec {
            name: s.name,
            timelimit_s: s.timelimit * 60,
            playlist: s.maps,
            change_s: change(s.server_number),
        })
        .collect()
}

async fn boot(config: &str, secrets: &str, yaml: &str, clock: &Clock, dir: Option<tempfile::TempDir>) -> TestApp {
    let app = spawn_with(Options { config, secrets, servers: Some(yaml), clock: clock.clone(), dir }).await;
    while app.state.live.snapshot().last_poll.is_none() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    settle(&app).await;
    app
}

/// One `/live` stream: its snapshot, its map events, and when it was open.
type Segment = (Value, Vec<Value>, DateTime<Utc>, DateTime<Utc>);
/// One calendar event: UID, server, play, kacky id, start.
type FeedEvent = (String, i64, i64, i64, i64);

/// One play `/schedule` predicted `hours` ahead.
struct Prediction {
    server: usize,
    play: i64,
    kacky_id: i64,
    start: i64,
    hours: i64,
}

/// One play the time limits alone predict `hours` ahead: the simulator's play `real`.
struct Naive {
    server: usize,
    real: i64,
    start: i64,
    hours: i64,
}

/// What `/schedule` and the time limits alone predict 1, 6 and 24 hours ahead at `now`.
async fn sample(
    app: &TestApp,
    sim: &Simulator,
    now: DateTime<Utc>,
    learned: &mut Vec<Prediction>,
    naive: &mut Vec<Naive>,
) {
    let (_, body) = app.get("/schedule?hours=25").await;
    for server in body["servers"].as_array().unwrap() {
        let i = usize::try_from(server["number"].as_i64().unwrap() - 1).unwrap();
        for hours in [1, 6, 24] {
            let after = (now + Duration::hours(hours)).timestamp();
            let plays = server["plays"].as_array().unwrap();
            let Some(p) = plays.iter().find(|p| ts(&p["start"]) >= after) else { continue };
            let (play, kacky_id) = (p["play"].as_i64().unwrap(), p["kacky_id"].as_i64().unwrap());
            learned.push(Prediction { server: i, play, kacky_id, start: ts(&p["start"]), hours });
        }
    }
    let snapshot = app.state.live.snapshot();
    for (i, (server, live)) in app.state.live.lineup().servers.iter().zip(&snapshot.servers).enumerate() {
        let Some(observed) = &live.observed else { continue };
        let Some(seen) = sim.play_at(i, observed.at) else { continue };
        let (origin, limit) = (observed.at.timestamp() - observed.time_played_s, server.timelimit_min * 60);
        for hours in [1, 6, 24] {
            let k = ((now + Duration::hours(hours)).timestamp() - origin + limit - 1).div_euclid(limit);
            naive.push(Naive { server: i, real: seen.number + k, start: origin + k * limit, hours });
        }
    }
}

fn ts(v: &Value) -> i64 {
    v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap().timestamp()
}

/// The calendar feed's events as (UID, server, play, kacky id, start).
async fn feed_events(app: &TestApp, url: &str) -> Vec<FeedEvent> {
    let (status, _, text) = fetch_feed(app, url).await;
    assert_eq!(status, 200);
    parse_feed(&text)
        .into_iter()
        .map(|(uid, _, start, _)| {
            // KR4-<map>-s<server>-p<play>@kacky-backend
            let parts: Vec<&str> = uid.trim_end_matches("@kacky-backend").split('-').collect();
            let (map, server, play) =
                (parts[1].parse().unwrap(), parts[2][1..].parse().unwrap(), parts[3][1..].parse().unwrap());
            let start = chrono::NaiveDateTime::parse_from_str(&start, "%Y%m%dT%H%M%SZ").unwrap().and_utc().timestamp();
            (uid, server, play, map, start)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_a_simulated_event() {
    let start = Utc.with_ymd_and_hms(2024, 8, 1, 18, 0, 0).unwrap();
    let end = start + Duration::days(7);
    let outage = start + Duration::days(3) + Duration::hours(5);
    let clock = Clock::manual(start);
    let yaml = servers_yaml();
    let behaviour = Behaviour {
        restarts_per_day: 0.3,
        restart_down_s: (40, 150),
        skips_per_day: 0.02,
        outages: vec![(outage, outage + Duration::minutes(10))],
        seed: 19,
    };
    let sim = Arc::new(Simulator::new(specs(&yaml), &behaviour, start, end + Duration::days(1)));
    let in_event = |p: &&SimPlay| p.start < end.timestamp();
    let restarts: usize =
        (0..sim.len()).map(|i| sim.plays(i).iter().filter(in_event).filter(|p| p.after_restart).count()).sum();
    let skips: usize = (0..sim.len()).map(|i| sim.plays(i).iter().filter(in_event).filter(|p| p.skipped).count()).sum();
    assert!(restarts >= 10 && skips >= 1, "the seed gives restarts ({restarts}) and skips ({skips})");

    let game = gameserver(sim.clone(), clock.clone()).await;
    let (hook, discord) = discord(clock.clone()).await;
    let config = format!(
        "eventtype: KR\nedition: 4\ncompstart: {}\ncompend: {}\ngameserver_api_url: {}/api/\npoll_interval_s: 3600\n\
         alarm_lead_minutes: {}\nmap_change_s: 30\ndiscord_mentions_per_hour: 100000\n",
        start.to_rfc3339(),
        end.to_rfc3339(),
        game.base,
        LEAD_S / 60
    );
    let secrets = format!("{SECRETS}discord_webhook_url: {}/api/webhooks/7/sim-token\n", hook.base);
    let mut app = boot(&config, &secrets, &yaml, &clock, None).await;

    // Four players: two accounts share a Discord id, one has another, one has none. (Their ids
    // ring more often than the default hourly cap of typed ids allows; the cap is lifted above,
    // this test is about timing, tests/api/mentions.rs about the cap.)
    let id_a = "111111111111111111";
    let id_c = "333333333333333333";
    let alarms: Vec<(&str, String, Vec<i64>)> = vec![
        ("alpha", id_a.into(), vec![228, 245, 253, 261, 279, 290]),
        ("bravo", format!("<@{id_a}>"), vec![245, 231]),
        ("charlie", id_c.into(), vec![227, 233, 262, 296]),
        ("delta", String::new(), vec![228, 284]),
    ];
    let mut feed_url = String::new();
    for (name, discord_field, maps) in &alarms {
        let token = player(&app, name, discord_field).await;
        for &map in maps {
            let (s, b) =
                app.post_json("/spreadsheet/kr", json!({"mapid": map.to_string(), "alarm": true}), Some(&token)).await;
            assert_eq!(s, 200, "{b}");
        }
        if *name == "alpha" {
            feed_url = app.post_json("/calendar", json!({}), Some(&token)).await.1["url"].as_str().unwrap().to_owned();
        }
    }

    let restart_at = start + Duration::days(4) + Duration::hours(2);
    let mut downtime = (0, 0);
    let mut subscriber = Subscriber::connect(&app).await;
    let mut segments = Vec::new();
    let mut segment_from = clock.now();
    let (mut learned, mut naive, mut feeds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut t, mut step, mut polls) = (clock.now(), 0i64, 0);
    loop {
        step += 1;
        t += Duration::seconds(55 + (step * 7) % 11);
        if t >= end - Duration::minutes(3) {
            break;
        }
        if downtime == (0, 0) && t >= restart_at {
            clock.set(t);
            let dir = app.stop().await;
            let (snapshot, events) = subscriber.finish().await;
            segments.push((snapshot, events, segment_from, t));
            let back = t + Duration::minutes(20);
            downtime = (t.timestamp(), back.timestamp());
            t = back;
            clock.set(t);
            app = boot(&config, &secrets, &yaml, &clock, Some(dir)).await;
            subscriber = Subscriber::connect(&app).await;
            segment_from = t;
            continue;
        }
        clock.set(t);
        poll_now(&app.state).await;
        polls += 1;
        settle(&app).await;
        if t - start >= Duration::hours(1) && step % 15 == 0 {
            sample(&app, &sim, t, &mut learned, &mut naive).await;
        }
        if step % 360 == 0 {
            feeds.push(feed_events(&app, &feed_url).await);
        }
    }
    let _dir = app.stop().await;
    let (snapshot, events) = subscriber.finish().await;
    segments.push((snapshot, events, segment_from, t));

    let offsets = identity_offsets(&sim, &learned);
    let figures = prediction_figures(&sim, &learned, &naive, &offsets, end);
    let live = check_live(&sim, &segments, &offsets);
    let calendar = check_calendar(&sim, &feeds, &offsets);
    let messages = discord.messages.lock().unwrap().clone();
    let rung = check_alarms(&sim, &messages, &alarms, downtime, start, end);
    assert_eq!(*discord.refused.lock().unwrap(), 0, "Discord refused no message");

    println!("simulated event: 7 days, 13 servers, 75 maps; {polls} polls, {restarts} server restarts, {skips} admin skips, a 10-minute API outage, a 20-minute backend restart");
    println!("/schedule prediction error, p95 after the first hour (learned slot vs time limits only):");
    for (hours, n, learned, naive) in &figures {
        println!("  {hours:>2} h ahead: learned {learned:>4} s, naive {naive:>5} s ({n} predictions)");
    }
    println!("alarms: {} messages; {} alarmed plays rang once, {} skipped by the rule", messages.len(), rung.0, rung.1);
    println!(
        "/live: {} map events, one per real map change; calendar: {} fetches, {} UIDs, one per play",
        live, calendar.0, calendar.1
    );
    let limits = [(1, 60), (6, 180), (24, 480)];
    for ((hours, _, learned, _), (h, limit)) in figures.iter().zip(limits) {
        assert_eq!(*hours, h);
        assert!(*learned <= limit, "p95 {hours} h ahead: {learned} s > {limit} s");
    }
}

/// Per server: the backend's play number minus the simulator's, from the first prediction;
/// every prediction must keep it (one identity per play, across the backend's restart too).
fn identity_offsets(sim: &Simulator, learned: &[Prediction]) -> Vec<i64> {
    let mut offsets = vec![None; sim.len()];
    for p in learned {
        let offset = *offsets[p.server].get_or_insert_with(|| {
            let nearest = sim
                .plays(p.server)
                .iter()
                .filter(|r| r.kacky_id == p.kacky_id)
                .min_by_key(|r| (r.start - p.start).abs());
            p.play - nearest.unwrap().number
        });
        let real = &sim.plays(p.server)[usize::try_from(p.play - offset).unwrap()];
        assert_eq!(
            real.kacky_id,
            p.kacky_id,
            "server {} play {} is the same real play in every answer",
            p.server + 1,
            p.play
        );
    }
    offsets.into_iter().map(|o| o.expect("predictions for every server")).collect()
}

/// `(hours, predictions, learned p95, naive p95)` for 1, 6 and 24 hours ahead.
fn prediction_figures(
    sim: &Simulator,
    learned: &[Prediction],
    naive: &[Naive],
    offsets: &[i64],
    end: DateTime<Utc>,
) -> Vec<(i64, usize, i64, i64)> {
    let truth = |server: usize, number: i64| {
        let plays = sim.plays(server);
        usize::try_from(number).ok().and_then(|n| plays.get(n)).filter(|p| p.start < end.timestamp()).map(|p| p.start)
    };
    [1, 6, 24]
        .into_iter()
        .map(|hours| {
            let errors: Vec<i64> = learned
                .iter()
                .filter(|p| p.hours == hours)
                .filter_map(|p| truth(p.server, p.play - offsets[p.server]).map(|real| p.start - real))
                .collect();
            let naive_errors: Vec<i64> = naive
                .iter()
                .filter(|p| p.hours == hours)
                .filter_map(|p| truth(p.server, p.real).map(|real| p.start - real))
                .collect();
            (hours, errors.len(), p95(&errors), p95(&naive_errors))
        })
        .collect()
}

/// Each `/live` segment (before and after the backend's restart): per server, the map events
/// are the plays after the snapshot's, one by one, each a real play; every real play that
/// started inside the segment (two minutes from its edges) is among them. The events' count.
fn check_live(sim: &Simulator, segments: &[Segment], offsets: &[i64]) -> usize {
    let mut total = 0;
    for (snapshot, events, from, to) in segments {
        for server in snapshot.as_array().unwrap() {
            let i = usize::try_from(server["number"].as_i64().unwrap() - 1).unwrap();
            let mut last = server["plays"][0]["play"].as_i64().unwrap();
            for e in events.iter().filter(|e| e["server"] == server["number"]) {
                let play = e["play"].as_i64().unwrap();
                assert_eq!(play, last + 1, "server {}: the next play, once: {e}", i + 1);
                let real = &sim.plays(i)[usize::try_from(play - offsets[i]).unwrap()];
                assert_eq!(real.kacky_id, e["kacky_id"].as_i64().unwrap(), "a real change: {e}");
                assert!(
                    (ts(&e["start"]) - real.start).abs() <= 300,
                    "announced near its real start: {e} vs {}",
                    real.start
                );
                last = play;
                total += 1;
            }
            let inside = (from.timestamp() + 120, to.timestamp() - 120);
            let missed = sim
                .plays(i)
                .iter()
                .filter(|p| inside.0 <= p.start && p.start <= inside.1)
                .find(|p| p.number + offsets[i] > last);
            assert!(missed.is_none(), "server {}: real change not announced: {missed:?}", i + 1);
        }
    }
    total
}

/// Every fetch names each play by one UID: the UID's play is a real play of its map, near its
/// start, and no two UIDs of a fetch are the same play. `(fetches, distinct UIDs)`.
fn check_calendar(sim: &Simulator, feeds: &[Vec<FeedEvent>], offsets: &[i64]) -> (usize, usize) {
    let mut uids: HashMap<String, (i64, i64)> = HashMap::new();
    for feed in feeds {
        assert!(!feed.is_empty());
        let mut plays = HashSet::new();
        for (uid, server, play, map, start) in feed {
            let i = usize::try_from(server - 1).unwrap();
            let real = &sim.plays(i)[usize::try_from(play - offsets[i]).unwrap()];
            assert_eq!(real.kacky_id, *map, "{uid}");
            assert!((start - real.start).abs() <= 600, "{uid}: {start} vs {}", real.start);
            assert!(plays.insert((server, play)), "one UID per play in a fetch: {uid}");
            let same = uids.entry(uid.clone()).or_insert((*server, *play));
            assert_eq!(*same, (*server, *play));
        }
    }
    (feeds.len(), uids.len())
}

/// Every alarmed real play tells each of its players exactly once, before it starts and no
/// earlier than the lead time plus one slot; skipped only when it started while the backend
/// was down (or in the first minute of the event, as it started with it) or right after an
/// admin skip. Every message is such a play. `(rung, skipped)`.
fn check_alarms(
    sim: &Simulator,
    messages: &[Message],
    alarms: &[(&str, String, Vec<i64>)],
    downtime: (i64, i64),
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> (usize, usize) {
    let told = |m: &Message, name: &str, field: &str| match field.trim_start_matches("<@").trim_end_matches('>') {
        "" => m.content.split("Also alarmed: ").nth(1).is_some_and(|names| names.split(", ").any(|n| n == name)),
        id => m.content.contains(&format!("<@{id}>")),
    };
    let mut matched: BTreeMap<usize, usize> = BTreeMap::new();
    let (mut rung, mut skipped) = (0, 0);
    for i in 0..sim.len() {
        let plays = sim.plays(i);
        let slot_max = if i < 10 { 15 * 60 + 60 } else { 20 * 60 + 20 };
        for (k, real) in plays.iter().enumerate().filter(|(_, p)| p.start < end.timestamp()) {
            let alarmed: Vec<_> = alarms.iter().filter(|(_, _, maps)| maps.contains(&real.kacky_id)).collect();
            if alarmed.is_empty() {
                continue;
            }
            let ours: Vec<(usize, &Message)> = messages
                .iter()
                .enumerate()
                .filter(|(_, m)| {
                    m.server == i as i64 + 1 && m.kacky_id == real.kacky_id && (m.start - real.start).abs() < 600
                })
                .collect();
            // (The clock stops three minutes before the end: later reminders never come due.)
            let excused = (downtime.0 <= real.start && real.start < downtime.1 + 60)
                || real.start < start.timestamp() + 60
                || (k > 0 && plays[k - 1].skipped)
                || real.start >= end.timestamp() - LEAD_S - 180;
            for (name, field, _) in alarmed {
                let tells: Vec<&(usize, &Message)> = ours.iter().filter(|(_, m)| told(m, name, field)).collect();
                assert!(tells.len() <= 1, "{name} told twice of {real:?}: {tells:#?}");
                if excused && tells.is_empty() {
                    skipped += 1;
                    continue;
                }
                let (n, m) =
                    tells.first().unwrap_or_else(|| panic!("{name} never told of {real:?} on server {}", i + 1));
                let ahead = real.start - m.at.timestamp();
                assert!(ahead > 0 && ahead <= LEAD_S + slot_max, "{name}: {ahead} s before {real:?}");
                matched.insert(*n, i);
                rung += 1;
            }
        }
    }
    let stray: Vec<&Message> =
        messages.iter().enumerate().filter(|(n, _)| !matched.contains_key(n)).map(|(_, m)| m).collect();
    assert!(stray.is_empty(), "every message is for an alarmed play: {stray:#?}");
    (rung, skipped)
}
