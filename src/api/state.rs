//! [`AppState`]: what every handler may need, behind one `Arc` (every extractor clones the
//! state, so a clone is one atomic increment). State that belongs to one handler module stays
//! in that module.

use std::sync::Arc;

use super::ApiError;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::event::EventWindow;

/// Everything a handler may need; the fields are [`AppStateInner`]'s, reached through `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl AppState {
    pub fn new(inner: AppStateInner) -> Self {
        Self(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// The fields of [`AppState`].
pub struct AppStateInner {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub clock: Clock,
    /// The current event's window (the testing window in testing mode).
    pub window: Option<EventWindow>,
    /// The live game-server state ([`crate::live`]); the poller is its only writer.
    pub live: crate::live::Live,
    pub jwt: Arc<crate::auth::Jwt>,
    pub limiter: Arc<crate::ratelimit::RateLimiter>,
    pub mailer: Arc<crate::mail::Mailer>,
    /// The records API and the look-ups built on it.
    pub records: Arc<crate::records::Records>,
    /// Computed answers (see [`super::cache`]).
    pub cache: Arc<super::cache::ResponseCache>,
    /// Token revocation and accounts, kept in memory for the auth extractors.
    pub sessions: Arc<super::sessions::Sessions>,
    /// Threads for outgoing HTTP calls, per upstream service ([`crate::outbound`]).
    pub outbound: crate::outbound::Outbound,
    /// Threads for argon2 work.
    pub hasher: Arc<crate::hashpool::HashPool>,
    /// An argon2id hash that logins of unknown names are verified against, so they take as
    /// long as real ones. Computed at start-up, off the runtime.
    pub dummy_hash: Arc<str>,
    /// Alarm notifications (Discord), woken when alarms change.
    pub notifier: crate::notify::Notifier,
    /// The Discord account link (OAuth2), when configured.
    pub oauth: Option<Arc<crate::oauth::DiscordOAuth>>,
    /// The finish feed: `/live` subscribers, the Discord poster, its health.
    pub finishes: crate::finishes::Finishes,
    /// The open `/live` streams, capped in all and per client ([`super::streams`]).
    pub live_streams: Arc<super::streams::StreamSlots>,
    /// Cancelled when the server shuts down: `/live` streams and background tasks end.
    pub shutdown: tokio_util::sync::CancellationToken,
}

/// `Retry-After` of a 503 for a full hashing queue: the queue holds about a second or two of work.
pub const HASH_RETRY_AFTER_S: i64 = 2;

impl AppState {
    /// Runs CPU-heavy password hashing on the dedicated hashing threads (see
    /// [`crate::hashpool`]), so a login storm can neither starve the async runtime nor balloon
    /// memory. A full queue is a 503 with `Retry-After` ([`ApiError::Busy`]).
    pub async fn hash<T: Send + 'static>(
        &self,
        kind: crate::hashpool::Kind,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        use crate::workers::RunError;
        match self.hasher.run(kind, f).await {
            Ok(v) => Ok(v),
            Err(RunError::Full) => {
                tracing::debug!("password hashing queue full ({kind:?}): answering 503");
                Err(ApiError::Busy { what: "password hashing", retry_after_s: HASH_RETRY_AFTER_S })
            }
            Err(RunError::Gone) => Err(ApiError::internal(anyhow::anyhow!("the password hashing threads are gone"))),
        }
    }

    /// Who Discord messages may ping: only verified ids when the account link is configured.
    pub fn mention_rules(&self) -> crate::notify::mentions::MentionRules {
        crate::notify::mentions::MentionRules {
            verified_only: self.oauth.is_some(),
            per_hour: self.settings.discord_mentions_per_hour,
        }
    }

    /// Whether the current event's window is open at `now`.
    pub fn event_running(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.window.is_some_and(|w| w.is_active(now))
    }
}

/// The live tasks' share of the state: they get only what they need.
impl From<&AppState> for crate::live::LiveContext {
    fn from(s: &AppState) -> Self {
        Self {
            live: s.live.clone(),
            clock: s.clock.clone(),
            window: s.window,
            interval: std::time::Duration::from_secs(s.settings.poll_interval_s),
            shutdown: s.shutdown.clone(),
            outbound: s.outbound.clone(),
            db: s.db.clone(),
        }
    }
}

/// The notifier's share of the state.
impl From<&AppState> for crate::notify::NotifyContext {
    fn from(s: &AppState) -> Self {
        Self {
            live: s.into(),
            db: s.db.clone(),
            notifier: s.notifier.clone(),
            eventtype: s.settings.eventtype,
            edition: s.settings.edition,
            lead: chrono::Duration::minutes(s.settings.alarm_lead_minutes),
            mentions: s.mention_rules(),
        }
    }
}

/// The finish follower's share of the state.
impl From<&AppState> for crate::finishes::FollowContext {
    fn from(s: &AppState) -> Self {
        let cache = s.cache.clone();
        let t = s.settings.eventtype;
        Self {
            finishes: s.finishes.clone(),
            records: s.records.client.clone(),
            db: s.db.clone(),
            clock: s.clock.clone(),
            window: s.window,
            shutdown: s.shutdown.clone(),
            event: (t, s.settings.edition),
            milestones: s.settings.finish_milestones.clone().into(),
            follows: crate::finishes::follows(t),
            wr_lookups: crate::finishes::wr_lookups(t),
            data_changed: std::sync::Arc::new(move || cache.invalidate()),
            outbound: s.outbound.clone(),
        }
    }
}

/// The finish poster's share of the state.
impl From<&AppState> for crate::notify::finishes::PosterContext {
    fn from(s: &AppState) -> Self {
        let url = s.settings.discord_finish_webhook_url.expose();
        Self {
            finishes: s.finishes.clone(),
            db: s.db.clone(),
            clock: s.clock.clone(),
            shutdown: s.shutdown.clone(),
            webhook: (!url.is_empty()).then(|| crate::notify::discord::Webhook::new(url)),
            event: (s.settings.eventtype, s.settings.edition),
            mentions: s.mention_rules(),
            outbound: s.outbound.clone(),
        }
    }
}
