//! The live feed: one background task that announces every change of a server's current map
//! to the `/live` subscribers ([`super::Live::subscribe`]). It wakes when the poller publishes
//! a snapshot and when the rotation reaches the next play boundary (a timer on the
//! [`crate::clock::Clock`], not a busy loop), compares what each server plays now with what it
//! announced last, and sends the differences. A failing game server never ends it: the last
//! state keeps projecting.

use std::collections::HashMap;

use chrono::Duration;
use tokio::task::JoinHandle;

use super::schedule::Play;
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
    let mut announced: HashMap<i64, Play> = HashMap::new();
    loop {
        let now = state.clock.now();
        let timetable = state.live.timetable(state.window, now);
        for (server, play) in timetable.current() {
            let changed = announced.get(&server).is_none_or(|p| (p.kacky_id, p.start) != (play.kacky_id, play.start));
            if changed {
                announced.insert(server, play);
                state.live.announce(MapChange { server, kacky_id: play.kacky_id, start: play.start, end: play.end });
            }
        }
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
