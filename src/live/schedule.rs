//! When and where every map runs next, for the whole schedule at once.
//!
//! [`rotation::earliest`] answers for one map by asking every server; the schedule page asks
//! for all maps of the event, so [`next_runs`] walks each server's rotation once instead and
//! gives, for every map, exactly what `earliest` gives (a property test below holds it to
//! that). Pure: `now` is passed in.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::rotation::{self, ServerView};

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

    proptest! {
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
