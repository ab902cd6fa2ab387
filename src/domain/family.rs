//! The event families (Kackiest Kacky, Kacky Reloaded, Kacky Remixed), each described once.
//!
//! Every code path that depends on the family (which profile login the records API is asked
//! with, whether it is asked at all, which join link a server gets, what the config, the
//! admin form and the path segments accept) reads [`Family`], so a fourth family is one more
//! entry in [`FAMILIES`].

/// The game a family is played in: it picks the player's login field and the join link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Game {
    /// TrackMania Nations Forever: the profile's `tmnf` login.
    Tmnf,
    /// Trackmania (2020): the profile's `tm20` login.
    Tm2020,
}

impl Game {
    /// The game's own link that opens the game on a server, with `{login}` standing for the
    /// server's account (`server_login` in servers.yaml). TMNF registers `tmtp://`, Trackmania
    /// (2020) `trackmania://` (its dedicated server prints this link when it is online). Used
    /// as the demo's `join_url_template` and in docs/CONFIGURATION.md.
    pub const fn join_template(self) -> &'static str {
        match self {
            Self::Tmnf => "tmtp://#join={login}",
            Self::Tm2020 => "trackmania://#join={login}@Trackmania",
        }
    }

    /// Short name for documents and messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tmnf => "TMNF",
            Self::Tm2020 => "TM2020",
        }
    }
}

/// One event family.
#[derive(Debug, PartialEq, Eq)]
pub struct Family {
    /// Upper-case type code, as stored and answered (`KK`); path segments and config values
    /// are matched against it in any case.
    pub code: &'static str,
    /// Display name (`Kackiest Kacky`).
    pub name: &'static str,
    pub game: Game,
    /// Whether the records API keeps this family's finishes. When it does not, nothing is
    /// asked upstream and the personal answers are the empty shapes (`{}`, `[]`, no finishes).
    pub records_api: bool,
}

/// Every family the backend serves, in the order of their type codes (the order events of
/// different families sort in). The records API (kacky-records-api) knows KK and KR only.
pub const FAMILIES: &[Family] = &[
    Family { code: "KK", name: "Kackiest Kacky", game: Game::Tmnf, records_api: true },
    Family { code: "KR", name: "Kacky Reloaded", game: Game::Tm2020, records_api: true },
    Family { code: "KX", name: "Kacky Remixed", game: Game::Tm2020, records_api: false },
];

/// The type codes, for messages: `KK, KR or KX`.
pub fn codes_listed() -> String {
    let codes: Vec<&str> = FAMILIES.iter().map(|f| f.code).collect();
    match codes.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => codes.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_upper_case_and_sorted() {
        for pair in FAMILIES.windows(2) {
            assert!(pair[0].code < pair[1].code, "{} before {}", pair[0].code, pair[1].code);
        }
        for f in FAMILIES {
            assert_eq!(f.code, f.code.to_ascii_uppercase());
            assert!((1..=8).contains(&f.code.len()), "the events.type column allows 1 to 8 characters");
        }
        assert_eq!(codes_listed(), "KK, KR or KX");
    }
}
