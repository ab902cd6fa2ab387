//! The timetable: every known server's plays with absolute times, up to a week ahead, built
//! from the lineup, one live snapshot (with each server's learned slot and play numbering) and
//! "now" with [`schedule::server_plays`]. It is built
//! at most once per second and snapshot (see [`super::Live::timetable`]) and shared by
//! `/schedule`, `/alarms`, the calendar feed, `/live` and the notifier, so they all agree.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::lineup::Lineup;
use super::schedule::{self, whole_seconds, Play};
use super::state::LiveSnapshot;
use crate::event::EventWindow;

/// How far ahead the timetable reaches (and the longest `?hours=`).
pub const HORIZON_HOURS: i64 = 168;

/// One server and its plays: the running one first, then back to back.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerPlays {
    pub number: i64,
    /// Plain name, as in servers.yaml.
    pub name: String,
    /// servers.yaml `difficulty` (a colour word, verbatim).
    pub difficulty: Value,
    pub timelimit_s: i64,
    /// The learned slot: time limit plus change time, milliseconds.
    pub slot_ms: i64,
    pub plays: Vec<Play>,
}

/// One play of a map, seen from the map: on which server, when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapPlay {
    pub server: i64,
    /// The play's number on the server (see [`Play::play`]).
    pub play: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The plays of every server polled at least once, ordered by server number.
#[derive(Debug, Clone, PartialEq)]
pub struct Timetable {
    /// The instant it was built for, whole seconds.
    pub now: DateTime<Utc>,
    /// Empty outside the event window: the rotations are not played then.
    pub servers: Vec<ServerPlays>,
}

impl Timetable {
    /// Plays from `now` up to [`HORIZON_HOURS`] ahead, cut at the event's end.
    pub fn build(lineup: &Lineup, snapshot: &LiveSnapshot, window: Option<EventWindow>, now: DateTime<Utc>) -> Self {
        let now = whole_seconds(now);
        let Some(window) = window.filter(|w| w.is_active(now)) else { return Self { now, servers: Vec::new() } };
        let until = (now + Duration::hours(HORIZON_HOURS)).min(window.end);
        let servers = snapshot
            .known(lineup)
            .into_iter()
            .map(|(server, view)| ServerPlays {
                number: server.number,
                name: server.name.clone(),
                difficulty: server.difficulty.clone(),
                timelimit_s: server.timelimit_min.saturating_mul(60),
                slot_ms: view.slot_ms,
                plays: schedule::server_plays(&view, now, until),
            })
            .filter(|s| !s.plays.is_empty())
            .collect();
        Self { now, servers }
    }

    fn cutoff(&self, hours: i64) -> DateTime<Utc> {
        self.now + Duration::hours(hours.clamp(0, HORIZON_HOURS))
    }

    /// The servers with the plays that start within `hours` (the running one always).
    pub fn servers_within(&self, hours: i64) -> Vec<ServerPlays> {
        let cutoff = self.cutoff(hours);
        self.servers
            .iter()
            .map(|s| {
                let mut s = s.clone();
                let keep = s.plays.iter().enumerate().take_while(|(i, p)| *i == 0 || p.start < cutoff).count();
                s.plays.truncate(keep);
                s
            })
            .collect()
    }

    /// Every map's plays (running or upcoming) within `hours`, in start order (ties by server
    /// number), keyed by kacky id.
    pub fn by_map(&self, hours: i64) -> BTreeMap<i64, Vec<MapPlay>> {
        let mut maps: BTreeMap<i64, Vec<MapPlay>> = BTreeMap::new();
        for server in self.servers_within(hours) {
            for p in server.plays {
                maps.entry(p.kacky_id).or_default().push(MapPlay {
                    server: server.number,
                    play: p.play,
                    start: p.start,
                    end: p.end,
                });
            }
        }
        for plays in maps.values_mut() {
            plays.sort_by_key(|p| (p.start, p.server));
        }
        maps
    }

    /// One map's plays within `hours`, in start order.
    pub fn plays_of(&self, kacky_id: i64, hours: i64) -> Vec<MapPlay> {
        let cutoff = self.cutoff(hours);
        let mut plays: Vec<MapPlay> = self
            .servers
            .iter()
            .flat_map(|s| {
                s.plays
                    .iter()
                    .enumerate()
                    .filter(move |(i, p)| p.kacky_id == kacky_id && (*i == 0 || p.start < cutoff))
                    .map(move |(_, p)| MapPlay { server: s.number, play: p.play, start: p.start, end: p.end })
            })
            .collect();
        plays.sort_by_key(|p| (p.start, p.server));
        plays
    }

    /// What each server plays now: `(server number, play)`.
    pub fn current(&self) -> Vec<(i64, Play)> {
        self.servers.iter().filter_map(|s| s.plays.first().map(|p| (s.number, *p))).collect()
    }

    /// The next instant a server's current map changes by the rotation alone.
    pub fn next_boundary(&self) -> Option<DateTime<Utc>> {
        self.servers.iter().filter_map(|s| s.plays.first().map(|p| p.end)).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::gameserver::parse;
    use crate::live::lineup::LineupServer;
    use chrono::TimeZone;
    use serde_json::json;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
    }

    fn setup() -> (Lineup, LiveSnapshot, EventWindow) {
        let server = |name: &str, number: i64, playlist: Vec<i64>| LineupServer {
            name: name.into(),
            number,
            difficulty: json!("white"),
            timelimit_min: 10,
            playlist,
            map_change_s: 0,
        };
        let lineup = Lineup {
            servers: vec![server("A", 1, vec![1, 2, 3]), server("B", 2, vec![3, 4]), server("C", 3, vec![5])],
            any_name: false,
        };
        let body =
            r##"{"A": {"current_map": "#1", "time_played": "0"}, "B": {"current_map": "#4", "time_played": "300"}}"##;
        let snap = LiveSnapshot::empty(3).after_answer(&lineup, parse(body).unwrap(), t0());
        (lineup, snap, EventWindow { start: t0() - Duration::days(1), end: t0() + Duration::hours(1) })
    }

    #[test]
    fn servers_maps_horizon_and_event_end() {
        let (lineup, snap, window) = setup();
        let tt = Timetable::build(&lineup, &snap, Some(window), t0());
        assert_eq!(tt.servers.iter().map(|s| s.number).collect::<Vec<_>>(), [1, 2], "C was never polled");
        // The event ends after an hour: six plays on A, seven on B (its first started earlier).
        assert_eq!(tt.servers[0].plays.len(), 6);
        assert_eq!(tt.servers[1].plays.len(), 7);
        let within = tt.servers_within(0);
        assert!(within.iter().all(|s| s.plays.len() == 1));
        let maps = tt.by_map(1);
        let three = &maps[&3];
        assert_eq!(
            three[0],
            MapPlay { server: 2, play: 2, start: t0() + Duration::seconds(300), end: t0() + Duration::seconds(900) }
        );
        assert_eq!(three[1].server, 1);
        assert_eq!(tt.plays_of(3, 1), *three);
        assert_eq!(tt.next_boundary(), Some(t0() + Duration::seconds(300)));
        assert!(Timetable::build(&lineup, &snap, Some(window), t0() + Duration::hours(2)).servers.is_empty());
        assert!(Timetable::build(&lineup, &snap, None, t0()).servers.is_empty());
    }
}
