//! The live event: rotation math ([`rotation`]), the game-server API answer and its testing
//! fixtures ([`gameserver`]), the servers and playlists of the current event ([`lineup`]), the
//! published live state ([`state`]), the task that keeps it fresh ([`poller`]) and the whole
//! schedule at once ([`schedule`]), and the shared timetable with absolute times ([`timetable`]).

pub mod feed;
pub mod gameserver;
pub mod lineup;
pub mod poller;
pub mod rotation;
pub mod schedule;
pub mod state;
pub mod timetable;

pub use lineup::Lineup;
pub use poller::{poll_now, PollerGuard};
pub use state::{Live, LiveSnapshot};

/// What the live background tasks (poller, feed; the notifier inside its own context) need, and
/// nothing else: the live state, the clock, the event window, the poll interval and the shutdown
/// signal. Built from the application state with `From<&AppState>` (in `api::state`), so `live`
/// never sees the rest.
#[derive(Clone)]
pub struct LiveContext {
    pub live: Live,
    pub clock: crate::clock::Clock,
    pub window: Option<crate::event::EventWindow>,
    pub interval: std::time::Duration,
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The threads outgoing calls run on (the game-server poll; Discord for the notifier).
    pub outbound: crate::outbound::Outbound,
}
