//! Events and maps: the event type (family), the edition number, the kacky id, a player's difficulty rating.

use std::fmt;

use super::family::{Family, Game, FAMILIES};
use super::Invalid;

/// An event family by its type code (`KK`, `KR`, `KX`): an index into [`FAMILIES`], so it is
/// `Copy` and every value names a described family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventType(u8);

#[allow(non_upper_case_globals)]
impl EventType {
    /// Kackiest Kacky (TMNF).
    pub const Kk: Self = Self(0);
    /// Kacky Reloaded (TM2020).
    pub const Kr: Self = Self(1);
    /// Kacky Remixed (TM2020; not in the records API).
    pub const Kx: Self = Self(2);
}

impl EventType {
    /// Case-insensitive and blank-tolerant, like the old database collation; `None` for a
    /// code no family has.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        FAMILIES.iter().position(|f| f.code.eq_ignore_ascii_case(s)).and_then(|i| u8::try_from(i).ok()).map(Self)
    }
    /// Every family, in [`FAMILIES`] order.
    pub fn all() -> impl Iterator<Item = Self> {
        (0..FAMILIES.len()).filter_map(|i| u8::try_from(i).ok()).map(Self)
    }
    /// The family's description.
    pub fn family(self) -> &'static Family {
        &FAMILIES[usize::from(self.0)]
    }
    /// As stored in the database and shown in JSON: `KK`, `KR`, `KX`.
    pub fn as_upper(self) -> &'static str {
        self.family().code
    }
    /// The game its events are played in.
    pub fn game(self) -> Game {
        self.family().game
    }
    /// Whether the records API is asked about its events (see [`Family::records_api`]).
    pub fn in_records_api(self) -> bool {
        self.family().records_api
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_upper())
    }
}

/// The edition number of an event (KK**7**); never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Edition(i64);

impl Edition {
    /// `None` for a negative number.
    pub const fn new(n: i64) -> Option<Self> {
        if n >= 0 {
            Some(Self(n))
        } else {
            None
        }
    }
    /// For constants known to be valid; a negative `n` counts as 0.
    pub const fn of(n: i64) -> Self {
        Self(if n < 0 { 0 } else { n })
    }
    /// An edition from a path segment: ASCII digits only (`٧` or `+7` are not editions).
    pub fn parse_path(raw: &str) -> Option<Self> {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        raw.parse().ok().map(Self)
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `/spreadsheet/<type>/<edition|all>`: one edition or every edition of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EditionSel {
    All,
    One(Edition),
}

impl EditionSel {
    pub fn parse_path(raw: &str) -> Option<Self> {
        match raw {
            "all" => Some(Self::All),
            other => Edition::parse_path(other).map(Self::One),
        }
    }
    /// The edition, or `None` for all of them (the form the SQL takes).
    pub fn edition(self) -> Option<i64> {
        match self {
            Self::All => None,
            Self::One(e) => Some(e.get()),
        }
    }
}

/// A map's number within its event type (`#215`; KK has negative ones like `#–151`). The
/// version suffix (`[v2]`) is not part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct KackyId(pub i64);

impl KackyId {
    /// A kacky id from a path segment or a form field: an integer, surrounding blanks allowed.
    pub fn parse(raw: &str) -> Option<Self> {
        raw.trim().parse().ok().map(Self)
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for KackyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A player's own difficulty rating of a map on the hunting sheet: 0 (unrated) to 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Difficulty(u8);

impl Difficulty {
    pub const MAX: i64 = 6;

    pub fn new(n: i64) -> Result<Self, Invalid> {
        match u8::try_from(n) {
            Ok(d) if i64::from(d) <= Self::MAX => Ok(Self(d)),
            _ => Err(Invalid(format!("`diff` must be a whole number from 0 to {}, got {n}", Self::MAX))),
        }
    }
    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_at_the_edge() {
        assert_eq!(EventType::parse(" kR "), Some(EventType::Kr));
        assert_eq!(EventType::parse("kx"), Some(EventType::Kx));
        assert_eq!(EventType::parse("KY"), None);
        assert_eq!(EventType::parse(""), None);
        let all: Vec<&str> = EventType::all().map(EventType::as_upper).collect();
        assert_eq!(all, ["KK", "KR", "KX"]);
        assert!(!EventType::Kx.in_records_api() && EventType::Kr.in_records_api());
        assert_eq!(EventType::Kx.game(), Game::Tm2020);
        assert_eq!(EditionSel::parse_path("all"), Some(EditionSel::All));
        assert_eq!(EditionSel::parse_path("7").and_then(|e| e.edition()), Some(7));
        for bad in ["", "+7", "-1", "٧", "7a", "99999999999999999999"] {
            assert_eq!(Edition::parse_path(bad), None, "{bad}");
        }
        assert_eq!(KackyId::parse(" -151 "), Some(KackyId(-151)));
        assert_eq!(KackyId::parse("12a"), None);
        assert_eq!(Difficulty::new(6).map(Difficulty::get), Ok(6));
        assert!(Difficulty::new(7).is_err() && Difficulty::new(-1).is_err());
        assert_eq!(Edition::new(-1), None);
    }
}
