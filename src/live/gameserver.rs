//! The game-server API: parsing its answer (the demo's simulated servers are in
//! [`super::simulator`]).
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

use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;

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
