//! Testing-mode answers in the records API's shapes, so offline setups and the demo work.
//!
//! The answers move with the injectable clock, so the demo's finish feed moves: every login
//! has finished a deterministic third of the current event's maps before the start
//! (`boot`), then finishes one more every one to three minutes, some of its bests improve
//! every ten minutes, and a quarter of the maps get a new world record every 45 minutes. All
//! of it is a pure function of the login, the map and the time, so answers stay consistent
//! between calls and across restarts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::Upstream;
use crate::clock::Clock;

/// Testing-mode answers in the records API's shapes.
pub(super) struct Fixtures {
    pub(super) edition: i64,
    /// The current event's kacky ids, ascending.
    pub(super) ids: Vec<i64>,
    pub(super) clock: Clock,
    /// When the simulation starts: what is finished by then is the player's history.
    pub(super) boot: DateTime<Utc>,
    /// The stored world record (score, holder) of current maps, where the simulated
    /// leaderboards start.
    pub(super) wrs: HashMap<i64, (i64, String)>,
}

/// A small, stable hash (FNV-1a) of a login and a map, for the simulation's choices.
fn mix(login: &str, id: i64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in login.bytes().chain(id.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Holders of the simulated new world records.
const WR_HOLDERS: [&str; 4] = ["plastorex", "simo_900", "amgreborn", "corkscrew"];

impl Fixtures {
    /// The answer to a GET of these (decoded) path segments and query.
    pub(super) fn answer(&self, segments: &[String], _query: Option<&str>) -> Upstream {
        let parts: Vec<&str> = segments.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
        let body = match parts.as_slice() {
            ["pb", login, ..] => self.pbs(login),
            ["performance", login, _] => {
                json!([{ "edition": self.edition, "fins": self.finished(login).count() }])
            }
            ["event", "leaderboard", _, _] => json!([
                {"avg": 3.7, "fins": 75, "login": "plastorex", "nick": "sexyboii", "rank": 1},
                {"avg": 4.2, "fins": 70, "login": "simo_900", "nick": "$abcsimo_$777900", "rank": 2},
                {"avg": 69.69, "fins": 20, "login": "amgreborn", "nick": "k$cba*$z$gm", "rank": 7},
                {"avg": 134.0, "fins": 3, "login": "corkscrew", "nick": "corkscrew", "rank": 17}
            ]),
            // kacky-records-api's app.py: KK finds the login in its leaderboard (an object, `{}`
            // when absent); KR answers a one-element list.
            ["event", "leaderboard", t, _, login] => {
                let row = json!({"avg": 12.5, "fins": self.finished(login).count(), "login": login, "nick": login, "rank": 42});
                if t.eq_ignore_ascii_case("kk") {
                    row
                } else {
                    json!([row])
                }
            }
            // A map's leaderboard: KR only (upstream: 400 for a bad id); KK answers a plain string.
            ["leaderboard", t, id] if t.eq_ignore_ascii_case("kr") => match id.parse::<i64>() {
                Ok(id) => self.map_leaderboard(id),
                Err(_) => return Upstream::new(400, "Invalid Kacky Map ID"),
            },
            ["leaderboard", _, _] => json!("KK not yet implemented"),
            _ => return Upstream::new(404, "\"not in the testing fixtures\""),
        };
        Upstream::new(200, body.to_string())
    }

    /// Seconds of simulated event since `boot` (0 before it).
    fn elapsed(&self) -> i64 {
        (self.clock.now() - self.boot).num_seconds().max(0)
    }

    /// The player's finishes by now: (kacky id, position in their history, finished at boot
    /// + this many seconds, or `None` for the history before it).
    fn finishes(&self, login: &str) -> Vec<(i64, usize, Option<i64>)> {
        let salt = login.bytes().map(i64::from).sum::<i64>();
        let (mut done, mut rest): (Vec<i64>, Vec<i64>) =
            self.ids.iter().copied().partition(|id| (id + salt).rem_euclid(3) == 0);
        let history = done.len();
        rest.sort_by_key(|&id| mix(login, id));
        let period = 60 + salt.rem_euclid(5) * 30;
        let elapsed = self.elapsed();
        let mut out: Vec<(i64, usize, Option<i64>)> = done.drain(..).enumerate().map(|(i, id)| (id, i, None)).collect();
        for (k, id) in rest.into_iter().enumerate() {
            let at = (k as i64 + 1) * period;
            if at > elapsed {
                break;
            }
            out.push((id, history + k, Some(at)));
        }
        out
    }

    fn finished<'a>(&'a self, login: &str) -> impl Iterator<Item = i64> + 'a {
        self.finishes(login).into_iter().map(|(id, _, _)| id)
    }

    fn pbs(&self, login: &str) -> Value {
        let elapsed = self.elapsed();
        let boot = self.boot.timestamp() as f64;
        let entries = self.finishes(login).into_iter().map(|(id, i, at)| {
            let h = mix(login, id);
            // A quarter of the bests improve every ten minutes, three times at most.
            let first_step = at.unwrap_or(0) + (h % 600) as i64;
            let steps = if h.is_multiple_of(4) && elapsed >= first_step {
                ((elapsed - first_step) / 600 + 1).min(3)
            } else {
                0
            };
            let score = 20_000 + id * 37 % 9_000 - steps * (150 + (h % 300) as i64);
            let rank = (1 + i % 7) as i64 - steps;
            let date = match at {
                Some(at) => boot + at as f64,
                None => 1_692_000_000.0 + i as f64 * 3600.0,
            };
            (id.to_string(), json!({"date": date, "kacky_rank": rank.max(1), "score": score}))
        });
        Value::Object(entries.collect())
    }

    /// `/leaderboard/kr/<id>`: the top entry. A quarter of the maps get a better record every
    /// 45 minutes, from a time of their own in the first hour on.
    fn map_leaderboard(&self, id: i64) -> Value {
        let (base, holder) = match self.wrs.get(&id) {
            Some((score, holder)) if *score > 1 => (*score, holder.clone()),
            _ => (17_000 + id * 37 % 9_000, "plastorex".to_owned()),
        };
        let h = mix("wr", id);
        let first = (h % 3600) as i64;
        let elapsed = self.elapsed();
        let (score, holder, at) = if h.is_multiple_of(4) && elapsed >= first {
            let steps = (elapsed - first) / 2700 + 1;
            let holder = WR_HOLDERS[(steps as usize + id as usize) % WR_HOLDERS.len()].to_owned();
            (base - steps * 250, holder, self.boot + chrono::Duration::seconds(first + (steps - 1) * 2700))
        } else {
            (base, holder, self.boot)
        };
        let date = at.format("%Y-%m-%dT%H:%M:%S").to_string();
        json!([
            {"date": date, "login": holder.to_lowercase(), "nickname": holder, "rank": 1, "score": score, "uplay": holder},
            {"date": "2024-11-17T09:02:44", "login": "simo_900", "nickname": "$abcsimo_$777900", "rank": 2, "score": score + 2_549, "uplay": "simo_900"}
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fixtures(clock: &Clock) -> Fixtures {
        Fixtures {
            edition: 4,
            ids: (1..=75).collect(),
            clock: clock.clone(),
            boot: Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap(),
            wrs: HashMap::from([(8, (30_000, "TeraTM".to_owned()))]),
        }
    }

    fn count(v: &Value) -> usize {
        v.as_object().unwrap().len()
    }

    #[test]
    fn finishes_and_bests_move_with_the_clock_and_never_go_back() {
        let clock = Clock::manual(Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap());
        let f = fixtures(&clock);
        let start = f.pbs("hunter");
        let history = count(&start);
        assert!((15..=35).contains(&history), "{history}");
        clock.advance(chrono::Duration::minutes(10));
        let later = f.pbs("hunter");
        assert!(count(&later) >= history + 3, "one finish every one to three minutes");
        let mut improved = 0;
        for (id, pb) in start.as_object().unwrap() {
            let now = &later[id];
            assert!(now["score"].as_i64() <= pb["score"].as_i64(), "{id}");
            improved += usize::from(now["score"] != pb["score"]);
        }
        clock.advance(chrono::Duration::hours(6));
        assert_eq!(count(&f.pbs("hunter")), 75, "everything is finished in the end");
        assert!(improved > 0 || count(&start) < 8);
        assert_eq!(f.pbs("hunter"), f.pbs("hunter"), "answers are stable");
    }

    #[test]
    fn leaderboards_start_at_the_stored_record_and_improve() {
        let clock = Clock::manual(Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap());
        let f = fixtures(&clock);
        let top = |id: i64| f.answer(&["leaderboard".into(), "kr".into(), id.to_string()], Some("positions=1"));
        let first = top(8).json().unwrap();
        assert_eq!(first[0]["uplay"], "TeraTM");
        clock.advance(chrono::Duration::hours(24));
        let improved: Vec<i64> = (1..=75)
            .filter(|&id| {
                let before = f.wrs.get(&id).map_or(17_000 + id * 37 % 9_000, |w| w.0);
                top(id).json().unwrap()[0]["score"].as_i64().unwrap() < before
            })
            .collect();
        assert!(improved.len() > 5 && improved.len() < 40, "{improved:?}");
        assert_eq!(top(8).status, 200);
        assert_eq!(f.answer(&["leaderboard".into(), "kr".into(), "x".into()], None).status, 400);
    }
}
