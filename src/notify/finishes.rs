//! The finish poster: posts the finish feed's happenings to `discord_finish_webhook_url`, each
//! exactly once, also across restarts. One background task claims what waits in SQLite
//! ([`crate::db::finishes::claim_pending`]; a crash after the claim loses a message rather
//! than sending it twice, as with alarms), batches it into as few messages as Discord's limits
//! allow ([`super::finish_message`]) and marks each message's happenings sent or failed once it
//! is delivered. A 429 waits as Discord asks, 5xx and timeouts back off, for at most
//! [`GIVE_UP`]; other 4xx give up at once. It wakes when happenings are published, and looks
//! at least every minute.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::discord::{SendError, Webhook};
use super::finish_message::{bodies, line};
use super::mentions::MentionRules;
use crate::clock::Clock;
use crate::db::{self, Db, DbError};
use crate::domain::{Edition, EventType, FinishItem};
use crate::finishes::Finishes;

/// Happenings claimed at once.
const BATCH: i64 = 50;
/// How long one message is retried.
pub const GIVE_UP: StdDuration = StdDuration::from_secs(300);
/// The longest the poster sleeps without looking.
const MAX_SLEEP_S: i64 = 60;
/// Backoff between retries: doubles from 1 s up to this.
const MAX_BACKOFF: StdDuration = StdDuration::from_secs(30);

/// What the poster needs. Built from the application state with `From<&AppState>`.
#[derive(Clone)]
pub struct PosterContext {
    pub finishes: Finishes,
    pub db: Db,
    pub clock: Clock,
    pub shutdown: CancellationToken,
    /// The finish webhook; `None` = nothing is posted.
    pub webhook: Option<Webhook>,
    pub event: (EventType, Edition),
    pub mentions: MentionRules,
    /// The threads Discord is called on ([`crate::outbound`]).
    pub outbound: crate::outbound::Outbound,
}

/// Owns the poster task; dropping it stops it.
pub struct PosterGuard(Option<JoinHandle<()>>);

impl Drop for PosterGuard {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Starts the poster when the finish webhook is configured.
pub fn start(ctx: PosterContext) -> PosterGuard {
    let Some(webhook) = ctx.webhook.clone() else { return PosterGuard(None) };
    tracing::info!("finish feed: posting to the Discord finish webhook");
    PosterGuard(Some(tokio::spawn(run(ctx, webhook))))
}

async fn run(ctx: PosterContext, webhook: Webhook) {
    loop {
        let now = ctx.clock.now();
        let claimed = match ctx.db.run(move |c| db::finishes::claim_pending(c, BATCH, now)).await {
            Ok(items) => items,
            Err(e) => {
                tracing::error!("finish feed: cannot claim happenings: {e:#}");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                () = ctx.finishes.posted() => {}
                () = ctx.clock.sleep_until(now + Duration::seconds(MAX_SLEEP_S)) => {}
                () = ctx.shutdown.cancelled() => return,
            }
            continue;
        }
        if let Err(e) = post(&ctx, &webhook, claimed).await {
            tracing::error!("finish feed: {e:#}");
        }
        if ctx.shutdown.is_cancelled() {
            return;
        }
    }
}

/// Posts claimed happenings: builds the lines with their mentions, sends message by message.
async fn post(ctx: &PosterContext, webhook: &Webhook, items: Vec<FinishItem>) -> Result<(), DbError> {
    let (t, edition) = ctx.event;
    let label = format!("{t}{edition}");
    let rules = ctx.mentions;
    let logins: Vec<String> = items.iter().map(|i| i.login.clone()).collect();
    let now = ctx.clock.now().timestamp();
    let pings: BTreeMap<String, Vec<String>> = ctx
        .db
        .run(move |c| {
            let mut by_login: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for f in db::finishes::followers(c, t, &logins)? {
                if let Some(id) = rules.candidate(&f.discord, f.discord_id.as_deref()) {
                    let ids = by_login.entry(f.login).or_default();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            let mut all: Vec<String> = by_login.values().flatten().cloned().collect();
            all.sort();
            all.dedup();
            let allowed = rules.allow(c, &all, now)?;
            for ids in by_login.values_mut() {
                ids.retain(|id| allowed.contains(id));
            }
            Ok::<_, rusqlite::Error>(by_login)
        })
        .await?;
    let lines: Vec<(String, Vec<String>)> =
        items.iter().map(|i| (line(&label, i), pings.get(&i.login).cloned().unwrap_or_default())).collect();
    let mut rest = items.as_slice();
    for (body, n) in bodies(&lines) {
        let (these, later) = rest.split_at(n.min(rest.len()));
        rest = later;
        let outcome = send_with_retries(ctx, webhook, body).await;
        let at = ctx.clock.now();
        let sent = outcome.is_ok();
        crate::metrics::finish_feed_delivery(if sent { "sent" } else { "failed" });
        match &outcome {
            Ok(()) => ctx.finishes.note_discord(at, Ok(())),
            Err(e) => {
                tracing::warn!("finish feed: {} happening(s) not posted, giving up: {e}", these.len());
                ctx.finishes.note_discord(at, Err(e.to_string()));
            }
        }
        let ids: Vec<i64> = these.iter().map(|i| i.id).collect();
        ctx.db.run(move |c| db::finishes::delivered(c, &ids, sent, at)).await?;
    }
    Ok(())
}

/// One message: 429 waits as Discord asks, 5xx and timeouts back off, for [`GIVE_UP`] at
/// most; other 4xx give up at once.
async fn send_with_retries(ctx: &PosterContext, webhook: &Webhook, body: Value) -> Result<(), SendError> {
    let body = Arc::new(body);
    let deadline = tokio::time::Instant::now() + GIVE_UP;
    let mut backoff = StdDuration::from_secs(1);
    loop {
        let (hook, b) = (webhook.clone(), body.clone());
        let result = ctx
            .outbound
            .run(crate::outbound::Service::Discord, move || hook.post(&b))
            .await
            .unwrap_or_else(|e| Err(SendError::Retry(e.to_string())));
        let wait = match result {
            Ok(()) => return Ok(()),
            Err(SendError::RateLimited(wait)) => wait,
            Err(SendError::Retry(e)) => {
                ctx.finishes.note_discord(ctx.clock.now(), Err(e));
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            }
            Err(fatal @ SendError::Fatal(_)) => return Err(fatal),
        };
        if tokio::time::Instant::now() + wait > deadline {
            return Err(SendError::Retry(format!("Discord did not take the message within {} s", GIVE_UP.as_secs())));
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = ctx.shutdown.cancelled() => return Err(SendError::Retry("the server shut down".into())),
        }
    }
}
