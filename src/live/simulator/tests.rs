use chrono::{Duration, TimeZone};

use super::*;
use crate::live::gameserver::{parse, Skipped};
use crate::live::rotation::{self, Observed, ServerView};
use crate::tmtext;

fn utc(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, h, m, s).unwrap()
}

fn spec(name: &str, timelimit_min: i64, maps: &[i64], change_s: (i64, i64)) -> ServerSpec {
    ServerSpec { name: name.into(), timelimit_s: timelimit_min * 60, playlist: maps.to_vec(), change_s }
}

fn ideal(specs: Vec<ServerSpec>, from: DateTime<Utc>) -> Simulator {
    Simulator::new(specs, &Behaviour::default(), from, from + Duration::days(3))
}

#[test]
fn ideal_servers_round_trip_through_parse_and_follow_the_rotation() {
    let white = [1, 2, 3, 4, 5];
    let kk = [-151, -150, 7, 8];
    let start = utc(10, 0, 0);
    let sim = ideal(
        vec![
            spec("Kacky Reloaded 4 - White 1", 10, &white, (0, 0)),
            spec("Kacky Reloaded 4 - White 2", 10, &white, (0, 0)),
            spec("4 $weird name", 7, &kk, (0, 0)),
            spec("Broken", 0, &kk, (0, 0)),
            spec("Empty", 10, &[], (0, 0)),
        ],
        start,
    );
    let offline = |name: &str| Skipped::Error { name: name.into(), error: "server offline".into() };
    for now in [start, utc(10, 3, 7), utc(13, 59, 59), start + Duration::days(2)] {
        let parsed = parse(&sim.answer(now).unwrap()).unwrap();
        assert_eq!(parsed.skipped, vec![offline("Broken"), offline("Empty")]);
        assert_eq!(parsed.reports.len(), 3);
        for (i, report) in parsed.reports.iter().enumerate() {
            let s = &sim.servers[i].spec;
            assert!(!report.restarted);
            let observed = Observed { current: s.playlist[i % s.playlist.len()], time_played_s: 0, at: start };
            let view = ServerView {
                number: 1,
                slot_ms: s.timelimit_s * 1000,
                playlist: &s.playlist,
                observed: &observed,
                play: 0,
            };
            let pos = rotation::position(&view, now).unwrap();
            assert_eq!((report.current, report.time_played_s), (pos.current, pos.played_s), "{now}");
            assert_eq!(sim.play_at(i, now).unwrap().kacky_id, report.current);
        }
    }
}

#[test]
fn the_answer_has_the_real_shape() {
    let sim = ideal(vec![spec("KR - White 1", 10, &[-151], (0, 0))], utc(10, 0, 0));
    let value: Value = serde_json::from_str(&sim.answer(utc(10, 0, 42)).unwrap()).unwrap();
    let (raw, entry) = value.as_object().unwrap().iter().next().unwrap();
    assert_eq!(raw, "$o$i$s$f80K$fffR - White 1");
    assert_eq!(entry["current_map"], "$o$iKacky $4f0#–151");
    assert_eq!(entry["time_played"], "42");
    assert_eq!(entry["jukebox"], json!([]));
    assert_eq!(raw_name(""), "$o$i$s");
    assert_eq!(tmtext::plain(&raw_name("$a$")), "$a$");
    assert_eq!(tmtext::plain(&raw_name("fff")), "fff");
}

/// A week of a KK-like server with restarts, skips and an outage.
fn realistic() -> (Simulator, DateTime<Utc>) {
    let from = utc(0, 0, 0);
    let behaviour = Behaviour {
        restarts_per_day: 1.0,
        skips_per_day: 1.0,
        outages: vec![(from + Duration::hours(30), from + Duration::hours(30) + Duration::minutes(10))],
        ..Behaviour::default()
    };
    let specs = vec![spec("A", 10, &[1, 2, 3, 4, 5, 6], (30, 60)), spec("B", 15, &[7, 8, 9], (5, 20))];
    (Simulator::new(specs, &behaviour, from, from + Duration::days(7)), from)
}

#[test]
fn realistic_servers_change_maps_slowly_restart_and_get_skipped() {
    let (sim, from) = realistic();
    for (i, (limit, lo, hi)) in [(600, 30, 60), (900, 5, 20)].into_iter().enumerate() {
        let plays = sim.plays(i);
        assert!(plays.len() > 600, "{}", plays.len());
        let mut changes = Vec::new();
        for w in plays.windows(2) {
            assert_eq!(w[1].number, w[0].number + 1);
            let list = &sim.servers[i].spec.playlist;
            let at = |k: i64| list.iter().position(|&m| m == k).unwrap();
            assert_eq!(at(w[1].kacky_id), (at(w[0].kacky_id) + 1) % list.len(), "the playlist resumes");
            if !w[0].skipped && !w[1].after_restart {
                let change = w[1].start - w[0].start - limit;
                assert!((lo..=hi).contains(&change), "{change}");
                changes.push(change);
            }
        }
        let mean = changes.iter().sum::<i64>() as f64 / changes.len() as f64;
        assert!((mean - (lo + hi) as f64 / 2.0).abs() < 3.0, "{mean}");
        assert!(plays.iter().filter(|p| p.after_restart).count() >= 2);
        assert!(plays.iter().filter(|p| p.skipped).count() >= 2);
        assert!(plays
            .iter()
            .all(|p| p.skipped || p.until - p.start >= limit || sim.servers[i].down.iter().any(|d| d.0 == p.until)));
    }
    assert!(sim.answer(from + Duration::hours(30) + Duration::minutes(5)).is_none(), "the outage");
    assert!(sim.answer(from + Duration::hours(30) + Duration::minutes(10)).is_some());
}

#[test]
fn time_played_jitters_by_a_second_and_restarts_show() {
    let (sim, from) = realistic();
    let mut jitters = std::collections::BTreeSet::new();
    let (mut offline, mut fresh) = (0, 0);
    for minute in 0..7 * 24 * 60 {
        let now = from + Duration::minutes(minute) + Duration::seconds(minute % 7);
        let Some(body) = sim.answer(now) else { continue };
        let parsed = parse(&body).unwrap();
        offline += parsed.skipped.len();
        for report in &parsed.reports {
            let i = usize::from(report.plain_name == "B");
            let truth = sim.play_at(i, now).unwrap();
            assert_eq!(report.current, truth.kacky_id);
            if truth.start < now.timestamp() - 1 {
                jitters.insert(report.time_played_s - (now.timestamp() - truth.start));
            }
            fresh += usize::from(report.restarted);
            assert_eq!(report.restarted, truth.after_restart);
        }
    }
    assert_eq!(jitters.into_iter().collect::<Vec<_>>(), [-1, 0, 1]);
    assert!(offline > 0 && fresh > 0, "{offline} {fresh}");
    // The same instant always gets the same answer.
    let t = from + Duration::hours(50) + Duration::seconds(17);
    assert_eq!(sim.answer(t), sim.answer(t));
    assert_eq!(sim.answer(t), realistic().0.answer(t));
}
