//! config.yaml and secrets.yaml as the old Python backend had them: one struct per file, one
//! field per key, each with its default and its reader (see [`super::values`]). The structs
//! are the one declaration of the keys: unknown keys are the ones they lack (reported, then
//! ignored), and every `KACKY_<KEY>` variable overrides the key of that name.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::values::{self as read, describe, LogType};
use super::{ConfigError, IgnoredKey, Playlist, Secret};
use crate::domain::{Edition, EventType};

/// Upper bound of the connection timeouts (seconds); larger values are read as a day.
const DAY_S: i64 = 86_400;
/// No upper bound.
const ANY: i64 = i64::MAX;

/// config.yaml. The meaning of each key is documented on the [`super::Settings`] field it
/// becomes.
#[derive(Deserialize)]
pub(super) struct ConfigFile {
    #[serde(default = "num::<_, 5005>", deserialize_with = "read::port")]
    pub port: u16,
    #[serde(default, deserialize_with = "read::some_string")]
    pub bind_hosts: Option<String>,
    /// The spelling of the old README; `bind_hosts` wins when both are set.
    #[serde(default, deserialize_with = "read::some_string")]
    pub bind_host: Option<String>,
    #[serde(default, deserialize_with = "read::datetime")]
    pub compstart: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "read::datetime")]
    pub compend: Option<DateTime<Utc>>,
    #[serde(default = "reloaded", deserialize_with = "read::eventtype")]
    pub eventtype: EventType,
    #[serde(default = "fourth", deserialize_with = "read::edition")]
    pub edition: Edition,
    #[serde(default = "custom", deserialize_with = "read::playlist")]
    pub playlist: Playlist,
    #[serde(default = "num::<_, 10>", deserialize_with = "read::positive::<_, _, ANY>")]
    pub timelimit: i64,
    /// Unset: the middle of the game's usual range.
    #[serde(default, deserialize_with = "read::change_seconds")]
    pub map_change_s: Option<i64>,
    /// Unset: the game's usual range.
    #[serde(default, deserialize_with = "read::change_range")]
    pub testing_map_change_s: Option<(i64, i64)>,
    #[serde(default, deserialize_with = "read::logtype")]
    pub logtype: LogType,
    #[serde(default, deserialize_with = "read::home_path")]
    pub logfile: Option<PathBuf>,
    #[serde(default = "info", deserialize_with = "read::loglevel")]
    pub loglevel: String,
    #[serde(default, deserialize_with = "read::boolean")]
    pub testing_mode: bool,
    #[serde(default, deserialize_with = "read::datetime")]
    pub testing_compstart: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "read::datetime")]
    pub testing_compend: Option<DateTime<Utc>>,
    #[serde(default = "database", deserialize_with = "read::string")]
    pub database: PathBuf,
    #[serde(default = "gameserver_api_url", deserialize_with = "read::string")]
    pub gameserver_api_url: String,
    #[serde(default = "records_api_url", deserialize_with = "read::string")]
    pub records_api_url: String,
    #[serde(default = "sendgrid_api_url", deserialize_with = "read::string")]
    pub sendgrid_api_url: String,
    #[serde(default = "mail_from", deserialize_with = "read::string")]
    pub mail_from: String,
    #[serde(default, deserialize_with = "read::list")]
    pub cors_origins: Vec<String>,
    #[serde(default, deserialize_with = "read::ip_list")]
    pub trusted_proxies: Vec<IpAddr>,
    #[serde(default = "num::<_, 60>", deserialize_with = "read::positive::<_, _, ANY>")]
    pub poll_interval_s: u64,
    #[serde(default = "num::<_, 100>", deserialize_with = "read::positive::<_, _, ANY>")]
    pub jwt_expiry_days: i64,
    #[serde(default = "num::<_, 10>", deserialize_with = "read::positive::<_, _, ANY>")]
    pub login_rate_per_min: u32,
    #[serde(default = "num::<_, 10>", deserialize_with = "read::positive::<_, _, 1440>")]
    pub alarm_lead_minutes: i64,
    /// Unset: half of `max_connections`.
    #[serde(default, deserialize_with = "read::some_int")]
    pub live_max_streams: Option<i64>,
    #[serde(default = "num::<_, 15>", deserialize_with = "read::positive::<_, _, 20>")]
    pub live_keepalive_s: u64,
    #[serde(default = "num::<_, 5>", deserialize_with = "read::positive::<_, _, DAY_S>")]
    pub header_read_timeout_s: u64,
    #[serde(default = "num::<_, 30>", deserialize_with = "read::positive::<_, _, DAY_S>")]
    pub request_timeout_s: u64,
    #[serde(default = "num::<_, 60>", deserialize_with = "read::positive::<_, _, DAY_S>")]
    pub keepalive_idle_timeout_s: u64,
    #[serde(default = "num::<_, 768>", deserialize_with = "read::positive::<_, _, ANY>")]
    pub max_connections: usize,
    #[serde(default = "num::<_, 30>", deserialize_with = "read::positive::<_, _, DAY_S>")]
    pub write_stall_timeout_s: u64,
    #[serde(default = "num::<_, 8>", deserialize_with = "read::positive::<_, _, ANY>")]
    pub live_max_streams_per_client: usize,
    #[serde(default = "num::<_, 10>", deserialize_with = "read::positive::<_, _, DAY_S>")]
    pub shutdown_grace_s: u64,
    #[serde(default = "num::<_, 60>", deserialize_with = "read::positive::<_, _, 6000>")]
    pub records_rate_per_min: u32,
    #[serde(default = "milestones", deserialize_with = "read::milestones")]
    pub finish_milestones: Vec<i64>,
    #[serde(default, deserialize_with = "read::http_url")]
    pub public_url: String,
    #[serde(default = "discord", deserialize_with = "read::http_url")]
    pub discord_api_url: String,
    #[serde(default, deserialize_with = "read::http_url")]
    pub discord_link_done_url: String,
    #[serde(default = "num::<_, 20>", deserialize_with = "read::positive::<_, _, ANY>")]
    pub discord_mentions_per_hour: i64,
    #[serde(default, deserialize_with = "read::socket_addr")]
    pub metrics_listen: Option<SocketAddr>,
    #[serde(default = "num::<_, 30>", deserialize_with = "read::up_to_an_hour")]
    pub records_cache_s: u64,
    /// Unset: no link, in the demo its game's.
    #[serde(default, deserialize_with = "read::join_url_template")]
    pub join_url_template: Option<String>,
}

/// Keys of the old MariaDB/gunicorn setup in config.yaml: accepted so old files load, noted,
/// ignored.
pub(super) const CONFIG_COMPAT: &[&str] =
    &["workers", "threads", "install_dir", "logger_name", "dbhost", "dbport", "dbname", "min_mapid", "max_mapid"];

/// secrets.yaml. An empty secret is an unset one.
#[derive(Deserialize)]
pub(super) struct SecretsFile {
    #[serde(default, deserialize_with = "read::secret")]
    pub api_pwd: Secret,
    /// Required outside the demo (checked with the other keys).
    #[serde(default, deserialize_with = "read::secret")]
    pub jwt_secret: Secret,
    #[serde(default, deserialize_with = "read::secret")]
    pub sendgrid_api_key: Secret,
    #[serde(default, deserialize_with = "read::secret")]
    pub records_api_key: Secret,
    #[serde(default, deserialize_with = "read::secret")]
    pub msg_send_pwd: Secret,
    #[serde(default, deserialize_with = "read::webhook_url")]
    pub discord_webhook_url: Secret,
    #[serde(default, deserialize_with = "read::secret")]
    pub bot_api_token: Secret,
    #[serde(default, deserialize_with = "read::secret")]
    pub records_writer_token: Secret,
    #[serde(default, deserialize_with = "read::webhook_url")]
    pub discord_finish_webhook_url: Secret,
    #[serde(default, deserialize_with = "read::secret")]
    pub discord_client_id: Secret,
    #[serde(default, deserialize_with = "read::secret")]
    pub discord_client_secret: Secret,
}

/// Keys of the old setup in secrets.yaml, accepted and ignored.
pub(super) const SECRETS_COMPAT: &[&str] = &["flask_secret", "dbuser", "dbpwd"];

/// The default of a numeric key (serde's `default` takes a function).
fn num<T: From<u16>, const N: u16>() -> T {
    T::from(N)
}

/// Kacky Reloaded, the family of the shipped demo.
fn reloaded() -> EventType {
    EventType::Kr
}

/// The edition of the shipped demo.
fn fourth() -> Edition {
    const FOURTH: Edition = Edition::new(4).expect("4 is an edition");
    FOURTH
}

fn custom() -> Playlist {
    Playlist::Custom
}

fn info() -> String {
    "info".to_owned()
}

fn database() -> PathBuf {
    PathBuf::from("kacky.db")
}

fn gameserver_api_url() -> String {
    "https://kackyreloaded.com/api/".to_owned()
}

fn records_api_url() -> String {
    "https://records.kacky.gg".to_owned()
}

fn sendgrid_api_url() -> String {
    "https://api.sendgrid.com".to_owned()
}

fn mail_from() -> String {
    "kacky@dingens.me".to_owned()
}

fn milestones() -> Vec<i64> {
    vec![15, 25, 40, 50]
}

fn discord() -> String {
    "https://discord.com".to_owned()
}

/// Which of the two files a [`Source`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Config,
    Secrets,
}

/// One file's top-level keys after the `KACKY_*` overrides.
pub(super) struct Source {
    pub(super) file: String,
    values: Mapping,
    /// Keys set by a `KACKY_*` variable. Each variable is offered to both files (config.yaml
    /// reads it as YAML, secrets.yaml as a plain string, so a secret like `0123` keeps its
    /// zero); the file without such a key ignores it without a word.
    from_env: BTreeSet<String>,
}

impl Source {
    /// A file's mapping, as read; `KACKY_*` variables not applied (the unit tests' files).
    #[cfg(test)]
    pub(super) fn plain(file: &str, values: Mapping) -> Self {
        Self { file: file.to_owned(), values, from_env: BTreeSet::new() }
    }

    /// The file's mapping with every `KACKY_<KEY>` variable set as key `<key>`.
    pub(super) fn new(file: &Path, map: Mapping, kind: Kind) -> Result<Self, ConfigError> {
        let file = file.display().to_string();
        if let Some(key) = map.keys().find(|k| !k.is_string()) {
            return Err(ConfigError::new(&file, None, format!("expected string keys, found {}", describe(key))));
        }
        let mut source = Self { file, values: map, from_env: BTreeSet::new() };
        for (var, raw) in std::env::vars_os() {
            let (Some(var), Ok(raw)) = (var.to_str(), raw.into_string()) else { continue };
            let key = var.strip_prefix("KACKY_").filter(|k| !k.contains(|c: char| c.is_ascii_lowercase()));
            let Some(key) = key.map(str::to_ascii_lowercase) else { continue };
            let value = match kind {
                Kind::Secrets => Value::String(raw),
                Kind::Config => serde_yaml::from_str::<Value>(&raw).unwrap_or(Value::String(raw)),
            };
            source.values.insert(Value::String(key.clone()), value);
            source.from_env.insert(key);
        }
        Ok(source)
    }

    /// Reads the keys into `T`, the file's struct; a key set to nothing is a key left out.
    /// The keys `T` lacks are added to `ignored` (the old system's, `compat`, marked so),
    /// except those only a `KACKY_*` variable set.
    pub(super) fn parse<T: DeserializeOwned>(
        &self,
        compat: &[&str],
        ignored: &mut Vec<IgnoredKey>,
    ) -> Result<T, ConfigError> {
        let values: Mapping =
            self.values.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut note = |path: serde_ignored::Path<'_>| {
            let key = path.to_string();
            if !self.from_env.contains(&key) {
                let compat = compat.contains(&key.as_str());
                ignored.push(IgnoredKey { file: self.file.clone(), key, compat });
            }
        };
        let parsed =
            serde_path_to_error::deserialize(serde_ignored::Deserializer::new(Value::Mapping(values), &mut note));
        parsed.map_err(|e| {
            let key = e.path().to_string();
            ConfigError::new(&self.file, (key != ".").then_some(key.as_str()), e.into_inner().to_string())
        })
    }
}

/// Reads one YAML file into a top-level mapping. A missing file is `Ok(None)`.
pub(super) fn read_yaml(path: &Path) -> Result<Option<Mapping>, ConfigError> {
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

/// The keys `T` declares, as serde's derive lists them to a deserializer (for the tests).
#[cfg(test)]
pub(super) fn declared<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error, Visitor};
    struct Fields<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Fields<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Error::custom("listed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}
