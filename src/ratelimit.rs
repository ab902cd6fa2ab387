//! A small in-memory sliding-window limiter for failed logins and password-reset requests.
//! In memory is enough: there is one process, and a restart only forgives a few attempts.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Counts events per key within the last minute.
pub struct RateLimiter {
    per_minute: u32,
    hits: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

const WINDOW_S: i64 = 60;
/// Above this many keys, stale ones are swept so memory stays bounded.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, hits: Mutex::new(HashMap::new()) }
    }

    /// Seconds until another attempt is allowed for `key`, or `None` if it is allowed now.
    pub fn blocked_for(&self, key: &str, now: DateTime<Utc>) -> Option<i64> {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        let q = hits.get_mut(key)?;
        prune(q, now);
        if q.len() < self.per_minute as usize {
            return None;
        }
        let oldest = *q.front()?;
        Some((oldest + Duration::seconds(WINDOW_S) - now).num_seconds().max(1))
    }

    /// Records one event (a failure, or a request) for `key`.
    pub fn record(&self, key: &str, now: DateTime<Utc>) {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() > SWEEP_AT {
            hits.retain(|_, q| {
                prune(q, now);
                !q.is_empty()
            });
        }
        let q = hits.entry(key.to_owned()).or_default();
        prune(q, now);
        q.push_back(now);
    }
}

fn prune(q: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>) {
    while q.front().is_some_and(|t| now - *t >= Duration::seconds(WINDOW_S)) {
        q.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_n_per_minute_then_blocks_until_the_window_moves() {
        let t0: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
        let rl = RateLimiter::new(3);
        for i in 0..3 {
            assert_eq!(rl.blocked_for("ip", t0 + Duration::seconds(i)), None);
            rl.record("ip", t0 + Duration::seconds(i));
        }
        assert_eq!(rl.blocked_for("ip", t0 + Duration::seconds(10)), Some(50));
        assert_eq!(rl.blocked_for("other", t0), None);
        assert_eq!(rl.blocked_for("ip", t0 + Duration::seconds(60)), None);
    }
}
