//! Where each game server is in its map rotation, projected to any instant.
//!
//! During an event every game server plays a playlist of maps (identified by
//! their kacky id), each for `timelimit` minutes, then spends a moment
//! changing to the next one, wrapping around. One *slot* is the time from a
//! map's start to the next map's start: the time limit plus the change time,
//! learned from the map changes the poller sees ([`super::slots`]) and passed
//! in here as [`ServerView::slot_ms`], in milliseconds so that a fraction of a
//! second per map does not add up over a day. The backend polls the servers
//! about once a minute and records an [`Observed`] snapshot (current map,
//! seconds played, when). Everything here projects such a snapshot to an
//! arbitrary `now`, so countdowns and "next map" keep moving between polls and
//! while a poll is late or failing.
//!
//! Every play has a number on its server ([`ServerView::play`] for the observed
//! one, counting on by one per map after it): `(server, play)` is the play's
//! identity, the same in `/live`, the calendar and the notifier however much the
//! projected start moves.
//!
//! All functions are pure: `now` is always passed in (no clock reads), which
//! keeps them deterministic and testable. Durations are always computed from
//! full timestamps, never from "seconds within a day" (the old system dropped
//! whole days and went wrong for waits crossing midnight or longer than 24 h).
//! Starts are whole seconds: play `k` after the observed one starts
//! `ceil(k × slot_ms / 1000)` seconds after it, so plays stay back to back.
//!
//! None of the functions panics: an empty playlist, a non-positive slot
//! or an observed map that is not in the playlist simply yield `None` (or the
//! documented fallback), and all arithmetic saturates.

use chrono::{DateTime, Utc};

/// What we last observed about one server.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Kacky id of the map being played when observed.
    pub current: i64,
    /// Seconds the map had been played when observed.
    pub time_played_s: i64,
    /// When the observation was made.
    pub at: DateTime<Utc>,
}

/// One server's rotation and observation, borrowed for a computation.
#[derive(Debug, Clone, Copy)]
pub struct ServerView<'a> {
    /// Server number, reported back by [`earliest`].
    pub number: i64,
    /// Milliseconds from one map's start to the next one's (time limit plus change time).
    pub slot_ms: i64,
    /// Kacky ids in rotation order; may contain repeats.
    pub playlist: &'a [i64],
    /// Last observation of this server.
    pub observed: &'a Observed,
    /// The observed map's play number on this server. When the playlist holds the observed
    /// map at `play mod len`, that occurrence is the observed one (else its first occurrence).
    pub play: i64,
}

/// Where a server is at `now`: the projected current map (index into
/// playlist) and seconds played on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Index of the current map in the playlist.
    pub index: usize,
    /// Kacky id of the current map (`playlist[index]`).
    pub current: i64,
    /// Seconds played on the current map, always shorter than its slot.
    pub played_s: i64,
    /// The current map's play number (the observed play's number plus the maps since).
    pub play: i64,
    /// Seconds until the current map's slot ends and the next map starts (`> 0`).
    pub left_s: i64,
}

/// Whole minutes for display: `seconds` floored to minutes, because the
/// frontend shows whole minutes and must never announce a map early.
#[must_use]
pub fn minutes(seconds: i64) -> i64 {
    seconds.div_euclid(60)
}

/// The slot of `s`, or `None` when it is not positive (so no caller can ever divide by zero).
fn slot_ms(s: &ServerView) -> Option<i64> {
    Some(s.slot_ms).filter(|&slot| slot > 0)
}

/// Seconds from the observed play's start to the start of the `k`-th play after it.
#[must_use]
pub fn offset_s(k: i64, slot_ms: i64) -> i64 {
    let ms = k.saturating_mul(slot_ms);
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

/// Seconds played on the observed map as of `now`, counting whole seconds
/// since the observation; a `now` before the observation (clock skew) and a
/// negative reported time both clamp to 0.
pub fn elapsed_s(observed: &Observed, now: DateTime<Utc>) -> i64 {
    let since = now.signed_duration_since(observed.at).num_seconds().max(0);
    observed.time_played_s.max(0).saturating_add(since)
}

/// Index of the observed map in the playlist: at `play mod len` when it is there, else its
/// first occurrence.
fn observed_index(s: &ServerView) -> Option<usize> {
    let len = i64::try_from(s.playlist.len()).ok().filter(|&l| l > 0)?;
    let by_play = usize::try_from(s.play.rem_euclid(len)).ok()?;
    if s.playlist[by_play] == s.observed.current {
        return Some(by_play);
    }
    s.playlist.iter().position(|&m| m == s.observed.current)
}

/// The projected position of `s` at `now`.
///
/// If more than a slot has elapsed since the observed map started, the server has moved on
/// by as many maps as slots fit (wrapping). `None` when the playlist is empty, the slot is
/// not positive, or the observed map is not in the playlist.
#[must_use]
pub fn position(s: &ServerView, now: DateTime<Utc>) -> Option<Position> {
    let slot = slot_ms(s)?;
    let start = observed_index(s)?;
    let len = s.playlist.len();
    let elapsed = elapsed_s(s.observed, now);
    // `elapsed >= 0` and `slot > 0`, so `k >= 0`.
    let k = elapsed.saturating_mul(1000) / slot;
    let advance = usize::try_from(k).unwrap_or(usize::MAX) % len;
    let index = (start + advance) % len;
    let played_s = elapsed.saturating_sub(offset_s(k, slot));
    let left_s = offset_s(k.saturating_add(1), slot).saturating_sub(elapsed).max(1);
    Some(Position { index, current: s.playlist[index], played_s, play: s.play.saturating_add(k), left_s })
}

/// Seconds left until the next map starts at `now` (always `> 0`, since the
/// projection moves on when a slot is up); `None` when [`position`]
/// is `None`.
#[must_use]
pub fn time_left_s(s: &ServerView, now: DateTime<Utc>) -> Option<i64> {
    position(s, now).map(|p| p.left_s)
}

/// The current map followed by the next `n - 1` maps, wrapping around, so
/// exactly `n` items (a short playlist repeats: `[a, b]` gives `a, b, a, b`
/// for `n = 4`). When the position is unknown, only the observed map is
/// known: the result is just that map (empty if `n == 0`).
#[must_use]
pub fn upcoming(s: &ServerView, now: DateTime<Utc>, n: usize) -> Vec<i64> {
    match position(s, now) {
        Some(p) => (0..n).map(|k| s.playlist[(p.index + k % s.playlist.len()) % s.playlist.len()]).collect(),
        None => std::iter::once(s.observed.current).take(n).collect(),
    }
}

/// While the position is unknown (the observed map is not in the playlist): whether the
/// observed map still runs at `now`, i.e. its slot has not elapsed.
#[must_use]
pub fn unknown_still_running(s: &ServerView, now: DateTime<Utc>) -> bool {
    slot_ms(s).is_some_and(|slot| elapsed_s(s.observed, now).saturating_mul(1000) < slot)
}

/// Seconds until `map` is next played on `s` at `now`; `Some(0)` while it is
/// being played.
///
/// Otherwise the nearest following occurrence counts (repeats in the
/// playlist shorten the wait): time left on the current map plus one full
/// slot per map in between. `None` when `map` is not in the playlist.
/// When the position is unknown we can only tell that the observed map is
/// still running (`Some(0)` while its slot has not elapsed).
#[must_use]
pub fn next_play_s(s: &ServerView, map: i64, now: DateTime<Utc>) -> Option<i64> {
    let Some(pos) = position(s, now) else {
        return (map == s.observed.current && unknown_still_running(s, now)).then_some(0);
    };
    if pos.current == map {
        return Some(0);
    }
    let len = s.playlist.len();
    let distance = (1..len).find(|k| s.playlist[(pos.index + k) % len] == map)?;
    Some(wait_s(s, &pos, now, i64::try_from(distance).unwrap_or(i64::MAX)))
}

/// Seconds from `now` until the play `distance` maps after the current one starts.
pub(crate) fn wait_s(s: &ServerView, pos: &Position, now: DateTime<Utc>, distance: i64) -> i64 {
    let elapsed = elapsed_s(s.observed, now);
    let k = pos.play.saturating_sub(s.play);
    offset_s(k.saturating_add(distance), s.slot_ms).saturating_sub(elapsed)
}

/// The server that plays `map` soonest, as `(server number, seconds)`.
///
/// Ties go to the server that comes first in `servers`, so the answer is
/// stable across polls. `None` when no server has the map.
#[must_use]
pub fn earliest(servers: &[ServerView], map: i64, now: DateTime<Utc>) -> Option<(i64, i64)> {
    let mut best: Option<(i64, i64)> = None;
    for s in servers {
        if let Some(wait) = next_play_s(s, map, now) {
            if best.is_none_or(|(_, b)| wait < b) {
                best = Some((s.number, wait));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    /// A fixed instant, so tests never depend on the real clock.
    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
    }

    fn obs(current: i64, time_played_s: i64, at: DateTime<Utc>) -> Observed {
        Observed { current, time_played_s, at }
    }

    /// A view with a slot of `tl` whole minutes (an overflowing one is invalid: 0).
    fn view<'a>(number: i64, tl: i64, playlist: &'a [i64], observed: &'a Observed) -> ServerView<'a> {
        ServerView { number, slot_ms: tl.checked_mul(60_000).unwrap_or(0), playlist, observed, play: 0 }
    }

    #[test]
    fn minutes_floors() {
        assert_eq!(minutes(0), 0);
        assert_eq!(minutes(59), 0);
        assert_eq!(minutes(60), 1);
        assert_eq!(minutes(119), 1);
        assert_eq!(minutes(118_800), 1980);
    }

    #[test]
    fn position_without_projection() {
        let o = obs(3, 100, t0());
        let list = [1, 2, 3, 4];
        let s = view(1, 10, &list, &o);
        let now = t0() + Duration::seconds(50);
        let expected = Position { index: 2, current: 3, played_s: 150, play: 0, left_s: 450 };
        assert_eq!(position(&s, now), Some(expected));
        assert_eq!(time_left_s(&s, now), Some(450));
        assert_eq!(next_play_s(&s, 3, now), Some(0));
    }

    #[test]
    fn wrap_around_map_near_start() {
        // Current is the second to last; map 2 is at index 1: distance 3.
        let list = [1, 2, 3, 4, 5];
        let o = obs(4, 120, t0());
        let s = view(1, 10, &list, &o);
        assert_eq!(time_left_s(&s, t0()), Some(480));
        assert_eq!(next_play_s(&s, 5, t0()), Some(480));
        assert_eq!(next_play_s(&s, 1, t0()), Some(480 + 600));
        assert_eq!(next_play_s(&s, 2, t0()), Some(480 + 2 * 600));
        assert_eq!(upcoming(&s, t0(), 4), vec![4, 5, 1, 2]);
    }

    #[test]
    fn map_three_positions_ahead() {
        let list = [10, 20, 30, 40, 50, 60];
        let o = obs(20, 300, t0());
        let s = view(1, 15, &list, &o);
        let now = t0() + Duration::seconds(60);
        let left = time_left_s(&s, now).unwrap();
        assert_eq!(left, 900 - 360);
        assert_eq!(next_play_s(&s, 50, now), Some(left + 2 * 900));
    }

    #[test]
    fn wait_longer_than_a_day_is_exact() {
        let list: Vec<i64> = (1..=100).collect();
        let o = obs(1, 300, t0());
        let s = view(1, 20, &list, &o);
        let now = t0() + Duration::seconds(60);
        // 840 s left on map 1, then 98 full maps before map 100.
        let wait = next_play_s(&s, 100, now).unwrap();
        assert_eq!(wait, 840 + 98 * 1200);
        assert!(wait > 86_400);
        assert_eq!(minutes(wait), 1974);
    }

    #[test]
    fn elapsed_across_midnight_and_days() {
        let list: Vec<i64> = (1..=100).collect();
        let at = Utc.with_ymd_and_hms(2024, 6, 1, 23, 50, 0).unwrap();
        let o = obs(1, 0, at);
        let s = view(1, 20, &list, &o);
        // 20 minutes later, past midnight: exactly one map further.
        let now = Utc.with_ymd_and_hms(2024, 6, 2, 0, 10, 0).unwrap();
        assert_eq!(position(&s, now).unwrap().current, 2);
        assert_eq!(position(&s, now).unwrap().played_s, 0);
        // Two days and 30 minutes later: 145 maps (wrapping to index 45), 10 min in.
        let now = at + Duration::days(2) + Duration::minutes(30);
        let p = position(&s, now).unwrap();
        assert_eq!((p.index, p.current, p.played_s), (45, 46, 600));
    }

    #[test]
    fn earliest_over_several_servers() {
        let a_list = [1, 2, 3, 4];
        let b_list = [5, 6, 3, 7];
        let oa = obs(1, 0, t0());
        let ob = obs(6, 0, t0());
        let servers = [view(1, 10, &a_list, &oa), view(2, 10, &b_list, &ob)];
        // Map 3: server 1 in 1200 s, server 2 in 600 s.
        assert_eq!(earliest(&servers, 3, t0()), Some((2, 600)));
        assert_eq!(earliest(&servers, 1, t0()), Some((1, 0)));
        assert_eq!(earliest(&servers, 99, t0()), None);
    }

    #[test]
    fn earliest_tie_goes_to_first_server() {
        let list = [1, 2, 3];
        let o = obs(1, 60, t0());
        let servers = [view(7, 10, &list, &o), view(3, 10, &list, &o)];
        assert_eq!(earliest(&servers, 2, t0()), Some((7, 540)));
        assert_eq!(earliest(&[], 2, t0()), None);
    }

    #[test]
    fn projection_after_two_and_a_half_timelimits() {
        let list = [1, 2, 3, 4, 5];
        let o = obs(2, 0, t0());
        let s = view(1, 10, &list, &o);
        let now = t0() + Duration::seconds(1500);
        let expected = Position { index: 3, current: 4, played_s: 300, play: 2, left_s: 300 };
        assert_eq!(position(&s, now), Some(expected));
        assert_eq!(time_left_s(&s, now), Some(300));
        assert_eq!(upcoming(&s, now, 4), vec![4, 5, 1, 2]);
        assert_eq!(next_play_s(&s, 2, now), Some(300 + 2 * 600));
    }

    #[test]
    fn observed_time_already_beyond_timelimit() {
        let list = [1, 2, 3];
        let o = obs(3, 650, t0());
        let s = view(1, 10, &list, &o);
        let p = position(&s, t0()).unwrap();
        assert_eq!((p.index, p.current, p.played_s), (0, 1, 50));
        assert_eq!(time_left_s(&s, t0()), Some(550));
        // Exactly at the limit the next map starts with a full timelimit.
        let o = obs(3, 600, t0());
        let s = view(1, 10, &list, &o);
        assert_eq!(position(&s, t0()).unwrap().current, 1);
        assert_eq!(time_left_s(&s, t0()), Some(600));
    }

    #[test]
    fn now_before_observation_is_clamped() {
        let list = [1, 2, 3];
        let o = obs(2, 100, t0());
        let s = view(1, 10, &list, &o);
        let now = t0() - Duration::hours(3);
        assert_eq!(position(&s, now).unwrap().played_s, 100);
        assert_eq!(time_left_s(&s, now), Some(500));
        let o = obs(2, -40, t0());
        let s = view(1, 10, &list, &o);
        assert_eq!(position(&s, now).unwrap().played_s, 0);
    }

    #[test]
    fn observed_map_not_in_playlist() {
        let list = [1, 2, 3];
        let o = obs(9, 100, t0());
        let s = view(1, 10, &list, &o);
        assert_eq!(position(&s, t0()), None);
        assert_eq!(time_left_s(&s, t0()), None);
        assert_eq!(upcoming(&s, t0(), 4), vec![9]);
        assert_eq!(upcoming(&s, t0(), 0), Vec::<i64>::new());
        assert_eq!(next_play_s(&s, 9, t0()), Some(0));
        assert_eq!(next_play_s(&s, 2, t0()), None);
        // Once its timelimit has passed we no longer know anything.
        assert_eq!(next_play_s(&s, 9, t0() + Duration::seconds(500)), None);
    }

    #[test]
    fn empty_playlist() {
        let o = obs(4, 0, t0());
        let s = view(1, 10, &[], &o);
        assert_eq!(position(&s, t0()), None);
        assert_eq!(time_left_s(&s, t0()), None);
        assert_eq!(upcoming(&s, t0(), 3), vec![4]);
        assert_eq!(next_play_s(&s, 4, t0()), Some(0));
        assert_eq!(next_play_s(&s, 5, t0()), None);
        assert_eq!(earliest(&[s], 4, t0()), Some((1, 0)));
    }

    #[test]
    fn non_positive_timelimit() {
        let list = [1, 2, 3];
        let o = obs(1, 0, t0());
        for tl in [0, -5, i64::MAX] {
            let s = view(1, tl, &list, &o);
            assert_eq!(position(&s, t0()), None, "tl {tl}");
            assert_eq!(time_left_s(&s, t0()), None);
            assert_eq!(upcoming(&s, t0(), 2), vec![1]);
            assert_eq!(next_play_s(&s, 1, t0()), None);
            assert_eq!(next_play_s(&s, 2, t0()), None);
        }
    }

    #[test]
    fn repeats_use_first_occurrence_and_nearest_distance() {
        let list = [5, 1, 2, 5, 3];
        let o = obs(5, 0, t0());
        let s = view(1, 10, &list, &o);
        assert_eq!(position(&s, t0()).unwrap().index, 0);
        assert_eq!(next_play_s(&s, 3, t0()), Some(600 + 3 * 600));
        // From index 2 (map 2), map 5 comes again at index 3, not index 0.
        let now = t0() + Duration::seconds(1200);
        assert_eq!(position(&s, now).unwrap().index, 2);
        assert_eq!(next_play_s(&s, 5, now), Some(600));
        assert_eq!(next_play_s(&s, 3, now), Some(600 + 600));
        assert_eq!(next_play_s(&s, 1, now), Some(600 + 3 * 600));
    }

    #[test]
    fn upcoming_on_short_and_long_lists() {
        let one = [7];
        let o = obs(7, 0, t0());
        let s = view(1, 10, &one, &o);
        assert_eq!(upcoming(&s, t0(), 4), vec![7, 7, 7, 7]);
        assert_eq!(next_play_s(&s, 7, t0() + Duration::hours(5)), Some(0));

        let two = [1, 2];
        let o = obs(2, 0, t0());
        let s = view(1, 10, &two, &o);
        assert_eq!(upcoming(&s, t0(), 4), vec![2, 1, 2, 1]);
        assert_eq!(next_play_s(&s, 1, t0()), Some(600));

        let twenty: Vec<i64> = (101..=120).collect();
        let o = obs(119, 0, t0());
        let s = view(1, 10, &twenty, &o);
        assert_eq!(upcoming(&s, t0(), 4), vec![119, 120, 101, 102]);
        assert_eq!(upcoming(&s, t0(), 1), vec![119]);
        assert!(upcoming(&s, t0(), 0).is_empty());
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let list = [1, 2, 3];
        let o = obs(1, i64::MAX, t0());
        let s = view(1, 10, &list, &o);
        let far = Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap();
        assert!(position(&s, far).is_some());
        assert!(next_play_s(&s, 3, far).is_some());
        let s = ServerView { slot_ms: i64::MAX, ..view(1, 10, &list, &o) };
        assert!(next_play_s(&s, 3, far).is_some());
        let o = obs(1, 0, t0());
        let s = ServerView { slot_ms: 1, play: i64::MAX - 1, ..view(1, 10, &list, &o) };
        assert!(position(&s, far).is_some());
    }

    #[test]
    fn a_slot_with_a_change_time_and_a_fraction_of_a_second() {
        // 10 minutes plus 45.5 s of change time: plays start 645.5 s apart, on whole seconds
        // (rounded up), so a day of them is not off by the fractions.
        let list = [1, 2, 3, 4];
        let o = obs(1, 0, t0());
        let s = ServerView { slot_ms: 645_500, ..view(1, 10, &list, &o) };
        assert_eq!(offset_s(1, 645_500), 646);
        assert_eq!(offset_s(2, 645_500), 1291);
        let p = position(&s, t0() + Duration::seconds(645)).unwrap();
        assert_eq!((p.current, p.played_s, p.left_s, p.play), (1, 645, 1, 0));
        let p = position(&s, t0() + Duration::seconds(646)).unwrap();
        assert_eq!((p.current, p.played_s, p.left_s, p.play), (2, 0, 645, 1));
        assert_eq!(next_play_s(&s, 3, t0()), Some(1291));
        // 134 plays later (a day) the start is exact to the second.
        assert_eq!(offset_s(134, 645_500), 86_497);
        let p = position(&s, t0() + Duration::seconds(86_497)).unwrap();
        assert_eq!((p.play, p.played_s, p.current), (134, 0, list[134 % 4]));
    }

    #[test]
    fn play_numbers_count_on_and_pick_the_occurrence_of_repeats() {
        let list = [5, 1, 5, 2];
        let o = obs(5, 0, t0());
        // Play 42 is at index 42 mod 4 = 2: the second 5.
        let s = ServerView { play: 42, ..view(1, 10, &list, &o) };
        let p = position(&s, t0()).unwrap();
        assert_eq!((p.index, p.play), (2, 42));
        let p = position(&s, t0() + Duration::minutes(25)).unwrap();
        assert_eq!((p.index, p.current, p.play), (0, 5, 44));
        // A play number that does not point at the observed map: its first occurrence.
        let s = ServerView { play: 41, ..view(1, 10, &list, &o) };
        assert_eq!(position(&s, t0()).unwrap().index, 0);
    }
}
