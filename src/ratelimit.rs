//! A small in-memory sliding-window limiter for failed logins, registrations, password-reset
//! requests and streamer passwords. In memory is enough: there is one process, and a restart
//! only forgives a few attempts.
//!
//! An attempt is *reserved* before the slow work (argon2, a mail) starts, atomically for all
//! its keys: N parallel guesses cannot all pass a check made before any of them is recorded.
//! A login that turns out right gives its reservation back, so only failures count.
//!
//! Bounded work and memory: every recorded attempt is also queued by time, and each call
//! sweeps at most [`SWEEP_STEP`] expired entries from the front of that queue, so no call walks
//! the whole map however many keys are live; at most [`MAX_KEYS`] keys are kept (a new key
//! beyond that is refused until old ones expire). Clients are keyed by [`ClientKey`]: an IPv6
//! client by its /64, the block one subscriber gets, so a single host cannot rotate through
//! its addresses for fresh budgets.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};

const WINDOW_S: i64 = 60;
/// Most expired entries one call sweeps.
pub const SWEEP_STEP: usize = 64;
/// Most keys kept at once (about 10 MB).
pub const MAX_KEYS: usize = 100_000;

/// Who a client is for limits and caps: an IPv4 address, or the /64 of an IPv6 one (an
/// IPv4-mapped IPv6 address counts as its IPv4 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4([u8; 4]),
    V6Net([u16; 4]),
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4.octets()),
                None => {
                    let s = v6.segments();
                    Self::V6Net([s[0], s[1], s[2], s[3]])
                }
            },
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4([a, b, c, d]) => write!(f, "{a}.{b}.{c}.{d}"),
            Self::V6Net([a, b, c, d]) => write!(f, "{a:x}:{b:x}:{c:x}:{d:x}::/64"),
        }
    }
}

/// Counts attempts per key within the last minute.
pub struct RateLimiter {
    per_minute: u32,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    hits: HashMap<String, VecDeque<DateTime<Utc>>>,
    /// Every recorded attempt, oldest first: what the sweep walks.
    by_time: VecDeque<(DateTime<Utc>, String)>,
}

impl State {
    /// Drops up to [`SWEEP_STEP`] attempts that left the window, and keys left without any.
    fn sweep(&mut self, now: DateTime<Utc>) {
        for _ in 0..SWEEP_STEP {
            match self.by_time.front() {
                Some((t, _)) if expired(*t, now) => {}
                _ => return,
            }
            let Some((_, key)) = self.by_time.pop_front() else { return };
            if let Some(q) = self.hits.get_mut(&key) {
                prune(q, now);
                if q.is_empty() {
                    self.hits.remove(&key);
                }
            }
        }
    }

    /// Seconds until `key` (limited to `limit`) allows another attempt; `None` if it does now.
    fn wait(&mut self, key: &str, limit: u32, now: DateTime<Utc>) -> Option<i64> {
        let Some(q) = self.hits.get_mut(key) else {
            return (self.hits.len() >= MAX_KEYS).then(|| self.until_oldest_expires(now));
        };
        prune(q, now);
        (q.len() >= limit as usize).then(|| {
            let oldest = q.front().copied().unwrap_or(now);
            (oldest + Duration::seconds(WINDOW_S) - now).num_seconds().max(1)
        })
    }

    fn until_oldest_expires(&self, now: DateTime<Utc>) -> i64 {
        let oldest = self.by_time.front().map_or(now, |(t, _)| *t);
        (oldest + Duration::seconds(WINDOW_S) - now).num_seconds().clamp(1, WINDOW_S)
    }
}

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
        Self { per_minute, state: Mutex::default() }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records one attempt on every key (each allowing the configured number a minute), or
    /// none if any key is at its limit; then the answer is the seconds until the blocking key
    /// allows another attempt (at least 1). Check and record happen under one lock.
    pub fn try_acquire(&self, keys: &[String], now: DateTime<Utc>) -> Result<Reservation, i64> {
        let limited: Vec<(String, u32)> = keys.iter().map(|k| (k.clone(), self.per_minute)).collect();
        self.try_acquire_limits(&limited, now)
    }

    /// [`Self::try_acquire`] with a limit per key (a global budget beside per-client ones).
    pub fn try_acquire_limits(&self, keys: &[(String, u32)], now: DateTime<Utc>) -> Result<Reservation, i64> {
        let mut state = self.state();
        state.sweep(now);
        let wait = keys.iter().filter_map(|(key, limit)| state.wait(key, *limit, now)).max();
        if let Some(s) = wait {
            return Err(s);
        }
        for (key, _) in keys {
            state.hits.entry(key.clone()).or_default().push_back(now);
            state.by_time.push_back((now, key.clone()));
        }
        Ok(Reservation { keys: keys.iter().map(|(k, _)| k.clone()).collect(), at: now })
    }

    /// Takes back the attempts of a reservation (a login that succeeded).
    pub fn release(&self, reservation: Reservation) {
        let mut state = self.state();
        for key in &reservation.keys {
            if let Some(q) = state.hits.get_mut(key) {
                if let Some(i) = q.iter().rposition(|t| *t == reservation.at) {
                    q.remove(i);
                }
            }
        }
    }

    /// Keys held now (for tests of the bounds).
    pub fn keys(&self) -> usize {
        self.state().hits.len()
    }
}

fn expired(t: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - t >= Duration::seconds(WINDOW_S)
}

fn prune(q: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>) {
    while q.front().is_some_and(|t| expired(*t, now)) {
        q.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| (*s).to_owned()).collect()
    }

    fn t0() -> DateTime<Utc> {
        "2024-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn allows_n_per_minute_then_blocks_until_the_window_moves() {
        let rl = RateLimiter::new(3);
        for i in 0..3 {
            assert!(rl.try_acquire(&keys(&["ip"]), t0() + Duration::seconds(i)).is_ok());
        }
        assert_eq!(rl.try_acquire(&keys(&["ip"]), t0() + Duration::seconds(10)).unwrap_err(), 50);
        assert!(rl.try_acquire(&keys(&["other"]), t0()).is_ok());
        assert!(rl.try_acquire(&keys(&["ip"]), t0() + Duration::seconds(60)).is_ok());
    }

    #[test]
    fn all_keys_or_none_and_release_gives_back() {
        let rl = RateLimiter::new(2);
        let _ = rl.try_acquire(&keys(&["name"]), t0()).unwrap();
        let _ = rl.try_acquire(&keys(&["name"]), t0()).unwrap();
        // `name` is full: nothing is recorded for `ip` either.
        assert!(rl.try_acquire(&keys(&["ip", "name"]), t0()).is_err());
        let r = rl.try_acquire(&keys(&["ip"]), t0()).unwrap();
        rl.release(r);
        let _ = rl.try_acquire(&keys(&["ip"]), t0()).unwrap();
        let _ = rl.try_acquire(&keys(&["ip"]), t0()).unwrap();
        assert!(rl.try_acquire(&keys(&["ip"]), t0()).is_err());
    }

    #[test]
    fn each_key_may_have_its_own_limit() {
        let rl = RateLimiter::new(10);
        let with = |ip: &str| vec![(format!("ip:{ip}"), 10), ("global".to_owned(), 3)];
        for ip in ["a", "b", "c"] {
            let _ = rl.try_acquire_limits(&with(ip), t0()).unwrap();
        }
        assert!(rl.try_acquire_limits(&with("d"), t0()).is_err(), "the global budget is spent");
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

    /// 50,000 live keys, then a minute later 50,000 more: no call sweeps more than
    /// `SWEEP_STEP` entries, yet the stale keys are all gone after as many calls as they were.
    #[test]
    fn sweeping_is_bounded_per_call_and_keeps_up() {
        let rl = RateLimiter::new(10);
        for i in 0..50_000 {
            let _ = rl.try_acquire(&[format!("a{i}")], t0()).unwrap();
        }
        assert_eq!(rl.keys(), 50_000);
        let later = t0() + Duration::seconds(61);
        let _ = rl.try_acquire(&keys(&["new"]), later).unwrap();
        assert_eq!(rl.keys(), 50_000 - SWEEP_STEP + 1, "one call swept one step");
        for i in 0..50_000 {
            let _ = rl.try_acquire(&[format!("b{i}")], later).unwrap();
        }
        assert_eq!(rl.keys(), 50_001, "the old keys are gone, the new ones kept");
    }

    #[test]
    fn new_keys_beyond_the_cap_wait_for_old_ones_to_expire() {
        let rl = RateLimiter::new(10);
        for i in 0..MAX_KEYS {
            let _ = rl.try_acquire(&[format!("k{i}")], t0()).unwrap();
        }
        let wait = rl.try_acquire(&keys(&["one more"]), t0() + Duration::seconds(20)).unwrap_err();
        assert_eq!(wait, 40);
        assert!(rl.try_acquire(&keys(&["k5"]), t0() + Duration::seconds(20)).is_ok(), "known keys still count");
        assert!(rl.try_acquire(&keys(&["one more"]), t0() + Duration::seconds(60)).is_ok());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let key = |s: &str| ClientKey::from(s.parse::<IpAddr>().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:1:2:3"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(key("::ffff:1.2.3.4"), key("1.2.3.4"));
        assert_eq!(key("1.2.3.4").to_string(), "1.2.3.4");
        assert_ne!(key("1.2.3.4"), key("1.2.3.5"));
    }
}
