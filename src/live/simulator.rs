//! A game-server simulator: servers that behave like the real ones, for the demo (testing
//! mode) and for the tests that run the real app through a whole simulated event.
//!
//! Per server: the configured playlist and time limit, starting at playlist position `i` for
//! the `i`-th server (so servers sharing a playlist show different maps), and
//!
//! - a change time between maps drawn from a range (KK-like 30–60 s, KR-like 5–20 s), during
//!   which the API still reports the old map with `time_played` beyond the time limit;
//! - `time_played` in whole seconds with a second of jitter either way;
//! - now and then a restart while changing maps: the server is unreachable for a minute or two
//!   (an `error` entry), then resumes its playlist with the next map and an empty
//!   `recently_played` until that map ends;
//! - now and then an admin skipping the current map;
//! - whole-API outages at given times (no answer at all).
//!
//! Everything is decided up front from a seed when the simulator is made, so the answer is a
//! pure function of the time asked about: driven by the injectable clock, a test can move time
//! at will and compare what the backend predicted with [`Simulator::plays`], the truth. A
//! change range of `(0, 0)` gives ideal servers (no change time, jitter, restarts or skips),
//! like the old fixture.

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{json, Map, Value};

/// The en dash the KK map names use instead of a minus sign (`#–151`).
const EN_DASH: char = '\u{2013}';
/// Most plays generated per server (69 days of 5-minute maps, 208 of 15-minute ones), so even
/// a testing window of years costs no more than a few MB; then the last map stays on.
const MAX_PLAYS: usize = 20_000;

/// How the simulated servers misbehave.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Restarts per server and day (on average).
    pub restarts_per_day: f64,
    /// How long a restart keeps a server unreachable, seconds (inclusive range).
    pub restart_down_s: (i64, i64),
    /// Admin skips per server and day (on average).
    pub skips_per_day: f64,
    /// Whole-API outages: from, to.
    pub outages: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub seed: u64,
}

impl Default for Behaviour {
    /// The demo's servers: a restart and a skip every other day per server, no outage.
    fn default() -> Self {
        Self { restarts_per_day: 0.5, restart_down_s: (40, 150), skips_per_day: 0.5, outages: Vec::new(), seed: 1 }
    }
}

/// One simulated server as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    /// Plain name, unique (the JSON key).
    pub name: String,
    pub timelimit_s: i64,
    /// Kacky ids in rotation order.
    pub playlist: Vec<i64>,
    /// Change time between maps, seconds (inclusive range); `(0, 0)`: an ideal server.
    pub change_s: (i64, i64),
}

/// One play as it really happened on a simulated server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimPlay {
    /// Counts the server's plays from 0.
    pub number: i64,
    pub kacky_id: i64,
    /// Unix seconds: when the map started.
    pub start: i64,
    /// Unix seconds: when the server stopped reporting it (the next start, or a restart).
    pub until: i64,
    /// The server came back from a restart with this map (`recently_played` is empty).
    pub after_restart: bool,
    /// An admin ended it before its time limit.
    pub skipped: bool,
}

/// A simulated server: its whole timeline.
#[derive(Debug, Clone)]
struct Server {
    spec: ServerSpec,
    plays: Vec<SimPlay>,
    /// Unix seconds the server is unreachable: from, to.
    down: Vec<(i64, i64)>,
}

/// Simulated game servers behind one API, decided up front for `[from, until)`.
#[derive(Debug, Clone)]
pub struct Simulator {
    servers: Vec<Server>,
    outages: Vec<(i64, i64)>,
    seed: u64,
    /// No jitter anywhere (every server ideal).
    ideal: bool,
}

impl Simulator {
    /// The servers' timelines from `from` (every server starts a map then) to `until`.
    pub fn new(specs: Vec<ServerSpec>, behaviour: &Behaviour, from: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        let ideal = specs.iter().all(|s| s.change_s == (0, 0));
        let servers = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                let mut rng = StdRng::seed_from_u64(behaviour.seed ^ name_hash(&spec.name));
                timeline(spec, i, behaviour, &mut rng, from.timestamp(), until.timestamp())
            })
            .collect();
        let outages = behaviour.outages.iter().map(|(a, b)| (a.timestamp(), b.timestamp())).collect();
        Self { servers, outages, seed: behaviour.seed, ideal }
    }

    /// The API's answer body at `now`, or `None` during an outage (no answer at all).
    pub fn answer(&self, now: DateTime<Utc>) -> Option<String> {
        let t = now.timestamp();
        if self.outages.iter().any(|&(a, b)| a <= t && t < b) {
            return None;
        }
        let mut body = Map::new();
        for (i, server) in self.servers.iter().enumerate() {
            body.insert(raw_name(&server.spec.name), self.entry(i, server, t));
        }
        Some(Value::Object(body).to_string())
    }

    fn entry(&self, i: usize, server: &Server, t: i64) -> Value {
        if server.plays.is_empty() || server.down.iter().any(|&(a, b)| a <= t && t < b) {
            return json!({ "error": "server offline" });
        }
        let k = server.plays.partition_point(|p| p.start <= t).max(1) - 1;
        let play = &server.plays[k];
        let jitter = if self.ideal { 0 } else { jitter(self.seed, i, t) };
        let played = (t - play.start).max(0) + jitter;
        // The maps before it in the playlist (as if the server had been running before `from`).
        let list = &server.spec.playlist;
        let at = list.iter().position(|&m| m == play.kacky_id).unwrap_or(0);
        let recent: Vec<String> = if play.after_restart {
            Vec::new()
        } else {
            (1..=5).map(|back| uid(list[(at + 5 * list.len() - back) % list.len()])).collect()
        };
        json!({
            "jukebox": [],
            "recently_played": recent,
            "current_map": map_name(play.kacky_id),
            "time_played": played.max(0).to_string(),
        })
    }

    /// Server `i`'s plays as they really happen (the truth to compare predictions with).
    pub fn plays(&self, i: usize) -> &[SimPlay] {
        &self.servers[i].plays
    }

    /// The play server `i` reports at `t` (the last one started by then).
    pub fn play_at(&self, i: usize, t: DateTime<Utc>) -> Option<&SimPlay> {
        let plays = &self.servers[i].plays;
        let k = plays.partition_point(|p| p.start <= t.timestamp());
        k.checked_sub(1).map(|k| &plays[k])
    }

    /// How many servers.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// No servers at all.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }
}

/// One server's plays and downtimes from `from` to `until`.
fn timeline(spec: ServerSpec, offset: usize, b: &Behaviour, rng: &mut StdRng, from: i64, until: i64) -> Server {
    let (mut plays, mut down) = (Vec::new(), Vec::new());
    let (len, limit) = (spec.playlist.len(), spec.timelimit_s);
    if len == 0 || limit <= 0 {
        return Server { spec, plays, down };
    }
    let ideal = spec.change_s == (0, 0);
    let per_play = |per_day: f64| if ideal { 0.0 } else { (per_day * limit as f64 / 86_400.0).clamp(0.0, 1.0) };
    let (p_restart, p_skip) = (per_play(b.restarts_per_day), per_play(b.skips_per_day));
    let (mut start, mut index, mut after_restart) = (from, offset % len, false);
    while start < until && plays.len() < MAX_PLAYS {
        let change = rng.random_range(spec.change_s.0..=spec.change_s.1.max(spec.change_s.0));
        let roll: f64 = rng.random();
        let (until_s, next, skipped, restart) = if roll < p_restart {
            // Restarted while changing maps (as admins do, and as updates happen).
            let at = start + limit + rng.random_range(0..=change);
            let back = at + rng.random_range(b.restart_down_s.0..=b.restart_down_s.1.max(b.restart_down_s.0));
            (at, back, false, true)
        } else if roll < p_restart + p_skip {
            let at = start + rng.random_range(limit / 10..limit);
            (at + change, at + change, true, false)
        } else {
            (start + limit + change, start + limit + change, false, false)
        };
        let number = i64::try_from(plays.len()).unwrap_or(i64::MAX);
        plays.push(SimPlay { number, kacky_id: spec.playlist[index], start, until: until_s, after_restart, skipped });
        if restart {
            down.push((until_s, next));
        }
        (start, index, after_restart) = (next.max(start + 1), (index + 1) % len, restart);
    }
    Server { spec, plays, down }
}

/// -1, 0 or 1, the same for the same server and second.
fn jitter(seed: u64, server: usize, t: i64) -> i64 {
    let mut x =
        seed ^ (server as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (t as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x % 3) as i64 - 1
}

/// FNV-1a: a stable seed per server name.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A formatted server name whose plain text is exactly `name`: bold, italic
/// and shadow, the first character orange and the rest white, like the real
/// names. A `$` in the name is escaped as `$$`; colour codes consume at most
/// three hex digits, so a name starting with a digit survives too.
pub fn raw_name(name: &str) -> String {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return "$o$i$s".to_string();
    };
    let escape = |s: &str| s.replace('$', "$$");
    format!("$o$i$s$f80{}$fff{}", escape(&first.to_string()), escape(chars.as_str()))
}

/// A map name like the real KK ones: negative ids use an en dash (`#–151`).
pub fn map_name(id: i64) -> String {
    if id < 0 {
        format!("$o$iKacky $4f0#{EN_DASH}{}", id.unsigned_abs())
    } else {
        format!("$o$iKacky $4f0#{id}")
    }
}

/// A fake map uid (the real ones are opaque 27-character strings).
fn uid(id: i64) -> String {
    format!("SimKacky{id:+019}")
}

#[cfg(test)]
mod tests;
