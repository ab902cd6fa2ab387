//! Delivering one play's messages: each message is retried until the play starts (429s after
//! Discord's `retry_after`, 5xx and timeouts with backoff) and its outcome is recorded for the
//! accounts it tells, message by message; after a message that could not be delivered the
//! rest are not tried (the play is about to start, or the webhook refuses them).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::discord::{SendError, Webhook};
use super::message::{self, Notice, Recipient};
use super::NotifyContext;
use crate::db::notifications::{PlayKey, State};
use crate::db::{self};
use crate::outbound::Service;

/// Backoff between retries of a failing delivery: doubles from 1 s up to this.
const MAX_BACKOFF: StdDuration = StdDuration::from_secs(30);

/// Sends one play's messages and records who was told.
pub(super) async fn deliver(state: NotifyContext, notice: Notice, recipients: Vec<Recipient>, key: PlayKey) {
    let Some(webhook) = state.notifier.inner.webhook.clone() else { return };
    let mut failure: Option<SendError> = None;
    let (mut told, mut untold) = (0, 0);
    for chunk in message::bodies(&notice, &recipients) {
        let outcome = match &failure {
            Some(e) => Err(e.clone()),
            None => send_with_retries(&state, &webhook, chunk.body, notice.start).await,
        };
        let final_state = if outcome.is_ok() { State::Sent } else { State::Failed };
        crate::metrics::notifier_delivery(if outcome.is_ok() { "sent" } else { "failed" });
        if final_state == State::Sent {
            told += chunk.users.len();
        } else {
            untold += chunk.users.len();
        }
        let (users, stamp) = (chunk.users, state.live.clock.now().timestamp());
        if let Err(e) = state.db.run(move |c| db::notifications::finish(c, &users, key, final_state, stamp)).await {
            tracing::error!("alarm notifications: cannot record a delivery: {e:#}");
        }
        failure = outcome.err();
    }
    let now = state.live.clock.now();
    let (label, map, server) = (&notice.event_label, notice.kacky_id, notice.server);
    if told > 0 {
        state.notifier.inner.health.lock().unwrap_or_else(|e| e.into_inner()).last_sent = Some(now);
        tracing::info!("alarm for {label} #{map} on server {server} sent to {told} player(s)");
    }
    if let Some(e) = failure {
        tracing::warn!(
            "alarm for {label} #{map} on server {server} not delivered to {untold} player(s), giving up: {e}"
        );
        state.notifier.note_error(now, format!("{label} #{map}: {e}"));
    }
}

/// One message: 429 waits as Discord asks, 5xx and timeouts back off; both only while the play
/// has not started and the server is not shutting down. Other 4xx give up at once.
async fn send_with_retries(
    state: &NotifyContext,
    webhook: &Webhook,
    body: Value,
    start: DateTime<Utc>,
) -> Result<(), SendError> {
    let body = Arc::new(body);
    let mut backoff = StdDuration::from_secs(1);
    loop {
        let (hook, b) = (webhook.clone(), body.clone());
        let result = (state.live.outbound.run(Service::Discord, move || hook.post(&b)).await)
            .unwrap_or_else(|e| Err(SendError::Retry(e.to_string())));
        let wait = match result {
            Ok(()) => return Ok(()),
            Err(SendError::RateLimited(wait)) => wait,
            Err(SendError::Retry(e)) => {
                tracing::warn!("alarm notification: {e}; retrying in {} s", backoff.as_secs());
                state.notifier.note_error(state.live.clock.now(), e);
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            }
            Err(fatal @ SendError::Fatal(_)) => return Err(fatal),
        };
        if state.live.clock.now() >= start {
            return Err(SendError::Retry("the play started before Discord took the message".into()));
        }
        if state.live.shutdown.is_cancelled() {
            return Err(SendError::Retry("the server shut down".into()));
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.live.shutdown.cancelled() => return Err(SendError::Retry("the server shut down".into())),
        }
        if state.live.clock.now() >= start {
            return Err(SendError::Retry("the play started before Discord took the message".into()));
        }
    }
}
