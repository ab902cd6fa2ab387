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
