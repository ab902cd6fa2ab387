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
///
/// `play` is its number on the server ([`ServerView::play`]): with the server number and the
/// map it identifies the play, however its projected start moves between polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Play {
    pub kacky_id: i64,
    pub play: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// `t` without its fraction of a second, so every answer names whole seconds.
pub fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// `t` moved by `s` seconds, saturating at chrono's limits.
fn plus_s(t: DateTime<Utc>, s: i64) -> DateTime<Utc> {
    Duration::try_seconds(s).and_then(|d| t.checked_add_signed(d)).unwrap_or(if s < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// The plays of one server: first the one running at `now` (`start <= now < end`), then the
/// following ones back to back, as long as they start before `until`. A server whose position
/// is unknown (its map is not in its playlist) has only the observed map, while its slot runs
/// (numbered as the play after the view's); a server with no valid slot has none.
#[must_use]
pub fn server_plays(s: &ServerView, now: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Play> {
    let now = whole_seconds(now);
    if s.slot_ms <= 0 {
        return Vec::new();
    }
    let elapsed = rotation::elapsed_s(s.observed, now);
    let Some(pos) = rotation::position(s, now) else {
        if !rotation::unknown_still_running(s, now) {
            return Vec::new();
        }
        let start = plus_s(now, -elapsed);
        let end = plus_s(start, rotation::offset_s(1, s.slot_ms));
        return vec![Play { kacky_id: s.observed.current, play: s.play.saturating_add(1), start, end }];
    };
    // Starts are counted from the observed play's start, so rounding never accumulates.
    let origin = plus_s(now, -elapsed);
    let k0 = pos.play.saturating_sub(s.play);
    let len = s.playlist.len();
    let mut plays = Vec::new();
    let mut j: i64 = 0;
    loop {
        let k = k0.saturating_add(j);
        let start = plus_s(origin, rotation::offset_s(k, s.slot_ms));
        if j > 0 && start >= until {
            break;
        }
        let end = plus_s(origin, rotation::offset_s(k.saturating_add(1), s.slot_ms));
        let index = (pos.index + usize::try_from(j).unwrap_or(0) % len) % len;
        plays.push(Play { kacky_id: s.playlist[index], play: pos.play.saturating_add(j), start, end });
        if end <= start {
            break;
        }
        j += 1;
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
    let len = s.playlist.len();
    (0..len)
        .map(|k| {
            let wait = match k {
                0 => 0,
                _ => rotation::wait_s(s, &pos, now, i64::try_from(k).unwrap_or(i64::MAX)),
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
            ServerView { number: 1, slot_ms: 600_000, playlist: &white, observed: &ow, play: 0 },
            ServerView { number: 11, slot_ms: 1_200_000, playlist: &red, observed: &or, play: 0 },
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
        let s = ServerView { number: 1, slot_ms: 600_000, playlist: &list, observed: &o, play: 0 };
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
        let s = ServerView { number: 1, slot_ms: 600_000, playlist: &list, observed: &o, play: 0 };
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
            slot_ms in 30_000i64..250_000,
            play in -3i64..9,
            later in 0i64..20_000,
            hours in 0i64..5,
        ) {
            let observed = Observed { current, time_played_s: played, at: t0() };
            let s = ServerView { number: 1, slot_ms, playlist: &list, observed: &observed, play };
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
                prop_assert_eq!(w[0].play + 1, w[1].play);
            }
            // A simpler reference: play `p` starts `ceil((p - play) × slot)` after the observed
            // play's start, which is `played` seconds before the observation.
            if rotation::position(&s, now).is_some() {
                let origin = t0() - Duration::seconds(played.max(0));
                for p in &plays {
                    let ms = (p.play - play) * slot_ms;
                    prop_assert_eq!(p.start, origin + Duration::milliseconds(ms + (1000 - ms % 1000) % 1000));
                }
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
            slots in proptest::collection::vec(-1000i64..250_000, 5),
            later in 0i64..20_000,
        ) {
            let observed: Vec<Observed> =
                (0..lists.len()).map(|i| Observed { current: currents[i], time_played_s: played[i], at: t0() }).collect();
            let servers: Vec<ServerView> = lists
                .iter()
                .enumerate()
                .map(|(i, l)| ServerView { number: i as i64 + 1, slot_ms: slots[i], playlist: l, observed: &observed[i], play: i as i64 })
                .collect();
            let now = t0() + Duration::seconds(later);
            let runs = next_runs(&servers, now);
            for map in 0..9 {
                prop_assert_eq!(runs.get(&map).copied(), rotation::earliest(&servers, map, now), "map {}", map);
            }
        }
    }
}
