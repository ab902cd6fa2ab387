//! Alarms that ring: the notifier tells players on Discord, `alarm_lead_minutes` before a play
//! of a map they set an alarm on.
//!
//! One background task beside the poller ([`start`], stopped by its guard or at shutdown)
//! plans from the shared timetable: every upcoming play of an alarmed map whose reminder time
//! has come is *claimed* in SQLite for its players ([`crate::db::notifications`]) and then
//! delivered, in its own task, as one message per play ([`message`]) through the webhook
//! ([`discord`]). Claiming first makes each (player, map, play) ring once across restarts; a
//! play that started while the backend was down is never due (only plays still ahead are); an
//! alarm set inside the lead time rings at once (the sheet wakes the planner); a changed
//! rotation is simply the next plan. Delivery retries 429s after Discord's `retry_after` and
//! 5xx/timeouts with backoff, until the play starts; a failing webhook never holds up the
//! planner, the API or other plays' messages.

pub mod discord;
pub mod finish_message;
pub mod finishes;
pub mod mentions;
pub mod message;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::clock::rfc3339;
use crate::db::notifications::{PlayKey, State};
use crate::db::{self, Db, DbError};
use crate::domain::{Edition, EventType};
use crate::live::LiveContext;
use discord::{SendError, Webhook};
use message::{Notice, Recipient};

/// The longest the planner sleeps without looking again.
const MAX_SLEEP_S: i64 = 60;
/// Backoff between retries of a failing delivery: doubles from 1 s up to this.
const MAX_BACKOFF: StdDuration = StdDuration::from_secs(30);

/// What the notifier needs, and nothing else: what the live tasks get (live state, clock, event
/// window, shutdown signal), the event it plans for, the database of claims and alarms and its
/// own handle. Built from the application state with `From<&AppState>` (in `api::state`), so
/// `notify` never sees the rest.
#[derive(Clone)]
pub struct NotifyContext {
    pub live: LiveContext,
    pub db: Db,
    pub notifier: Notifier,
    pub eventtype: EventType,
    pub edition: Edition,
    /// `alarm_lead_minutes`.
    pub lead: Duration,
}

/// Handle on the notifier's shared state, kept in `AppState`.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    webhook: Option<Webhook>,
    /// Wakes the planner (an alarm was set).
    wake: Notify,
    /// Plays whose message is being delivered.
    in_flight: AtomicUsize,
    health: Mutex<Health>,
}

#[derive(Default, Clone)]
struct Health {
    last_sent: Option<DateTime<Utc>>,
    last_error: Option<(DateTime<Utc>, String)>,
}

impl Notifier {
    /// On when `discord_webhook_url` is set.
    pub fn new(webhook_url: &str) -> Self {
        let webhook = (!webhook_url.is_empty()).then(|| Webhook::new(webhook_url));
        let inner = Inner { webhook, wake: Notify::new(), in_flight: AtomicUsize::new(0), health: Mutex::default() };
        Self { inner: Arc::new(inner) }
    }

    pub fn enabled(&self) -> bool {
        self.inner.webhook.is_some()
    }

    /// Tells the planner that alarms changed, so one set inside the lead time rings at once.
    pub fn alarms_changed(&self) {
        self.inner.wake.notify_one();
    }

    fn note_error(&self, at: DateTime<Utc>, error: String) {
        self.inner.health.lock().unwrap_or_else(|e| e.into_inner()).last_error = Some((at, error));
    }

    /// The `notifier` part of `/healthz` (never the webhook URL).
    pub fn health(&self) -> Value {
        let h = self.inner.health.lock().unwrap_or_else(|e| e.into_inner()).clone();
        json!({
            "enabled": self.enabled(),
            "last_sent": h.last_sent.map(rfc3339),
            "pending": self.inner.in_flight.load(Ordering::Relaxed),
            "last_error": h.last_error.as_ref().map(|(_, e)| e.clone()),
            "last_error_at": h.last_error.map(|(t, _)| rfc3339(t)),
        })
    }
}

/// Owns the planner task; dropping it stops the planning (deliveries under way finish).
pub struct NotifierGuard(Option<JoinHandle<()>>);

impl Drop for NotifierGuard {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Starts the planner when a webhook is configured and there are game servers.
pub fn start(state: NotifyContext) -> NotifierGuard {
    if !state.notifier.enabled() || state.live.live.lineup().servers.is_empty() {
        return NotifierGuard(None);
    }
    tracing::info!(
        "alarm notifications on: Discord messages {} minutes before alarmed maps come up",
        state.lead.num_minutes()
    );
    NotifierGuard(Some(tokio::spawn(run(state))))
}

async fn run(state: NotifyContext) {
    let mut snapshots = state.live.live.watch();
    loop {
        let now = state.live.clock.now();
        let wake = match plan(&state, now).await {
            Ok(wake) => wake,
            Err(e) => {
                tracing::error!("alarm notifications: planning failed: {e:#}");
                state.notifier.note_error(now, format!("planning failed: {e}"));
                now + Duration::seconds(MAX_SLEEP_S)
            }
        };
        tokio::select! {
            () = state.live.clock.sleep_until(wake) => {}
            () = state.notifier.inner.wake.notified() => {}
            changed = snapshots.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = state.live.shutdown.cancelled() => return,
        }
    }
}

/// One look at the timetable: sends what is due, returns when to look again.
async fn plan(state: &NotifyContext, now: DateTime<Utc>) -> Result<DateTime<Utc>, DbError> {
    let timetable = state.live.live.timetable(state.live.window, now);
    let mut wake = timetable.now + Duration::seconds(MAX_SLEEP_S);
    if timetable.servers.is_empty() {
        return Ok(wake);
    }
    let (t, edition) = (state.eventtype, state.edition);
    let prune_before = (now - Duration::days(1)).timestamp();
    let (alarms, authors) = state
        .db
        .run(move |c| {
            db::notifications::prune(c, prune_before)?;
            let authors: BTreeMap<i64, String> =
                db::maps::sheet(c, t, Some(edition.get()), None)?.into_iter().map(|m| (m.kacky_id, m.author)).collect();
            Ok::<_, rusqlite::Error>((db::alarms::alarmed_users(c, t, edition)?, authors))
        })
        .await?;
    let mut by_map: BTreeMap<i64, Vec<db::alarms::Alarmed>> = BTreeMap::new();
    for a in alarms {
        by_map.entry(a.kacky_id).or_default().push(a);
    }
    let lead = state.lead;
    for server in &timetable.servers {
        for play in server.plays.iter().filter(|p| p.start > timetable.now) {
            let Some(players) = by_map.get(&play.kacky_id) else { continue };
            let due = play.start - lead;
            if due > timetable.now {
                wake = wake.min(due);
                continue;
            }
            let key = PlayKey { kacky_id: play.kacky_id, server: server.number, start: play.start.timestamp() };
            let users: Vec<i64> = players.iter().map(|p| p.user_id).collect();
            let tolerance = (server.timelimit_s / 2).max(1);
            let stamp = now.timestamp();
            let claimed = state.db.run(move |c| db::notifications::claim(c, &users, key, tolerance, stamp)).await?;
            if claimed.is_empty() {
                continue;
            }
            let recipients: Vec<Recipient> = players
                .iter()
                .filter(|p| claimed.contains(&p.user_id))
                .map(|p| Recipient { name: p.username.clone(), discord: p.discord.clone() })
                .collect();
            let notice = Notice {
                event_label: format!("{t}{edition}"),
                kacky_id: play.kacky_id,
                author: authors.get(&play.kacky_id).cloned().unwrap_or_default(),
                server: server.number,
                difficulty: match &server.difficulty {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => String::new(),
                },
                start: play.start,
            };
            tokio::spawn(deliver(state.clone(), notice, recipients, claimed, key));
        }
    }
    Ok(wake)
}

/// Sends one play's messages, retrying until the play starts, and records the outcome.
async fn deliver(state: NotifyContext, notice: Notice, recipients: Vec<Recipient>, users: Vec<i64>, key: PlayKey) {
    let Some(webhook) = state.notifier.inner.webhook.clone() else { return };
    let notifier = state.notifier.clone();
    notifier.inner.in_flight.fetch_add(1, Ordering::Relaxed);
    let mut outcome = Ok(());
    for body in message::bodies(&notice, &recipients) {
        outcome = send_with_retries(&state, &webhook, body, notice.start).await;
        if outcome.is_err() {
            break;
        }
    }
    let now = state.live.clock.now();
    let final_state = match &outcome {
        Ok(()) => {
            notifier.inner.health.lock().unwrap_or_else(|e| e.into_inner()).last_sent = Some(now);
            tracing::info!(
                "alarm for {} #{} on server {} sent to {} player(s)",
                notice.event_label,
                notice.kacky_id,
                notice.server,
                users.len()
            );
            State::Sent
        }
        Err(e) => {
            tracing::warn!(
                "alarm for {} #{} on server {} not delivered, giving up: {e}",
                notice.event_label,
                notice.kacky_id,
                notice.server
            );
            notifier.note_error(now, format!("{} #{}: {e}", notice.event_label, notice.kacky_id));
            State::Failed
        }
    };
    let stamp = now.timestamp();
    if let Err(e) = state.db.run(move |c| db::notifications::finish(c, &users, key, final_state, stamp)).await {
        tracing::error!("alarm notifications: cannot record a delivery: {e:#}");
    }
    notifier.inner.in_flight.fetch_sub(1, Ordering::Relaxed);
}

/// One message: 429 waits as Discord asks, 5xx and timeouts back off; both only while the play
/// has not started. Other 4xx give up at once.
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
        let result = tokio::task::spawn_blocking(move || hook.post(&b))
            .await
            .unwrap_or_else(|e| Err(SendError::Retry(format!("the delivery task failed: {e}"))));
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
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.live.shutdown.cancelled() => return Err(SendError::Retry("the server shut down".into())),
        }
        if state.live.clock.now() >= start {
            return Err(SendError::Retry("the play started before Discord took the message".into()));
        }
    }
}
