//! The poller: one tokio task that asks the game-server API where every server is in its
//! rotation and publishes the result as a new [`super::state::LiveSnapshot`].
//!
//! It polls once at start (so `/healthz` shows at once whether the API is reachable) and then
//! every `poll_interval_s` while the event window is active. In testing mode no request is
//! made: the body comes from the [`super::simulator`] and goes through the same parser. After an
//! answer the tracks that moved on (a new play, see [`super::slots`]) are stored
//! ([`crate::db::tracks`]), so a restart keeps the play numbering and the learned slots.
//! Nothing that happens during a poll can stop the task (the old poller died for good on the
//! first exception, BUG-4): every failure becomes the snapshot's `last_error`, and the servers
//! keep their last good state.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::client::PollError;
use super::gameserver;
use super::lineup::Lineup;
use super::schedule::whole_seconds;
use super::simulator::Simulator;
use super::slots::Track;
use super::source::Source;
use super::{Live, LiveContext};
use crate::outbound::Service;

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
pub fn start(ctx: LiveContext) -> PollerGuard {
    if ctx.live.lineup().servers.is_empty() {
        tracing::info!("no game servers configured: the live dashboard stays empty");
        return PollerGuard(None);
    }
    if let (Source::Simulated(sim), Ok(_running)) = (ctx.live.source(), ctx.live.try_lock_poll()) {
        let (body, now) = simulated(&ctx, sim);
        let moved = merge_and_publish(&ctx.live, body, now);
        tokio::spawn(store(ctx.clone(), moved));
    }
    PollerGuard(Some(tokio::spawn(run(ctx))))
}

/// One poll now, then one every `poll_interval_s` while the event window is active; ends at
/// shutdown.
async fn run(ctx: LiveContext) {
    let shutdown = ctx.shutdown.clone();
    let polling = async {
        poll_now(ctx.clone()).await;
        let mut ticker = tokio::time::interval(ctx.interval.max(Duration::from_secs(1)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if ctx.window.is_some_and(|w| w.is_active(ctx.clock.now())) {
                poll_now(ctx.clone()).await;
            }
        }
    };
    tokio::select! {
        () = polling => {}
        () = shutdown.cancelled() => {}
    }
}

/// Polls once and publishes the result; waits for a poll already running. Never fails and
/// never panics: even a panic inside the poll only becomes the snapshot's `last_error`.
/// Public so tests (and an admin action) can poll without waiting for the timer.
pub async fn poll_now(ctx: impl Into<LiveContext>) {
    let ctx = ctx.into();
    let live = ctx.live.clone();
    let _running = live.lock_poll().await;
    let clock = ctx.clock.clone();
    if let Err(e) = tokio::spawn(poll_once(ctx)).await {
        let reason = format!("the poll failed unexpectedly: {e}");
        tracing::error!("{reason}");
        live.publish(live.snapshot().after_failure(clock.now(), reason));
    }
}

/// Fetches, parses and merges one answer, and stores the tracks that moved on.
async fn poll_once(ctx: LiveContext) {
    let (body, now) = fetch(&ctx).await;
    let moved = merge_and_publish(&ctx.live, body, now);
    store(ctx, moved).await;
}

/// Stores tracks in the database; a failure is logged (the next play stores them again).
async fn store(ctx: LiveContext, moved: Vec<(i64, Track)>) {
    if moved.is_empty() {
        return;
    }
    let (event, now) = (ctx.live.event().to_owned(), ctx.clock.now().timestamp());
    if let Err(e) = ctx.db.run(move |c| crate::db::tracks::save(c, &event, &moved, now)).await {
        tracing::warn!("cannot store what the poller learned about the game servers: {e}");
    }
}

/// Parses an answer observed at `now` and publishes the merged state. Returns the tracks that
/// moved on to a new play (or a new start of it), by server number, to be stored.
fn merge_and_publish(live: &Live, body: Result<String, PollError>, now: DateTime<Utc>) -> Vec<(i64, Track)> {
    let parsed = body.map_err(|e| e.to_string()).and_then(|b| gameserver::parse(&b).map_err(|e| e.to_string()));
    let before = live.snapshot();
    match parsed {
        Ok(parsed) => {
            tracing::debug!(
                "game-server poll: {} entries usable, {} skipped",
                parsed.reports.len(),
                parsed.skipped.len()
            );
            let next = before.after_answer(live.lineup(), parsed, now);
            let moved = moved_tracks(live.lineup(), &before, &next);
            crate::metrics::poll(true, live.lineup(), &next, now);
            live.publish(next);
            moved
        }
        Err(reason) => {
            tracing::warn!("game-server poll failed: {reason}; keeping the last state");
            let next = before.after_failure(now, reason);
            crate::metrics::poll(false, live.lineup(), &next, now);
            live.publish(next);
            Vec::new()
        }
    }
}

/// The tracks of `next` that started a new play (or the same one anew) since `before`.
fn moved_tracks(lineup: &Lineup, before: &super::LiveSnapshot, next: &super::LiveSnapshot) -> Vec<(i64, Track)> {
    let old = before.servers.iter().map(|s| s.track.as_ref()).chain(std::iter::repeat(None));
    lineup
        .servers
        .iter()
        .zip(&next.servers)
        .zip(old)
        .filter_map(|((server, live), old)| {
            let track = live.track.as_ref()?;
            (track.seen == 1 && old != Some(track)).then(|| (server.number, track.clone()))
        })
        .collect()
}

/// The answer body (or why there is none) and the instant it describes.
async fn fetch(ctx: &LiveContext) -> (Result<String, PollError>, DateTime<Utc>) {
    match ctx.live.source() {
        Source::Simulated(sim) => simulated(ctx, sim),
        Source::Http(http) => {
            let http = http.clone();
            let body = ctx
                .outbound
                .run(Service::GameServer, move || http.get())
                .await
                .unwrap_or_else(|e| Err(PollError::Outbound(e)));
            (body, whole_seconds(ctx.clock.now()))
        }
    }
}

/// Testing mode's answer: the simulated servers at the clock's second (an outage of the
/// simulated API answers 503).
fn simulated(ctx: &LiveContext, sim: &Simulator) -> (Result<String, PollError>, DateTime<Utc>) {
    let now = whole_seconds(ctx.clock.now());
    (sim.answer(now).ok_or(PollError::Status(503)), now)
}
