//! Configuration: the old system's three YAML files (`config.yaml`, `secrets.yaml`,
//! `servers.yaml`), with the same key names and meaning, plus additive new keys with defaults.
//!
//! Layering is defaults → file → `KACKY_<KEY>` environment variable. Every problem is reported
//! as a [`ConfigError`] naming the file, the key and what was expected, so `main` can print
//! one line and exit with code 2 instead of panicking.
//!
//! Each key is declared once, as a field of the struct of its file (`files.rs`, with its
//! default and its reader from `values.rs`); [`Settings`] is what the rest of the crate uses,
//! made from the two structs with the values that depend on several keys filled in.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::domain::{Edition, EventType, Game};

mod files;
mod servers;
mod values;
use files::{read_yaml, ConfigFile, Kind, SecretsFile, Source, CONFIG_COMPAT, SECRETS_COMPAT};
pub use servers::{Playlist, ServerConfig, Servers};
use values::{describe, LogType};

/// A configuration problem: which file, which key, what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub key: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: impl Into<String>, key: Option<&str>, message: impl Into<String>) -> Self {
        Self { file: file.into(), key: key.map(str::to_owned), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(k) => write!(f, "{}: key `{}`: {}", self.file, k, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Where the three files are. Resolution mirrors the old system: explicit flag, else the
/// `CONFIG_FILE`/`SECRETS_FILE`/`SERVERS_FILE` variable when set and non-empty, else the bare
/// file name in the current directory.
#[derive(Debug, Clone, Default)]
pub struct ConfigPaths {
    pub config: Option<PathBuf>,
    pub secrets: Option<PathBuf>,
    pub servers: Option<PathBuf>,
}

fn resolve(flag: &Option<PathBuf>, var: &str, default: &str) -> (PathBuf, bool) {
    if let Some(p) = flag {
        return (p.clone(), true);
    }
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => (PathBuf::from(v), true),
        _ => (PathBuf::from(default), false),
    }
}

/// Secret strings never show up in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }
}

/// `logtype`: where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    File(PathBuf),
}

/// The whole runtime configuration, typed and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub port: u16,
    pub bind_hosts: String,
    pub compstart: Option<DateTime<Utc>>,
    pub compend: Option<DateTime<Utc>>,
    pub eventtype: EventType,
    pub edition: Edition,
    pub playlist: Playlist,
    /// Minutes per map for `playlist: linear`.
    pub timelimit: i64,
    /// Seconds a server is assumed to spend changing maps until it has been seen doing it
    /// (the prior of the learned slot, see `live::slots`); servers.yaml may set its own.
    pub map_change_s: i64,
    /// Testing mode: the simulated servers' change time is drawn from this range (seconds,
    /// inclusive); `(0, 0)` simulates ideal servers (no change time, jitter, restarts, skips).
    pub testing_map_change_s: (i64, i64),
    pub log_target: LogTarget,
    /// A `tracing` level name (`debug`, `info`, `warn`, `error`).
    pub loglevel: String,
    pub testing_mode: bool,
    pub testing_compstart: Option<DateTime<Utc>>,
    pub testing_compend: Option<DateTime<Utc>>,
    pub database: PathBuf,
    pub gameserver_api_url: String,
    pub records_api_url: String,
    pub sendgrid_api_url: String,
    pub mail_from: String,
    /// Empty = echo any origin, like the old flask-cors setup.
    pub cors_origins: Vec<String>,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub poll_interval_s: u64,
    pub jwt_expiry_days: i64,
    /// Failed logins / reset requests allowed per client (and per username) per minute.
    pub login_rate_per_min: u32,
    /// Minutes before a play that alarms ring (calendar reminders, notifications).
    pub alarm_lead_minutes: i64,
    /// Most `/live` event streams open at once; more get 503. At most three quarters of
    /// `max_connections` (checked at start), by default half, so streams can never take every
    /// connection from the rest of the API.
    pub live_max_streams: usize,
    /// Seconds between keep-alive comments on `/live` streams.
    pub live_keepalive_s: u64,
    /// Seconds a client has to send a complete request head, from its first byte (or from
    /// the connection's start); then the connection is closed.
    pub header_read_timeout_s: u64,
    /// Seconds a whole request (head and body) may take to arrive, from its first byte; a
    /// body still arriving then is cut off with 408. Responses (`/live`) are not bounded.
    pub request_timeout_s: u64,
    /// Seconds an idle keep-alive connection waits for its next request before it is closed.
    pub keepalive_idle_timeout_s: u64,
    /// Most connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Seconds a response may find the client reading nothing (its socket buffers full) before
    /// the connection is closed.
    pub write_stall_timeout_s: u64,
    /// Most `/live` streams open at once from one client address (an IPv6 client: its /64).
    pub live_max_streams_per_client: usize,
    /// Seconds open requests may take to finish after SIGTERM/SIGINT before the process exits.
    pub shutdown_grace_s: u64,
    /// Address of the private Prometheus port (`GET /metrics`); `None` = no metrics (default).
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub api_pwd: Secret,
    pub jwt_secret: Secret,
    pub sendgrid_api_key: Secret,
    pub records_api_key: Secret,
    pub msg_send_pwd: Secret,
    /// Discord execute-webhook URL for alarm notifications; empty = notifications off.
    pub discord_webhook_url: Secret,
    /// Bearer token of `/alarms/upcoming`; empty = that endpoint is off (404).
    pub bot_api_token: Secret,
    /// Requests a minute the finish follower may send to the records API, in all.
    pub records_rate_per_min: u32,
    /// Finish counts that make a `milestone` in the finish feed, ascending.
    pub finish_milestones: Vec<i64>,
    /// Bearer token of the records updater for `PUT /manage/worldrecords/…`; empty = admins only.
    pub records_writer_token: Secret,
    /// Discord execute-webhook URL for the finish feed; empty = not posted.
    pub discord_finish_webhook_url: Secret,
    /// The Discord application of the account link (OAuth2); both empty = linking off.
    pub discord_client_id: Secret,
    pub discord_client_secret: Secret,
    /// The backend's public base URL (the OAuth2 redirect URI is `<public_url>/discord/callback`).
    pub public_url: String,
    /// Discord's base URL (`https://discord.com`; tests point it at a fake).
    pub discord_api_url: String,
    /// Where the browser goes after linking (`?discord=linked` or `?discord=failed&reason=…`
    /// appended); empty = a small page of the backend says how it went.
    pub discord_link_done_url: String,
    /// Without verified links: most mentions of one typed Discord id per hour.
    pub discord_mentions_per_hour: i64,
    /// Seconds a successful records API answer is reused (0 = never); see [`crate::records`].
    pub records_cache_s: u64,
    /// The join link of a server without its own `join` in servers.yaml, `{login}` standing
    /// for its `server_login` (`tmtp://#join={login}` for TMNF, `trackmania://#join={login}@Trackmania`
    /// for TM2020); empty = no link. The demo uses its game's link.
    pub join_url_template: String,
    pub servers: Servers,
    /// True when no config file was found: a demo on a simulated live event.
    pub demo: bool,
    /// Keys of the files that were not read, to be logged once logging (set up from these
    /// settings) runs.
    pub ignored_keys: Vec<IgnoredKey>,
}

/// A key in config.yaml or secrets.yaml that the binary does not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredKey {
    pub file: String,
    pub key: String,
    /// A key of the old MariaDB/gunicorn setup, accepted so old files load.
    pub compat: bool,
}

impl IgnoredKey {
    /// An info line for the old system's keys, a warning for others (a typo, most likely).
    pub fn log(&self) {
        let Self { file, key, compat } = self;
        if *compat {
            tracing::info!("{file}: key `{key}` is accepted for compatibility and ignored");
        } else {
            tracing::warn!("{file}: unknown key `{key}` ignored");
        }
    }
}

impl Settings {
    /// Loads all three files. `Ok(settings)` with `demo = true` when no config file exists at
    /// the default location.
    pub fn load(paths: &ConfigPaths) -> Result<Self, ConfigError> {
        let (config_path, explicit) = resolve(&paths.config, "CONFIG_FILE", "config.yaml");
        let (secrets_path, secrets_explicit) = resolve(&paths.secrets, "SECRETS_FILE", "secrets.yaml");
        let (servers_path, servers_explicit) = resolve(&paths.servers, "SERVERS_FILE", "servers.yaml");
        let config_map = read_yaml(&config_path)?;
        let demo = config_map.is_none();
        if demo && explicit {
            return Err(ConfigError::new(config_path.display().to_string(), None, "file not found"));
        }
        let secrets_map = read_yaml(&secrets_path)?;
        if secrets_map.is_none() && secrets_explicit {
            return Err(ConfigError::new(secrets_path.display().to_string(), None, "file not found"));
        }
        let cfg = Source::new(&config_path, config_map.unwrap_or_default(), Kind::Config)?;
        let sec = Source::new(&secrets_path, secrets_map.unwrap_or_default(), Kind::Secrets)?;
        let mut settings = Self::from_sources(&cfg, &sec, demo)?;
        settings.servers = match read_yaml(&servers_path)? {
            Some(map) => Servers::from_mapping(&servers_path.display().to_string(), map)?,
            None if servers_explicit => {
                return Err(ConfigError::new(servers_path.display().to_string(), None, "file not found"))
            }
            None if demo => Servers::demo(),
            None => Servers::default(),
        };
        Ok(settings)
    }

    /// Reads both files into their structs, then fills in what depends on several keys (or on
    /// `demo`) and checks the keys against each other.
    fn from_sources(cfg: &Source, sec: &Source, demo: bool) -> Result<Self, ConfigError> {
        let mut ignored_keys = Vec::new();
        let c: ConfigFile = cfg.parse(CONFIG_COMPAT, &mut ignored_keys)?;
        let s: SecretsFile = sec.parse(SECRETS_COMPAT, &mut ignored_keys)?;
        let err = |source: &Source, key: &str, message: String| ConfigError::new(&source.file, Some(key), message);
        if !demo && !s.jwt_secret.is_set() {
            let message = "is missing: expected a long random string used to sign login tokens";
            return Err(err(sec, "jwt_secret", message.into()));
        }
        let log_target =
            match c.logtype {
                LogType::Stdout => LogTarget::Stdout,
                LogType::File => LogTarget::File(c.logfile.ok_or_else(|| {
                    err(cfg, "logfile", "expected a file path (required when logtype is FILE)".into())
                })?),
            };
        let live_max_streams =
            live_max_streams(c.live_max_streams, c.max_connections).map_err(|m| err(cfg, "live_max_streams", m))?;
        let (low, high) = default_change_range(c.eventtype);
        let join_url_template = c.join_url_template.unwrap_or_else(|| match demo {
            true => c.eventtype.game().join_template().to_owned(),
            false => String::new(),
        });
        if let (Some(a), Some(b)) = (c.compstart, c.compend) {
            if b < a {
                return Err(err(cfg, "compend", "expected a date-time after compstart".into()));
            }
        }
        let bind_hosts = c.bind_hosts.or(c.bind_host).unwrap_or_else(|| "127.0.0.1".into());
        if let Some(m) = c.metrics_listen.filter(|m| m.port() != 0 && m.port() == c.port) {
            if m.ip().is_unspecified() || ["0.0.0.0", "::", &m.ip().to_string()].contains(&bind_hosts.as_str()) {
                return Err(err(cfg, "metrics_listen", format!("expected another port than the public one ({m})")));
            }
        }
        Ok(Self {
            port: c.port,
            bind_hosts,
            compstart: c.compstart,
            compend: c.compend,
            eventtype: c.eventtype,
            edition: c.edition,
            playlist: c.playlist,
            timelimit: c.timelimit,
            map_change_s: c.map_change_s.unwrap_or((low + high) / 2),
            testing_map_change_s: c.testing_map_change_s.unwrap_or((low, high)),
            log_target,
            loglevel: c.loglevel,
            testing_mode: demo || c.testing_mode,
            testing_compstart: c.testing_compstart,
            testing_compend: c.testing_compend,
            database: c.database,
            gameserver_api_url: c.gameserver_api_url,
            records_api_url: c.records_api_url,
            sendgrid_api_url: c.sendgrid_api_url,
            mail_from: c.mail_from,
            cors_origins: c.cors_origins,
            trusted_proxies: c.trusted_proxies,
            poll_interval_s: c.poll_interval_s,
            jwt_expiry_days: c.jwt_expiry_days,
            login_rate_per_min: c.login_rate_per_min,
            alarm_lead_minutes: c.alarm_lead_minutes,
            live_max_streams,
            live_keepalive_s: c.live_keepalive_s,
            header_read_timeout_s: c.header_read_timeout_s,
            request_timeout_s: c.request_timeout_s,
            keepalive_idle_timeout_s: c.keepalive_idle_timeout_s,
            max_connections: c.max_connections,
            write_stall_timeout_s: c.write_stall_timeout_s,
            live_max_streams_per_client: c.live_max_streams_per_client,
            shutdown_grace_s: c.shutdown_grace_s,
            metrics_listen: c.metrics_listen,
            api_pwd: s.api_pwd,
            jwt_secret: s.jwt_secret,
            sendgrid_api_key: s.sendgrid_api_key,
            records_api_key: s.records_api_key,
            msg_send_pwd: s.msg_send_pwd,
            discord_webhook_url: s.discord_webhook_url,
            bot_api_token: s.bot_api_token,
            records_rate_per_min: c.records_rate_per_min,
            finish_milestones: c.finish_milestones,
            records_writer_token: s.records_writer_token,
            discord_finish_webhook_url: s.discord_finish_webhook_url,
            discord_client_id: s.discord_client_id,
            discord_client_secret: s.discord_client_secret,
            public_url: c.public_url,
            discord_api_url: c.discord_api_url,
            discord_link_done_url: c.discord_link_done_url,
            discord_mentions_per_hour: c.discord_mentions_per_hour,
            records_cache_s: c.records_cache_s,
            join_url_template,
            servers: Servers::default(),
            demo,
            ignored_keys,
        })
    }
}

/// `live_max_streams`: by default half of `max_connections`; at most three quarters of it, so
/// at least a quarter of the connections stay for the rest of the API however many viewers
/// keep a stream open.
fn live_max_streams(set: Option<i64>, max_connections: usize) -> Result<usize, String> {
    let most = (max_connections / 4).saturating_mul(3).max(1);
    let Some(n) = set else { return Ok((max_connections / 2).max(1)) };
    match usize::try_from(n) {
        Ok(n) if (1..=most).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected 1 to {most} (three quarters of max_connections, {max_connections}, so streams leave \
             connections for the other requests; raise max_connections for more), found {n}"
        )),
    }
}

/// How long servers of this family's game typically take to change maps (seconds): about 45 s
/// on TMNF (KK, 30–60), 5–20 s on TM2020 (KR, KX).
fn default_change_range(eventtype: EventType) -> (i64, i64) {
    if eventtype.game() == Game::Tmnf {
        (30, 60)
    } else {
        (5, 20)
    }
}

#[cfg(test)]
mod tests;
