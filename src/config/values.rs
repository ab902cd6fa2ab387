//! How one value of config.yaml or secrets.yaml is read: as leniently as the old Python
//! backend took it (numbers written as strings, `yes`/`1` for true, comma-separated lists),
//! and when it does not fit, with a message saying what was expected and what was found.
//!
//! Each public function is the `deserialize_with` of fields in [`super::files`]; the loader
//! adds the file and the key to the message. Nulls never get here (a key set to nothing is a
//! key left out), so every function sees a value.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::de::{Deserialize, Deserializer, Error};
use serde_yaml::Value;

use super::{Playlist, Secret};
use crate::clock::{parse_config_datetime_in, ConfigDateError};
use crate::domain::{codes_listed, Edition, EventType, Game};

/// What a value is, for "found …" in messages.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{s}\""),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
    }
}

/// Reads the value with `read`, whose message becomes the deserialization error.
fn with<'de, D: Deserializer<'de>, T>(d: D, read: impl FnOnce(&Value) -> Result<T, String>) -> Result<T, D::Error> {
    read(&Value::deserialize(d)?).map_err(D::Error::custom)
}

fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        v => Err(format!("expected a string, found {}", describe(v))),
    }
}

fn integer(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or_default()),
        Value::String(s) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().unwrap_or_default()),
        v => Err(format!("expected an integer, found {}", describe(v))),
    }
}

/// A string; numbers and booleans are taken as written.
pub fn string<'de, D: Deserializer<'de>, T: From<String>>(d: D) -> Result<T, D::Error> {
    with(d, text).map(T::from)
}

/// A string of a key whose absence means something of its own.
pub fn some_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    with(d, text).map(Some)
}

/// A path; a leading `~` is the home directory.
pub fn home_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    with(d, text).map(|raw| match (raw.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => Some(PathBuf::from(format!("{home}{rest}"))),
        _ => Some(PathBuf::from(raw)),
    })
}

/// A whole number of a key whose default depends on other keys.
pub fn some_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    with(d, integer).map(Some)
}

/// A positive whole number; larger ones are read as `MAX`.
pub fn positive<'de, D: Deserializer<'de>, T: TryFrom<i64>, const MAX: i64>(d: D) -> Result<T, D::Error> {
    with(d, |v| {
        let n = integer(v)?;
        let expected = || format!("expected a positive integer, found {n}");
        if n <= 0 {
            return Err(expected());
        }
        T::try_from(n.min(MAX)).map_err(|_| expected())
    })
}

/// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    with(d, |v| match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            _ => Err(format!("expected true/false or 1/0, found \"{s}\"")),
        },
        v => Err(format!("expected true/false or 1/0, found {}", describe(v))),
    })
}

fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect()),
        Value::Sequence(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_owned()),
                other => Err(format!("expected a list of strings, found an item {}", describe(other))),
            })
            .collect(),
        v => Err(format!("expected a list of strings, found {}", describe(v))),
    }
}

/// A list of strings, or one string of comma-separated ones.
pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    with(d, strings)
}

/// A list of IP addresses (or one string of comma-separated ones).
pub fn ip_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    with(d, |v| {
        strings(v)?.iter().map(|p| p.parse().map_err(|_| format!("expected IP addresses, found \"{p}\""))).collect()
    })
}

/// A date-time; without an offset it is local time (and must exist there).
pub fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    with(d, |v| {
        let raw = text(v)?;
        parse_config_datetime_in(&raw, &chrono::Local).map(Some).map_err(|e| match e {
            ConfigDateError::Unreadable => format!(
                "expected a date-time like 2023-08-17T20:00 (local time) or 2023-08-17T20:00:00+02:00, found \"{raw}\""
            ),
            ConfigDateError::Gap { local, before, after } => format!(
                "\"{raw}\" does not exist in the local time zone {}: the clocks jump from UTC{before} to UTC{after} \
                 over it (daylight saving time). Write it with an offset, like {}{before}",
                crate::clock::local_zone(),
                local.format("%Y-%m-%dT%H:%M:%S"),
            ),
        })
    })
}

/// `port`: 0 asks the system for any free port.
pub fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    with(d, |v| {
        let p = integer(v)?;
        u16::try_from(p).map_err(|_| format!("expected a port number 0-65535 (0 = any free port), found {p}"))
    })
}

/// `eventtype`: KK, KR or KX in any case.
pub fn eventtype<'de, D: Deserializer<'de>>(d: D) -> Result<EventType, D::Error> {
    with(d, |v| {
        let t = text(v)?;
        EventType::parse(&t).ok_or_else(|| format!("expected {}, found \"{t}\"", codes_listed()))
    })
}

/// `edition`: 0 or more.
pub fn edition<'de, D: Deserializer<'de>>(d: D) -> Result<Edition, D::Error> {
    with(d, |v| Edition::new(integer(v)?).ok_or_else(|| "expected an edition number, 0 or more".to_owned()))
}

/// `playlist`: `custom` (servers.yaml) or `linear`.
pub fn playlist<'de, D: Deserializer<'de>>(d: D) -> Result<Playlist, D::Error> {
    with(d, |v| match text(v)?.to_ascii_lowercase().as_str() {
        "custom" => Ok(Playlist::Custom),
        "linear" => Ok(Playlist::Linear),
        other => Err(format!("expected custom or linear, found \"{other}\"")),
    })
}

/// `logtype`: where log lines go (the file's path is `logfile`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogType {
    #[default]
    Stdout,
    File,
}

/// `logtype`: STDOUT or FILE, in any case.
pub fn logtype<'de, D: Deserializer<'de>>(d: D) -> Result<LogType, D::Error> {
    with(d, |v| match text(v)?.to_ascii_uppercase().as_str() {
        "STDOUT" => Ok(LogType::Stdout),
        "FILE" => Ok(LogType::File),
        other => Err(format!("expected STDOUT or FILE, found \"{other}\"")),
    })
}

/// `loglevel`: the old system's Python level names, as a `tracing` level.
pub fn loglevel<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    with(d, |v| match text(v)?.to_ascii_uppercase().as_str() {
        "INFO" => Ok("info".to_owned()),
        "DEBUG" => Ok("debug".to_owned()),
        "WARNING" | "WARN" => Ok("warn".to_owned()),
        "ERROR" | "CRITICAL" => Ok("error".to_owned()),
        other => Err(format!("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, found \"{other}\"")),
    })
}

/// Seconds from 0 to 600 (a map change).
pub fn change_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    with(d, |v| match integer(v)? {
        s @ 0..=600 => Ok(Some(s)),
        s => Err(format!("expected seconds from 0 to 600, found {s}")),
    })
}

/// A range of seconds: `30-60`, `[30, 60]` or one number, within 0 to 600.
pub fn change_range<'de, D: Deserializer<'de>>(d: D) -> Result<Option<(i64, i64)>, D::Error> {
    with(d, |v| {
        let bad = |found: String| format!("expected seconds like 30-60 or [30, 60] (0 to 600), found {found}");
        let range = match v {
            Value::Number(n) => n.as_i64().map(|n| (n, n)).ok_or_else(|| bad(n.to_string()))?,
            Value::String(s) => {
                let parts: Vec<Option<i64>> = s.split('-').map(|p| p.trim().parse().ok()).collect();
                match parts.as_slice() {
                    [Some(a)] => (*a, *a),
                    [Some(a), Some(b)] => (*a, *b),
                    _ => return Err(bad(format!("\"{s}\""))),
                }
            }
            Value::Sequence(items) => match items.iter().map(Value::as_i64).collect::<Vec<_>>().as_slice() {
                [Some(a), Some(b)] => (*a, *b),
                _ => return Err(bad("a list that is not two whole numbers".into())),
            },
            v => return Err(bad(describe(v))),
        };
        if range.0 < 0 || range.1 < range.0 || range.1 > 600 {
            return Err(bad(format!("{}-{}", range.0, range.1)));
        }
        Ok(Some(range))
    })
}

/// Seconds from 0 to 3600 (0 = never).
pub fn up_to_an_hour<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    with(d, |v| match integer(v)? {
        n @ 0..=3600 => Ok(n.unsigned_abs()),
        n => Err(format!("expected seconds from 0 to 3600, found {n}")),
    })
}

/// An http(s) base URL without a trailing slash; empty stays empty.
pub fn http_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    with(d, |v| {
        let raw = text(v)?;
        let raw = raw.trim().trim_end_matches('/');
        let valid = raw.is_empty()
            || ((raw.starts_with("https://") || raw.starts_with("http://"))
                && !raw.contains(char::is_whitespace)
                && raw.split("://").nth(1).is_some_and(|host| !host.is_empty()));
        if !valid {
            return Err(format!("expected an http(s) URL like https://kacky.example.org, found \"{raw}\""));
        }
        Ok(raw.to_owned())
    })
}

/// `finish_milestones`: positive whole numbers (a list, or a comma-separated string), sorted.
pub fn milestones<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    with(d, |v| {
        let expected =
            |found: String| format!("expected a list of positive whole numbers like [15, 25, 40, 50], found {found}");
        let items: Vec<Value> = match v {
            Value::Sequence(items) => items.clone(),
            Value::String(s) => {
                s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(|x| Value::String(x.to_owned())).collect()
            }
            Value::Number(n) => vec![Value::Number(n.clone())],
            other => return Err(expected(describe(other))),
        };
        let mut out = items
            .iter()
            .map(|v| match v {
                Value::Number(n) => n.as_i64().filter(|n| *n > 0).ok_or_else(|| expected(describe(v))),
                Value::String(s) => s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| expected(describe(v))),
                other => Err(expected(describe(other))),
            })
            .collect::<Result<Vec<i64>, _>>()?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    })
}

/// `host:port` (`127.0.0.1:9091`, `[::1]:9091`); empty = none.
pub fn socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    with(d, |v| match text(v)?.trim() {
        "" => Ok(None),
        raw => raw
            .parse()
            .map(Some)
            .map_err(|_| format!("expected an IP address and port like 127.0.0.1:9091, found \"{raw}\"")),
    })
}

/// `join_url_template`: a link with `{login}` in it, or empty (then `Some("")`, so the demo's
/// default does not replace it).
pub fn join_url_template<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    with(d, |v| {
        match text(v)? {
        t if t.trim().is_empty() => Ok(Some(String::new())),
        t if t.contains("{login}") => Ok(Some(t.trim().to_owned())),
        t => Err(format!(
            "expected a link with {{login}} where the server's login goes, like {} (TMNF) or {} (TM2020), found \"{t}\"",
            Game::Tmnf.join_template(),
            Game::Tm2020.join_template()
        )),
    }
    })
}

/// A secret: any string (numbers and booleans as written).
pub fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    with(d, text).map(Secret)
}

/// An http(s) URL kept secret (Discord's are `https://discord.com/api/webhooks/<id>/<token>`),
/// or empty.
pub fn webhook_url<'de, D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    with(d, |v| {
        let url = text(v)?;
        let raw = url.trim();
        if !(raw.is_empty() || raw.starts_with("https://") || raw.starts_with("http://")) {
            return Err("expected an http(s) URL like https://discord.com/api/webhooks/<id>/<token>".to_owned());
        }
        Ok(Secret(raw.to_owned()))
    })
}
