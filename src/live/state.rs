//! The live state: what the game servers last told us, per configured server.
//!
//! The poller ([`super::poller`]) is the only writer: after every poll it builds a new
//! [`LiveSnapshot`] from the previous one and publishes it through a `watch` channel, so a
//! handler reads one consistent snapshot without locking out the poller. Handlers project the
//! snapshot to "now" with [`super::rotation`], so countdowns move between polls.
//!
//! State is keyed by the *configured* server (its index in the [`Lineup`]), never by the raw
//! `$`-formatted name the API sends: a server whose name changes only in formatting stays one
//! entry (BUG-17b), and a server missing from an answer keeps its last state, whose age grows.

use chrono::{DateTime, Utc};

use super::gameserver::{Parsed, ServerReport, Skipped};
use super::lineup::{Lineup, LineupServer};
use super::rotation::{Observed, ServerView};
use super::slots::{self, Learning, Observation, Rotation, Track};

/// Changes kept for `/live` subscribers that are behind.
pub const CHANGES_BUFFER: usize = 256;

/// A server's current map changed (by a poll or by the rotation reaching a play boundary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MapChange {
    pub server: i64,
    pub kacky_id: i64,
    /// The play's number on the server: `(server, play)` is its identity everywhere.
    pub play: i64,
    #[serde(serialize_with = "crate::clock::serialize_rfc3339")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "crate::clock::serialize_rfc3339")]
    pub end: DateTime<Utc>,
}

/// What the polls told us about one server of the lineup ([`LineupServer`]): its live state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerState {
    /// Last good observation, its start smoothed over the polls of the same play; kept (and
    /// projected) while later polls fail or skip the server.
    pub observed: Option<Observed>,
    /// The play numbering and the change times seen ([`slots`]).
    pub track: Option<Track>,
    /// The learned change time (ms) and slot (time limit plus change time, ms).
    pub change_ms: i64,
    pub slot_ms: i64,
    /// The name as last sent, with `$`-codes (for the log).
    pub raw_name: Option<String>,
    /// Why the last answer had nothing usable for this server; `None` after a good entry.
    pub last_error: Option<String>,
    /// When the server last reported an empty `recently_played`, i.e. restarted.
    pub restarted_at: Option<DateTime<Utc>>,
}

/// One published state of all servers; `servers[i]` belongs to `lineup.servers[i]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveSnapshot {
    /// When the last poll finished, successful or not.
    pub last_poll: Option<DateTime<Utc>>,
    /// When the last poll got a usable answer.
    pub last_ok: Option<DateTime<Utc>>,
    /// Why the last poll failed as a whole (timeout, HTTP status, not JSON), or what was odd
    /// about its answer (server names not in servers.yaml); `None` after a clean poll.
    pub last_error: Option<String>,
    pub servers: Vec<ServerState>,
    /// Counts published snapshots, so answers derived from one can be cached per snapshot.
    pub seq: u64,
}

impl LiveSnapshot {
    /// The state before the first poll: nothing known.
    pub fn empty(servers: usize) -> Self {
        Self { servers: vec![ServerState::default(); servers], ..Self::default() }
    }

    /// A failed poll changes nothing but the error: every server keeps its last state.
    #[must_use]
    pub fn after_failure(&self, now: DateTime<Utc>, error: String) -> Self {
        Self { last_poll: Some(now), last_error: Some(error), seq: self.seq + 1, ..self.clone() }
    }

    /// Merges a parsed answer observed at `now`. Entries are matched to configured servers by
    /// plain name (the first entry per server wins); skipped entries, unknown names and servers
    /// missing from the answer are logged and recorded, and never erase a last good state.
    #[must_use]
    pub fn after_answer(&self, lineup: &Lineup, parsed: Parsed, now: DateTime<Utc>) -> Self {
        let mut next =
            Self { last_poll: Some(now), last_ok: Some(now), last_error: None, seq: self.seq + 1, ..self.clone() };
        next.servers.resize(lineup.servers.len(), ServerState::default());
        let mut seen = vec![false; lineup.servers.len()];
        let mut unknown = Vec::new();
        for report in parsed.reports {
            match lineup.index_of(&report.plain_name) {
                Some(i) if !seen[i] => {
                    seen[i] = true;
                    next.servers[i].record(&lineup.servers[i], report, now);
                }
                Some(_) => tracing::warn!(
                    "game server \"{}\" appears twice in the answer; the first entry counts",
                    report.plain_name
                ),
                None => unknown.push(report.plain_name),
            }
        }
        for skipped in parsed.skipped {
            let (name, reason) = describe(skipped);
            match lineup.index_of(&name) {
                Some(i) if !seen[i] => {
                    seen[i] = true;
                    tracing::warn!("game server \"{name}\": {reason}; keeping its last state");
                    next.servers[i].last_error = Some(reason);
                }
                Some(_) => {}
                None => unknown.push(name),
            }
        }
        next.relearn(lineup);
        for (i, server) in lineup.servers.iter().enumerate().filter(|(i, _)| !seen[*i]) {
            tracing::warn!("game server \"{}\" is missing from the answer; keeping its last state", server.name);
            next.servers[i].last_error = Some("missing from the game-server answer".into());
        }
        if !unknown.is_empty() {
            let names = unknown.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
            let msg = format!("the answer names servers that are not in servers.yaml (ignored): {names}");
            tracing::warn!("{msg}");
            next.last_error = Some(msg);
        }
        next
    }

    /// Recomputes every server's change time and slot from the tracks ([`slots::change_estimates`]).
    pub fn relearn(&mut self, lineup: &Lineup) {
        self.servers.resize(lineup.servers.len(), ServerState::default());
        let learning: Vec<Learning> = lineup
            .servers
            .iter()
            .zip(&self.servers)
            .map(|(s, l)| Learning {
                prior_ms: s.map_change_s.saturating_mul(1000),
                changes_ms: l.track.as_ref().map_or(&[], |t| &t.changes_ms),
            })
            .collect();
        let estimates = slots::change_estimates(&learning);
        for ((server, live), change) in lineup.servers.iter().zip(&mut self.servers).zip(estimates) {
            live.change_ms = change;
            let limit = server.timelimit_ms();
            live.slot_ms = if limit > 0 { limit.saturating_add(change).max(1000) } else { 0 };
        }
    }

    /// The state at start: nothing observed yet, the tracks kept from before (see
    /// [`crate::db::tracks`]) and the slots learned from them.
    pub fn restored(lineup: &Lineup, tracks: Vec<Option<Track>>) -> Self {
        let mut snapshot = Self::empty(lineup.servers.len());
        for (live, track) in snapshot.servers.iter_mut().zip(tracks) {
            live.track = track;
        }
        snapshot.relearn(lineup);
        snapshot
    }
}

impl ServerState {
    /// Takes over a good entry as the new observation and advances the track.
    fn record(&mut self, server: &LineupServer, report: ServerReport, now: DateTime<Utc>) {
        if report.restarted {
            // The old system "reset the playlist" here; the configured order is the only one.
            tracing::info!("game server \"{}\" restarted (empty recently_played): its rotation starts over in the configured order", server.name);
            self.restarted_at = Some(now);
        }
        self.last_error = (!server.playlist.contains(&report.current))
            .then(|| format!("current map {} is not in this server's playlist", report.current));
        if let Some(e) = &self.last_error {
            tracing::warn!("game server \"{}\": {e}", server.name);
        }
        let start_ms = now.timestamp().saturating_sub(report.time_played_s).saturating_mul(1000);
        let obs = Observation { current: report.current, start_ms, restarted: report.restarted };
        let limit = server.timelimit_ms();
        let slot_ms = if self.slot_ms > 0 { self.slot_ms } else { limit.saturating_add(server.map_change_s * 1000) };
        let rotation = Rotation { playlist: &server.playlist, timelimit_ms: limit, slot_ms };
        let track = match &self.track {
            Some(t) => t.observe(&rotation, &obs),
            None => Track::first(&server.playlist, &obs),
        };
        // The start as the track knows it (averaged over this play's polls) when it is this map.
        let played = if track.current == report.current {
            now.timestamp()
                .saturating_sub(track.start_ms.div_euclid(1000) + i64::from(track.start_ms.rem_euclid(1000) >= 500))
        } else {
            report.time_played_s
        };
        self.track = Some(track);
        self.observed = Some(Observed { current: report.current, time_played_s: played.max(0), at: now });
        self.raw_name = Some(report.raw_name);
    }

    /// The rotation view of `server` (this entry's configured server), when it was observed.
    pub fn view<'a>(&'a self, server: &'a LineupServer) -> Option<ServerView<'a>> {
        let observed = self.observed.as_ref()?;
        let play = self.track.as_ref().map_or(0, |t| t.play);
        Some(ServerView { number: server.number, slot_ms: self.slot_ms, playlist: &server.playlist, observed, play })
    }
}

/// The server name and a readable reason for a skipped entry.
fn describe(skipped: Skipped) -> (String, String) {
    match skipped {
        Skipped::Error { name, error } => (name, format!("reports an error: {error}")),
        Skipped::Offline { name } => (name, "offline (current_map or time_played is false or missing)".into()),
        Skipped::BadMap { name, current_map } => (name, format!("current_map \"{current_map}\" has no kacky id")),
        Skipped::Malformed { name } => (name, "malformed entry (unexpected JSON types)".into()),
    }
}

impl LiveSnapshot {
    /// The servers with a known state (polled successfully at least once) with their rotation
    /// views (learned slot, play numbers), in lineup order (by server number).
    pub fn known<'a>(&'a self, lineup: &'a Lineup) -> Vec<(&'a LineupServer, ServerView<'a>)> {
        lineup.servers.iter().zip(&self.servers).filter_map(|(s, l)| l.view(s).map(|v| (s, v))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::gameserver::parse;
    use chrono::{Duration, TimeZone};
    use serde_json::json;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
    }

    fn lineup() -> Lineup {
        let server = |name: &str, number: i64, playlist: Vec<i64>| LineupServer {
            name: name.into(),
            number,
            difficulty: json!("white"),
            timelimit_min: 10,
            playlist,
            map_change_s: 0,
        };
        Lineup { servers: vec![server("S 1", 1, vec![1, 2, 3]), server("S 2", 2, vec![4, 5])], any_name: false }
    }

    fn answer(lineup: &Lineup, prev: &LiveSnapshot, body: &str, now: DateTime<Utc>) -> LiveSnapshot {
        prev.after_answer(lineup, parse(body).unwrap(), now)
    }

    #[test]
    fn good_answer_records_both_servers() {
        let l = lineup();
        let body = r##"{"$f00S 1": {"current_map": "#2", "time_played": "30", "recently_played": ["x"]},
                        "S $o2": {"current_map": "#5", "time_played": "7", "recently_played": []}}"##;
        let s = answer(&l, &LiveSnapshot::empty(2), body, t0());
        assert_eq!(s.servers[0].observed, Some(Observed { current: 2, time_played_s: 30, at: t0() }));
        assert_eq!(
            s.servers[0].track.as_ref().map(|t| (t.play, t.start_ms)),
            Some((1, (t0().timestamp() - 30) * 1000))
        );
        assert_eq!(s.servers[0].slot_ms, 600_000);
        assert_eq!(s.servers[1].observed.as_ref().unwrap().current, 5);
        assert_eq!(s.servers[1].restarted_at, Some(t0()));
        assert_eq!(s.servers[1].raw_name.as_deref(), Some("S $o2"));
        assert_eq!((s.last_error.as_deref(), s.last_poll, s.last_ok), (None, Some(t0()), Some(t0())));
        assert_eq!(s.known(&l).len(), 2);
    }

    #[test]
    fn failures_keep_the_last_good_state() {
        let l = lineup();
        let good =
            r##"{"S 1": {"current_map": "#1", "time_played": "0"}, "S 2": {"current_map": "#4", "time_played": "0"}}"##;
        let s1 = answer(&l, &LiveSnapshot::empty(2), good, t0());
        let later = t0() + Duration::minutes(1);
        let s2 = s1.after_failure(later, "HTTP status 500".into());
        assert_eq!((s2.servers.clone(), s2.last_error.as_deref()), (s1.servers.clone(), Some("HTTP status 500")));
        assert_eq!((s2.last_poll, s2.last_ok), (Some(later), Some(t0())));
        // One server errors, the other vanishes, and an unknown one shows up.
        let odd = r##"{"S 1": {"error": "Connection refused"}, "Other": {"current_map": "#9", "time_played": "1"}}"##;
        let s3 = answer(&l, &s2, odd, later);
        assert_eq!(s3.servers[0].observed, s1.servers[0].observed);
        assert_eq!(s3.servers[0].last_error.as_deref(), Some("reports an error: Connection refused"));
        assert_eq!(s3.servers[1].last_error.as_deref(), Some("missing from the game-server answer"));
        assert!(s3.last_error.as_deref().unwrap().contains("\"Other\""));
        assert_eq!(s3.known(&l).len(), 2);
        // Recovery clears the errors.
        let s4 = answer(&l, &s3, good, later);
        assert!(s4.last_error.is_none() && s4.servers.iter().all(|s| s.last_error.is_none()));
    }

    #[test]
    fn duplicate_plain_names_and_foreign_maps() {
        let l = lineup();
        let body = r##"{"$0f0S 1": {"current_map": "#3", "time_played": "5"}, "$00fS 1": {"current_map": "#1", "time_played": "9"},
                        "S 2": {"current_map": "#77", "time_played": "1"}}"##;
        let s = answer(&l, &LiveSnapshot::empty(2), body, t0());
        assert_eq!(s.servers.len(), 2);
        assert_eq!(s.servers[0].observed.as_ref().unwrap().current, 3);
        assert_eq!(s.servers[1].observed.as_ref().unwrap().current, 77);
        assert!(s.servers[1].last_error.as_deref().unwrap().contains("not in this server's playlist"));
    }

    #[test]
    fn virtual_server_takes_the_first_usable_entry() {
        let mut l = lineup();
        l.servers.truncate(1);
        l.any_name = true;
        let body = r##"{"A": {"error": "x"}, "B": {"current_map": "#2", "time_played": "1"}, "C": {"current_map": "#3", "time_played": "1"}}"##;
        let s = answer(&l, &LiveSnapshot::empty(1), body, t0());
        assert_eq!(s.servers[0].observed.as_ref().unwrap().current, 2);
        assert_eq!(s.servers[0].last_error, None);
    }
}
