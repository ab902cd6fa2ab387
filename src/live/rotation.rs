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
mod tests;
