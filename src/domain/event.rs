//! Events and maps: `KK`/`KR`, the edition number, the kacky id, a player's difficulty rating.

use std::fmt;

use super::Invalid;

/// `KK` (Kackiest Kacky, TMNF) or `KR` (Kacky Reloaded, TM2020).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    Kk,
    Kr,
}

impl EventType {
    /// Case-insensitive and blank-tolerant, like the old database collation.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "KK" => Some(Self::Kk),
            "KR" => Some(Self::Kr),
            _ => None,
        }
    }
    /// As stored in the database and shown in JSON: `KK`, `KR`.
    pub fn as_upper(self) -> &'static str {
        match self {
            Self::Kk => "KK",
            Self::Kr => "KR",
        }
    }
    /// As written in paths: `kk`, `kr`.
    pub fn as_lower(self) -> &'static str {
        match self {
            Self::Kk => "kk",
            Self::Kr => "kr",
        }
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
        assert_eq!(EventType::parse("KX"), None);
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
