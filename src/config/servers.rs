//! `servers.yaml`: the game servers of the current event and their rotations.

use serde_yaml::{Mapping, Value};

use super::{describe, ConfigError};

/// `playlist` in config.yaml: where rotations come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playlist {
    /// Per-server rotations from servers.yaml.
    Custom,
    /// Every server plays the event's whole map range with the global `timelimit`.
    Linear,
}

/// One game server as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Plain name (no $-codes), as matched against the game-server API.
    pub name: String,
    pub server_number: i64,
    /// Emitted verbatim as `serverDifficulty` (usually a colour word).
    pub difficulty: serde_json::Value,
    /// Minutes per map.
    pub timelimit: i64,
    pub server_login: String,
    /// `join`: this server's own join link, given as it is (overrides `join_url_template`).
    pub join: Option<String>,
    /// Kacky ids in rotation order.
    pub maps: Vec<i64>,
    /// This server's own `map_change_s` (seconds between maps assumed until learned), when
    /// it differs from the others'.
    pub map_change_s: Option<i64>,
}

impl ServerConfig {
    /// The link of the dashboard's "Join" button: the server's own `join`, else `template`
    /// (config.yaml `join_url_template`) with `{login}` replaced by `server_login` when both
    /// are set, else `""` (the frontends hide the button then).
    pub fn join_link(&self, template: &str) -> String {
        match &self.join {
            Some(own) => own.clone(),
            None if !template.is_empty() && !self.server_login.is_empty() => {
                template.replace("{login}", &self.server_login)
            }
            None => String::new(),
        }
    }
}

/// All configured servers, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Servers {
    pub list: Vec<ServerConfig>,
}

/// The KR4 servers.yaml shipped under `config/`, used by the no-config demo.
const DEMO_SERVERS: &str = include_str!("../../config/servers.yaml");

impl Servers {
    pub fn demo() -> Self {
        let map: Mapping = serde_yaml::from_str(DEMO_SERVERS).expect("shipped servers.yaml is valid YAML");
        Self::from_mapping("config/servers.yaml (built in)", map).expect("shipped servers.yaml is valid")
    }

    /// Parses and validates the file: positive time limits, unique server numbers, integer maps.
    pub fn from_mapping(file: &str, map: Mapping) -> Result<Self, ConfigError> {
        let mut list: Vec<ServerConfig> = Vec::new();
        for (key, value) in map {
            let name = match key {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(ConfigError::new(
                        file,
                        None,
                        format!("expected server names as keys, found {}", describe(&other)),
                    ))
                }
            };
            let server = parse_server(file, &name, value)?;
            if let Some(dup) = list.iter().find(|s| s.server_number == server.server_number) {
                return Err(ConfigError::new(
                    file,
                    Some(&format!("{name}.server_number")),
                    format!("expected a unique number, but {} is also used by \"{}\"", server.server_number, dup.name),
                ));
            }
            list.push(server);
        }
        Ok(Self { list })
    }

    pub fn by_name(&self, plain_name: &str) -> Option<&ServerConfig> {
        self.list.iter().find(|s| s.name == plain_name)
    }
}

fn parse_server(file: &str, name: &str, value: Value) -> Result<ServerConfig, ConfigError> {
    let err = |field: &str, msg: String| ConfigError::new(file, Some(&format!("{name}.{field}")), msg);
    let Value::Mapping(m) = value else {
        return Err(ConfigError::new(
            file,
            Some(name),
            format!(
                "expected a mapping with server_number, difficulty, timelimit and maps, found {}",
                describe(&value)
            ),
        ));
    };
    let get = |field: &str| m.get(Value::String(field.into())).filter(|v| !v.is_null());
    let int = |field: &str| -> Result<i64, ConfigError> {
        match get(field) {
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64().unwrap_or_default()),
            Some(v) => Err(err(field, format!("expected an integer, found {}", describe(v)))),
            None => Err(err(field, "is missing: expected an integer".into())),
        }
    };
    let server_number = int("server_number")?;
    let timelimit = int("timelimit")?;
    if timelimit <= 0 {
        return Err(err("timelimit", format!("expected a positive number of minutes, found {timelimit}")));
    }
    let difficulty = match get("difficulty") {
        None => serde_json::Value::String(String::new()),
        Some(Value::String(s)) => serde_json::Value::String(s.clone()),
        Some(Value::Number(n)) => serde_json::to_value(n).unwrap_or_default(),
        Some(v) => {
            return Err(err("difficulty", format!("expected a word like white or a number, found {}", describe(v))))
        }
    };
    // The old code looked for `serverlogin` (BUG-19); accept both spellings.
    let server_login = match get("server_login").or_else(|| get("serverlogin")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let join = match get("join") {
        None => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(v) => {
            return Err(err(
                "join",
                format!("expected a link like trackmania://#join=login@Trackmania, found {}", describe(v)),
            ))
        }
    };
    let maps = match get("maps") {
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|v| {
                v.as_i64().ok_or_else(|| {
                    err("maps", format!("expected a list of kacky ids (integers), found an item {}", describe(v)))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
        Some(v) => return Err(err("maps", format!("expected a list of kacky ids, found {}", describe(v)))),
    };
    let map_change_s = match get("map_change_s") {
        None => None,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|s| (0..=600).contains(&s)) => n.as_i64(),
        Some(v) => return Err(err("map_change_s", format!("expected seconds from 0 to 600, found {}", describe(v)))),
    };
    Ok(ServerConfig {
        name: name.to_owned(),
        server_number,
        difficulty,
        timelimit,
        server_login,
        join,
        maps,
        map_change_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_demo_has_thirteen_servers() {
        let s = Servers::demo();
        assert_eq!(s.list.len(), 13);
        assert_eq!(s.by_name("Kacky Reloaded 4 - Black").unwrap().maps, vec![233, 272, 285, 287, 290]);
        assert_eq!(s.list[0].difficulty, serde_json::json!("white"));
    }

    #[test]
    fn join_links_come_from_the_server_or_the_template() {
        let m: Mapping = serde_yaml::from_str(
            "a: {server_number: 1, timelimit: 5, server_login: kk_a, join: 'tmtp://#join=own'}\n\
             b: {server_number: 2, timelimit: 5, server_login: kk_b}\n\
             c: {server_number: 3, timelimit: 5}\n",
        )
        .unwrap();
        let s = Servers::from_mapping("servers.yaml", m).unwrap();
        let links: Vec<String> = s.list.iter().map(|s| s.join_link("tmtp://#join={login}")).collect();
        assert_eq!(links, ["tmtp://#join=own", "tmtp://#join=kk_b", ""]);
        let links: Vec<String> = s.list.iter().map(|s| s.join_link("")).collect();
        assert_eq!(links, ["tmtp://#join=own", "", ""]);
        let m: Mapping = serde_yaml::from_str("a: {server_number: 1, timelimit: 5, join: [x]}").unwrap();
        assert!(Servers::from_mapping("servers.yaml", m).unwrap_err().to_string().contains("a.join"));
    }

    #[test]
    fn duplicate_numbers_and_bad_timelimit_are_refused() {
        let m: Mapping = serde_yaml::from_str(
            "a: {server_number: 1, timelimit: 5, maps: [1]}\nb: {server_number: 1, timelimit: 5, maps: [2]}",
        )
        .unwrap();
        let e = Servers::from_mapping("servers.yaml", m).unwrap_err();
        assert!(e.to_string().contains("b.server_number"), "{e}");
        let m: Mapping = serde_yaml::from_str("a: {server_number: 1, timelimit: 0, maps: [1]}").unwrap();
        assert!(Servers::from_mapping("servers.yaml", m).unwrap_err().to_string().contains("a.timelimit"));
    }

    #[test]
    fn a_server_may_have_its_own_change_time() {
        let m: Mapping = serde_yaml::from_str(
            "a: {server_number: 1, timelimit: 5, maps: [1], map_change_s: 12}\nb: {server_number: 2, timelimit: 5}",
        )
        .unwrap();
        let s = Servers::from_mapping("servers.yaml", m).unwrap();
        assert_eq!((s.list[0].map_change_s, s.list[1].map_change_s), (Some(12), None));
        let m: Mapping = serde_yaml::from_str("a: {server_number: 1, timelimit: 5, map_change_s: -1}").unwrap();
        let e = Servers::from_mapping("servers.yaml", m).unwrap_err().to_string();
        assert!(e.contains("a.map_change_s") && e.contains("0 to 600"), "{e}");
    }
}
