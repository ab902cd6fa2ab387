//! Testing-mode answers in the records API's shapes, so offline setups and the demo work.

use serde_json::{json, Value};

use super::Upstream;

/// Testing-mode answers in the records API's shapes: every login has finished a
/// deterministic third of the current event's maps.
pub(super) struct Fixtures {
    pub(super) edition: i64,
    pub(super) ids: Vec<i64>,
}

impl Fixtures {
    /// The answer to a GET of these (decoded) path segments.
    pub(super) fn answer(&self, segments: &[String]) -> Upstream {
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
            // A map's leaderboard: KR only; KK answers a plain string there.
            ["leaderboard", t, id] if t.eq_ignore_ascii_case("kr") && id.parse::<i64>().is_ok() => json!([
                {"date": "2024-11-16T20:31:07", "login": "plastorex", "nickname": "sexyboii", "rank": 1, "score": 21_322, "uplay": "plastorex"},
                {"date": "2024-11-17T09:02:44", "login": "simo_900", "nickname": "$abcsimo_$777900", "rank": 2, "score": 23_871, "uplay": "simo_900"}
            ]),
            ["leaderboard", _, _] => json!("KK not yet implemented"),
            _ => return Upstream::new(404, "\"not in the testing fixtures\""),
        };
        Upstream::new(200, body.to_string())
    }

    fn finished<'a>(&'a self, login: &str) -> impl Iterator<Item = i64> + 'a {
        let salt = login.bytes().map(i64::from).sum::<i64>();
        self.ids.iter().copied().filter(move |id| (id + salt).rem_euclid(3) == 0)
    }

    fn pbs(&self, login: &str) -> Value {
        let entries = self.finished(login).enumerate().map(|(i, id)| {
            let pb = json!({"date": 1_692_000_000.0 + i as f64 * 3600.0, "kacky_rank": 1 + i % 7, "score": 20_000 + id * 37 % 9_000});
            (id.to_string(), pb)
        });
        Value::Object(entries.collect())
    }
}
