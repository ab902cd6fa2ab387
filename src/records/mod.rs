//! Client of the records API (personal bests, finish counts, leaderboards), which is a
//! separate service. Calls go straight to `records_api_url` with the `X-ApiKey` header (the
//! old backend went through its own public URL), time out after [`TIMEOUT`], and successful
//! answers are reused for `records_cache_s` (30 s; moka: size-bounded, one upstream call for
//! concurrent misses) so a busy page does not hammer the upstream. In testing mode built-in
//! fixtures answer instead, so offline setups work.
//!
//! Every request is answered within [`BUDGET`] (the TypeScript frontend shows "servers are down
//! for maintenance" when its probe of a records path takes 3 s): when the records API is slow
//! or down, the last good answer for the same URL (kept up to [`STALE_FOR`]) is served with
//! [`Upstream::stale_since`] set, else the error (→ 504/502 JSON) comes at once.
//!
//! Event families the records API does not keep (KX, see [`crate::domain::Family`]) are never
//! asked about: a path naming one answers the empty shape ([`not_served`]).
//!
//! Paths are given as segments and each one is percent-encoded: a player's login (from their
//! profile, or a bot's URL) is one segment of the upstream path, whatever characters it holds,
//! and can never reach another upstream path with the API key. [`lookup`] has the look-ups the
//! pages and bots make (game logins from the database, PBs filtered to the current event).

use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::config::Settings;
use crate::domain::EventType;
use fixtures::Fixtures;

mod fixtures;
pub mod lookup;

pub use lookup::{LookupError, Records};

/// How long an upstream call may take (connect plus answer).
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// Within this, every records request is answered (fresh, stale or an error), whatever the
/// upstream does: below the TypeScript frontend's 3 s probe timeout.
pub const BUDGET: Duration = Duration::from_millis(2500);
/// How long the last good answer of a URL is kept to stand in while the upstream is slow or
/// down.
pub const STALE_FOR: Duration = Duration::from_secs(24 * 3600);
/// How much of an answer body is read; the rest is cut off.
const BODY_LIMIT: u64 = 8 * 1024 * 1024;
/// Most bytes of answer bodies kept in the cache.
const CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// Everything but the RFC 3986 unreserved characters is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The path of `segments`, each percent-encoded. A `.` or `..` segment is refused (servers may
/// resolve even their encoded forms), so no segment can climb the path.
pub fn encode_path(segments: &[String]) -> Result<String, RecordsError> {
    if let Some(dots) = segments.iter().find(|s| *s == "." || *s == "..") {
        return Err(RecordsError::BadSegment(dots.clone()));
    }
    Ok(segments.iter().map(|s| utf8_percent_encode(s, SEGMENT).to_string()).collect::<Vec<_>>().join("/"))
}

/// An upstream answer: status and body text.
#[derive(Debug, Clone, PartialEq)]
pub struct Upstream {
    pub status: u16,
    pub body: String,
    /// Set when this is the last good answer standing in for a failed or slow call: when it
    /// was fetched.
    pub stale_since: Option<DateTime<Utc>>,
}

impl Upstream {
    /// A fresh answer.
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self { status, body: body.into(), stale_since: None }
    }
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// Why the upstream could not be asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordsError {
    /// No answer within [`TIMEOUT`] (or the request's [`BUDGET`]) and no earlier answer to
    /// stand in (→ 504).
    #[error("the records API did not answer in time ({} s)", TIMEOUT.as_secs())]
    Timeout,
    /// Connection refused, DNS, TLS … (→ 502).
    #[error("the records API is unreachable: {0}")]
    Unreachable(String),
    /// A path segment that would climb the path (→ 400; nothing is sent).
    #[error("`{0}` is not allowed as a records path segment or login")]
    BadSegment(String),
}

/// Health facts for `/healthz`.
#[derive(Debug, Clone, Default)]
pub struct RecordsHealth {
    pub last_ok: Option<chrono::DateTime<chrono::Utc>>,
    pub last_error: Option<(chrono::DateTime<chrono::Utc>, String)>,
}

pub struct RecordsClient {
    agent: ureq::Agent,
    base: String,
    key: String,
    fixtures: Option<Fixtures>,
    /// Successful answers by URL, reused for `records_cache_s` (`reuse` false: 0, never).
    cache: moka::sync::Cache<String, Upstream>,
    reuse: bool,
    /// The last successful answer by URL with when it was fetched, for [`STALE_FOR`].
    last_good: moka::sync::Cache<String, Upstream>,
    pub health: Mutex<RecordsHealth>,
}

impl RecordsClient {
    pub fn from_settings(s: &Settings, current_ids: Vec<i64>) -> Self {
        // Statuses are answers to pass through, not errors.
        let agent = crate::outbound::agent(TIMEOUT, TIMEOUT, None);
        let fixtures = s.testing_mode.then(|| Fixtures {
            edition: s.edition.get(),
            ids: current_ids,
            clock: crate::clock::Clock::system(),
            boot: chrono::Utc::now(),
            wrs: Default::default(),
        });
        let cache = |ttl: Duration| {
            moka::sync::Cache::builder()
                .max_capacity(CACHE_BYTES)
                .weigher(|url: &String, up: &Upstream| u32::try_from(url.len() + up.body.len()).unwrap_or(u32::MAX))
                .time_to_live(ttl)
                .build()
        };
        Self {
            agent,
            base: s.records_api_url.trim_end_matches('/').to_owned(),
            key: s.records_api_key.expose().to_owned(),
            fixtures,
            cache: cache(Duration::from_secs(s.records_cache_s.max(1))),
            reuse: s.records_cache_s > 0,
            last_good: cache(STALE_FOR),
            health: Mutex::new(RecordsHealth::default()),
        }
    }

    /// In testing mode: the fixtures' simulated event runs on `clock` from its current time on,
    /// with the leaderboards starting at the stored world records `wrs` (kacky id → score,
    /// holder). No effect otherwise.
    pub fn simulating(
        mut self,
        clock: crate::clock::Clock,
        wrs: std::collections::HashMap<i64, (i64, String)>,
    ) -> Self {
        if let Some(f) = &mut self.fixtures {
            f.boot = clock.now();
            f.clock = clock;
            f.wrs = wrs;
        }
        self
    }

    /// The upstream URL of `segments` (each percent-encoded) and `query`.
    pub fn url(&self, segments: &[String], query: Option<&str>) -> Result<String, RecordsError> {
        let path = encode_path(segments)?;
        Ok(match query {
            Some(q) if !q.is_empty() => format!("{}/{path}?{q}", self.base),
            _ => format!("{}/{path}", self.base),
        })
    }

    /// GET `<base>/<segments…>?<query>`, each segment percent-encoded. Successful answers come
    /// from the cache for `records_cache_s`; concurrent misses of one URL make one upstream
    /// call. A path about a family the records API does not keep answers its empty shape
    /// without a call. Blocking (network): call off the async runtime (see
    /// [`Records::get`](lookup::Records::get), which also keeps the [`BUDGET`]).
    pub fn get(&self, segments: &[String], query: Option<&str>) -> Result<Upstream, RecordsError> {
        let url = self.url(segments, query)?;
        if let Some(empty) = not_served(segments) {
            return Ok(Upstream::new(200, empty.to_string()));
        }
        let fetch = || {
            let result = match &self.fixtures {
                Some(f) => Ok(f.answer(segments, query)),
                None => self.fetch(&url),
            };
            self.note(&result);
            match result {
                Ok(up) if up.ok() => {
                    self.last_good.insert(url.clone(), Upstream { stale_since: Some(Utc::now()), ..up.clone() });
                    Ok(up)
                }
                other => Err(NotCached(other)),
            }
        };
        let fetched = if self.reuse { self.cache.try_get_with(url.clone(), fetch) } else { fetch().map_err(Arc::new) };
        fetched.or_else(|e: Arc<NotCached>| e.0.clone())
    }

    /// GET like [`Self::get`], but always asking the upstream (the finish follower must see
    /// every change, and it keeps its own budget); a successful answer refreshes the cache and
    /// the last good answer for the pages. Blocking (network): call off the async runtime.
    pub fn get_fresh(&self, segments: &[String], query: Option<&str>) -> Result<Upstream, RecordsError> {
        let url = self.url(segments, query)?;
        if let Some(empty) = not_served(segments) {
            return Ok(Upstream::new(200, empty.to_string()));
        }
        let result = match &self.fixtures {
            Some(f) => Ok(f.answer(segments, query)),
            None => self.fetch(&url),
        };
        self.note(&result);
        if let Ok(up) = &result {
            if up.ok() {
                self.last_good.insert(url.clone(), Upstream { stale_since: Some(Utc::now()), ..up.clone() });
                if self.reuse {
                    self.cache.insert(url, up.clone());
                }
            }
        }
        result
    }

    /// The last good answer of this URL (with `stale_since` set), if one is kept.
    pub fn last_good(&self, url: &str) -> Option<Upstream> {
        self.last_good.get(url)
    }

    fn fetch(&self, url: &str) -> Result<Upstream, RecordsError> {
        let response = self.agent.get(url).header("X-ApiKey", &self.key).call().map_err(classify)?;
        let status = response.status().as_u16();
        let mut body = String::new();
        response
            .into_body()
            .into_reader()
            .take(BODY_LIMIT)
            .read_to_string(&mut body)
            .map_err(|e| classify(ureq::Error::from(e)))?;
        Ok(Upstream::new(status, body))
    }

    fn note(&self, result: &Result<Upstream, RecordsError>) {
        let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let now = chrono::Utc::now();
        match result {
            Ok(up) if up.status < 500 => h.last_ok = Some(now),
            Ok(up) => h.last_error = Some((now, format!("records API answered {}", up.status))),
            Err(e) => h.last_error = Some((now, e.to_string())),
        }
    }
}

/// For a path of the records API that names an event family (`pb/<login>/<type>…`,
/// `performance/<login>/<type>`, `event/leaderboard/<type>/…`, `leaderboard/<type>/<id>`,
/// `wrs/<type>/<edition>`) whose family the records API does not keep: the empty answer of
/// that path's shape. `None` for every other path (asked upstream).
pub fn not_served(segments: &[String]) -> Option<Value> {
    let parts: Vec<&str> = segments.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
    let (family, empty) = match parts.as_slice() {
        ["pb", _, t, ..] => (*t, Value::Object(serde_json::Map::new())),
        ["performance", _, t, ..] | ["event", "leaderboard", t, ..] => (*t, Value::Array(Vec::new())),
        ["leaderboard", t, ..] | ["wrs", t, ..] => (*t, Value::Array(Vec::new())),
        _ => return None,
    };
    EventType::parse(family).filter(|t| !t.in_records_api()).map(|_| empty)
}

/// An outcome that is not cached (an error, or a non-2xx answer), handed to every waiter.
struct NotCached(Result<Upstream, RecordsError>);

/// Sorts a ureq error (of the request or of reading the body) into timeout or unreachable.
fn classify(e: ureq::Error) -> RecordsError {
    match e {
        ureq::Error::Timeout(_) => RecordsError::Timeout,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => RecordsError::Timeout,
        e => RecordsError::Unreachable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn timeouts_are_classified_by_type() {
        assert_eq!(classify(ureq::Error::Timeout(ureq::Timeout::Global)), RecordsError::Timeout);
        assert_eq!(classify(ureq::Error::Timeout(ureq::Timeout::Connect)), RecordsError::Timeout);
        assert_eq!(classify(ureq::Error::Io(io::ErrorKind::TimedOut.into())), RecordsError::Timeout);
        // A timeout while reading the body comes back wrapped in an io::Error.
        let wrapped = ureq::Error::Timeout(ureq::Timeout::RecvBody).into_io();
        assert_eq!(classify(ureq::Error::from(wrapped)), RecordsError::Timeout);
    }

    #[test]
    fn families_outside_the_records_api_are_not_asked() {
        let s = |v: &[&str]| not_served(&v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>());
        assert_eq!(s(&["pb", "someone", "kx"]), Some(serde_json::json!({})));
        assert_eq!(s(&["pb", "someone", "KX", "1"]), Some(serde_json::json!({})));
        assert_eq!(s(&["performance", "someone", "Kx"]), Some(serde_json::json!([])));
        assert_eq!(s(&["event", "leaderboard", "kx", "1"]), Some(serde_json::json!([])));
        assert_eq!(s(&["event", "leaderboard", "kx", "1", "login"]), Some(serde_json::json!([])));
        assert_eq!(s(&["leaderboard", "kx", "12"]), Some(serde_json::json!([])));
        for asked in
            [&["pb", "kx", "KR"][..], &["event", "leaderboard", "kr", "1"], &["leaderboard", "kk", "3"], &["kx"]]
        {
            assert_eq!(s(asked), None, "{asked:?}");
        }
    }

    #[test]
    fn segments_are_encoded_one_by_one() {
        let s = |v: &[&str]| encode_path(&v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>());
        assert_eq!(s(&["pb", "../../x?y=", "KK"]).unwrap(), "pb/..%2F..%2Fx%3Fy%3D/KK");
        assert_eq!(s(&["event", "a b#c%d", "7"]).unwrap(), "event/a%20b%23c%25d/7");
        assert_eq!(s(&["plain_login-1.x~"]).unwrap(), "plain_login-1.x~");
        assert_eq!(s(&["pb", "..", "KK"]), Err(RecordsError::BadSegment("..".into())));
        assert!(s(&["."]).is_err());
    }

    #[test]
    fn other_failures_are_unreachable_with_their_reason() {
        let refused = classify(ureq::Error::Io(io::ErrorKind::ConnectionRefused.into()));
        assert!(matches!(&refused, RecordsError::Unreachable(m) if m.contains("refused")), "{refused:?}");
        assert_eq!(classify(ureq::Error::HostNotFound), RecordsError::Unreachable("host not found".into()));
        assert_eq!(RecordsError::Timeout.to_string(), "the records API did not answer in time (2 s)");
        assert_eq!(
            RecordsError::Unreachable("host not found".into()).to_string(),
            "the records API is unreachable: host not found"
        );
    }
}
