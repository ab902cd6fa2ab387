//! The poller: one tokio task that asks the game-server API where every server is in its
//! rotation and publishes the result as a new [`super::state::LiveSnapshot`].
//!
//! It polls once at start (so `/healthz` shows at once whether the API is reachable) and then
//! every `poll_interval_s` while the event window is active. In testing mode no request is
//! made: the body comes from [`gameserver::fixture_body`] and goes through the same parser.
//! Nothing that happens during a poll can stop the task (the old poller died for good on the
//! first exception, BUG-4): every failure becomes the snapshot's `last_error`, and the servers
//! keep their last good state.

use std::io;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::gameserver;
use crate::api::AppState;
use crate::config::Settings;

/// Upper bounds of the HTTP timeouts; below them the poll interval wins, so a hanging API never
/// delays the next poll.
const MAX_CONNECT: Duration = Duration::from_secs(5);
const MAX_READ: Duration = Duration::from_secs(10);

/// Where poll answers come from.
pub enum Source {
    /// Testing mode: the built-in simulation of the configured servers.
    Fixture,
    /// The real game-server API.
    Http(HttpSource),
}

/// A ureq agent with small timeouts plus the URL and password to call.
#[derive(Clone)]
pub struct HttpSource {
    agent: ureq::Agent,
    url: String,
    password: String,
    read_timeout: Duration,
}

impl Source {
    /// The fixture in testing mode (no network at all), else the configured API.
    pub fn from_settings(s: &Settings) -> Self {
        if s.testing_mode {
            return Self::Fixture;
        }
        let read_timeout = MAX_READ.min(Duration::from_secs(s.poll_interval_s.max(1)));
        let connect = MAX_CONNECT.min(read_timeout);
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(connect)
            .timeout_read(read_timeout)
            .timeout(connect + read_timeout)
            .build();
        Self::Http(HttpSource {
            agent,
            url: s.gameserver_api_url.clone(),
            password: s.api_pwd.expose().to_owned(),
            read_timeout,
        })
    }

    /// For `/healthz`: the URL polled (never the password), or `fixture`.
    pub fn describe(&self) -> String {
        match self {
            Self::Fixture => "fixture (testing mode)".into(),
            Self::Http(h) => h.url.clone(),
        }
    }
}

impl HttpSource {
    /// GET `<url>?password=<api_pwd>`; the body of a 200 answer, else a readable reason.
    /// Blocking: run it in `spawn_blocking`.
    fn get(&self) -> Result<String, String> {
        let result = match self.agent.get(&self.url).query("password", &self.password).call() {
            Ok(r) if r.status() == 200 => r.into_string().map_err(|e| self.io_reason("reading the answer", &e)),
            Ok(r) => Err(format!("the game-server API answered HTTP {}", r.status())),
            Err(ureq::Error::Status(code, _)) => Err(format!("the game-server API answered HTTP {code}")),
            Err(ureq::Error::Transport(t)) => Err(self.transport_reason(&t)),
        };
        result.map_err(|e| self.redact(e))
    }

    /// A transport error without its URL (which carries the password).
    fn transport_reason(&self, t: &ureq::Transport) -> String {
        let io = std::error::Error::source(t).and_then(|s| s.downcast_ref::<io::Error>());
        if let Some(e) = io {
            return self.io_reason("the request", e);
        }
        match t.message() {
            Some(m) => format!("the game-server API is unreachable: {}: {m}", t.kind()),
            None => format!("the game-server API is unreachable: {}", t.kind()),
        }
    }

    fn io_reason(&self, what: &str, e: &io::Error) -> String {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                format!("{what} timed out: no answer within {} s", self.read_timeout.as_secs())
            }
            _ => format!("{what} failed: {e}"),
        }
    }

    fn redact(&self, text: String) -> String {
        if self.password.is_empty() {
            text
        } else {
            text.replace(&self.password, "***")
        }
    }
}

/// Owns the background task; dropping it stops the polling.
pub struct PollerGuard(Option<JoinHandle<()>>);

impl Drop for PollerGuard {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Starts the background task (needs a tokio runtime). Without servers there is nothing to
/// poll and no task. In testing mode the first poll is made right here, so the demo's
/// dashboard is filled from the very first request.
pub fn start(state: &AppState) -> PollerGuard {
    if state.live.lineup().servers.is_empty() {
        tracing::info!("no game servers configured: the live dashboard stays empty");
        return PollerGuard(None);
    }
    if let (Source::Fixture, Ok(_running)) = (state.live.source(), state.live.try_lock_poll()) {
        let (body, now) = fixture(state);
        merge_and_publish(state, body, now);
    }
    PollerGuard(Some(tokio::spawn(run(state.clone()))))
}

/// One poll now, then one every `poll_interval_s` while the event window is active.
async fn run(state: AppState) {
    poll_now(&state).await;
    let mut ticker = tokio::time::interval(Duration::from_secs(state.settings.poll_interval_s.max(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if state.window.is_some_and(|w| w.is_active(state.clock.now())) {
            poll_now(&state).await;
        }
    }
}

/// Polls once and publishes the result; waits for a poll already running. Never fails and
/// never panics: even a panic inside the poll only becomes the snapshot's `last_error`.
/// Public so tests (and an admin action) can poll without waiting for the timer.
pub async fn poll_now(state: &AppState) {
    let live = state.live.clone();
    let _running = live.lock_poll().await;
    if let Err(e) = tokio::spawn(poll_once(state.clone())).await {
        let reason = format!("the poll failed unexpectedly: {e}");
        tracing::error!("{reason}");
        live.publish(live.snapshot().after_failure(state.clock.now(), reason));
    }
}

/// Fetches, parses and merges one answer.
async fn poll_once(state: AppState) {
    let (body, now) = fetch(&state).await;
    merge_and_publish(&state, body, now);
}

/// Parses an answer observed at `now` and publishes the merged state.
fn merge_and_publish(state: &AppState, body: Result<String, String>, now: DateTime<Utc>) {
    let live = &state.live;
    let parsed = body.and_then(|b| gameserver::parse(&b).map_err(|e| e.to_string()));
    let next = match parsed {
        Ok(parsed) => {
            tracing::debug!(
                "game-server poll: {} entries usable, {} skipped",
                parsed.reports.len(),
                parsed.skipped.len()
            );
            live.snapshot().after_answer(live.lineup(), parsed, now)
        }
        Err(reason) => {
            tracing::warn!("game-server poll failed: {reason}; keeping the last state");
            live.snapshot().after_failure(now, reason)
        }
    };
    live.publish(next);
}

/// The answer body (or why there is none) and the instant it describes.
async fn fetch(state: &AppState) -> (Result<String, String>, DateTime<Utc>) {
    match state.live.source() {
        Source::Fixture => fixture(state),
        Source::Http(http) => {
            let http = http.clone();
            let body = tokio::task::spawn_blocking(move || http.get())
                .await
                .unwrap_or_else(|e| Err(format!("the request task failed: {e}")));
            (body, state.clock.now())
        }
    }
}

/// Testing mode's answer: the configured servers as if rotating since the window's start.
fn fixture(state: &AppState) -> (Result<String, String>, DateTime<Utc>) {
    let now = state.clock.now();
    let start = state.window.map_or(now, |w| w.start);
    (Ok(gameserver::fixture_body(&state.live.lineup().sims(), start, now)), now)
}
