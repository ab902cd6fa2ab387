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
        let agent = crate::outbound::agent(Duration::from_secs(5), TIMEOUT, None);
        Self { agent, url: url.to_owned() }
    }

    /// POSTs one message body. Blocking (network): run it on Discord's threads ([`crate::outbound`]).
    pub fn post(&self, body: &Value) -> Result<(), SendError> {
        let response = self.agent.post(&self.url).send_json(body).map_err(|e| match e {
            ureq::Error::Timeout(_) => {
                SendError::Retry(format!("Discord did not answer within {} s", TIMEOUT.as_secs()))
            }
            // ureq's own texts can carry the URL, which holds the webhook's token: name the kind only.
            ureq::Error::Io(io) => SendError::Retry(format!("Discord is unreachable: {}", io.kind())),
            ureq::Error::HostNotFound => SendError::Retry("Discord is unreachable: host not found".into()),
            ureq::Error::ConnectionFailed => SendError::Retry("Discord is unreachable: connection failed".into()),
            _ => SendError::Retry("Discord is unreachable".into()),
        })?;
        let code = response.status().as_u16();
        match code {
            200..=299 => Ok(()),
            429 => {
                let header = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                let body = response.into_body().with_config().limit(64 * 1024).read_to_string().ok();
                Err(SendError::RateLimited(retry_after(header, body)))
            }
            500.. => Err(SendError::Retry(format!("Discord answered HTTP {code}"))),
            _ => Err(SendError::Fatal(format!("Discord answered HTTP {code}"))),
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
