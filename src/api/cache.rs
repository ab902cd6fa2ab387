//! A small cache of serialized anonymous answers (`/events`, `/spreadsheet/<t>/<e>`,
//! `/mapinfo`, `/wrleaderboard`): the history changes rarely and only through admin
//! endpoints, which call [`ResponseCache::invalidate`]. Entries also expire after a few
//! seconds so edits made outside this process (another `import-mysql`, a manual SQL fix) show
//! up without a restart.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::response::Response;

use super::response::{json_bytes, to_bytes};

/// How long an entry may be served without a write in this process.
const TTL: Duration = Duration::from_secs(10);
/// The cache is emptied when it would grow past this many entries.
const MAX_ENTRIES: usize = 512;

#[derive(Default)]
pub struct ResponseCache {
    generation: AtomicU64,
    entries: RwLock<HashMap<String, (u64, Instant, Bytes)>>,
}

impl ResponseCache {
    /// The current generation; pass it to [`Self::put`] with the answer computed after it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (generation, at, body) = entries.get(key)?;
        (*generation == self.generation() && at.elapsed() < TTL).then(|| body.clone())
    }

    /// Stores an answer computed from data of `generation` (a write in between makes it a
    /// miss, never a stale hit).
    pub fn put(&self, key: String, generation: u64, body: Bytes) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (generation, Instant::now(), body));
    }

    /// Called after every write to events, maps or world records.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// Answers from the cache under `key`, or computes, stores and answers. `key: None` (a
/// logged-in caller's personal view) bypasses the cache.
pub async fn cached<T, Fut>(
    cache: &ResponseCache,
    key: Option<String>,
    compute: impl FnOnce() -> Fut,
) -> Result<Response, super::ApiError>
where
    T: serde::Serialize,
    Fut: std::future::Future<Output = Result<T, super::ApiError>>,
{
    let Some(key) = key else { return Ok(json_bytes(to_bytes(&compute().await?))) };
    if let Some(hit) = cache.get(&key) {
        return Ok(json_bytes(hit));
    }
    let generation = cache.generation();
    let body = to_bytes(&compute().await?);
    cache.put(key, generation, body.clone());
    Ok(json_bytes(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_during_computation_is_never_served() {
        let c = ResponseCache::default();
        let g = c.generation();
        c.invalidate();
        c.put("k".into(), g, Bytes::from_static(b"old"));
        assert_eq!(c.get("k"), None);
        let g = c.generation();
        c.put("k".into(), g, Bytes::from_static(b"new"));
        assert_eq!(c.get("k"), Some(Bytes::from_static(b"new")));
        c.invalidate();
        assert_eq!(c.get("k"), None);
    }
}
