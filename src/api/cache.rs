//! One cache for computed answers (moka): serialized JSON bodies with their ETag, and the
//! current event's sheet rows that several live answers share. An entry's key says everything
//! the answer depends on, so nothing is ever invalidated by hand:
//!
//! - the *data generation*, bumped by every admin write to events, maps or world records
//!   ([`ResponseCache::invalidate`]);
//! - for live answers, the live snapshot's sequence number and the second;
//! - for a logged-in caller's answer, the user id and that user's *write version*, bumped by
//!   their own writes ([`ResponseCache::user_wrote`]).
//!
//! A key is read *before* its answer is computed, so a write during the computation files the
//! result under a key nobody asks for any more: never a stale hit. Concurrent misses of one
//! key compute once. Entries expire after [`TTL`] (edits made outside this process, like
//! another `import-mysql`, show up without a restart) and the whole cache is bounded in bytes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;

use super::response::SharedJson;
use super::ApiError;
use crate::db::maps::MapRow;
use crate::db::{self, Db};
use crate::domain::{Edition, EventType};

/// How long an entry may be served at most.
pub const TTL: Duration = Duration::from_secs(10);
/// Most bytes of answers kept.
const ANSWER_BYTES: u64 = 8 * 1024 * 1024;
/// Most sheet-row sets kept (one per event type and edition in use).
const ROW_SETS: u64 = 64;

/// What an answer depends on, besides its route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    route: String,
    generation: u64,
    /// (live snapshot seq, unix second) for answers that move with the live event.
    live: Option<(u64, i64)>,
    /// (user id, write version) for a logged-in caller's own answer.
    user: Option<(i64, u64)>,
}

/// The shared cache; one per process, in `AppState`.
pub struct ResponseCache {
    generation: AtomicU64,
    answers: moka::future::Cache<Key, SharedJson>,
    rows: moka::future::Cache<(EventType, Edition, u64), Arc<Vec<MapRow>>>,
    /// Each user's write version (absent = 0); only grows, so it is never wrong to keep it.
    versions: RwLock<HashMap<i64, u64>>,
    next_version: AtomicU64,
}

impl Default for ResponseCache {
    fn default() -> Self {
        let answers = moka::future::Cache::builder()
            .max_capacity(ANSWER_BYTES)
            .weigher(|k: &Key, v: &SharedJson| u32::try_from(k.route.len() + v.body.len() + 64).unwrap_or(u32::MAX))
            .time_to_live(TTL)
            .build();
        let rows = moka::future::Cache::builder().max_capacity(ROW_SETS).time_to_live(TTL).build();
        Self {
            generation: AtomicU64::new(0),
            answers,
            rows,
            versions: RwLock::new(HashMap::new()),
            next_version: AtomicU64::new(1),
        }
    }
}

impl ResponseCache {
    /// The current data generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Called after every write to events, maps or world records.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Called after every write of a user that shows in their own answers (sheet, alarms,
    /// game logins): their cached answers are not used again.
    pub fn user_wrote(&self, user_id: i64) {
        let version = self.next_version.fetch_add(1, Ordering::AcqRel);
        self.versions.write().unwrap_or_else(|e| e.into_inner()).insert(user_id, version);
    }

    fn user_version(&self, user_id: i64) -> u64 {
        self.versions.read().unwrap_or_else(|e| e.into_inner()).get(&user_id).copied().unwrap_or(0)
    }

    /// The key of a history answer (it changes only with admin writes), personal when `user`
    /// is the logged-in caller's id.
    pub fn key(&self, route: String, user: Option<i64>) -> Key {
        Key { route, generation: self.generation(), live: None, user: user.map(|u| (u, self.user_version(u))) }
    }

    /// The key of a live answer: also per live snapshot and second.
    pub fn live_key(&self, route: String, seq: u64, second: i64, user: Option<i64>) -> Key {
        Key { live: Some((seq, second)), ..self.key(route, user) }
    }

    /// The answer under `key`, computed (once, for all concurrent callers) on a miss.
    pub async fn answer<T, Fut>(&self, key: Key, compute: impl FnOnce() -> Fut) -> Result<SharedJson, ApiError>
    where
        T: Serialize,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        self.answer_bytes(key, || async { compute().await.map(|value| SharedJson::new(&value)) }).await
    }

    /// Like [`Self::answer`], for a body that `compute` serializes itself: the first frame of
    /// `/live` is an SSE frame, not JSON, and is shared the same way.
    pub async fn answer_bytes<Fut>(&self, key: Key, compute: impl FnOnce() -> Fut) -> Result<SharedJson, ApiError>
    where
        Fut: Future<Output = Result<SharedJson, ApiError>>,
    {
        let missed = std::sync::atomic::AtomicBool::new(false);
        let init = async {
            missed.store(true, Ordering::Relaxed);
            compute().await
        };
        let answer = self.answers.try_get_with(key, init).await.map_err(ApiError::shared);
        crate::metrics::answer_cache(!missed.load(Ordering::Relaxed));
        answer
    }

    /// The anonymous sheet rows of one edition, read once per data generation and shared by
    /// the live pages.
    pub async fn event_rows(&self, db: &Db, t: EventType, edition: Edition) -> Result<Arc<Vec<MapRow>>, ApiError> {
        let generation = self.generation();
        let db = db.clone();
        let read = async move {
            let rows = db.run(move |c| db::maps::sheet(c, t, Some(edition.get()), None)).await?;
            Ok::<_, ApiError>(Arc::new(rows))
        };
        self.rows.try_get_with((t, edition, generation), read).await.map_err(ApiError::shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_move_with_writes_and_concurrent_misses_compute_once() {
        let c = ResponseCache::default();
        let k = c.key("sheet".into(), Some(7));
        c.invalidate();
        assert_ne!(c.key("sheet".into(), Some(7)), k, "an admin write makes a new key");
        let k = c.key("sheet".into(), Some(7));
        c.user_wrote(8);
        assert_eq!(c.key("sheet".into(), Some(7)), k, "another user's write changes nothing");
        c.user_wrote(7);
        assert_ne!(c.key("sheet".into(), Some(7)), k, "the user's own write makes a new key");
        assert_ne!(c.live_key("d".into(), 1, 10, None), c.live_key("d".into(), 1, 11, None));

        let calls = Arc::new(AtomicU64::new(0));
        let key = c.key("x".into(), None);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let calls = calls.clone();
                c.answer(key.clone(), move || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, ApiError>(vec![1, 2, 3])
                })
            })
            .collect();
        for body in futures_util::future::join_all(tasks).await {
            assert_eq!(&body.unwrap().body[..], b"[1,2,3]");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
