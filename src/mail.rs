//! Outgoing mail: password-reset tokens through the SendGrid v3 HTTP API, or, with no API key
//! configured, written to the log so offline and local setups still work.

use std::time::Duration;

use serde_json::json;

use crate::config::Settings;

/// Why a mail was not sent. The texts go to the error log; the client only sees a 500.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// SendGrid answered, but not with a 2xx status.
    #[error("SendGrid answered {0}")]
    Status(u16),
    /// No answer: DNS, connection, TLS, timeout …
    #[error("SendGrid unreachable: {0}")]
    Unreachable(#[from] ureq::Error),
}

pub enum Mailer {
    SendGrid { agent: ureq::Agent, url: String, key: String, from: String },
    Log,
}

impl Mailer {
    pub fn from_settings(s: &Settings) -> Self {
        if !s.sendgrid_api_key.is_set() {
            return Self::Log;
        }
        let agent = crate::outbound::agent(Duration::from_secs(5), Duration::from_secs(10), None);
        Self::SendGrid {
            agent,
            url: format!("{}/v3/mail/send", s.sendgrid_api_url.trim_end_matches('/')),
            key: s.sendgrid_api_key.expose().to_owned(),
            from: s.mail_from.clone(),
        }
    }

    /// Sends the reset token. Blocking (network): call off the async runtime.
    pub fn send_reset(&self, to: &str, username: &str, token: &str) -> Result<(), MailError> {
        let text = reset_text(username, token);
        match self {
            Self::Log => {
                tracing::warn!("no sendgrid_api_key configured: password reset token for {username} is {token}");
                Ok(())
            }
            Self::SendGrid { agent, url, key, from } => {
                let body = json!({
                    "personalizations": [{ "to": [{ "email": to }] }],
                    "from": { "email": from },
                    "subject": "Kacky.gg Password Reset",
                    "content": [{ "type": "text/plain", "value": text }],
                });
                let response = agent.post(url).header("Authorization", format!("Bearer {key}")).send_json(body)?;
                match response.status().as_u16() {
                    code if code < 300 => Ok(()),
                    code => Err(MailError::Status(code)),
                }
            }
        }
    }
}

fn reset_text(username: &str, token: &str) -> String {
    format!(
        "Hello {username},\n\nyou can reset your kacky.gg password with the following token:\n\n   {token}\n\n\
         It is valid for 2 hours and can be used once.\n\nHave fun hunting!\ncorkscrew\n\n--\n\
         This mail was sent because someone asked for a password reset using your user name and\n\
         mail address on kacky.gg. If that was not you, ignore it or contact us on Discord.\n"
    )
}
