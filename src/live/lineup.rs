//! The lineup: which game servers the live event has and which maps each one rotates through,
//! resolved once at start from `playlist` (config.yaml), servers.yaml and the current event's
//! maps in the database.
//!
//! - `playlist: custom`: every server of servers.yaml with its own `maps` and `timelimit`.
//!   Each map must be a map of the current event, otherwise start-up stops with an error that
//!   names servers.yaml, the server and the kacky id (the old system crashed later, at the first
//!   dashboard request, BUG-17/18).
//! - `playlist: linear`: every configured server plays the event's whole map list in kacky-id
//!   order with the global `timelimit`. With an empty servers.yaml a single *virtual* server
//!   (server number 1) stands in, and it takes the first usable entry of any game-server
//!   answer, whatever its name (there is no configured name to match).

use rusqlite::Connection;

use crate::config::{ConfigError, Playlist, ServerConfig, Settings};
use crate::db::{self, DbError};
use crate::domain::{Edition, EventType};

/// What error messages call the servers file (its path is not kept after loading).
const SERVERS_FILE: &str = "servers.yaml";

/// One game server of the lineup: its configuration plus the resolved playlist, i.e. what it
/// is set to play (what the polls saw it play is kept apart, in the live state).
#[derive(Debug, Clone, PartialEq)]
pub struct LineupServer {
    /// Plain name (no `$`-codes) matched against the game-server API; empty for the virtual
    /// server of a linear playlist without servers.yaml.
    pub name: String,
    pub number: i64,
    /// servers.yaml `difficulty`, emitted verbatim as `serverDifficulty`.
    pub difficulty: serde_json::Value,
    /// Minutes per map.
    pub timelimit_min: i64,
    /// Kacky ids in rotation order.
    pub playlist: Vec<i64>,
    /// Seconds between maps assumed until learned: servers.yaml's `map_change_s` for this
    /// server, else config.yaml's. Servers with the same value learn together.
    pub map_change_s: i64,
}

/// The current event as the lineup needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub eventtype: EventType,
    pub edition: Edition,
    /// Global minutes per map (`timelimit`), used by `playlist: linear`.
    pub timelimit: i64,
    /// Global `map_change_s`.
    pub map_change_s: i64,
}

/// All live servers, ordered by server number (the dashboard order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lineup {
    pub servers: Vec<LineupServer>,
    /// True for the single virtual server of a linear playlist without servers.yaml.
    pub any_name: bool,
}

impl Lineup {
    /// Reads the current event's kacky ids and builds the lineup (see [`Lineup::build`]).
    /// Blocking (SQLite): called from `prepare`.
    pub fn load(settings: &Settings, conn: &Connection) -> Result<Self, DbError> {
        let event = Event {
            eventtype: settings.eventtype,
            edition: settings.edition,
            timelimit: settings.timelimit,
            map_change_s: settings.map_change_s,
        };
        let event_ids = db::current::ids(conn, event.eventtype, event.edition)?;
        Ok(Self::build(settings.playlist, &settings.servers.list, event, &event_ids)?)
    }

    /// Builds the lineup from the configured servers and the current event's kacky ids
    /// (ascending). Pure, so the playlist rules are unit-tested without a database.
    pub fn build(
        playlist: Playlist,
        configured: &[ServerConfig],
        event: Event,
        event_ids: &[i64],
    ) -> Result<Self, ConfigError> {
        let mut lineup = match playlist {
            Playlist::Custom => {
                for server in configured {
                    check_maps(&server.name, &server.maps, event_ids, event)?;
                }
                let servers = configured
                    .iter()
                    .map(|s| LineupServer {
                        name: s.name.clone(),
                        number: s.server_number,
                        difficulty: s.difficulty.clone(),
                        timelimit_min: s.timelimit,
                        playlist: s.maps.clone(),
                        map_change_s: s.map_change_s.unwrap_or(event.map_change_s),
                    })
                    .collect();
                Self { servers, any_name: false }
            }
            Playlist::Linear => linear(configured, event, event_ids),
        };
        lineup.servers.sort_by_key(|s| s.number);
        Ok(lineup)
    }

    /// Index of the server an answer entry with this plain name belongs to.
    pub fn index_of(&self, plain_name: &str) -> Option<usize> {
        if self.any_name {
            return (!self.servers.is_empty()).then_some(0);
        }
        self.servers.iter().position(|s| s.name == plain_name)
    }
}

impl LineupServer {
    /// Milliseconds per map by the time limit alone (no change time); 0 when it overflows.
    pub fn timelimit_ms(&self) -> i64 {
        self.timelimit_min.checked_mul(60_000).unwrap_or(0)
    }
}

/// `playlist: linear`: every server (or one virtual server) plays the whole event in kacky-id
/// order with the global time limit.
fn linear(configured: &[ServerConfig], event: Event, event_ids: &[i64]) -> Lineup {
    let server = |name: &str, number: i64, difficulty: serde_json::Value, change: Option<i64>| LineupServer {
        name: name.to_owned(),
        number,
        difficulty,
        timelimit_min: event.timelimit,
        playlist: event_ids.to_vec(),
        map_change_s: change.unwrap_or(event.map_change_s),
    };
    if configured.is_empty() {
        let virtual_server = server("", 1, serde_json::Value::String(String::new()), None);
        return Lineup { servers: vec![virtual_server], any_name: true };
    }
    let servers =
        configured.iter().map(|s| server(&s.name, s.server_number, s.difficulty.clone(), s.map_change_s)).collect();
    Lineup { servers, any_name: false }
}

/// Every map of a custom playlist must belong to the current event: otherwise the dashboard
/// and schedule could never show it (no author, no sheet row).
fn check_maps(name: &str, maps: &[i64], event_ids: &[i64], event: Event) -> Result<(), ConfigError> {
    let Some(missing) = maps.iter().find(|id| !event_ids.contains(id)) else {
        return Ok(());
    };
    let event = format!("{}{}", event.eventtype.as_upper(), event.edition);
    let message = if event_ids.is_empty() {
        format!("kacky id {missing} is not a map of the current event {event}: the database has no maps for {event} (check eventtype/edition in config.yaml)")
    } else {
        format!(
            "kacky id {missing} is not a map of the current event {event} (its maps are {}..{}; check eventtype/edition in config.yaml)",
            event_ids[0],
            event_ids[event_ids.len() - 1]
        )
    };
    Err(ConfigError::new(SERVERS_FILE, Some(&format!("{name}.maps")), message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KK7_EVENT: Event =
        Event { eventtype: EventType::Kk, edition: Edition::of(7), timelimit: 12, map_change_s: 45 };

    fn build(playlist: Playlist, servers: Vec<ServerConfig>, ids: &[i64]) -> Result<Lineup, ConfigError> {
        Lineup::build(playlist, &servers, KK7_EVENT, ids)
    }

    fn server(name: &str, number: i64, maps: Vec<i64>) -> ServerConfig {
        ServerConfig {
            name: name.into(),
            server_number: number,
            difficulty: serde_json::json!("white"),
            timelimit: 15,
            server_login: String::new(),
            join: None,
            maps,
            map_change_s: None,
        }
    }

    const KK7: [i64; 5] = [201, 202, 203, 204, 205];

    #[test]
    fn custom_keeps_rotations_and_sorts_by_number() {
        let a = ServerConfig { map_change_s: Some(10), ..server("A", 1, vec![205]) };
        let l = build(Playlist::Custom, vec![server("B", 2, vec![203, 201]), a], &KK7).unwrap();
        let names: Vec<_> = l.servers.iter().map(|s| (s.name.as_str(), s.number)).collect();
        assert_eq!(names, [("A", 1), ("B", 2)]);
        assert_eq!(l.servers[1].playlist, vec![203, 201]);
        assert_eq!(l.servers[1].timelimit_min, 15);
        assert_eq!(l.servers[1].map_change_s, 45, "config.yaml's unless servers.yaml has its own");
        assert_eq!(l.servers[0].map_change_s, 10);
        assert_eq!(l.index_of("B"), Some(1));
        assert_eq!(l.index_of("C"), None);
    }

    #[test]
    fn custom_map_outside_the_event_is_refused() {
        let servers = vec![server("White 1", 1, vec![201, 999])];
        let e = build(Playlist::Custom, servers.clone(), &KK7).unwrap_err().to_string();
        assert!(e.starts_with("servers.yaml: key `White 1.maps`: kacky id 999"), "{e}");
        assert!(e.contains("KK7") && e.contains("201..205"), "{e}");
        let e = build(Playlist::Custom, servers, &[]).unwrap_err().to_string();
        assert!(e.contains("kacky id 201") && e.contains("no maps for KK7"), "{e}");
    }

    #[test]
    fn linear_gives_every_server_the_whole_event() {
        let l = build(Playlist::Linear, vec![server("B", 7, vec![999]), server("A", 3, vec![])], &KK7).unwrap();
        assert!(!l.any_name);
        assert_eq!(l.servers.iter().map(|s| s.number).collect::<Vec<_>>(), [3, 7]);
        for srv in &l.servers {
            assert_eq!(srv.playlist, KK7.to_vec());
            assert_eq!(srv.timelimit_min, 12);
        }
    }

    #[test]
    fn linear_without_servers_has_one_virtual_server() {
        let l = build(Playlist::Linear, vec![], &KK7).unwrap();
        assert!(l.any_name);
        assert_eq!(l.servers.len(), 1);
        assert_eq!((l.servers[0].number, l.servers[0].timelimit_min), (1, 12));
        assert_eq!(l.index_of("whatever the API calls it"), Some(0));
        assert_eq!(l.servers[0].map_change_s, 45);
    }

    #[test]
    fn custom_without_servers_is_empty() {
        let l = build(Playlist::Custom, vec![], &[]).unwrap();
        assert!(l.servers.is_empty());
        assert_eq!(l.index_of(""), None);
    }
}
