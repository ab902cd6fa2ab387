//! The finish feed: who finished what, who improved, new world records and finish-count
//! milestones during the event, noticed once for everyone instead of by every community bot.
//!
//! The follower ([`follower`], one background task owned by [`FollowerGuard`]) polls the
//! records API during the event window within `records_rate_per_min` requests a minute
//! ([`budget`]): each followed player's personal bests of the current edition, and for KR the
//! per-map leaderboards (world records). A poll is compared with what was known ([`diff`]),
//! new happenings are stored in SQLite ([`crate::db::finishes`]) and published here: to
//! `/live` subscribers ([`Finishes::subscribe`]) and to the Discord finish poster
//! ([`crate::notify::finishes`]), which posts each exactly once. World records sent by the
//! records updater (`PUT /manage/worldrecords/…`) take the same path ([`wr::record`]).

pub mod budget;
pub mod diff;
pub mod follower;
pub mod wr;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{broadcast, Notify};
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::domain::{EventType, FinishItem};

pub use follower::{start, FollowContext, FollowerGuard};

/// Happenings kept for `/live` subscribers that are behind.
const ITEMS_BUFFER: usize = 256;

/// Whether the records API keeps the event type's records (and so: whether it is followed;
/// KX is not).
pub fn follows(t: EventType) -> bool {
    t.in_records_api()
}

/// Whether the records API has per-map leaderboards of the event type: only KR (KK answers
/// "not yet implemented" there, and its `/wrs` query is broken, so KK world records come from
/// the records updater alone).
pub fn wr_lookups(t: EventType) -> bool {
    t == EventType::Kr
}

/// The players the no-config demo follows, so its feed moves (the testing fixtures know them).
pub const DEMO_PLAYERS: [&str; 3] = ["plastorex", "simo_900", "amgreborn"];

/// In the demo, follows [`DEMO_PLAYERS`] unless an admin list exists already.
pub fn follow_demo_players(conn: &mut rusqlite::Connection, now: DateTime<Utc>) -> rusqlite::Result<()> {
    if crate::db::finishes::admin_followed(conn)?.is_empty() {
        let logins: Vec<String> = DEMO_PLAYERS.iter().map(|l| (*l).to_owned()).collect();
        crate::db::finishes::set_admin_followed(conn, &logins, now)?;
    }
    Ok(())
}

/// Handle on the feed's shared state, kept in `AppState`: the channel to `/live`, the wake-ups
/// of the follower and of the Discord poster, and the health facts.
#[derive(Clone)]
pub struct Finishes {
    inner: Arc<Inner>,
}

struct Inner {
    items: broadcast::Sender<FinishItem>,
    /// Wakes the Discord poster (happenings are waiting).
    posted: Notify,
    /// Wakes the follower (the followed players changed).
    followed: Notify,
    /// `records_rate_per_min`.
    rate_per_min: u32,
    /// Whether happenings go to the Discord finish webhook.
    to_discord: bool,
    health: Mutex<Health>,
}

#[derive(Default, Clone)]
struct Health {
    running: bool,
    players: usize,
    maps: usize,
    /// When the last requests were sent (clock time), for `requests_last_minute`.
    requests: VecDeque<DateTime<Utc>>,
    last_poll: Option<DateTime<Utc>>,
    last_ok: Option<DateTime<Utc>>,
    last_error: Option<(DateTime<Utc>, String)>,
    discord_sent: Option<DateTime<Utc>>,
    discord_error: Option<(DateTime<Utc>, String)>,
}

impl Finishes {
    pub fn new(rate_per_min: u32, to_discord: bool) -> Self {
        let (items, _) = broadcast::channel(ITEMS_BUFFER);
        let inner = Inner {
            items,
            posted: Notify::new(),
            followed: Notify::new(),
            rate_per_min: rate_per_min.max(1),
            to_discord,
            health: Mutex::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Whether new happenings wait for the Discord finish webhook.
    pub fn to_discord(&self) -> bool {
        self.inner.to_discord
    }

    pub fn rate_per_min(&self) -> u32 {
        self.inner.rate_per_min
    }

    /// Happenings from now on. A subscriber more than 256 behind is dropped.
    pub fn subscribe(&self) -> broadcast::Receiver<FinishItem> {
        self.inner.items.subscribe()
    }

    /// Sends stored happenings to `/live` and wakes the Discord poster.
    pub fn publish(&self, items: impl IntoIterator<Item = FinishItem>) {
        let mut any = false;
        for item in items {
            any = true;
            // No subscriber is no error.
            let _ = self.inner.items.send(item);
        }
        if any && self.inner.to_discord {
            self.inner.posted.notify_one();
        }
    }

    /// Tells the follower that the followed players changed (an admin's list, an opt-in).
    pub fn followed_changed(&self) {
        self.inner.followed.notify_one();
    }

    pub(crate) async fn posted(&self) {
        self.inner.posted.notified().await;
    }

    pub(crate) async fn followed_notified(&self) {
        self.inner.followed.notified().await;
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.inner.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn note_running(&self, running: bool, players: usize, maps: usize) {
        let mut h = self.health();
        (h.running, h.players, h.maps) = (running, players, maps);
    }

    /// A request was sent at `at` and ended with `outcome`.
    pub(crate) fn note_request(&self, at: DateTime<Utc>, outcome: Result<(), String>) {
        let mut h = self.health();
        h.requests.push_back(at);
        while h.requests.front().is_some_and(|t| at - *t >= chrono::Duration::minutes(1)) {
            h.requests.pop_front();
        }
        h.last_poll = Some(at);
        match outcome {
            Ok(()) => h.last_ok = Some(at),
            Err(e) => h.last_error = Some((at, e)),
        }
    }

    pub(crate) fn note_discord(&self, at: DateTime<Utc>, outcome: Result<(), String>) {
        let mut h = self.health();
        match outcome {
            Ok(()) => h.discord_sent = Some(at),
            Err(e) => h.discord_error = Some((at, e)),
        }
    }

    /// Requests sent in the minute before `now` (clock time).
    pub fn requests_last_minute(&self, now: DateTime<Utc>) -> usize {
        self.health().requests.iter().filter(|t| now - **t < chrono::Duration::minutes(1)).count()
    }

    /// The worst-case delays (finish, world record) at the current queue sizes.
    pub fn worst_case(&self) -> (Duration, Duration) {
        let h = self.health();
        let (rate, request) = (self.inner.rate_per_min, crate::records::TIMEOUT);
        (
            budget::worst_case_delay(h.players, h.maps, rate, request),
            budget::worst_case_delay(h.maps, h.players, rate, request),
        )
    }

    /// The `finishes` part of `/healthz` (never the webhook URL); `pending` is the number of
    /// happenings waiting for Discord.
    pub fn health_report(&self, now: DateTime<Utc>, pending: i64) -> FinishesHealth {
        let (finish, wr) = self.worst_case();
        let requests_last_minute = self.requests_last_minute(now);
        let h = self.health().clone();
        let err = |e: &Option<(DateTime<Utc>, String)>| e.as_ref().map(|(_, m)| m.clone());
        let err_at = |e: &Option<(DateTime<Utc>, String)>| e.as_ref().map(|(t, _)| rfc3339(*t));
        FinishesHealth {
            running: h.running,
            following: h.players,
            wr_maps: h.maps,
            rate_per_min: self.inner.rate_per_min,
            requests_last_minute,
            worst_case_delay_s: WorstCase { finish: finish.as_secs(), wr: wr.as_secs() },
            last_poll: h.last_poll.map(rfc3339),
            last_ok: h.last_ok.map(rfc3339),
            last_error: err(&h.last_error),
            last_error_at: err_at(&h.last_error),
            discord: FinishDiscordHealth {
                enabled: self.inner.to_discord,
                pending,
                last_sent: h.discord_sent.map(rfc3339),
                last_error: err(&h.discord_error),
                last_error_at: err_at(&h.discord_error),
            },
        }
    }
}

/// The finish follower and its Discord poster (never the webhook URL).
#[derive(Serialize, ToSchema)]
pub struct FinishesHealth {
    /// Whether the follower is polling (the event window is open)
    pub running: bool,
    /// Players in its current walk (opted-in accounts and the admin's list)
    #[schema(value_type = i64)]
    pub following: usize,
    /// Maps whose world record it looks up (KR only)
    #[schema(value_type = i64)]
    pub wr_maps: usize,
    /// `records_rate_per_min`: requests a minute at most, in all
    #[schema(value_type = i64)]
    pub rate_per_min: u32,
    /// Requests sent in the last minute
    #[schema(value_type = i64)]
    pub requests_last_minute: usize,
    /// The longest a finish or a world record waits before its poll, at this rate and these
    /// queue sizes (plus a request's 5 s timeout)
    pub worst_case_delay_s: WorstCase,
    pub last_poll: Option<String>,
    pub last_ok: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub discord: FinishDiscordHealth,
}

/// Worst-case delays in seconds.
#[derive(Serialize, ToSchema)]
pub struct WorstCase {
    #[schema(value_type = i64)]
    pub finish: u64,
    #[schema(value_type = i64)]
    pub wr: u64,
}

/// The finish webhook.
#[derive(Serialize, ToSchema)]
pub struct FinishDiscordHealth {
    pub enabled: bool,
    /// Happenings waiting to be posted
    pub pending: i64,
    pub last_sent: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}
