//! When and where every map runs, for the whole schedule at once.
//!
//! - [`server_plays`]: one server's plays with absolute start and end, from the one running
//!   now on, back to back — the source of `/schedule`, `/alarms`, the calendar feed, `/live`
//!   and the notifier.
//! - [`next_runs`]: for every map, the server that plays it soonest and the wait, as
//!   [`rotation::earliest`] answers for one map (the live `/spreadsheet`).
//!
//! Both project the same [`rotation::position`], so every answer agrees with `/dashboard`
//! (property tests below hold them to the rotation functions). Pure: `now` is passed in.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::rotation::{self, ServerView};

/// One play of a map on a server: `start <= t < end` while it runs. Whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Play {
    pub kacky_id: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// `t` without its fraction of a second, so every answer names whole seconds.
pub fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// The plays of one server: first the one running at `now` (`start <= now < end`), then the
/// following ones back to back, as long as they start before `until`. A server whose position
/// is unknown (its map is not in its playlist) has only the observed map, while it runs;
/// a server with no valid time limit has none.
#[must_use]
pub fn server_plays(s: &ServerView, now: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Play> {
    let now = whole_seconds(now);
    let Some(slot) = s.timelimit_min.checked_mul(60).filter(|&x| x > 0) else { return Vec::new() };
    let Some(pos) = rotation::position(s, now) else {
        let elapsed = s
            .observed
            .time_played_s
            .max(0)
            .saturating_add(now.signed_duration_since(s.observed.at).num_seconds().max(0));
        if elapsed >= slot {
            return Vec::new();
        }
        let start = now - Duration::seconds(elapsed);
        return vec![Play { kacky_id: s.observed.current, start, end: start + Duration::seconds(slot) }];
    };
    let len = s.playlist.len();
    let mut start = now - Duration::seconds(pos.played_s);
    let mut plays = Vec::new();
    let mut k = 0;
    while k == 0 || start < until {
        let end = start + Duration::seconds(slot);
        plays.push(Play { kacky_id: s.playlist[(pos.index + k) % len], start, end });
        start = end;
        k += 1;
    }
    plays
}

/// `kacky id → (server number, seconds until it runs)` for every map some server plays, with
/// the same choice as [`rotation::earliest`]: the shortest wait, ties to the earlier server
/// in `servers`.
#[must_use]
pub fn next_runs(servers: &[ServerView], now: DateTime<Utc>) -> HashMap<i64, (i64, i64)> {
    let mut best: HashMap<i64, (i64, i64)> = HashMap::new();
    for server in servers {
        for (map, wait) in server_runs(server, now) {
            match best.entry(map) {
                Entry::Vacant(e) => {
                    e.insert((server.number, wait));
                }
                Entry::Occupied(mut e) if wait < e.get().1 => {
                    e.insert((server.number, wait));
                }
                Entry::Occupied(_) => {}
            }
        }
    }
    best
}

/// Every map of one server with its wait, in rotation order from the current map (so a
/// repeated map's nearest occurrence comes first), as [`rotation::next_play_s`] computes it.
fn server_runs(s: &ServerView, now: DateTime<Utc>) -> Vec<(i64, i64)> {
    let Some(pos) = rotation::position(s, now) else {
        // Unknown position: only the observed map, and only while it still runs.
        let current = s.observed.current;
        return rotation::next_play_s(s, current, now).map(|w| vec![(current, w)]).unwrap_or_default();
    };
    // `position` is `Some` only for a positive, non-overflowing slot.
    let slot = s.timelimit_min.saturating_mul(60);
    let len = s.playlist.len();
    let first = slot - pos.played_s;
    (0..len)
        .map(|k| {
            let wait = match k {
                0 => 0,
                _ => first.saturating_add(i64::try_from(k - 1).unwrap_or(i64::MAX).saturating_mul(slot)),
            };
            (s.playlist[(pos.index + k) % len], wait)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::rotation::Observed;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn kr4_like_example() {
        let white = [1, 2, 3, 4];
        let red = [5, 3, 6];
        let (ow, or) =
            (Observed { current: 2, time_played_s: 60, at: t0() }, Observed { current: 6, time_played_s: 0, at: t0() });
        let servers = [
            ServerView { number: 1, timelimit_min: 10, playlist: &white, observed: &ow },
            ServerView { number: 11, timelimit_min: 20, playlist: &red, observed: &or },
        ];
        let runs = next_runs(&servers, t0());
        assert_eq!(runs[&2], (1, 0));
        assert_eq!(runs[&3], (1, 540));
        assert_eq!(runs[&1], (1, 540 + 2 * 600));
        assert_eq!(runs[&6], (11, 0));
        assert_eq!(runs[&5], (11, 1200));
        assert_eq!(runs.get(&7), None);
    }

    #[test]
    fn plays_run_back_to_back_and_wrap() {
        let list = [1, 2, 3];
        let o = Observed { current: 3, time_played_s: 120, at: t0() };
        let s = ServerView { number: 1, timelimit_min: 10, playlist: &list, observed: &o };
        let now = t0() + Duration::seconds(30);
        let plays = server_plays(&s, now, now + Duration::minutes(30));
        let ids: Vec<i64> = plays.iter().map(|p| p.kacky_id).collect();
        assert_eq!(ids, [3, 1, 2, 3]);
        assert_eq!(plays[0].start, t0() - Duration::seconds(120));
        assert_eq!(plays[0].end, t0() + Duration::seconds(480));
        assert!(plays.windows(2).all(|w| w[0].end == w[1].start));
        // The running play is always there, even with a horizon of zero.
        assert_eq!(server_plays(&s, now, now).len(), 1);
        // A map not in the playlist: only while it runs.
        let o = Observed { current: 9, time_played_s: 590, at: t0() };
        let s = ServerView { number: 1, timelimit_min: 10, playlist: &list, observed: &o };
        assert_eq!(server_plays(&s, t0() + Duration::seconds(5), t0() + Duration::hours(1)).len(), 1);
        assert!(server_plays(&s, t0() + Duration::seconds(10), t0() + Duration::hours(1)).is_empty());
    }

    proptest! {
        /// The plays agree with the rotation: the first play is running now, plays are back to
        /// back, and each map's first play starts after exactly `rotation::next_play_s`.
        #[test]
        fn plays_agree_with_the_rotation(
            list in proptest::collection::vec(0i64..6, 1..6),
            current in 0i64..7,
            played in -10i64..5000,
            limit in 1i64..4,
            later in 0i64..20_000,
            hours in 0i64..5,
        ) {
            let observed = Observed { current, time_played_s: played, at: t0() };
            let s = ServerView { number: 1, timelimit_min: limit, playlist: &list, observed: &observed };
            let now = t0() + Duration::seconds(later);
            let plays = server_plays(&s, now, now + Duration::hours(hours));
            if let Some(first) = plays.first() {
                prop_assert!(first.start <= now && now < first.end);
                if let Some(left) = rotation::time_left_s(&s, now) {
                    prop_assert_eq!((first.end - now).num_seconds(), left);
                }
            }
            for w in plays.windows(2) {
                prop_assert_eq!(w[0].end, w[1].start);
            }
            for map in 0..7 {
                if let Some(p) = plays.iter().find(|p| p.kacky_id == map) {
                    let wait = (p.start - now).num_seconds().max(0);
                    prop_assert_eq!(Some(wait), rotation::next_play_s(&s, map, now), "map {}", map);
                }
            }
        }

        /// For every map, the same answer as `rotation::earliest`.
        #[test]
        fn agrees_with_earliest(
            lists in proptest::collection::vec(proptest::collection::vec(0i64..8, 0..6), 1..5),
            currents in proptest::collection::vec(0i64..9, 5),
            played in proptest::collection::vec(-10i64..5000, 5),
            limits in proptest::collection::vec(-1i64..4, 5),
            later in 0i64..20_000,
        ) {
            let observed: Vec<Observed> =
                (0..lists.len()).map(|i| Observed { current: currents[i], time_played_s: played[i], at: t0() }).collect();
            let servers: Vec<ServerView> = lists
                .iter()
                .enumerate()
                .map(|(i, l)| ServerView { number: i as i64 + 1, timelimit_min: limits[i], playlist: l, observed: &observed[i] })
                .collect();
            let now = t0() + Duration::seconds(later);
            let runs = next_runs(&servers, now);
            for map in 0..9 {
                prop_assert_eq!(runs.get(&map).copied(), rotation::earliest(&servers, map, now), "map {}", map);
            }
        }
    }
}
