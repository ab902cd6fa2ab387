//! The game-server API: parsing its answer, and simulating it for the demo.
//!
//! The API answers a GET with one JSON object keyed by the `$`-formatted
//! server name:
//!
//! ```json
//! {"$o$i$aa0Kack$05ay Re$09alo$6a0ad$aa0ed 4 - $fffWhite 1": {
//!    "jukebox": [], "recently_played": ["<uid>"],
//!    "current_map": "$o$iKacky Reloaded $4f0#240", "time_played": "125"}}
//! ```
//!
//! [`parse`] turns such a body into [`ServerReport`]s, setting aside the
//! entries it cannot use as [`Skipped`] (so one broken server never hides the
//! others). Entries keep the order of the JSON object: this relies on
//! `serde_json`'s `preserve_order` feature, which the project enables.
//!
//! [`fixture_body`] produces a body of exactly this shape for configured
//! servers cycling through their playlists, so the demo (which has no game
//! servers) exercises the very same parsing path as production.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::tmtext;

/// The en dash the KK map names use instead of a minus sign (`#–151`).
const EN_DASH: char = '\u{2013}';

/// One usable server entry of the API answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerReport {
    /// Server name as sent, with `$` formatting codes.
    pub raw_name: String,
    /// Server name without formatting codes, trimmed; matches the configured names.
    pub plain_name: String,
    /// Kacky id of the map being played.
    pub current: i64,
    /// Map version written after the id (e.g. `[v2]`, brackets kept), if any.
    pub version: Option<String>,
    /// Seconds the current map has been played (never negative).
    pub time_played_s: i64,
    /// `recently_played` was an empty list: the server has just restarted.
    pub restarted: bool,
}

/// An entry of the API answer that could not be used, and why.
///
/// `name` is the plain (formatting-free, trimmed) server name, so it can be
/// matched against the configured servers and logged readably.
#[derive(Debug, Clone, PartialEq)]
pub enum Skipped {
    /// The entry has an `"error"` key.
    Error { name: String, error: String },
    /// `current_map` or `time_played` is `false`, `null` or missing.
    Offline { name: String },
    /// `current_map` has no parsable `#<id>`.
    BadMap { name: String, current_map: String },
    /// The entry is not an object, or a field has an unexpected JSON type.
    Malformed { name: String },
}

/// Result of [`parse`]: usable reports and skipped entries, in body order.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// Usable server entries.
    pub reports: Vec<ServerReport>,
    /// Entries that were set aside.
    pub skipped: Vec<Skipped>,
}

/// Whole-body failure: the answer is not JSON, or not a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyError(pub String);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid game-server answer: {}", self.0)
    }
}

impl std::error::Error for BodyError {}

/// Parses a game-server API answer. Never panics, whatever the input.
///
/// Only a body that is not a JSON object fails as a whole; every entry is
/// judged on its own and either reported or listed in [`Parsed::skipped`].
pub fn parse(body: &str) -> Result<Parsed, BodyError> {
    let value: Value = serde_json::from_str(body).map_err(|e| BodyError(format!("not JSON: {e}")))?;
    let Value::Object(entries) = value else {
        return Err(BodyError(format!("expected a JSON object, got {}", type_name(&value))));
    };
    let mut parsed = Parsed { reports: Vec::new(), skipped: Vec::new() };
    for (raw_name, entry) in &entries {
        match parse_entry(raw_name, entry) {
            Ok(report) => parsed.reports.push(report),
            Err(skipped) => parsed.skipped.push(skipped),
        }
    }
    Ok(parsed)
}

/// A JSON type's name, for error messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Judges one entry of the answer.
fn parse_entry(raw_name: &str, entry: &Value) -> Result<ServerReport, Skipped> {
    let name = tmtext::plain(raw_name).trim().to_string();
    let Value::Object(fields) = entry else {
        return Err(Skipped::Malformed { name });
    };
    if let Some(error) = fields.get("error") {
        let error = match error {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        return Err(Skipped::Error { name, error });
    }
    let current_map = match fields.get("current_map") {
        None | Some(Value::Null | Value::Bool(false)) => return Err(Skipped::Offline { name }),
        Some(Value::String(s)) => s,
        Some(_) => return Err(Skipped::Malformed { name }),
    };
    let time_played_s = match fields.get("time_played") {
        None | Some(Value::Null | Value::Bool(false)) => return Err(Skipped::Offline { name }),
        Some(value) => seconds(value).ok_or_else(|| Skipped::Malformed { name: name.clone() })?,
    };
    let Some((current, version)) = map_id(current_map) else {
        return Err(Skipped::BadMap { name, current_map: current_map.clone() });
    };
    let restarted = fields.get("recently_played").and_then(Value::as_array).is_some_and(Vec::is_empty);
    Ok(ServerReport { raw_name: raw_name.to_string(), plain_name: name, current, version, time_played_s, restarted })
}

/// Reads `time_played`: normally a string of seconds, sometimes a number.
///
/// A string that is not an integer counts as 0 (the server is up, it just
/// reported nonsense); a fractional number is truncated; negatives clamp
/// to 0. `None` for JSON types that cannot hold a time at all.
fn seconds(value: &Value) -> Option<i64> {
    let s = match value {
        Value::String(s) => s.trim().parse::<i64>().unwrap_or(0),
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)).unwrap_or(0),
        _ => return None,
    };
    Some(s.max(0))
}

/// Extracts the kacky id (and optional version) from a map name such as
/// `$o$iKacky Reloaded $4f0#240` or `Kackiest Kacky #–151 [v2]`.
///
/// Formatting codes are stripped first so colour codes around the number do
/// not matter. The last `#` that is followed by a valid id wins, so a `#`
/// earlier in the name (or inside the version) does not confuse it.
fn map_id(current_map: &str) -> Option<(i64, Option<String>)> {
    let text = tmtext::plain(current_map);
    text.rmatch_indices('#').find_map(|(i, _)| id_and_version(&text[i + 1..]))
}

/// Parses `<id>` or `<id> <version>` where the id is an optionally negative
/// integer; the sign may be an ASCII `-` or an en dash.
fn id_and_version(after_hash: &str) -> Option<(i64, Option<String>)> {
    let (negative, rest) = match after_hash.strip_prefix(['-', EN_DASH]) {
        Some(rest) => (true, rest),
        None => (false, after_hash),
    };
    let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let (digits, tail) = rest.split_at(digits_end);
    let magnitude: i64 = digits.parse().ok()?;
    let id = if negative { -magnitude } else { magnitude };
    if tail.trim().is_empty() {
        return Some((id, None));
    }
    if !tail.starts_with(char::is_whitespace) {
        return None;
    }
    Some((id, Some(tail.trim().to_string())))
}

/// One configured server, as needed to simulate it.
#[derive(Debug, Clone, Copy)]
pub struct SimServer<'a> {
    /// Plain server name, as configured (must be unique: it is the JSON key).
    pub name: &'a str,
    /// Minutes each map is played.
    pub timelimit_min: i64,
    /// Kacky ids in rotation order.
    pub maps: &'a [i64],
}

/// A body shaped like the real API for `now`.
///
/// Each server has been cycling through its playlist since `start`; server
/// `i` (its position in `servers`) starts `i` maps further, so servers
/// sharing a playlist show different maps. `time_played` is the seconds into
/// the current map. Servers with no maps or a non-positive timelimit answer
/// `{"error": "server offline"}`, like an unreachable real server. Feed the
/// result to [`parse`], exactly like a real answer.
#[must_use]
pub fn fixture_body(servers: &[SimServer], start: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let elapsed = now.signed_duration_since(start).num_seconds().max(0);
    let mut body = Map::new();
    for (i, server) in servers.iter().enumerate() {
        body.insert(sim_raw_name(server.name), sim_entry(server, i, elapsed));
    }
    Value::Object(body).to_string()
}

/// One simulated entry, `elapsed` seconds after the rotation started.
fn sim_entry(server: &SimServer, offset: usize, elapsed: i64) -> Value {
    let slot = server.timelimit_min.checked_mul(60).filter(|&s| s > 0);
    let (Some(slot), false) = (slot, server.maps.is_empty()) else {
        return json!({ "error": "server offline" });
    };
    let len = server.maps.len();
    let advanced = usize::try_from(elapsed / slot).unwrap_or(usize::MAX) % len;
    let index = (offset % len + advanced) % len;
    let recent: Vec<String> = (1..=5).map(|k| sim_uid(server.maps[(index + len - k % len) % len])).collect();
    json!({
        "jukebox": [],
        "recently_played": recent,
        "current_map": sim_map_name(server.maps[index]),
        "time_played": (elapsed % slot).to_string(),
    })
}

/// A formatted server name whose plain text is exactly `name`: bold, italic
/// and shadow, the first character orange and the rest white, like the real
/// names. A `$` in the name is escaped as `$$`; colour codes consume at most
/// three hex digits, so a name starting with a digit survives too.
fn sim_raw_name(name: &str) -> String {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return "$o$i$s".to_string();
    };
    let escape = |s: &str| s.replace('$', "$$");
    format!("$o$i$s$f80{}$fff{}", escape(&first.to_string()), escape(chars.as_str()))
}

/// A map name like the real KK ones: negative ids use an en dash (`#–151`).
fn sim_map_name(id: i64) -> String {
    if id < 0 {
        format!("$o$iKacky $4f0#{EN_DASH}{}", id.unsigned_abs())
    } else {
        format!("$o$iKacky $4f0#{id}")
    }
}

/// A fake map uid (the real ones are opaque 27-character strings).
fn sim_uid(id: i64) -> String {
    format!("SimKacky{id:+019}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::rotation::{self, Observed, ServerView};
    use chrono::{Duration, TimeZone};

    const EXAMPLE: &str = r##"{"$o$i$aa0Kack$05ay Re$09alo$6a0ad$aa0ed 4 - $fffWhite 1": {
        "jukebox": [], "recently_played": ["uidA", "uidB"],
        "current_map": "$o$iKacky Reloaded $4f0#240", "time_played": "125"}}"##;

    /// Parses a single-entry body `{"S": <entry>}` and returns the outcome.
    fn one(entry: &str) -> Result<ServerReport, Skipped> {
        let parsed = parse(&format!(r##"{{"$f00S": {entry}}}"##)).unwrap();
        assert_eq!(parsed.reports.len() + parsed.skipped.len(), 1);
        match parsed.reports.into_iter().next() {
            Some(report) => Ok(report),
            None => Err(parsed.skipped.into_iter().next().unwrap()),
        }
    }

    /// An entry with the given `current_map` and `time_played` JSON values.
    fn entry(current_map: &str, time_played: &str) -> String {
        format!(
            r##"{{"jukebox": [], "recently_played": ["u"], "current_map": {current_map}, "time_played": {time_played}}}"##
        )
    }

    #[test]
    fn parses_the_real_example() {
        let parsed = parse(EXAMPLE).unwrap();
        assert!(parsed.skipped.is_empty());
        let expected = ServerReport {
            raw_name: "$o$i$aa0Kack$05ay Re$09alo$6a0ad$aa0ed 4 - $fffWhite 1".into(),
            plain_name: "Kacky Reloaded 4 - White 1".into(),
            current: 240,
            version: None,
            time_played_s: 125,
            restarted: false,
        };
        assert_eq!(parsed.reports, vec![expected]);
    }

    #[test]
    fn keeps_body_order() {
        let body = r##"{"Zeta": {"error": "x"}, "Alpha": {"current_map": "#1", "time_played": "1"},
                       "Mid": {"current_map": "#2", "time_played": "2"}, "Beta": 5}"##;
        let parsed = parse(body).unwrap();
        let names: Vec<_> = parsed.reports.iter().map(|r| r.plain_name.as_str()).collect();
        assert_eq!(names, ["Alpha", "Mid"]);
        assert_eq!(
            parsed.skipped,
            vec![Skipped::Error { name: "Zeta".into(), error: "x".into() }, Skipped::Malformed { name: "Beta".into() },]
        );
    }

    #[test]
    fn error_entry() {
        assert_eq!(
            one(r##"{"error": "Connection refused"}"##),
            Err(Skipped::Error { name: "S".into(), error: "Connection refused".into() })
        );
        assert_eq!(
            one(r##"{"error": 42, "current_map": "#1", "time_played": "1"}"##),
            Err(Skipped::Error { name: "S".into(), error: "42".into() })
        );
    }

    #[test]
    fn false_or_missing_fields_mean_offline() {
        let offline = Err(Skipped::Offline { name: "S".into() });
        assert_eq!(one(&entry("false", r##""12""##)), offline);
        assert_eq!(one(&entry(r##""#1""##, "false")), offline);
        assert_eq!(one(&entry("false", "false")), offline);
        assert_eq!(one(&entry("null", r##""12""##)), offline);
        assert_eq!(one(r##"{"time_played": "3"}"##), offline);
        assert_eq!(one(r##"{"current_map": "#3"}"##), offline);
        assert_eq!(one("{}"), offline);
    }

    #[test]
    fn wrong_field_types_are_malformed() {
        let malformed = Err(Skipped::Malformed { name: "S".into() });
        assert_eq!(one(&entry("12", r##""12""##)), malformed);
        assert_eq!(one(&entry("true", r##""12""##)), malformed);
        assert_eq!(one(&entry(r##""#1""##, "true")), malformed);
        assert_eq!(one(&entry(r##""#1""##, "[1]")), malformed);
    }

    #[test]
    fn negative_ids_with_en_dash_or_hyphen() {
        assert_eq!(one(&entry(r##""$o$iKacky $4f0#–151""##, r##""5""##)).unwrap().current, -151);
        assert_eq!(one(&entry(r##""Kacky #-7""##, r##""5""##)).unwrap().current, -7);
        assert_eq!(
            one(&entry(r##""Kacky #\u2013 9""##, r##""5""##)).map(|r| r.current),
            Err(Skipped::BadMap { name: "S".into(), current_map: "Kacky #\u{2013} 9".into() })
        );
    }

    #[test]
    fn version_after_the_id() {
        let report = one(&entry(r##""$o$iKacky Reloaded #17 [v2]""##, r##""5""##)).unwrap();
        assert_eq!((report.current, report.version.as_deref()), (17, Some("[v2]")));
        let report = one(&entry(r##""Kacky #–151 $f00[v3] ""##, r##""5""##)).unwrap();
        assert_eq!((report.current, report.version.as_deref()), (-151, Some("[v3]")));
        let report = one(&entry(r##""Kacky #17 ""##, r##""5""##)).unwrap();
        assert_eq!((report.current, report.version), (17, None));
        // A '#' inside the version does not hide the id.
        let report = one(&entry(r##""Kacky #8 [#2]""##, r##""5""##)).unwrap();
        assert_eq!((report.current, report.version.as_deref()), (8, Some("[#2]")));
    }

    #[test]
    fn time_played_forms() {
        let time = |v: &str| one(&entry(r##""#1""##, v)).unwrap().time_played_s;
        assert_eq!(time(r##""abc""##), 0);
        assert_eq!(time(r##""""##), 0);
        assert_eq!(time(r##"" 42 ""##), 42);
        assert_eq!(time("125"), 125);
        assert_eq!(time("125.9"), 125);
        assert_eq!(time(r##""-5""##), 0);
        assert_eq!(time("-5"), 0);
        assert_eq!(time("1e300"), i64::MAX);
        assert_eq!(time(r##""99999999999999999999999""##), 0);
    }

    #[test]
    fn empty_recently_played_means_restarted() {
        let body = r##"{"current_map": "#1", "time_played": "3", "recently_played": []}"##;
        assert!(one(body).unwrap().restarted);
        let body = r##"{"current_map": "#1", "time_played": "3", "recently_played": ["x"]}"##;
        assert!(!one(body).unwrap().restarted);
        let body = r##"{"current_map": "#1", "time_played": "3"}"##;
        assert!(!one(body).unwrap().restarted);
    }

    #[test]
    fn whole_body_errors() {
        assert!(parse("not json").is_err());
        assert!(parse("").is_err());
        assert!(parse("[1, 2]").unwrap_err().0.contains("array"));
        assert!(parse("\"x\"").is_err());
        assert!(parse("null").is_err());
        assert_eq!(parse("{}").unwrap(), Parsed { reports: vec![], skipped: vec![] });
        let err = parse("[]").unwrap_err();
        assert!(err.to_string().starts_with("invalid game-server answer"));
    }

    #[test]
    fn string_entry_is_malformed() {
        assert_eq!(one(r##""offline""##), Err(Skipped::Malformed { name: "S".into() }));
        assert_eq!(one("null"), Err(Skipped::Malformed { name: "S".into() }));
    }

    #[test]
    fn unparsable_map_names() {
        for name in ["Kacky 240", "Kacky #abc", "Kacky #", "Kacky #12abc", "#–", "# 12", "Kacky #99999999999999999999"]
        {
            let json = serde_json::to_string(name).unwrap();
            assert_eq!(
                one(&entry(&json, r##""1""##)),
                Err(Skipped::BadMap { name: "S".into(), current_map: name.into() }),
                "{name}"
            );
        }
    }

    #[test]
    fn odd_inputs_never_panic() {
        let bodies = [
            "{\"a\": {\"current_map\": \"#\u{2013}\", \"time_played\": \"\u{2013}\"}}",
            "{\"\": {\"current_map\": \"$\", \"time_played\": {}}}",
            "{\"$l[\": {\"current_map\": \"#-9223372036854775808\", \"time_played\": \"1\"}}",
            "{\"é\": {\"current_map\": \"#9223372036854775807 é\", \"time_played\": 1}}",
        ];
        for body in bodies {
            let _ = parse(body);
        }
    }

    fn utc(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, h, m, s).unwrap()
    }

    #[test]
    fn fixture_round_trips_through_parse() {
        let white = [1, 2, 3, 4, 5];
        let kk = [-151, -150, 7, 8];
        let servers = [
            sim("Kacky Reloaded 4 - White 1", 10, &white),
            sim("Kacky Reloaded 4 - White 2", 10, &white),
            sim("4 $weird name", 7, &kk),
            sim("Broken", 0, &kk),
            sim("Empty", 10, &[]),
        ];
        let offline = |name: &str| Skipped::Error { name: name.into(), error: "server offline".into() };
        let start = utc(10, 0, 0);
        let later = [utc(10, 3, 7), utc(13, 59, 59), start + Duration::days(2)];
        for now in std::iter::once(start).chain(later) {
            let parsed = parse(&fixture_body(&servers, start, now)).unwrap();
            assert_eq!(parsed.skipped, vec![offline("Broken"), offline("Empty")]);
            assert_eq!(parsed.reports.len(), 3);
            for (i, (sim, report)) in servers.iter().zip(&parsed.reports).enumerate() {
                check_against_rotation(sim, i, report, start, now);
            }
        }
    }

    fn sim<'a>(name: &'a str, timelimit_min: i64, maps: &'a [i64]) -> SimServer<'a> {
        SimServer { name, timelimit_min, maps }
    }

    /// Checks a parsed fixture report of the `i`-th simulated server against
    /// the rotation math for a view observed at `start` on the server's map `i`.
    fn check_against_rotation(
        sim: &SimServer,
        i: usize,
        report: &ServerReport,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        assert_eq!(report.plain_name, sim.name);
        assert!(!report.restarted);
        assert_eq!(report.version, None);
        let observed = Observed { current: sim.maps[i % sim.maps.len()], time_played_s: 0, at: start };
        let view = ServerView { number: 1, timelimit_min: sim.timelimit_min, playlist: sim.maps, observed: &observed };
        let pos = rotation::position(&view, now).unwrap();
        assert_eq!((report.current, report.time_played_s), (pos.current, pos.played_s));
        assert!(report.time_played_s < sim.timelimit_min * 60);
        assert!(sim.maps.contains(&report.current));
    }

    #[test]
    fn fixture_moves_to_the_next_map_after_a_timelimit() {
        let maps = [10, 20, -30];
        let servers = [
            SimServer { name: "A", timelimit_min: 5, maps: &maps },
            SimServer { name: "B", timelimit_min: 5, maps: &maps },
        ];
        let start = utc(10, 0, 0);
        let now = utc(10, 2, 30);
        let before = parse(&fixture_body(&servers, start, now)).unwrap().reports;
        let after = parse(&fixture_body(&servers, start, now + Duration::minutes(5))).unwrap().reports;
        assert_eq!(before[0].current, 10);
        assert_eq!(before[1].current, 20);
        for (b, a) in before.iter().zip(&after) {
            let i = maps.iter().position(|&m| m == b.current).unwrap();
            assert_eq!(a.current, maps[(i + 1) % maps.len()]);
            assert_eq!(a.time_played_s, b.time_played_s);
            assert_eq!(a.time_played_s, 150);
        }
        // `now` before `start` is treated as the start.
        let early = parse(&fixture_body(&servers, start, utc(9, 0, 0))).unwrap().reports;
        assert_eq!((early[0].current, early[0].time_played_s), (10, 0));
    }

    #[test]
    fn fixture_has_the_real_shape() {
        let maps = [-151];
        let servers = [SimServer { name: "KR - White 1", timelimit_min: 10, maps: &maps }];
        let body = fixture_body(&servers, utc(10, 0, 0), utc(10, 0, 42));
        let value: Value = serde_json::from_str(&body).unwrap();
        let (raw, entry) = value.as_object().unwrap().iter().next().unwrap();
        assert_eq!(raw, "$o$i$s$f80K$fffR - White 1");
        assert_eq!(entry["current_map"], "$o$iKacky $4f0#–151");
        assert_eq!(entry["time_played"], "42");
        assert_eq!(entry["jukebox"], json!([]));
        assert_eq!(entry["recently_played"].as_array().unwrap().len(), 5);
        assert_eq!(sim_raw_name(""), "$o$i$s");
        assert_eq!(tmtext::plain(&sim_raw_name("$a$")), "$a$");
        assert_eq!(tmtext::plain(&sim_raw_name("fff")), "fff");
    }

    /// Any JSON value of small depth, with strings that look like map names and numbers.
    fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[$#–0-9a-z \\[\\]v.e+-]{0,16}".prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("current_map".to_owned()),
                        Just("time_played".to_owned()),
                        Just("recently_played".to_owned()),
                        Just("error".to_owned()),
                        "[$a-z0-9 ]{0,8}"
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Whatever the game servers answer, the parser returns: an error for the whole body, or
        /// each entry as a report or a skip, never a panic.
        #[test]
        fn arbitrary_answers_never_panic(body in ".{0,64}", value in arb_json(), servers in proptest::collection::btree_map("[$a-z0-9 ]{0,8}", arb_json(), 0..4)) {
            let _ = parse(&body);
            let _ = parse(&value.to_string());
            let object = Value::Object(servers.into_iter().collect()).to_string();
            if let Ok(parsed) = parse(&object) {
                for report in parsed.reports {
                    proptest::prop_assert!(report.time_played_s >= 0);
                }
            }
        }
    }
}
