//! A small in-memory sliding-window limiter for failed logins and password-reset requests.
//! In memory is enough: there is one process, and a restart only forgives a few attempts.
//!
//! An attempt is *reserved* before the slow work (argon2, a mail) starts, atomically for all
//! its keys: N parallel guesses cannot all pass a check made before any of them is recorded.
//! A login that turns out right gives its reservation back, so only failures count.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Counts attempts per key within the last minute.
pub struct RateLimiter {
    per_minute: u32,
    hits: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

const WINDOW_S: i64 = 60;
/// Above this many keys, stale ones are swept so memory stays bounded.
const SWEEP_AT: usize = 10_000;

/// Attempts recorded by [`RateLimiter::try_acquire`], to give back with
/// [`RateLimiter::release`] when the attempt should not count.
#[must_use = "keep the reservation to release it, or drop it to let the attempt count"]
#[derive(Debug)]
pub struct Reservation {
    keys: Vec<String>,
    at: DateTime<Utc>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, hits: Mutex::new(HashMap::new()) }
    }

    /// Records one attempt on every key, or none if any key is at its limit; then the answer
    /// is the seconds until the blocking key allows another attempt (at least 1). Check and
    /// record happen under one lock.
    pub fn try_acquire(&self, keys: &[String], now: DateTime<Utc>) -> Result<Reservation, i64> {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() > SWEEP_AT {
            hits.retain(|_, q| {
                prune(q, now);
                !q.is_empty()
            });
        }
        let mut wait = None;
        for key in keys {
            if let Some(q) = hits.get_mut(key) {
                prune(q, now);
                if q.len() >= self.per_minute as usize {
                    let oldest = q.front().copied().unwrap_or(now);
                    let s = (oldest + Duration::seconds(WINDOW_S) - now).num_seconds().max(1);
                    wait = Some(wait.map_or(s, |w: i64| w.max(s)));
                }
            }
        }
        if let Some(s) = wait {
            return Err(s);
        }
        for key in keys {
            hits.entry(key.clone()).or_default().push_back(now);
        }
        Ok(Reservation { keys: keys.to_vec(), at: now })
    }

    /// Takes back the attempts of a reservation (a login that succeeded).
    pub fn release(&self, reservation: Reservation) {
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        for key in &reservation.keys {
            if let Some(q) = hits.get_mut(key) {
                if let Some(i) = q.iter().rposition(|t| *t == reservation.at) {
                    q.remove(i);
                }
            }
        }
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

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn allows_n_per_minute_then_blocks_until_the_window_moves() {
        let t0: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
        let rl = RateLimiter::new(3);
        for i in 0..3 {
            assert!(rl.try_acquire(&keys(&["ip"]), t0 + Duration::seconds(i)).is_ok());
        }
        assert_eq!(rl.try_acquire(&keys(&["ip"]), t0 + Duration::seconds(10)).unwrap_err(), 50);
        assert!(rl.try_acquire(&keys(&["other"]), t0).is_ok());
        assert!(rl.try_acquire(&keys(&["ip"]), t0 + Duration::seconds(60)).is_ok());
    }

    #[test]
    fn all_keys_or_none_and_release_gives_back() {
        let t0: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
        let rl = RateLimiter::new(2);
        let _ = rl.try_acquire(&keys(&["name"]), t0).unwrap();
        let _ = rl.try_acquire(&keys(&["name"]), t0).unwrap();
        // `name` is full: nothing is recorded for `ip` either.
        assert!(rl.try_acquire(&keys(&["ip", "name"]), t0).is_err());
        let r = rl.try_acquire(&keys(&["ip"]), t0).unwrap();
        rl.release(r);
        let _ = rl.try_acquire(&keys(&["ip"]), t0).unwrap();
        let _ = rl.try_acquire(&keys(&["ip"]), t0).unwrap();
        assert!(rl.try_acquire(&keys(&["ip"]), t0).is_err());
    }

    #[test]
    fn parallel_attempts_never_exceed_the_limit() {
        let rl = std::sync::Arc::new(RateLimiter::new(10));
        let now = Utc::now();
        let handles: Vec<_> = (0..40)
            .map(|_| {
                let rl = rl.clone();
                std::thread::spawn(move || rl.try_acquire(&keys(&["ip", "name"]), now).is_ok())
            })
            .collect();
        let passed = handles.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count();
        assert_eq!(passed, 10);
    }
}
