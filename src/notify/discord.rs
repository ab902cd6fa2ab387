//! Delivery to a Discord execute-webhook URL: one POST per message body, with a timeout, off the
//! async runtime. Errors are described without the URL (it carries the webhook's token).

use std::time::Duration;

use serde_json::Value;

/// How long one POST may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The webhook URL (a secret: never logged, never in `/healthz`) and its HTTP agent.
#[derive(Clone)]
pub struct Webhook {
    agent: ureq::Agent,
    url: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Webhook(***)")
    }
}

/// Why a POST did not deliver.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// 429: Discord says when to try again.
    #[error("Discord rate-limited the webhook (retry after {0:?})")]
    RateLimited(Duration),
    /// A 5xx, a timeout, a connection problem: worth retrying.
    #[error("{0}")]
    Retry(String),
    /// Another 4xx (a deleted webhook, a malformed message): retrying cannot help.
    #[error("{0}")]
    Fatal(String),
}

impl Webhook {
    pub fn new(url: &str) -> Self {
        let agent = ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(5)).timeout(TIMEOUT).build();
        Self { agent, url: url.to_owned() }
    }

    /// POSTs one message body. Blocking (network): run it in `spawn_blocking`.
    pub fn post(&self, body: &Value) -> Result<(), SendError> {
        match self.agent.post(&self.url).send_json(body) {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(429, r)) => Err(SendError::RateLimited(retry_after(
                r.header("retry-after").map(str::to_owned),
                r.into_string().ok(),
            ))),
            Err(ureq::Error::Status(code, _)) if code >= 500 => {
                Err(SendError::Retry(format!("Discord answered HTTP {code}")))
            }
            Err(ureq::Error::Status(code, _)) => Err(SendError::Fatal(format!("Discord answered HTTP {code}"))),
            Err(ureq::Error::Transport(t)) => Err(SendError::Retry(format!("Discord is unreachable: {}", t.kind()))),
        }
    }
}

/// The wait Discord asks for: `retry_after` (seconds, fractional) in the JSON body, else the
/// `Retry-After` header, else one second; at most a minute.
pub fn retry_after(header: Option<String>, body: Option<String>) -> Duration {
    let from_body = body
        .and_then(|b| serde_json::from_str::<Value>(&b).ok())
        .and_then(|v| v.get("retry_after").and_then(Value::as_f64));
    let from_header = header.and_then(|h| h.trim().parse::<f64>().ok());
    let secs = from_body.or(from_header).filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(1.0);
    Duration::from_secs_f64(secs.min(60.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_from_body_header_or_default() {
        assert_eq!(
            retry_after(None, Some(r#"{"retry_after": 0.25, "global": false}"#.into())),
            Duration::from_millis(250)
        );
        assert_eq!(retry_after(Some("2".into()), Some("not json".into())), Duration::from_secs(2));
        assert_eq!(retry_after(None, None), Duration::from_secs(1));
        assert_eq!(retry_after(Some("9999".into()), None), Duration::from_secs(60));
    }
}
