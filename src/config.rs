//! Configuration: the old system's three YAML files (`config.yaml`, `secrets.yaml`,
//! `servers.yaml`), with the same key names and meaning, plus additive new keys with defaults.
//!
//! Layering is defaults → file → `KACKY_<KEY>` environment variable. Every problem is reported
//! as a [`ConfigError`] naming the file, the key and what was expected, so `main` can print
//! one line and exit with code 2 instead of panicking.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_yaml::{Mapping, Value};

use crate::clock::{parse_config_datetime_in, ConfigDateError};
use crate::domain::{codes_listed, Edition, EventType, Game};

mod servers;
pub use servers::{Playlist, ServerConfig, Servers};

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
}

/// Which file a key belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum File {
    Config,
    Secrets,
}

/// What the binary does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Read into [`Settings`].
    Read,
    /// A key of the old MariaDB/gunicorn setup: accepted so old files load, noted, ignored.
    Ignored,
}

/// Every top-level key of config.yaml and secrets.yaml, declared once: unknown keys are the
/// ones missing here (warned about), the `KACKY_<KEY>` overrides exist for exactly these, and
/// a unit test holds [`Settings::from_sources`] to reading every `Read` key and no other.
#[rustfmt::skip]
const KEYS: &[(&str, File, Use)] = &[
    ("port", File::Config, Use::Read),
    ("bind_hosts", File::Config, Use::Read),
    ("bind_host", File::Config, Use::Read),
    ("compstart", File::Config, Use::Read),
    ("compend", File::Config, Use::Read),
    ("eventtype", File::Config, Use::Read),
    ("edition", File::Config, Use::Read),
    ("playlist", File::Config, Use::Read),
    ("timelimit", File::Config, Use::Read),
    ("map_change_s", File::Config, Use::Read),
    ("testing_map_change_s", File::Config, Use::Read),
    ("logtype", File::Config, Use::Read),
    ("logfile", File::Config, Use::Read),
    ("loglevel", File::Config, Use::Read),
    ("testing_mode", File::Config, Use::Read),
    ("testing_compstart", File::Config, Use::Read),
    ("testing_compend", File::Config, Use::Read),
    ("database", File::Config, Use::Read),
    ("gameserver_api_url", File::Config, Use::Read),
    ("records_api_url", File::Config, Use::Read),
    ("sendgrid_api_url", File::Config, Use::Read),
    ("mail_from", File::Config, Use::Read),
    ("cors_origins", File::Config, Use::Read),
    ("trusted_proxies", File::Config, Use::Read),
    ("poll_interval_s", File::Config, Use::Read),
    ("jwt_expiry_days", File::Config, Use::Read),
    ("login_rate_per_min", File::Config, Use::Read),
    ("alarm_lead_minutes", File::Config, Use::Read),
    ("live_max_streams", File::Config, Use::Read),
    ("live_keepalive_s", File::Config, Use::Read),
    ("header_read_timeout_s", File::Config, Use::Read),
    ("request_timeout_s", File::Config, Use::Read),
    ("keepalive_idle_timeout_s", File::Config, Use::Read),
    ("max_connections", File::Config, Use::Read),
    ("write_stall_timeout_s", File::Config, Use::Read),
    ("live_max_streams_per_client", File::Config, Use::Read),
    ("shutdown_grace_s", File::Config, Use::Read),
    ("records_rate_per_min", File::Config, Use::Read),
    ("finish_milestones", File::Config, Use::Read),
    ("public_url", File::Config, Use::Read),
    ("discord_api_url", File::Config, Use::Read),
    ("discord_link_done_url", File::Config, Use::Read),
    ("discord_mentions_per_hour", File::Config, Use::Read),
    ("metrics_listen", File::Config, Use::Read),
    ("records_cache_s", File::Config, Use::Read),
    ("join_url_template", File::Config, Use::Read),
    ("workers", File::Config, Use::Ignored),
    ("threads", File::Config, Use::Ignored),
    ("install_dir", File::Config, Use::Ignored),
    ("logger_name", File::Config, Use::Ignored),
    ("dbhost", File::Config, Use::Ignored),
    ("dbport", File::Config, Use::Ignored),
    ("dbname", File::Config, Use::Ignored),
    ("min_mapid", File::Config, Use::Ignored),
    ("max_mapid", File::Config, Use::Ignored),
    ("api_pwd", File::Secrets, Use::Read),
    ("jwt_secret", File::Secrets, Use::Read),
    ("sendgrid_api_key", File::Secrets, Use::Read),
    ("records_api_key", File::Secrets, Use::Read),
    ("msg_send_pwd", File::Secrets, Use::Read),
    ("discord_webhook_url", File::Secrets, Use::Read),
    ("bot_api_token", File::Secrets, Use::Read),
    ("records_writer_token", File::Secrets, Use::Read),
    ("discord_finish_webhook_url", File::Secrets, Use::Read),
    ("discord_client_id", File::Secrets, Use::Read),
    ("discord_client_secret", File::Secrets, Use::Read),
    ("flask_secret", File::Secrets, Use::Ignored),
    ("dbuser", File::Secrets, Use::Ignored),
    ("dbpwd", File::Secrets, Use::Ignored),
];

/// Upper bound of the connection timeouts (seconds); larger values are read as a day.
const DAY_S: i64 = 86_400;

fn declared(key: &str) -> Option<(File, Use)> {
    KEYS.iter().find(|(k, _, _)| *k == key).map(|&(_, f, u)| (f, u))
}

/// One file's values after env overrides, with typed getters that produce [`ConfigError`]s.
pub(crate) struct Source {
    pub(crate) file: String,
    pub(crate) values: BTreeMap<String, Value>,
    /// The keys read so far (the test of [`KEYS`] compares them with the declaration).
    read: std::cell::RefCell<std::collections::BTreeSet<String>>,
}

impl Source {
    fn get(&self, key: &str) -> Option<&Value> {
        debug_assert!(declared(key).is_some(), "config key `{key}` is read but not declared in KEYS");
        self.read.borrow_mut().insert(key.to_owned());
        self.values.get(key).filter(|v| !v.is_null())
    }
    fn err(&self, key: &str, msg: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.file, Some(key), msg)
    }
    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(v) => Err(self.err(key, format!("expected a string, found {}", describe(v)))),
        }
    }
    fn int(&self, key: &str) -> Result<Option<i64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            Some(Value::String(s)) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().parse().ok()),
            Some(v) => Err(self.err(key, format!("expected an integer, found {}", describe(v)))),
        }
    }
    fn positive(&self, key: &str, default: i64) -> Result<i64, ConfigError> {
        let v = self.int(key)?.unwrap_or(default);
        if v <= 0 {
            return Err(self.err(key, format!("expected a positive integer, found {v}")));
        }
        Ok(v)
    }
    fn boolean(&self, key: &str) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" | "" => Ok(false),
                _ => Err(self.err(key, format!("expected true/false or 1/0, found \"{s}\""))),
            },
            Some(v) => Err(self.err(key, format!("expected true/false or 1/0, found {}", describe(v)))),
        }
    }
    fn datetime(&self, key: &str) -> Result<Option<DateTime<Utc>>, ConfigError> {
        let Some(raw) = self.string(key)? else {
            return Ok(None);
        };
        parse_config_datetime_in(&raw, &chrono::Local).map(Some).map_err(|e| match e {
            ConfigDateError::Unreadable => self.err(key, format!("expected a date-time like 2023-08-17T20:00 (local time) or 2023-08-17T20:00:00+02:00, found \"{raw}\"")),
            ConfigDateError::Gap { local, before, after } => self.err(
                key,
                format!(
                    "\"{raw}\" does not exist in the local time zone {}: the clocks jump from UTC{before} to UTC{after} \
                     over it (daylight saving time). Write it with an offset, like {}{before}",
                    crate::clock::local_zone(),
                    local.format("%Y-%m-%dT%H:%M:%S"),
                ),
            ),
        })
    }
    fn list(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => {
                Ok(s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect())
            }
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.trim().to_owned()),
                    other => {
                        Err(self.err(key, format!("expected a list of strings, found an item {}", describe(other))))
                    }
                })
                .collect(),
            Some(v) => Err(self.err(key, format!("expected a list of strings, found {}", describe(v)))),
        }
    }
    fn secret(&self, key: &str) -> Result<Secret, ConfigError> {
        Ok(Secret(self.string(key)?.unwrap_or_default()))
    }
}

pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{s}\""),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(_) => "a tagged value".into(),
    }
}

/// Reads one YAML file into a top-level mapping. A missing file is `Ok(None)`.
pub(crate) fn read_yaml(path: &Path) -> Result<Option<Mapping>, ConfigError> {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ConfigError::new(name, None, format!("cannot read the file: {e}"))),
    };
    match serde_yaml::from_str::<Value>(&text) {
        Ok(Value::Null) => Ok(Some(Mapping::new())),
        Ok(Value::Mapping(m)) => Ok(Some(m)),
        Ok(other) => Err(ConfigError::new(
            name,
            None,
            format!("expected a mapping of keys to values at the top level, found {}", describe(&other)),
        )),
        Err(e) => Err(ConfigError::new(name, None, format!("not valid YAML: {e}"))),
    }
}

/// Builds a [`Source`] from a file's mapping plus `KACKY_<KEY>` overrides for its keys.
fn source(file: &Path, map: Mapping, kind: File) -> Result<Source, ConfigError> {
    let name = file.display().to_string();
    let mut values = BTreeMap::new();
    for (key, value) in map {
        let Value::String(key) = key else {
            return Err(ConfigError::new(&name, None, format!("expected string keys, found {}", describe(&key))));
        };
        match declared(&key) {
            None => tracing::warn!("{name}: unknown key `{key}` ignored"),
            Some((_, Use::Ignored)) => tracing::info!("{name}: key `{key}` is accepted for compatibility and ignored"),
            Some((_, Use::Read)) => {}
        }
        values.insert(key, value);
    }
    for &(key, _, _) in KEYS.iter().filter(|(_, f, u)| *f == kind && *u == Use::Read) {
        let var = format!("KACKY_{}", key.to_ascii_uppercase());
        if let Ok(raw) = std::env::var(&var) {
            // Secrets stay strings even when they look like numbers.
            let value = match kind {
                File::Secrets => Value::String(raw),
                File::Config => serde_yaml::from_str::<Value>(&raw).unwrap_or(Value::String(raw)),
            };
            values.insert(key.to_owned(), value);
        }
    }
    Ok(Source { file: name, values, read: Default::default() })
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
        let cfg = source(&config_path, config_map.unwrap_or_default(), File::Config)?;
        let sec = source(&secrets_path, secrets_map.unwrap_or_default(), File::Secrets)?;
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

    fn from_sources(cfg: &Source, sec: &Source, demo: bool) -> Result<Self, ConfigError> {
        let eventtype = match cfg.string("eventtype")? {
            None => EventType::Kr,
            Some(t) => EventType::parse(&t)
                .ok_or_else(|| cfg.err("eventtype", format!("expected {}, found \"{t}\"", codes_listed())))?,
        };
        let playlist = match cfg.string("playlist")?.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("custom") => Playlist::Custom,
            Some("linear") => Playlist::Linear,
            Some(other) => return Err(cfg.err("playlist", format!("expected custom or linear, found \"{other}\""))),
        };
        let log_target = match cfg.string("logtype")?.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("STDOUT") => LogTarget::Stdout,
            Some("FILE") => {
                let raw = cfg
                    .string("logfile")?
                    .ok_or_else(|| cfg.err("logfile", "expected a file path (required when logtype is FILE)"))?;
                LogTarget::File(expand_home(&raw))
            }
            Some(other) => return Err(cfg.err("logtype", format!("expected STDOUT or FILE, found \"{other}\""))),
        };
        let loglevel = match cfg.string("loglevel")?.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("INFO") => "info",
            Some("DEBUG") => "debug",
            Some("WARNING") | Some("WARN") => "warn",
            Some("ERROR") | Some("CRITICAL") => "error",
            Some(other) => {
                return Err(cfg.err(
                    "loglevel",
                    format!("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, found \"{other}\""),
                ))
            }
        };
        let port = match cfg.int("port")? {
            None => 5005,
            Some(p) => u16::try_from(p).map_err(|_| {
                cfg.err("port", format!("expected a port number 0-65535 (0 = any free port), found {p}"))
            })?,
        };
        let bind_hosts = match cfg.string("bind_hosts")? {
            Some(h) => h,
            None => cfg.string("bind_host")?.unwrap_or_else(|| "127.0.0.1".into()),
        };
        let trusted_proxies = cfg
            .list("trusted_proxies")?
            .iter()
            .map(|p| p.parse().map_err(|_| cfg.err("trusted_proxies", format!("expected IP addresses, found \"{p}\""))))
            .collect::<Result<_, _>>()?;
        let jwt_secret = sec.secret("jwt_secret")?;
        if !demo && !jwt_secret.is_set() {
            return Err(sec.err("jwt_secret", "is missing: expected a long random string used to sign login tokens"));
        }
        let testing_mode = demo || cfg.boolean("testing_mode")?;
        let max_connections = usize::try_from(cfg.positive("max_connections", 768)?).unwrap_or(usize::MAX);
        let live_max_streams = live_max_streams(cfg, max_connections)?;
        let settings = Self {
            port,
            bind_hosts,
            compstart: cfg.datetime("compstart")?,
            compend: cfg.datetime("compend")?,
            eventtype,
            edition: Edition::new(cfg.int("edition")?.unwrap_or(4))
                .ok_or_else(|| cfg.err("edition", "expected an edition number, 0 or more"))?,
            playlist,
            timelimit: cfg.positive("timelimit", 10)?,
            map_change_s: match cfg.int("map_change_s")? {
                None => {
                    let (low, high) = default_change_range(eventtype);
                    (low + high) / 2
                }
                Some(s) if (0..=600).contains(&s) => s,
                Some(s) => return Err(cfg.err("map_change_s", format!("expected seconds from 0 to 600, found {s}"))),
            },
            testing_map_change_s: change_range(cfg, "testing_map_change_s")?
                .unwrap_or_else(|| default_change_range(eventtype)),
            log_target,
            loglevel: loglevel.to_owned(),
            testing_mode,
            testing_compstart: cfg.datetime("testing_compstart")?,
            testing_compend: cfg.datetime("testing_compend")?,
            database: PathBuf::from(cfg.string("database")?.unwrap_or_else(|| "kacky.db".into())),
            gameserver_api_url: cfg
                .string("gameserver_api_url")?
                .unwrap_or_else(|| "https://kackyreloaded.com/api/".into()),
            records_api_url: cfg.string("records_api_url")?.unwrap_or_else(|| "https://records.kacky.gg".into()),
            sendgrid_api_url: cfg.string("sendgrid_api_url")?.unwrap_or_else(|| "https://api.sendgrid.com".into()),
            mail_from: cfg.string("mail_from")?.unwrap_or_else(|| "kacky@dingens.me".into()),
            cors_origins: cfg.list("cors_origins")?,
            trusted_proxies,
            poll_interval_s: cfg.positive("poll_interval_s", 60)? as u64,
            jwt_expiry_days: cfg.positive("jwt_expiry_days", 100)?,
            login_rate_per_min: cfg.positive("login_rate_per_min", 10)?.min(u32::MAX as i64) as u32,
            alarm_lead_minutes: cfg.positive("alarm_lead_minutes", 10)?.min(24 * 60),
            live_max_streams,
            live_max_streams_per_client: usize::try_from(cfg.positive("live_max_streams_per_client", 8)?)
                .unwrap_or(usize::MAX),
            live_keepalive_s: cfg.positive("live_keepalive_s", 15)?.min(20) as u64,
            header_read_timeout_s: cfg.positive("header_read_timeout_s", 5)?.min(DAY_S) as u64,
            request_timeout_s: cfg.positive("request_timeout_s", 30)?.min(DAY_S) as u64,
            keepalive_idle_timeout_s: cfg.positive("keepalive_idle_timeout_s", 60)?.min(DAY_S) as u64,
            max_connections,
            write_stall_timeout_s: cfg.positive("write_stall_timeout_s", 30)?.min(DAY_S) as u64,
            shutdown_grace_s: cfg.positive("shutdown_grace_s", 10)?.min(DAY_S) as u64,
            metrics_listen: metrics_listen(cfg)?,
            api_pwd: sec.secret("api_pwd")?,
            jwt_secret,
            sendgrid_api_key: sec.secret("sendgrid_api_key")?,
            records_api_key: sec.secret("records_api_key")?,
            msg_send_pwd: sec.secret("msg_send_pwd")?,
            discord_webhook_url: webhook_url(sec, "discord_webhook_url")?,
            bot_api_token: sec.secret("bot_api_token")?,
            records_rate_per_min: cfg.positive("records_rate_per_min", 60)?.min(6000) as u32,
            finish_milestones: milestones(cfg)?,
            records_writer_token: sec.secret("records_writer_token")?,
            discord_finish_webhook_url: webhook_url(sec, "discord_finish_webhook_url")?,
            discord_client_id: sec.secret("discord_client_id")?,
            discord_client_secret: sec.secret("discord_client_secret")?,
            public_url: http_url(cfg, "public_url", "")?,
            discord_api_url: http_url(cfg, "discord_api_url", "https://discord.com")?,
            discord_link_done_url: http_url(cfg, "discord_link_done_url", "")?,
            discord_mentions_per_hour: cfg.positive("discord_mentions_per_hour", 20)?,
            records_cache_s: match cfg.int("records_cache_s")?.unwrap_or(30) {
                n @ 0..=3600 => n as u64,
                n => return Err(cfg.err("records_cache_s", format!("expected seconds from 0 to 3600, found {n}"))),
            },
            join_url_template: join_url_template(cfg, eventtype, demo)?,
            servers: Servers::default(),
            demo,
        };
        if let (Some(a), Some(b)) = (settings.compstart, settings.compend) {
            if b < a {
                return Err(cfg.err("compend", "expected a date-time after compstart"));
            }
        }
        if let Some(m) = settings.metrics_listen.filter(|m| m.port() != 0 && m.port() == settings.port) {
            if m.ip().is_unspecified() || ["0.0.0.0", "::", &m.ip().to_string()].contains(&settings.bind_hosts.as_str())
            {
                return Err(cfg.err("metrics_listen", format!("expected another port than the public one ({m})")));
            }
        }
        Ok(settings)
    }
}

/// `live_max_streams`: by default half of `max_connections`; at most three quarters of it, so
/// at least a quarter of the connections stay for the rest of the API however many viewers
/// keep a stream open.
fn live_max_streams(cfg: &Source, max_connections: usize) -> Result<usize, ConfigError> {
    let most = (max_connections / 4).saturating_mul(3).max(1);
    let Some(n) = cfg.int("live_max_streams")? else { return Ok((max_connections / 2).max(1)) };
    match usize::try_from(n) {
        Ok(n) if (1..=most).contains(&n) => Ok(n),
        _ => Err(cfg.err(
            "live_max_streams",
            format!(
                "expected 1 to {most} (three quarters of max_connections, {max_connections}, so streams leave \
                 connections for the other requests; raise max_connections for more), found {n}"
            ),
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

/// A range of seconds: `30-60`, `[30, 60]` or one number.
fn change_range(cfg: &Source, key: &str) -> Result<Option<(i64, i64)>, ConfigError> {
    let bad =
        |found: String| cfg.err(key, format!("expected seconds like 30-60 or [30, 60] (0 to 600), found {found}"));
    let range = match cfg.get(key) {
        None => return Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(|n| (n, n)).ok_or_else(|| bad(n.to_string()))?,
        Some(Value::String(s)) => {
            let parts: Vec<Option<i64>> = s.split('-').map(|p| p.trim().parse().ok()).collect();
            match parts.as_slice() {
                [Some(a)] => (*a, *a),
                [Some(a), Some(b)] => (*a, *b),
                _ => return Err(bad(format!("\"{s}\""))),
            }
        }
        Some(Value::Sequence(items)) => match items.iter().map(Value::as_i64).collect::<Vec<_>>().as_slice() {
            [Some(a), Some(b)] => (*a, *b),
            _ => return Err(bad("a list that is not two whole numbers".into())),
        },
        Some(v) => return Err(bad(describe(v))),
    };
    if range.0 < 0 || range.1 < range.0 || range.1 > 600 {
        return Err(bad(format!("{}-{}", range.0, range.1)));
    }
    Ok(Some(range))
}

/// `join_url_template`: a link with `{login}` in it, or empty; the demo's default is the link
/// of its game.
fn join_url_template(cfg: &Source, eventtype: EventType, demo: bool) -> Result<String, ConfigError> {
    match cfg.string("join_url_template")? {
        None if demo => Ok(eventtype.game().join_template().to_owned()),
        None => Ok(String::new()),
        Some(t) if t.trim().is_empty() => Ok(String::new()),
        Some(t) if t.contains("{login}") => Ok(t.trim().to_owned()),
        Some(t) => Err(cfg.err(
            "join_url_template",
            format!(
                "expected a link with {{login}} where the server's login goes, like {} (TMNF) or {} (TM2020), found \"{t}\"",
                Game::Tmnf.join_template(),
                Game::Tm2020.join_template()
            ),
        )),
    }
}

/// An http(s) URL (Discord's are `https://discord.com/api/webhooks/<id>/<token>`), or empty.
fn webhook_url(sec: &Source, key: &str) -> Result<Secret, ConfigError> {
    let url = sec.secret(key)?;
    let raw = url.expose().trim();
    if !(raw.is_empty() || raw.starts_with("https://") || raw.starts_with("http://")) {
        return Err(sec.err(key, "expected an http(s) URL like https://discord.com/api/webhooks/<id>/<token>"));
    }
    Ok(Secret(raw.to_owned()))
}

/// An http(s) base URL without a trailing slash, `default` when unset; empty stays empty.
fn http_url(cfg: &Source, key: &str, default: &str) -> Result<String, ConfigError> {
    let raw = cfg.string(key)?.unwrap_or_else(|| default.to_owned());
    let raw = raw.trim().trim_end_matches('/');
    let valid = raw.is_empty()
        || ((raw.starts_with("https://") || raw.starts_with("http://"))
            && !raw.contains(char::is_whitespace)
            && raw.split("://").nth(1).is_some_and(|host| !host.is_empty()));
    if !valid {
        return Err(cfg.err(key, format!("expected an http(s) URL like https://kacky.example.org, found \"{raw}\"")));
    }
    Ok(raw.to_owned())
}

/// `finish_milestones`: positive whole numbers (a list, or a comma-separated string), sorted;
/// `[15, 25, 40, 50]` when unset, none with an empty list.
fn milestones(cfg: &Source) -> Result<Vec<i64>, ConfigError> {
    let key = "finish_milestones";
    let expected = |found: String| {
        cfg.err(key, format!("expected a list of positive whole numbers like [15, 25, 40, 50], found {found}"))
    };
    let items: Vec<Value> = match cfg.get(key) {
        None => return Ok(vec![15, 25, 40, 50]),
        Some(Value::Sequence(items)) => items.clone(),
        Some(Value::String(s)) => {
            s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(|x| Value::String(x.to_owned())).collect()
        }
        Some(Value::Number(n)) => vec![Value::Number(n.clone())],
        Some(other) => return Err(expected(describe(other))),
    };
    let mut out = items
        .iter()
        .map(|v| match v {
            Value::Number(n) => n.as_i64().filter(|n| *n > 0).ok_or_else(|| expected(describe(v))),
            Value::String(s) => s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| expected(describe(v))),
            other => Err(expected(describe(other))),
        })
        .collect::<Result<Vec<i64>, _>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// `host:port` of the metrics port (`127.0.0.1:9091`, `[::1]:9091`); absent or empty = off.
fn metrics_listen(cfg: &Source) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    match cfg.string("metrics_listen")?.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| {
            cfg.err("metrics_listen", format!("expected an IP address and port like 127.0.0.1:9091, found \"{raw}\""))
        }),
    }
}

fn expand_home(raw: &str) -> PathBuf {
    match (raw.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => PathBuf::from(format!("{home}{rest}")),
        _ => PathBuf::from(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(yaml: &str) -> Source {
        let map: Mapping = serde_yaml::from_str(yaml).unwrap();
        Source {
            file: "config.yaml".into(),
            values: map.into_iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), v)).collect(),
            read: Default::default(),
        }
    }

    /// The declaration and the reader agree: every `Read` key of each file is read, and only
    /// those (a key read but not declared trips the `debug_assert` in `Source::get`).
    #[test]
    fn every_declared_key_is_read_and_nothing_else() {
        let (cfg, sec) = (src("logtype: FILE\nlogfile: kacky.log"), src("jwt_secret: x"));
        Settings::from_sources(&cfg, &sec, false).unwrap();
        for (source, file) in [(&cfg, File::Config), (&sec, File::Secrets)] {
            let expected: std::collections::BTreeSet<String> = KEYS
                .iter()
                .filter(|(_, f, u)| *f == file && *u == Use::Read)
                .map(|(k, _, _)| (*k).to_owned())
                .collect();
            assert_eq!(*source.read.borrow(), expected, "{file:?}");
        }
    }

    #[test]
    fn old_file_with_db_keys_loads() {
        let cfg = src("port: 5005\nbind_hosts: 0.0.0.0\ncompstart: 2023-08-17T20:00\ncompend: '2023-09-17T22:00:00'\neventtype: KR\nedition: 4\nplaylist: custom\nlogtype: STDOUT\nloglevel: INFO\ndbhost: x\ndbport: 3306\ntesting_mode: 0\n");
        let sec = src("jwt_secret: abc\napi_pwd: p\ndbuser: root\n");
        let s = Settings::from_sources(&cfg, &sec, false).unwrap();
        assert_eq!(s.bind_hosts, "0.0.0.0");
        assert_eq!(s.eventtype, EventType::Kr);
        assert!(s.compstart.unwrap() < s.compend.unwrap());
        assert!(!s.testing_mode);
    }

    #[test]
    fn connection_keys_have_defaults_a_day_at_most_and_refuse_zero() {
        let s = Settings::from_sources(&src(""), &src("jwt_secret: x"), false).unwrap();
        let keys = (s.header_read_timeout_s, s.request_timeout_s, s.keepalive_idle_timeout_s, s.shutdown_grace_s);
        assert_eq!(keys, (5, 30, 60, 10));
        assert_eq!(s.max_connections, 768);
        assert_eq!((s.live_max_streams, s.live_max_streams_per_client, s.write_stall_timeout_s), (384, 8, 30));
        let s = Settings::from_sources(
            &src("max_connections: 100\nrequest_timeout_s: 999999999"),
            &src("jwt_secret: x"),
            false,
        );
        let s = s.unwrap();
        assert_eq!((s.max_connections, s.request_timeout_s), (100, 86_400));
        let e = Settings::from_sources(&src("header_read_timeout_s: 0"), &src("jwt_secret: x"), false).unwrap_err();
        assert_eq!(e.to_string(), "config.yaml: key `header_read_timeout_s`: expected a positive integer, found 0");
    }

    /// Streams can never take every connection: the cap is checked against
    /// `max_connections` at start, and follows it by default.
    #[test]
    fn live_streams_leave_a_quarter_of_the_connections() {
        let load = |yaml: &str| Settings::from_sources(&src(yaml), &src("jwt_secret: x"), false);
        let e = load("live_max_streams: 1000").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.yaml: key `live_max_streams`: expected 1 to 576 (three quarters of max_connections, 768, so \
             streams leave connections for the other requests; raise max_connections for more), found 1000"
        );
        assert!(load("live_max_streams: 0").is_err());
        assert_eq!(load("live_max_streams: 576").unwrap().live_max_streams, 576);
        assert_eq!(load("max_connections: 8000").unwrap().live_max_streams, 4000);
        assert_eq!(load("max_connections: 8000\nlive_max_streams: 5000").unwrap().live_max_streams, 5000);
        assert_eq!(load("max_connections: 1").unwrap().live_max_streams, 1);
    }

    #[test]
    fn metrics_listen_is_off_by_default_and_names_a_bad_address() {
        let s = Settings::from_sources(&src(""), &src("jwt_secret: x"), false).unwrap();
        assert_eq!(s.metrics_listen, None);
        let s = Settings::from_sources(&src("metrics_listen: '[::1]:9091'"), &src("jwt_secret: x"), false).unwrap();
        assert_eq!(s.metrics_listen, Some("[::1]:9091".parse().unwrap()));
        let e = Settings::from_sources(&src("metrics_listen: 127.0.0.1:5005"), &src("jwt_secret: x"), false);
        assert_eq!(
            e.unwrap_err().to_string(),
            "config.yaml: key `metrics_listen`: expected another port than the public one (127.0.0.1:5005)"
        );
        let e = Settings::from_sources(&src("metrics_listen: 9091"), &src("jwt_secret: x"), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.yaml: key `metrics_listen`: expected an IP address and port like 127.0.0.1:9091, found \"9091\""
        );
    }

    #[test]
    fn kx_join_links_and_records_cache() {
        let s = Settings::from_sources(&src("eventtype: kx"), &src("jwt_secret: x"), false).unwrap();
        assert_eq!((s.eventtype, s.join_url_template.as_str(), s.records_cache_s), (EventType::Kx, "", 30));
        let demo = Settings::from_sources(&src("eventtype: KK"), &src(""), true).unwrap();
        assert_eq!(demo.join_url_template, "tmtp://#join={login}", "the demo links to its game");
        let s = Settings::from_sources(
            &src("join_url_template: 'x://{login}'\nrecords_cache_s: 0"),
            &src("jwt_secret: x"),
            false,
        );
        assert_eq!(s.map(|s| (s.join_url_template, s.records_cache_s)).unwrap(), ("x://{login}".to_owned(), 0));
        let e = Settings::from_sources(&src("join_url_template: tmtp://#join=a"), &src("jwt_secret: x"), false)
            .unwrap_err();
        assert!(e.to_string().starts_with("config.yaml: key `join_url_template`: expected a link with {login}"), "{e}");
        let e = Settings::from_sources(&src("records_cache_s: -1"), &src("jwt_secret: x"), false).unwrap_err();
        assert!(e.to_string().contains("records_cache_s"), "{e}");
    }

    #[test]
    fn readme_spelling_bind_host_is_accepted() {
        let s = Settings::from_sources(&src("bind_host: 10.0.0.1"), &src("jwt_secret: x"), false).unwrap();
        assert_eq!(s.bind_hosts, "10.0.0.1");
    }

    #[test]
    fn errors_name_key_and_expectation() {
        let e = Settings::from_sources(&src("port: abc"), &src("jwt_secret: x"), false).unwrap_err();
        assert_eq!(e.to_string(), "config.yaml: key `port`: expected an integer, found the string \"abc\"");
        let e =
            Settings::from_sources(&src("loglevel: \"__import__('os')\""), &src("jwt_secret: x"), false).unwrap_err();
        assert!(e.to_string().contains("loglevel"));
        let e = Settings::from_sources(&src("port: 1"), &src("api_pwd: x"), false).unwrap_err();
        assert!(e.to_string().contains("jwt_secret"));
    }

    mod arbitrary {
        use proptest::collection::{btree_map, vec};
        use proptest::prelude::*;
        use proptest::sample::select;

        use super::super::*;

        /// YAML values of small depth, with strings the loader gives meaning to.
        fn value() -> impl Strategy<Value = Value> {
            let words = [
                "KK",
                "kr",
                "KX",
                "custom",
                "linear",
                "FILE",
                "STDOUT",
                "DEBUG",
                "warning",
                "2023-08-17T20:00",
                "2023-08-17",
                "2023-08-17 20:00:00",
                "2023-08-17T20:00:00+02:00",
                "9999-99-99",
                "~/x/k.log",
                "",
                "1.2.3.4",
                "0",
                "-1",
                "http://x/",
                "a, b",
            ];
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| Value::Number(n.into())),
                (-5i64..100).prop_map(|n| Value::Number(n.into())),
                any::<f64>().prop_map(|f| Value::Number(f.into())),
                select(words.to_vec()).prop_map(|s| Value::String(s.into())),
                ".{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(2, 16, 4, |inner| {
                prop_oneof![
                    vec(inner.clone(), 0..4).prop_map(Value::Sequence),
                    btree_map("[a-z_]{1,8}", inner, 0..4)
                        .prop_map(|m| Value::Mapping(m.into_iter().map(|(k, v)| (Value::String(k), v)).collect())),
                ]
            })
        }

        fn to_text(map: Mapping) -> String {
            serde_yaml::to_string(&map).unwrap_or_default()
        }

        /// A file's text: a mapping of mostly declared keys, or YAML-like noise, or anything.
        fn file(kind: File) -> impl Strategy<Value = String> {
            let keys: Vec<String> =
                KEYS.iter().filter(|(_, f, _)| *f == kind).map(|(k, _, _)| (*k).to_owned()).collect();
            let key = prop_oneof![3 => select(keys), 1 => "[a-z_]{1,10}"];
            // Most files start from a loadable one (a secrets file needs `jwt_secret`), so the
            // checks after the first key are reached too.
            let base: Mapping = match kind {
                File::Secrets => serde_yaml::from_str("jwt_secret: x").unwrap(),
                File::Config => Mapping::new(),
            };
            prop_oneof![
                6 => btree_map(key, value(), 0..4).prop_map(move |m| {
                    let mut file = base.clone();
                    file.extend(m.into_iter().map(|(k, v)| (Value::String(k), v)));
                    to_text(file)
                }),
                1 => "[a-z_:\\- \\[\\]{}\n0-9'\"#&*!|>%@`,.]{0,64}",
                1 => ".{0,64}",
            ]
        }

        /// servers.yaml: server names to mostly well-formed entries.
        fn servers() -> impl Strategy<Value = String> {
            let field = select(vec!["server_number", "timelimit", "maps", "difficulty", "server_login", "serverlogin"]);
            let field_value = prop_oneof![
                value(),
                (-2i64..4).prop_map(|n| Value::Number(n.into())),
                vec(-3i64..300, 0..5)
                    .prop_map(|v| Value::Sequence(v.into_iter().map(|n| Value::Number(n.into())).collect())),
            ];
            let entry = prop_oneof![
                4 => btree_map(field, field_value, 0..6)
                    .prop_map(|m| Value::Mapping(m.into_iter().map(|(k, v)| (Value::String(k.into()), v)).collect())),
                1 => value(),
            ];
            prop_oneof![
                4 => btree_map("[A-Za-z0-9 ]{0,8}", entry, 0..4)
                    .prop_map(|m| to_text(m.into_iter().map(|(k, v)| (Value::String(k), v)).collect())),
                1 => ".{0,64}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(96))]

            /// Whatever the three files hold, loading them gives settings or a `ConfigError`
            /// (which `main` turns into exit code 2), never a panic.
            #[test]
            fn arbitrary_files_load_or_fail_cleanly(config in file(File::Config), secrets in file(File::Secrets), servers in servers()) {
                let dir = tempfile::tempdir().unwrap();
                let put = |name: &str, text: &str| {
                    let path = dir.path().join(name);
                    std::fs::write(&path, text).unwrap();
                    Some(path)
                };
                let paths = ConfigPaths {
                    config: put("config.yaml", &config),
                    secrets: put("secrets.yaml", &secrets),
                    servers: put("servers.yaml", &servers),
                };
                if let Err(e) = Settings::load(&paths) {
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }
    }
}
