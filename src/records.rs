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
#[derive(Debug, Clone, PartialEq)]
pub enum RecordsError {
    /// No answer within [`TIMEOUT`] (→ 504).
    Timeout,
    /// Connection refused, DNS, TLS … (→ 502).
    Unreachable(String),
}

impl std::fmt::Display for RecordsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => write!(f, "the records API did not answer within {} s", TIMEOUT.as_secs()),
            Self::Unreachable(e) => write!(f, "the records API is unreachable: {e}"),
        }
    }
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
        let agent = ureq::AgentBuilder::new().timeout_connect(TIMEOUT).timeout(TIMEOUT).build();
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
        let response = match self.agent.get(url).set("X-ApiKey", &self.key).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(classify(&t)),
        };
        let status = response.status();
        let mut body = String::new();
        response.into_reader().take(8 * 1024 * 1024).read_to_string(&mut body).map_err(|e| {
            if is_timeout(&e) {
                RecordsError::Timeout
            } else {
                RecordsError::Unreachable(e.to_string())
            }
        })?;
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

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
}

fn classify(t: &ureq::Transport) -> RecordsError {
    let timed_out =
        std::error::Error::source(t).and_then(|s| s.downcast_ref::<std::io::Error>()).is_some_and(is_timeout)
            || t.to_string().to_ascii_lowercase().contains("timed out");
    if timed_out {
        RecordsError::Timeout
    } else {
        RecordsError::Unreachable(t.to_string())
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
