//! [`Live`]: the cheap-to-clone handle on the live state kept in `AppState`: the lineup, the
//! published snapshots, the shared timetable, the `/live` change channel, the answer source
//! and how far the background tasks have got.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use super::lineup::Lineup;
use super::slots::Track;
use super::source::Source;
use super::state::{LiveSnapshot, MapChange, CHANGES_BUFFER};
use super::timetable::Timetable;
use crate::config::Settings;
use crate::event::EventWindow;

/// Cheap-to-clone handle on the live state, kept in `AppState`.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

struct Inner {
    lineup: Lineup,
    /// The event label (`KK7`) the tracks are stored under.
    event: String,
    /// Map changes for `/live` subscribers, sent by [`super::feed`].
    changes: tokio::sync::broadcast::Sender<MapChange>,
    /// The last timetable built: for which snapshot `seq` and which second.
    timetable: std::sync::Mutex<Option<(u64, i64, Arc<Timetable>)>>,
    tx: watch::Sender<Arc<LiveSnapshot>>,
    /// Serialises polls (the background task and [`super::poller::poll_now`]).
    poll_lock: tokio::sync::Mutex<()>,
    source: Source,
    /// The snapshot `seq` and instant the live feed last looked at.
    feed_seen: watch::Sender<(u64, DateTime<Utc>)>,
}

impl Live {
    /// Nothing observed yet; the tracks kept from before (by server number, see
    /// [`crate::db::tracks`]) give the play numbering and the slots learned so far. Answers will
    /// come from the simulator (testing mode) or the API.
    pub fn new(lineup: Lineup, settings: &Settings, window: Option<EventWindow>, stored: Vec<(i64, Track)>) -> Self {
        let tracks = lineup
            .servers
            .iter()
            .map(|s| stored.iter().find(|(n, _)| *n == s.number).map(|(_, t)| t.clone()))
            .collect();
        let (tx, _) = watch::channel(Arc::new(LiveSnapshot::restored(&lineup, tracks)));
        let source = Source::new(settings, &lineup, window);
        let (changes, _) = tokio::sync::broadcast::channel(CHANGES_BUFFER);
        let inner = Inner {
            event: format!("{}{}", settings.eventtype, settings.edition),
            lineup,
            changes,
            timetable: std::sync::Mutex::new(None),
            tx,
            poll_lock: tokio::sync::Mutex::new(()),
            source,
            feed_seen: watch::Sender::new((0, DateTime::<Utc>::MIN_UTC)),
        };
        Self { inner: Arc::new(inner) }
    }

    /// The event label the tracks are stored under.
    pub fn event(&self) -> &str {
        &self.inner.event
    }

    /// Map changes from now on. A subscriber more than [`CHANGES_BUFFER`] changes behind is
    /// told it lagged (and `/live` drops it): nobody waits for a slow reader.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<MapChange> {
        self.inner.changes.subscribe()
    }

    /// Only the live feed task calls this; nobody listening is fine.
    pub(super) fn announce(&self, change: MapChange) {
        let _ = self.inner.changes.send(change);
    }

    /// The live feed has announced everything up to this snapshot and instant.
    pub(super) fn feed_looked(&self, seq: u64, now: DateTime<Utc>) {
        self.inner.feed_seen.send_replace((seq, now));
    }

    /// The snapshot `seq` and instant the live feed last looked at: a test that moves the
    /// clock waits for it before it expects the feed's changes.
    pub fn feed_progress(&self) -> watch::Receiver<(u64, DateTime<Utc>)> {
        self.inner.feed_seen.subscribe()
    }

    /// The timetable for `now`, built at most once per second and snapshot and shared by all
    /// callers (the lock is held while building, so concurrent misses build it once).
    pub fn timetable(&self, window: Option<EventWindow>, now: DateTime<Utc>) -> Arc<Timetable> {
        let snapshot = self.snapshot();
        let mut slot = self.inner.timetable.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seq, second, tt)) = slot.as_ref() {
            if *seq == snapshot.seq && *second == now.timestamp() {
                return tt.clone();
            }
        }
        let tt = Arc::new(Timetable::build(&self.inner.lineup, &snapshot, window, now));
        *slot = Some((snapshot.seq, now.timestamp(), tt.clone()));
        tt
    }

    /// Resolves when the poller publishes a new snapshot.
    pub fn watch(&self) -> watch::Receiver<Arc<LiveSnapshot>> {
        self.inner.tx.subscribe()
    }

    /// The servers and playlists resolved at start (fixed for the process's life).
    pub fn lineup(&self) -> &Lineup {
        &self.inner.lineup
    }

    /// The latest published state.
    pub fn snapshot(&self) -> Arc<LiveSnapshot> {
        self.inner.tx.borrow().clone()
    }

    pub(super) fn source(&self) -> &Source {
        &self.inner.source
    }

    pub(super) async fn lock_poll(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.poll_lock.lock().await
    }

    pub(super) fn try_lock_poll(&self) -> Result<tokio::sync::MutexGuard<'_, ()>, tokio::sync::TryLockError> {
        self.inner.poll_lock.try_lock()
    }

    /// Only the poller calls this.
    pub(super) fn publish(&self, snapshot: LiveSnapshot) {
        self.inner.tx.send_replace(Arc::new(snapshot));
    }

    /// The `gameserver` part of `/healthz`: when the last poll ran, its error, and per server
    /// the age of its last good state, why the last answer had nothing for it, and the slot
    /// learned so far (with the change time and how many changes it was learned from).
    pub fn health(&self, now: DateTime<Utc>) -> GameserverHealth {
        let snap = self.snapshot();
        let iso = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
        let servers = self
            .lineup()
            .servers
            .iter()
            .zip(&snap.servers)
            .map(|(server, live)| ServerHealth {
                name: server.name.clone(),
                number: server.number,
                age_s: live.observed.as_ref().map(|o| now.signed_duration_since(o.at).num_seconds().max(0)),
                last_error: live.last_error.clone(),
                slot_s: live.slot_ms as f64 / 1000.0,
                change_s: live.change_ms as f64 / 1000.0,
                changes_seen: live.track.as_ref().map_or(0, |t| t.changes_ms.len()),
            })
            .collect();
        GameserverHealth {
            source: self.inner.source.describe(),
            last_poll: iso(snap.last_poll),
            last_ok: iso(snap.last_ok),
            last_error: snap.last_error.clone(),
            servers,
        }
    }
}

/// The game-server polls.
#[derive(Serialize, ToSchema)]
pub struct GameserverHealth {
    /// Where the states come from (the API URL, or the simulated servers of testing mode)
    pub source: String,
    pub last_poll: Option<String>,
    pub last_ok: Option<String>,
    pub last_error: Option<String>,
    pub servers: Vec<ServerHealth>,
}

/// One configured server.
#[derive(Serialize, ToSchema)]
pub struct ServerHealth {
    pub name: String,
    pub number: i64,
    /// Seconds since its last good state (`null`: none yet)
    pub age_s: Option<i64>,
    /// Why the last answer had nothing for it
    pub last_error: Option<String>,
    /// The learned slot: time limit plus change time, seconds
    pub slot_s: f64,
    /// The learned change time between maps, seconds
    pub change_s: f64,
    /// How many map changes it was learned from
    #[schema(value_type = i64)]
    pub changes_seen: usize,
}
