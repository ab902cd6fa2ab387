//! The live event: rotation math ([`rotation`]), the game-server API answer ([`gameserver`])
//! and the simulated servers of the demo and the tests ([`simulator`]), the servers and
//! playlists of the current event ([`lineup`]), the published live state ([`state`], behind the
//! [`Live`] handle) with each server's learned slot and play numbering ([`slots`]), the task
//! that keeps it fresh ([`poller`]), the whole schedule at once ([`schedule`]), the shared
//! timetable with absolute times ([`timetable`]) and the `/live` change feed ([`feed`]).

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
