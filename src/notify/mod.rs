//! Alarms that ring: the notifier tells players on Discord, `alarm_lead_minutes` before a play
//! of a map they set an alarm on.
//!
//! One background task beside the poller ([`start`], stopped by its guard or at shutdown)
//! plans from the shared timetable: every upcoming play of an alarmed map whose reminder time
//! has come (the pure rule in [`due`]) is *claimed* in SQLite for its players
//! ([`crate::db::notifications`]) and then delivered, in its own task (`deliver`), as one
//! message per play ([`message`]) through the webhook ([`discord`]). Plays are keyed by their
//! identity (server, play number, map), so a projected start that moves by a second or a
//! minute is still the same play. Claiming first
//! makes each (player, map, play) ring once across restarts; an alarm set inside the lead time
//! rings at once (the sheet wakes the planner); a changed rotation is simply the next plan.
//!
//! A play rings only while it is still ahead as the backend sees it. So a play is skipped,
//! never rung late, when it starts while the backend is down, or when it starts before the
//! backend could see it coming (an admin skipped the map before it and the next poll found it
//! running). A play whose reminder time passed while the backend was down (or the game-server
//! API was unreachable, the timetable keeps projecting then) rings as soon as it is seen.
//!
//! Delivery retries 429s after Discord's `retry_after` and 5xx/timeouts with backoff, until the
//! play starts; a failing webhook never holds up the planner, the API or other plays'
//! messages. Each message's outcome is recorded for the accounts it told. Deliveries run on a
//! task tracker: at shutdown the ones in flight finish within `shutdown_grace_s` (no new retry
//! starts then) before the process exits.

mod deliver;
pub mod discord;
pub mod due;
pub mod finish_message;
pub mod finishes;
pub mod mentions;
pub mod message;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::db::{self, Db, DbError};
use crate::domain::{Edition, EventType};
use crate::live::LiveContext;
use discord::Webhook;
use due::{Claimed, MAX_SLEEP_S};
use message::{Notice, Recipient};

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
    /// Who the messages may ping.
    pub mentions: mentions::MentionRules,
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
    /// The deliveries under way (one task per play).
    deliveries: TaskTracker,
    /// The snapshot `seq` and instant the planner last planned for.
    planned: watch::Sender<(u64, DateTime<Utc>)>,
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
        let inner = Inner {
            webhook,
            wake: Notify::new(),
            deliveries: TaskTracker::new(),
            planned: watch::Sender::new((0, DateTime::<Utc>::MIN_UTC)),
            health: Mutex::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// The snapshot `seq` and instant the planner last planned for: a test that moves the
    /// clock waits for it before it expects the messages due by then.
    pub fn planned(&self) -> watch::Receiver<(u64, DateTime<Utc>)> {
        self.inner.planned.subscribe()
    }

    /// Plays whose messages are being delivered.
    pub fn pending(&self) -> usize {
        self.inner.deliveries.len()
    }

    /// At shutdown: lets the deliveries in flight finish, for at most `grace` (no new retry
    /// starts once the shutdown signal is out). `false` if some were still running then.
    pub async fn finish_deliveries(&self, grace: std::time::Duration) -> bool {
        self.inner.deliveries.close();
        let done = tokio::time::timeout(grace, self.inner.deliveries.wait()).await.is_ok();
        if !done {
            tracing::warn!("{} alarm notification(s) still being delivered at exit: given up", self.pending());
        }
        done
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
    pub fn health(&self) -> NotifierHealth {
        let h = self.inner.health.lock().unwrap_or_else(|e| e.into_inner()).clone();
        NotifierHealth {
            enabled: self.enabled(),
            last_sent: h.last_sent.map(rfc3339),
            pending: self.pending(),
            last_error: h.last_error.as_ref().map(|(_, e)| e.clone()),
            last_error_at: h.last_error.map(|(t, _)| rfc3339(t)),
        }
    }
}

/// The alarm notifier (never the webhook URL).
#[derive(Serialize, ToSchema)]
pub struct NotifierHealth {
    pub enabled: bool,
    pub last_sent: Option<String>,
    #[schema(value_type = i64)]
    pub pending: usize,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
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
    let mut claimed = Claimed::new();
    loop {
        let now = state.live.clock.now();
        let seq = state.live.live.snapshot().seq;
        let wake = match plan(&state, now, &mut claimed).await {
            Ok(wake) => wake,
            Err(e) => {
                tracing::error!("alarm notifications: planning failed: {e:#}");
                state.notifier.note_error(now, format!("planning failed: {e}"));
                now + Duration::seconds(MAX_SLEEP_S)
            }
        };
        state.notifier.inner.planned.send_replace((seq, now));
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

/// Claims remembered at most (then forgotten: the database still has them).
const MAX_REMEMBERED: usize = 100_000;

/// The players to tell, each with the id the mention rules let ring now (an id over its hourly
/// cap is listed by name).
async fn recipients<'a>(
    state: &NotifyContext,
    players: impl Iterator<Item = &'a db::alarms::Alarmed>,
    now: DateTime<Utc>,
) -> Result<Vec<Recipient>, DbError> {
    let rules = state.mentions;
    let mut out: Vec<Recipient> = players
        .map(|p| Recipient {
            user_id: p.user_id,
            name: p.username.clone(),
            mention: rules.candidate(&p.discord, p.discord_id.as_deref()),
        })
        .collect();
    let mut ids: Vec<String> = out.iter().filter_map(|r| r.mention.clone()).collect();
    ids.sort();
    ids.dedup();
    let allowed = state.db.run(move |c| rules.allow(c, &ids, now.timestamp())).await?;
    for r in &mut out {
        r.mention = r.mention.take().filter(|id| allowed.contains(id));
    }
    Ok(out)
}

/// One look at the timetable: claims what is due ([`due::due`]) and sends it, returns when to
/// look again.
async fn plan(state: &NotifyContext, now: DateTime<Utc>, claimed: &mut Claimed) -> Result<DateTime<Utc>, DbError> {
    let timetable = state.live.live.timetable(state.live.window, now);
    if timetable.servers.is_empty() {
        return Ok(timetable.now + Duration::seconds(MAX_SLEEP_S));
    }
    let (t, edition) = (state.eventtype, state.edition);
    let alarms = state.db.run(move |c| db::alarms::alarmed_users(c, t, edition)).await?;
    let due = due::due(&timetable, &alarms, state.lead, claimed);
    if due.plays.is_empty() {
        return Ok(due.wake);
    }
    let prune_before = (now - Duration::days(1)).timestamp();
    let authors: BTreeMap<i64, String> = state
        .db
        .run(move |c| {
            db::notifications::prune(c, prune_before)?;
            let sheet = db::maps::sheet(c, t, Some(edition.get()), None)?;
            Ok::<_, rusqlite::Error>(sheet.into_iter().map(|m| (m.kacky_id, m.author)).collect())
        })
        .await?;
    if claimed.len() > MAX_REMEMBERED {
        claimed.clear();
    }
    for play in due.plays {
        let key = play.key();
        let users: Vec<i64> = play.players.iter().map(|p| p.user_id).collect();
        let (tolerance, stamp) = (play.tolerance_s(), now.timestamp());
        let told = state.db.run(move |c| db::notifications::claim(c, &users, key, tolerance, stamp)).await?;
        claimed.extend(play.claims());
        if told.is_empty() {
            continue;
        }
        let recipients = recipients(state, play.players.into_iter().filter(|p| told.contains(&p.user_id)), now).await?;
        let notice = Notice {
            event_label: format!("{t}{edition}"),
            kacky_id: key.kacky_id,
            author: authors.get(&key.kacky_id).cloned().unwrap_or_default(),
            server: key.server,
            difficulty: match &play.server.difficulty {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            },
            start: play.play.start,
        };
        state.notifier.inner.deliveries.spawn(deliver::deliver(state.clone(), notice, recipients, key));
    }
    Ok(due.wake)
}
