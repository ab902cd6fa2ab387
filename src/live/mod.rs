//! The live event, in the order its data flows:
//!
//! - [`lineup`]: the game servers of the current event and the maps each one rotates through,
//!   resolved once at start.
//! - [`source`]: where poll answers come from: the game-server API (its client, `client`) or,
//!   in testing mode, the simulated servers ([`simulator`]); [`gameserver`] parses the answer.
//! - [`poller`]: the task that polls, merges each answer into a new [`LiveSnapshot`] (the live
//!   state, [`state`]), learns each server's slot and numbers its plays ([`slots`]) and
//!   publishes the snapshot through the [`Live`] handle (`handle`: the lineup, the snapshots,
//!   the shared timetable, the change channel).
//! - [`rotation`] (where a server is at any instant) and [`schedule`] (the whole schedule at
//!   once): the pure projections of a snapshot to "now".
//! - [`timetable`]: every server's plays with absolute times, built once per second and
//!   snapshot and shared by the schedule answers, the calendar, `/live` and the notifier.
//! - [`feed`]: the task that announces each change of a server's current map to `/live`.

mod client;
pub mod feed;
pub mod gameserver;
mod handle;
pub mod lineup;
pub mod poller;
pub mod rotation;
pub mod schedule;
pub mod simulator;
pub mod slots;
pub mod source;
pub mod state;
pub mod timetable;

pub use handle::{GameserverHealth, Live};
pub use lineup::Lineup;
pub use poller::{poll_now, PollerGuard};
pub use state::LiveSnapshot;

/// What the live background tasks (poller, feed; the notifier inside its own context) need, and
/// nothing else: the live state, the clock, the event window, the poll interval, the shutdown
/// signal and the database the poller keeps the tracks in. Built from the application state
/// with `From<&AppState>` (in `api::state`), so `live` never sees the rest.
#[derive(Clone)]
pub struct LiveContext {
    pub live: Live,
    pub clock: crate::clock::Clock,
    pub window: Option<crate::event::EventWindow>,
    pub interval: std::time::Duration,
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The threads outgoing calls run on (the game-server poll; Discord for the notifier).
    pub outbound: crate::outbound::Outbound,
    /// Where the poller keeps the tracks ([`crate::db::tracks`]).
    pub db: crate::db::Db,
}
