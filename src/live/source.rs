//! Where poll answers come from, chosen once at start: in testing mode the simulated servers
//! ([`simulator`]), else the game-server API through its client ([`HttpSource`]). The
//! [`Live`](super::Live) handle keeps it and the poller asks it; it sits in neither, so the
//! handle does not import the poller that uses the handle.

pub use super::client::{HttpSource, PollError, Step};
use super::lineup::Lineup;
use super::simulator::{self, Simulator};
use crate::config::Settings;
use crate::event::EventWindow;

/// Where poll answers come from.
pub enum Source {
    /// Testing mode: the configured servers, simulated over the event window.
    Simulated(Box<Simulator>),
    /// The real game-server API.
    Http(HttpSource),
}

impl Source {
    /// The simulator in testing mode (no network at all), else the configured API.
    pub fn new(s: &Settings, lineup: &Lineup, window: Option<EventWindow>) -> Self {
        if s.testing_mode {
            let specs = lineup
                .servers
                .iter()
                .map(|server| simulator::ServerSpec {
                    name: server.name.clone(),
                    timelimit_s: server.timelimit_min.saturating_mul(60),
                    playlist: server.playlist.clone(),
                    change_s: s.testing_map_change_s,
                })
                .collect();
            let now = chrono::Utc::now();
            let (from, until) = window.map_or((now, now), |w| (w.start, w.end));
            let until = until.max(from) + chrono::Duration::days(1);
            let behaviour = simulator::Behaviour::default();
            return Self::Simulated(Box::new(Simulator::new(specs, &behaviour, from, until)));
        }
        Self::Http(HttpSource::new(&s.gameserver_api_url, s.api_pwd.expose(), s.poll_interval_s))
    }

    /// For `/healthz`: the URL polled (never the password), or `simulated`.
    pub fn describe(&self) -> String {
        match self {
            Self::Simulated(_) => "simulated servers (testing mode)".into(),
            Self::Http(h) => h.url().to_owned(),
        }
    }
}
