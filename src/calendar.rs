//! A player's calendar feed (`/calendar/<token>.ics`): one RFC 5545 VEVENT per upcoming play of
//! each alarmed map (at most [`PLAYS_PER_MAP`] within [`HORIZON_HOURS`]), with a display alarm
//! before it. Built with the `icalendar` crate, which escapes text and folds lines at 75 octets;
//! pure, so the feed is unit-tested as text.

use chrono::{DateTime, Duration, Utc};
use icalendar::{Alarm, Calendar, Component, Event, EventLike, Property};

/// How far ahead the feed lists plays: two days, so a calendar app that refreshes once a day
/// always has the next day's reminders.
pub const HORIZON_HOURS: i64 = 48;
/// The most plays of one map the feed lists (the soonest ones): bounds the feed at a few
/// hundred events even with every map alarmed (a week of every play was ~8,700, ~4 MB).
pub const PLAYS_PER_MAP: usize = 8;

/// One play that goes into the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPlay {
    pub kacky_id: i64,
    pub server: i64,
    /// The play's number on the server: with the server and map, its identity.
    pub play: i64,
    /// The server's difficulty word (`white`, `red` …), empty if it has none.
    pub difficulty: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What the feed says about the event and the reminders.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedInfo {
    /// Short label, e.g. `KK7`.
    pub event_label: String,
    /// Full plain name, e.g. `Kackiest Kacky 7`.
    pub event_name: String,
    /// Minutes before a play starts that the calendar app reminds.
    pub lead_minutes: i64,
    /// Written as every event's DTSTAMP (when the feed was made).
    pub now: DateTime<Utc>,
}

/// Identifies the same play across fetches (and only it): event, map, server, play number.
/// Not the start, which moves as the servers are polled and their slots learned: a calendar
/// app keeps the event (and its reminder) and only moves it.
pub fn uid(info: &FeedInfo, p: &FeedPlay) -> String {
    format!("{}-{}-s{}-p{}@kacky-backend", info.event_label, p.kacky_id, p.server, p.play)
}

/// `KK7 #215 on server 3 (white)`.
pub fn summary(info: &FeedInfo, p: &FeedPlay) -> String {
    if p.difficulty.is_empty() {
        format!("{} #{} on server {}", info.event_label, p.kacky_id, p.server)
    } else {
        format!("{} #{} on server {} ({})", info.event_label, p.kacky_id, p.server, p.difficulty)
    }
}

/// The whole VCALENDAR as text (CRLF line ends).
pub fn feed(info: &FeedInfo, plays: &[FeedPlay]) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", "-//kacky-backend//Kacky map alarms//EN"))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        // The calendar's name, as calendar apps read it (the crate escapes this property).
        .append_property(Property::new("X-WR-CALNAME", format!("{} map alarms", info.event_name)));
    for p in plays {
        let summary = summary(info, p);
        let uid = uid(info, p);
        // The alarm's own UID and DTSTAMP are fixed too, so the same plays give the same bytes.
        let alarm = Alarm::display(&summary, -Duration::minutes(info.lead_minutes))
            .uid(&format!("alarm-{uid}"))
            .timestamp(info.now)
            .done();
        let event = Event::new()
            .uid(&uid)
            .timestamp(info.now)
            .starts(p.start)
            .ends(p.end)
            .summary(&summary)
            .description(&format!("{}: map #{} is played on server {}.", info.event_name, p.kacky_id, p.server))
            .alarm(alarm)
            .done();
        cal.push(event);
    }
    cal.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn feed_has_events_alarms_and_folded_escaped_lines() {
        let start = Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap();
        let info = FeedInfo {
            event_label: "KK7".into(),
            event_name: "Kackiest Kacky 7; the, long one with a name that does not fit in one line".into(),
            lead_minutes: 10,
            now: start,
        };
        let play = FeedPlay {
            kacky_id: 215,
            server: 3,
            play: 42,
            difficulty: "white".into(),
            start,
            end: start + Duration::minutes(10),
        };
        let text = feed(&info, std::slice::from_ref(&play));
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
        for line in [
            "VERSION:2.0",
            "SUMMARY:KK7 #215 on server 3 (white)",
            "DTSTART:20240601T120000Z",
            "DTEND:20240601T121000Z",
            "TRIGGER:-PT600S",
            "ACTION:DISPLAY",
            "UID:KK7-215-s3-p42@kacky-backend",
        ] {
            assert!(text.contains(&format!("{line}\r\n")), "{line} in {text}");
        }
        assert!(text.lines().all(|l| l.len() <= 75), "folded at 75 octets: {text}");
        assert!(text.contains("Kackiest Kacky 7\\; the\\, long"), "text escaped: {text}");
        assert_eq!(text, feed(&info, std::slice::from_ref(&play)), "the same plays give the same bytes");
    }

    #[test]
    fn a_play_keeps_its_uid_when_its_start_moves() {
        let start = Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap();
        let info = FeedInfo { event_label: "KK7".into(), event_name: "KK 7".into(), lead_minutes: 10, now: start };
        let play = FeedPlay {
            kacky_id: 215,
            server: 3,
            play: 42,
            difficulty: String::new(),
            start,
            end: start + Duration::minutes(10),
        };
        let jittered =
            FeedPlay { start: start + Duration::seconds(1), end: play.end + Duration::seconds(1), ..play.clone() };
        let drifted = FeedPlay { start: start + Duration::minutes(4), ..play.clone() };
        assert_eq!(uid(&info, &play), uid(&info, &jittered));
        assert_eq!(uid(&info, &play), uid(&info, &drifted));
        assert_ne!(uid(&info, &play), uid(&info, &FeedPlay { play: 43, ..play.clone() }), "the next play is another");
    }
}
