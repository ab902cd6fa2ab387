//! Who a Discord message may ping. When the account link is configured (`discord_client_id`
//! …), only Discord ids verified through it are mentioned; an id typed into the profile is
//! listed by name, unpinged. Without it the typed id is mentioned as before, but at most
//! `discord_mentions_per_hour` times an hour, so nobody can make the webhook ping a stranger
//! over and over. Used by the alarm and the finish messages alike.

use rusqlite::Connection;

use super::message::discord_id;

/// The rules in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MentionRules {
    /// Linking is configured: only verified ids ring.
    pub verified_only: bool,
    /// Without linking: most mentions of one id an hour.
    pub per_hour: i64,
}

impl MentionRules {
    /// The id that may ring for a profile with this typed `discord` field and verified id, before
    /// the hourly cap.
    pub fn candidate(&self, typed: &str, verified: Option<&str>) -> Option<String> {
        match verified {
            Some(v) => Some(v.to_owned()),
            None if self.verified_only => None,
            None => discord_id(typed).map(str::to_owned),
        }
    }

    /// Of `ids` (no duplicates), those that may ring now; each one allowed counts against its
    /// hourly cap (without linking). Blocking: a database write.
    pub fn allow(&self, conn: &mut Connection, ids: &[String], now: i64) -> rusqlite::Result<Vec<String>> {
        if self.verified_only || ids.is_empty() {
            return Ok(ids.to_vec());
        }
        crate::db::discord::take_mentions(conn, ids, self.per_hour, now - 3600, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_ids_always_typed_ids_only_without_linking() {
        let linked = MentionRules { verified_only: true, per_hour: 10 };
        let open = MentionRules { verified_only: false, per_hour: 10 };
        let typed = "123456789012345678";
        assert_eq!(linked.candidate(typed, None), None);
        assert_eq!(linked.candidate(typed, Some("999999999999999999")).as_deref(), Some("999999999999999999"));
        assert_eq!(open.candidate(typed, None).as_deref(), Some(typed));
        assert_eq!(open.candidate("name#1234", None), None);
    }
}
