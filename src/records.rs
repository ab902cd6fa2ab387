//! Client of the records API (personal bests, finish counts, leaderboards), which is a
//! separate service. Calls go straight to `records_api_url` with the `X-ApiKey` header (the
//! old backend went through its own public URL), time out after 5 s, and successful answers
//! are cached for 30 s so a busy page does not hammer the upstream. In testing mode built-in
//! fixtures answer instead, so offline setups work.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::Settings;

/// How long an upstream call may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a successful answer is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// How much of an answer body is read; the rest is cut off.
const BODY_LIMIT: u64 = 8 * 1024 * 1024;
/// Above this many entries, expired ones are swept.
const CACHE_SWEEP_AT: usize = 2_000;

/// An upstream answer: status and body text.
#[derive(Debug, Clone, PartialEq)]
pub struct Upstream {
    pub status: u16,
    pub body: String,
}

impl Upstream {
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
    /// No answer within [`TIMEOUT`] (→ 504).
    #[error("the records API did not answer within {} s", TIMEOUT.as_secs())]
    Timeout,
    /// Connection refused, DNS, TLS … (→ 502).
    #[error("the records API is unreachable: {0}")]
    Unreachable(String),
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
    cache: Mutex<HashMap<String, (Instant, Upstream)>>,
    pub health: Mutex<RecordsHealth>,
}

impl RecordsClient {
    pub fn from_settings(s: &Settings, current_ids: Vec<i64>) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(TIMEOUT))
            .timeout_global(Some(TIMEOUT))
            // Statuses are answers to pass through, not errors.
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        let fixtures = s.testing_mode.then_some(Fixtures { edition: s.edition.get(), ids: current_ids });
        Self {
            agent,
            base: s.records_api_url.trim_end_matches('/').to_owned(),
            key: s.records_api_key.expose().to_owned(),
            fixtures,
            cache: Mutex::new(HashMap::new()),
            health: Mutex::new(RecordsHealth::default()),
        }
    }

    /// GET `<base>/<path>?<query>`. Blocking (network): call off the async runtime.
    pub fn get(&self, path: &str, query: Option<&str>) -> Result<Upstream, RecordsError> {
        let url = match query {
            Some(q) if !q.is_empty() => format!("{}/{}?{q}", self.base, path.trim_start_matches('/')),
            _ => format!("{}/{}", self.base, path.trim_start_matches('/')),
        };
        if let Some(hit) = self.cached(&url) {
            return Ok(hit);
        }
        let result = match &self.fixtures {
            Some(f) => Ok(f.answer(path)),
            None => self.fetch(&url),
        };
        self.note(&result);
        if let Ok(up) = &result {
            if up.ok() {
                self.store(url, up.clone());
            }
        }
        result
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
        Ok(Upstream { status, body })
    }

    fn cached(&self, url: &str) -> Option<Upstream> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(url).filter(|(at, _)| at.elapsed() < CACHE_TTL).map(|(_, up)| up.clone())
    }

    fn store(&self, url: String, up: Upstream) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > CACHE_SWEEP_AT {
            cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        }
        cache.insert(url, (Instant::now(), up));
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

/// Sorts a ureq error (of the request or of reading the body) into timeout or unreachable.
fn classify(e: ureq::Error) -> RecordsError {
    match e {
        ureq::Error::Timeout(_) => RecordsError::Timeout,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => RecordsError::Timeout,
        e => RecordsError::Unreachable(e.to_string()),
    }
}

/// Testing-mode answers in the records API's shapes: every login has finished a
/// deterministic third of the current event's maps.
struct Fixtures {
    edition: i64,
    ids: Vec<i64>,
}

impl Fixtures {
    fn answer(&self, path: &str) -> Upstream {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let body = match parts.as_slice() {
            ["pb", login, ..] => self.pbs(login),
            ["performance", login, _] => {
                json!([{ "edition": self.edition, "fins": self.finished(login).count() }])
            }
            ["event", "leaderboard", _, _] => json!([
                {"avg": 3.7, "fins": 75, "login": "plastorex", "nick": "sexyboii", "rank": 1},
                {"avg": 4.2, "fins": 70, "login": "simo_900", "nick": "$abcsimo_$777900", "rank": 2},
                {"avg": 69.69, "fins": 20, "login": "amgreborn", "nick": "k$cba*$z$gm", "rank": 7},
                {"avg": 134.0, "fins": 3, "login": "corkscrew", "nick": "corkscrew", "rank": 17}
            ]),
            ["event", "leaderboard", _, _, login] => {
                json!({"avg": 12.5, "fins": self.finished(login).count(), "login": login, "nick": login, "rank": 42})
            }
            _ => return Upstream { status: 404, body: "\"not in the testing fixtures\"".into() },
        };
        Upstream { status: 200, body: body.to_string() }
    }

    fn finished<'a>(&'a self, login: &str) -> impl Iterator<Item = i64> + 'a {
        let salt = login.bytes().map(i64::from).sum::<i64>();
        self.ids.iter().copied().filter(move |id| (id + salt).rem_euclid(3) == 0)
    }

    fn pbs(&self, login: &str) -> Value {
        let entries = self.finished(login).enumerate().map(|(i, id)| {
            let pb = json!({"date": 1_692_000_000.0 + i as f64 * 3600.0, "kacky_rank": 1 + i % 7, "score": 20_000 + id * 37 % 9_000});
            (id.to_string(), pb)
        });
        Value::Object(entries.collect())
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
    fn other_failures_are_unreachable_with_their_reason() {
        let refused = classify(ureq::Error::Io(io::ErrorKind::ConnectionRefused.into()));
        assert!(matches!(&refused, RecordsError::Unreachable(m) if m.contains("refused")), "{refused:?}");
        assert_eq!(classify(ureq::Error::HostNotFound), RecordsError::Unreachable("host not found".into()));
        assert_eq!(RecordsError::Timeout.to_string(), "the records API did not answer within 5 s");
        assert_eq!(
            RecordsError::Unreachable("host not found".into()).to_string(),
            "the records API is unreachable: host not found"
        );
    }
}
