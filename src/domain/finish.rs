//! The finish feed's happenings: what kind, and the item `/finishes`, `/live` and the Discord
//! finish messages show.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FinishKind {
    /// A player finished a map of the current edition for the first time.
    Finish,
    /// A player improved their personal best on a map.
    Pb,
    /// A new world record on a map of the current edition.
    Wr,
    /// A player's finish count reached one of `finish_milestones`.
    Milestone,
}

impl FinishKind {
    pub const ALL: [Self; 4] = [Self::Finish, Self::Pb, Self::Wr, Self::Milestone];

    /// As stored and shown: `finish`, `pb`, `wr`, `milestone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Finish => "finish",
            Self::Pb => "pb",
            Self::Wr => "wr",
            Self::Milestone => "milestone",
        }
    }

    /// Exactly one of the four words (lower case).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One happening, as `GET /finishes` lists it and `/live` sends it (`event: finish`). Fields
/// that do not apply to the kind are `null`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FinishItem {
    /// Increasing; page with `since`
    pub id: i64,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: FinishKind,
    /// The player's game login (for `wr`: the new holder's login, or their name when the source
    /// only knows that)
    pub login: String,
    /// The map (`null` for `milestone`)
    pub kacky_id: Option<i64>,
    /// Milliseconds (`null` for `milestone`)
    pub score: Option<i64>,
    /// The player's rank on the map (1 for `wr`; `null` for `milestone` or when unknown)
    pub rank: Option<i64>,
    /// The score it improved on (`pb`, and `wr` when the map had one)
    pub previous_score: Option<i64>,
    /// The player's finish count in the edition after this (`finish`), or the milestone reached
    pub count: Option<i64>,
    /// When the backend noticed it (RFC 3339, UTC)
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
}

/// RFC 3339, UTC with `Z`, whole seconds (the new endpoints' time format).
fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_serialize_as_their_word() {
        for k in FinishKind::ALL {
            assert_eq!(FinishKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(FinishKind::parse("PB"), None);
        assert_eq!(FinishKind::parse(""), None);
    }
}
