//! Outgoing mail: password-reset tokens through the SendGrid v3 HTTP API, or, with no API key
//! configured, written to the log so offline and local setups still work.

use std::time::Duration;

use serde_json::json;

use crate::config::Settings;

pub enum Mailer {
    SendGrid { agent: ureq::Agent, url: String, key: String, from: String },
    Log,
}

impl Mailer {
    pub fn from_settings(s: &Settings) -> Self {
        if !s.sendgrid_api_key.is_set() {
            return Self::Log;
        }
        let agent =
            ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(5)).timeout(Duration::from_secs(10)).build();
        Self::SendGrid {
            agent,
            url: format!("{}/v3/mail/send", s.sendgrid_api_url.trim_end_matches('/')),
            key: s.sendgrid_api_key.expose().to_owned(),
            from: s.mail_from.clone(),
        }
    }

    /// Sends the reset token. Blocking (network): call off the async runtime.
    pub fn send_reset(&self, to: &str, username: &str, token: &str) -> Result<(), String> {
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
                match agent.post(url).set("Authorization", &format!("Bearer {key}")).send_json(body) {
                    Ok(r) if r.status() < 300 => Ok(()),
                    Ok(r) => Err(format!("SendGrid answered {}", r.status())),
                    Err(ureq::Error::Status(code, _)) => Err(format!("SendGrid answered {code}")),
                    Err(e) => Err(format!("SendGrid unreachable: {e}")),
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
