//! World records from the two sources the backend has: the records updater's ingestion API
//! (`PUT /manage/worldrecords/…`) and the records API's per-map leaderboard of KR maps, which
//! the follower reads itself. Both go through [`record`]: the record is offered
//! ([`crate::db::wr_ingest::offer`]) and, when it beats the stored one on a map of the current
//! event, a `wr` happening is stored with it, in one transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::Connection;
use serde_json::Value;

use crate::db::finishes::{self, NewEvent};
use crate::db::wr_ingest::{self, MapRef, Offer, Record, RESET_SCORE};
use crate::domain::{Edition, EventType, FinishItem, FinishKind};

/// Where the leaderboard records come from (the Kacky Reloaded server database).
pub const LEADERBOARD_SOURCE: &str = "KRDB";

/// The query of a map's leaderboard: the top entry, of this map version (`[v2]` → `v2`).
pub fn leaderboard_query(version: &str) -> String {
    let v = version.trim().trim_start_matches('[').trim_end_matches(']');
    if v.is_empty() {
        "positions=1".into()
    } else {
        format!("positions=1&version={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC))
    }
}

/// The record in an answer of `/leaderboard/kr/<id>` (`[{"score", "date" (ISO), "nickname",
/// "login", "uplay", "rank"}, …]`): the lowest score. The holder is named by their Ubisoft
/// name (`uplay`, what KR profiles store and the old updater wrote), else their login. `None`
/// for anything else (the KK text answer, an empty list, no usable score).
pub fn read_leaderboard(answer: &Value) -> Option<Record> {
    let best = answer
        .as_array()?
        .iter()
        .filter(|e| e.get("score").and_then(Value::as_i64).is_some_and(|s| s > RESET_SCORE))
        .min_by_key(|e| e.get("score").and_then(Value::as_i64).unwrap_or(i64::MAX))?;
    let text = |k: &str| best.get(k).and_then(Value::as_str).unwrap_or("").trim().to_owned();
    let login = Some(text("uplay")).filter(|u| !u.is_empty()).unwrap_or_else(|| text("login"));
    if login.is_empty() {
        return None;
    }
    let date = NaiveDateTime::parse_from_str(&text("date"), "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(&text("date"), "%Y-%m-%dT%H:%M:%S"))
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    Some(Record {
        score: best.get("score").and_then(Value::as_i64)?,
        login,
        nickname: text("nickname"),
        source: LEADERBOARD_SOURCE.into(),
        date,
    })
}

/// `date` as stored (`YYYY-MM-DD HH:MM:SS`), `now` when the source gave none.
pub fn date_or(date: &str, now: DateTime<Utc>) -> String {
    if date.is_empty() {
        now.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        date.to_owned()
    }
}

/// Offers `r` for `map` and, when it beats the stored record (or is the map's first) on a map
/// of the `current` event, stores a `wr` happening: one write transaction. A restored admin
/// reset is no news (the record is back, not new).
pub fn record(
    conn: &mut Connection,
    current: (EventType, Edition),
    map: &MapRef,
    r: &Record,
    now: DateTime<Utc>,
    to_discord: bool,
) -> rusqlite::Result<(Offer, Option<FinishItem>)> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let offer = wr_ingest::offer(&tx, map.map_id, r)?;
    let previous_score = match &offer {
        Offer::First => None,
        Offer::Improved { previous } => Some(*previous),
        _ => {
            tx.commit()?;
            return Ok((offer, None));
        }
    };
    let item = if (map.event_type, map.edition) == current {
        let holder = if r.login.is_empty() { crate::tmtext::plain(&r.nickname) } else { r.login.clone() };
        let event = NewEvent {
            kind: FinishKind::Wr,
            login: holder,
            kacky_id: Some(map.kacky_id),
            score: Some(r.score),
            rank: Some(1),
            previous_score,
            count: None,
        };
        finishes::insert(&tx, current, &event, now, to_discord)?
    } else {
        None
    };
    tx.commit()?;
    Ok((offer, item))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_top_entry_is_read_by_its_ubisoft_name() {
        let answer = json!([
            {"date": "2024-06-01T12:34:56", "login": "x1y2", "nickname": "$f00Tera", "rank": 2, "score": 21_400, "uplay": "TeraTM2"},
            {"date": "2024-06-01T10:00:00.123", "login": "a1b2", "nickname": "$f00Tera", "rank": 1, "score": 21_322, "uplay": "TeraTM"}
        ]);
        let r = read_leaderboard(&answer).unwrap();
        assert_eq!((r.score, r.login.as_str(), r.date.as_str()), (21_322, "TeraTM", "2024-06-01 10:00:00"));
        assert_eq!(r.source, "KRDB");
        assert_eq!(read_leaderboard(&json!("KK not yet implemented")), None);
        assert_eq!(read_leaderboard(&json!([])), None);
        assert_eq!(read_leaderboard(&json!([{"score": 1, "uplay": "reset"}])), None);
        let no_uplay = read_leaderboard(&json!([{"score": 5000, "login": "abc", "uplay": ""}])).unwrap();
        assert_eq!((no_uplay.login.as_str(), no_uplay.date.as_str()), ("abc", ""));
    }

    #[test]
    fn versions_go_into_the_query_without_brackets() {
        assert_eq!(leaderboard_query(""), "positions=1");
        assert_eq!(leaderboard_query("[v2]"), "positions=1&version=v2");
        assert_eq!(leaderboard_query("[a b]"), "positions=1&version=a%20b");
    }
}
