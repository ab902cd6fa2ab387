//! The Discord side of the account link (OAuth2 authorization-code grant, scope `identify`):
//! the authorize URL the browser is sent to, the code exchange at the token endpoint and the
//! read of `/users/@me`. Two plain HTTP calls on a ureq agent with timeouts, off the async
//! runtime; the `oauth2` crate would bring its own HTTP stack for them, and the flow's `state`
//! is kept in our database anyway ([`crate::db::discord`]). Errors never carry the client
//! secret, the code or the access token.

use std::io::Read as _;
use std::time::Duration;

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::config::{Secret, Settings};

/// How long one call to Discord may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of an answer read.
const BODY_LIMIT: u64 = 64 * 1024;

/// The configured Discord application.
pub struct DiscordOAuth {
    agent: ureq::Agent,
    /// `discord_api_url`, e.g. `https://discord.com`.
    base: String,
    client_id: String,
    client_secret: Secret,
    /// `<public_url>/discord/callback`.
    redirect_uri: String,
}

/// The verified Discord account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordUser {
    /// The snowflake.
    pub id: String,
    /// The display name (global name, else the user name).
    pub name: String,
}

/// Why the link could not be verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// Discord refused the code (expired, used, not ours): the user should try again (→ 400).
    #[error("Discord did not accept the authorization ({0}); please try linking again")]
    Refused(String),
    /// Discord could not be asked, or answered something unusable (→ 502).
    #[error("Discord could not be asked: {0}")]
    Unreachable(String),
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

impl DiscordOAuth {
    /// `None` unless `discord_client_id`, `discord_client_secret` and `public_url` are all set.
    pub fn from_settings(s: &Settings) -> Option<Self> {
        if !s.discord_client_id.is_set() || !s.discord_client_secret.is_set() || s.public_url.is_empty() {
            return None;
        }
        let agent = crate::outbound::agent(Duration::from_secs(5), TIMEOUT, None);
        Some(Self {
            agent,
            base: s.discord_api_url.clone(),
            client_id: s.discord_client_id.expose().trim().to_owned(),
            client_secret: s.discord_client_secret.clone(),
            redirect_uri: format!("{}/discord/callback", s.public_url),
        })
    }

    /// Where the browser goes to authorize the link.
    pub fn authorize_url(&self, state: &str) -> String {
        format!(
            "{}/oauth2/authorize?response_type=code&client_id={}&scope=identify&state={}&redirect_uri={}&prompt=consent",
            self.base,
            enc(&self.client_id),
            enc(state),
            enc(&self.redirect_uri)
        )
    }

    /// Exchanges the code for the user's Discord account: the token endpoint, then
    /// `/users/@me`. Blocking (network): run it off the async runtime.
    pub fn verify(&self, code: &str) -> Result<DiscordUser, OAuthError> {
        let token = self.exchange(code)?;
        self.me(&token)
    }

    fn exchange(&self, code: &str) -> Result<String, OAuthError> {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.client_id,
            self.client_secret.expose()
        ));
        let response = self
            .agent
            .post(format!("{}/api/v10/oauth2/token", self.base))
            .header("Authorization", format!("Basic {basic}"))
            .send_form([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", &self.redirect_uri)])
            .map_err(unreachable)?;
        let status = response.status().as_u16();
        let body = read(response)?;
        match status {
            200..=299 => body
                .get("access_token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| OAuthError::Unreachable("the token endpoint answered without an access token".into())),
            400..=499 => {
                // Discord's `error` is a code word like `invalid_grant`: safe to show.
                let word = body.get("error").and_then(Value::as_str).unwrap_or("refused");
                let word: String = word.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
                Err(OAuthError::Refused(format!("{word}, HTTP {status}")))
            }
            _ => Err(OAuthError::Unreachable(format!("the token endpoint answered HTTP {status}"))),
        }
    }

    fn me(&self, token: &str) -> Result<DiscordUser, OAuthError> {
        let response = self
            .agent
            .get(format!("{}/api/v10/users/@me", self.base))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .map_err(unreachable)?;
        let status = response.status().as_u16();
        let body = read(response)?;
        if !(200..300).contains(&status) {
            return Err(OAuthError::Unreachable(format!("/users/@me answered HTTP {status}")));
        }
        user(&body).ok_or_else(|| OAuthError::Unreachable("/users/@me answered without a user id".into()))
    }
}

/// The account in an answer of `/users/@me`: the id must be a snowflake.
fn user(body: &Value) -> Option<DiscordUser> {
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()))?;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let name = text("global_name").or_else(|| text("username")).unwrap_or(id);
    Some(DiscordUser { id: id.to_owned(), name: name.chars().filter(|c| !c.is_control()).take(100).collect() })
}

fn read(response: ureq::http::Response<ureq::Body>) -> Result<Value, OAuthError> {
    let mut text = String::new();
    response
        .into_body()
        .into_reader()
        .take(BODY_LIMIT)
        .read_to_string(&mut text)
        .map_err(|e| OAuthError::Unreachable(format!("reading the answer failed: {}", e.kind())))?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// ureq's own texts can carry the URL: name the kind only.
fn unreachable(e: ureq::Error) -> OAuthError {
    OAuthError::Unreachable(match e {
        ureq::Error::Timeout(_) => format!("no answer within {} s", TIMEOUT.as_secs()),
        ureq::Error::Io(io) => format!("{}", io.kind()),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        _ => "the request failed".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn users_need_a_snowflake_and_get_a_display_name() {
        let u = user(&json!({"id": "123456789012345678", "username": "hunter", "global_name": "Hunter"})).unwrap();
        assert_eq!((u.id.as_str(), u.name.as_str()), ("123456789012345678", "Hunter"));
        let u = user(&json!({"id": "123456789012345678", "username": "hunter", "global_name": null})).unwrap();
        assert_eq!(u.name, "hunter");
        assert_eq!(user(&json!({"id": "12a"})), None);
        assert_eq!(user(&json!({"id": 123})), None);
        assert_eq!(user(&json!({})), None);
    }
}
