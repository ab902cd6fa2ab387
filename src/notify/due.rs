//! The due rule of the notifier, pure: from the timetable, the alarms, the lead time and what
//! this process already claimed, which plays ring now and when to look again. The planner
//! (`plan` in [`super`]) reads the alarms, claims the due plays in the database and spawns
//! their deliveries around it.
//!
//! A play is due from `lead` before its start until it starts: a play that has started (the
//! running one, or one the backend could not see coming) never rings late, one whose reminder
//! time passed while the backend was down rings as soon as it is seen. Plays are named by their
//! identity (server, play number, map), so a projected start that moves is still the same play.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use crate::db::alarms::Alarmed;
use crate::db::notifications::PlayKey;
use crate::live::schedule::Play;
use crate::live::timetable::{ServerPlays, Timetable};

/// (server, play number, kacky id, user) claimed by this process: what the planner need not
/// ask the database about again.
pub type Claimed = HashSet<(i64, i64, i64, i64)>;

/// The longest the planner sleeps without looking again.
pub const MAX_SLEEP_S: i64 = 60;

/// A play whose reminder time has come, with the players not yet claimed for it.
#[derive(Debug)]
pub struct DuePlay<'a> {
    pub server: &'a ServerPlays,
    pub play: Play,
    pub players: Vec<&'a Alarmed>,
}

impl DuePlay<'_> {
    /// The play as the claims name it: its identity plus the projected start.
    pub fn key(&self) -> PlayKey {
        PlayKey {
            kacky_id: self.play.kacky_id,
            server: self.server.number,
            play: self.play.play,
            start: self.play.start.timestamp(),
        }
    }

    /// How far (seconds) a claim from before play numbers may have projected the start and
    /// still be this play: half a slot, at least a second.
    pub fn tolerance_s(&self) -> i64 {
        (self.server.slot_ms / 2000).max(1)
    }

    /// The claims this play makes in the process's memory, one per player.
    pub fn claims(&self) -> impl Iterator<Item = (i64, i64, i64, i64)> + '_ {
        self.players.iter().map(|p| (self.server.number, self.play.play, self.play.kacky_id, p.user_id))
    }
}

/// What one look at the timetable finds.
#[derive(Debug)]
pub struct Due<'a> {
    /// In server order, then start order.
    pub plays: Vec<DuePlay<'a>>,
    /// When the next reminder time comes, at most [`MAX_SLEEP_S`] after the timetable's now.
    pub wake: DateTime<Utc>,
}

/// The plays of `timetable` that ring now: every upcoming play (start after the timetable's
/// now) of a map with alarms whose reminder time (`lead` before the start) has come, with its
/// players not in `claimed`. Plays whose reminder time is ahead set the wake-up instead.
pub fn due<'a>(timetable: &'a Timetable, alarms: &'a [Alarmed], lead: Duration, claimed: &Claimed) -> Due<'a> {
    let now = timetable.now;
    let mut wake = now + Duration::seconds(MAX_SLEEP_S);
    let mut by_map: BTreeMap<i64, Vec<&Alarmed>> = BTreeMap::new();
    for a in alarms {
        by_map.entry(a.kacky_id).or_default().push(a);
    }
    let mut plays = Vec::new();
    for server in &timetable.servers {
        for play in server.plays.iter().filter(|p| p.start > now) {
            let Some(players) = by_map.get(&play.kacky_id) else { continue };
            if play.start - lead > now {
                wake = wake.min(play.start - lead);
                continue;
            }
            let fresh: Vec<&Alarmed> = players
                .iter()
                .copied()
                .filter(|p| !claimed.contains(&(server.number, play.play, play.kacky_id, p.user_id)))
                .collect();
            if !fresh.is_empty() {
                plays.push(DuePlay { server, play: *play, players: fresh });
            }
        }
    }
    Due { plays, wake }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
    }

    /// A server with 10-minute slots: play `first` runs since 2 minutes ago, then `maps` follow.
    fn server(number: i64, first: i64, maps: &[i64]) -> ServerPlays {
        let start = t0() - Duration::minutes(2);
        let plays = maps
            .iter()
            .enumerate()
            .map(|(i, &kacky_id)| {
                let start = start + Duration::minutes(10 * i as i64);
                Play { kacky_id, play: first + i as i64, start, end: start + Duration::minutes(10) }
            })
            .collect();
        ServerPlays {
            number,
            name: format!("S{number}"),
            difficulty: json!("white"),
            timelimit_s: 600,
            slot_ms: 600_000,
            plays,
        }
    }

    fn alarm(kacky_id: i64, user_id: i64) -> Alarmed {
        Alarmed { kacky_id, user_id, username: format!("u{user_id}"), discord: String::new(), discord_id: None }
    }

    fn timetable(servers: Vec<ServerPlays>) -> Timetable {
        Timetable { now: t0(), servers }
    }

    /// (server, play number, kacky id, users) of each due play.
    fn summary(due: &Due) -> Vec<(i64, i64, i64, Vec<i64>)> {
        due.plays
            .iter()
            .map(|d| (d.server.number, d.play.play, d.play.kacky_id, d.players.iter().map(|p| p.user_id).collect()))
            .collect()
    }

    #[test]
    fn a_play_is_due_from_lead_before_its_start_until_it_starts() {
        // Server 1 plays 1 (running), 2 at +8 min, 3 at +18 min, 4 at +28 min.
        let tt = timetable(vec![server(1, 40, &[1, 2, 3, 4])]);
        let alarms = [alarm(1, 7), alarm(2, 7), alarm(3, 8), alarm(4, 9)];
        let due = due(&tt, &alarms, Duration::minutes(10), &Claimed::new());
        // The running play never rings; 2 is 8 minutes ahead (inside the lead), 3 is not yet.
        assert_eq!(summary(&due), [(1, 41, 2, vec![7])]);
        assert_eq!(due.wake, t0() + Duration::seconds(MAX_SLEEP_S), "3's reminder time is 8 minutes ahead");
        // 3's reminder time half a minute ahead: the planner wakes for it.
        let due = super::due(&tt, &alarms, Duration::seconds(18 * 60 - 30), &Claimed::new());
        assert_eq!(summary(&due), [(1, 41, 2, vec![7])]);
        assert_eq!(due.wake, t0() + Duration::seconds(30));
        // Exactly at the reminder time the play is due.
        let due = super::due(&tt, &alarms, Duration::minutes(18), &Claimed::new());
        assert_eq!(summary(&due), [(1, 41, 2, vec![7]), (1, 42, 3, vec![8])]);
        // A reminder time that passed (the backend was down) rings at once, before the start.
        let due = super::due(&tt, &alarms, Duration::hours(2), &Claimed::new());
        assert_eq!(summary(&due).len(), 3);
        assert_eq!(due.wake, t0() + Duration::seconds(MAX_SLEEP_S), "nothing ahead: look again in a minute");
    }

    #[test]
    fn started_plays_maps_without_alarms_and_claimed_players_are_skipped() {
        let tt = timetable(vec![server(1, 1, &[5, 6]), server(2, 9, &[6, 5])]);
        // Map 6 runs on server 2 and comes next on server 1; map 5 the other way round.
        let alarms = [alarm(6, 1), alarm(6, 2), alarm(7, 3)];
        let lead = Duration::minutes(10);
        let due = due(&tt, &alarms, lead, &Claimed::new());
        assert_eq!(summary(&due), [(1, 2, 6, vec![1, 2])], "only the upcoming play of map 6");
        let claimed: Claimed = due.plays[0].claims().collect();
        assert_eq!(claimed, Claimed::from([(1, 2, 6, 1), (1, 2, 6, 2)]));
        assert!(super::due(&tt, &alarms, lead, &claimed).plays.is_empty(), "every player claimed");
        let one: Claimed = Claimed::from([(1, 2, 6, 1)]);
        assert_eq!(summary(&super::due(&tt, &alarms, lead, &one)), [(1, 2, 6, vec![2])]);
        // A claim is for one play: the same map on another play number is another play.
        let other_play: Claimed = Claimed::from([(1, 3, 6, 1), (2, 2, 6, 1), (1, 2, 5, 1)]);
        assert_eq!(summary(&super::due(&tt, &alarms, lead, &other_play)), [(1, 2, 6, vec![1, 2])]);
        // No servers (outside the event window): nothing, and a look again in a minute.
        let empty = timetable(Vec::new());
        let due = super::due(&empty, &alarms, lead, &Claimed::new());
        assert!(due.plays.is_empty());
        assert_eq!(due.wake, t0() + Duration::seconds(MAX_SLEEP_S));
    }

    #[test]
    fn a_due_play_is_keyed_by_its_identity_with_half_a_slot_of_tolerance() {
        let mut tt = timetable(vec![server(3, 100, &[1, 2])]);
        let alarms = [alarm(2, 1)];
        let due = due(&tt, &alarms, Duration::minutes(10), &Claimed::new());
        let play = &due.plays[0];
        assert_eq!(
            play.key(),
            PlayKey { kacky_id: 2, server: 3, play: 101, start: (t0() + Duration::minutes(8)).timestamp() }
        );
        assert_eq!(play.tolerance_s(), 300, "half of a 10-minute slot");
        // The projected start moved by a few seconds: the same play, the same identity.
        tt.servers[0].plays[1].start += Duration::seconds(7);
        tt.servers[0].slot_ms = 1500;
        let due = super::due(&tt, &alarms, Duration::minutes(10), &Claimed::new());
        assert_eq!((due.plays[0].key().server, due.plays[0].key().play), (3, 101));
        assert_eq!(due.plays[0].tolerance_s(), 1, "at least a second");
    }
}
