//! The live feed: one background task that announces every change of a server's current map
//! to the `/live` subscribers ([`super::Live::subscribe`]). It wakes when the poller publishes
//! a snapshot and when the rotation reaches the next play boundary (a timer on the
//! [`crate::clock::Clock`], not a busy loop), compares what each server plays now with what it
//! announced last, and sends the differences. A failing game server never ends it: the last
//! state keeps projecting.
//!
//! Plays are compared by their identity (server, play number, map), not by their start: a
//! start that jitters by a second between polls, or moves as the slot is learned, is the same
//! play and is not announced again. The numbers only go forward: when the projection moved on
//! early (the server took longer to change maps than learned, or restarted the map) and a poll
//! then shows the previous play still running, nothing is announced, and the play already
//! announced is not announced a second time when it really starts.

use std::collections::HashMap;

use chrono::Duration;
use tokio::task::JoinHandle;

use super::state::MapChange;
use super::LiveContext;

/// The longest sleep between two looks, so the start of the event window is noticed.
const MAX_SLEEP_S: i64 = 60;

/// Owns the task; dropping it stops the feed.
pub struct FeedGuard(Option<JoinHandle<()>>);

impl Drop for FeedGuard {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Starts the task (needs a tokio runtime); it also ends when the server shuts down.
pub fn start(state: LiveContext) -> FeedGuard {
    if state.live.lineup().servers.is_empty() {
        return FeedGuard(None);
    }
    FeedGuard(Some(tokio::spawn(run(state))))
}

async fn run(state: LiveContext) {
    let mut snapshots = state.live.watch();
    // Per server: the number and map of the play announced last.
    let mut announced: HashMap<i64, (i64, i64)> = HashMap::new();
    loop {
        let now = state.clock.now();
        let seq = state.live.snapshot().seq;
        let timetable = state.live.timetable(state.window, now);
        for (server, play) in timetable.current() {
            if is_new(announced.get(&server).copied(), (play.play, play.kacky_id)) {
                announced.insert(server, (play.play, play.kacky_id));
                let change =
                    MapChange { server, kacky_id: play.kacky_id, play: play.play, start: play.start, end: play.end };
                state.live.announce(change);
            }
        }
        state.live.feed_looked(seq, now);
        let cap = timetable.now + Duration::seconds(MAX_SLEEP_S);
        let wake = timetable.next_boundary().map_or(cap, |b| b.min(cap));
        tokio::select! {
            () = state.clock.sleep_until(wake) => {}
            changed = snapshots.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = state.shutdown.cancelled() => return,
        }
    }
}

/// Whether a server's current play `(number, map)` is a change from the one announced last:
/// a later number, or the same number with another map (a map outside the playlist).
fn is_new(last: Option<(i64, i64)>, current: (i64, i64)) -> bool {
    last.is_none_or(|(number, map)| current.0 > number || (current.0 == number && current.1 != map))
}

#[cfg(test)]
mod tests {
    use super::is_new;

    #[test]
    fn only_later_plays_are_changes() {
        assert!(is_new(None, (3, 230)));
        assert!(!is_new(Some((3, 230)), (3, 230)), "the same play, whatever its start");
        assert!(is_new(Some((3, 230)), (4, 231)));
        assert!(!is_new(Some((4, 231)), (3, 230)), "a poll behind the projection is no change");
        assert!(is_new(Some((4, 231)), (4, 999)), "a foreign map in its place");
    }
}
