//! Writers for the account tables: `kack_users` → `users`, `user_fields` (+ its `alarms`
//! string → `alarms` rows), `spreadsheet`, `token_blacklist` → `revoked_tokens`.
//!
//! Merge rule on a re-import (rows are matched by id): the dump's values overwrite the
//! database's, except that a password the new backend already upgraded to argon2id is kept as
//! long as the dump still holds the legacy hash imported last time. Rows that exist only in
//! SQLite (spreadsheet notes, alarms, revoked tokens made by the new backend) are kept.

use std::collections::BTreeSet;

use chrono::{Local, NaiveDateTime, TimeZone};
use rusqlite::Transaction;

use super::row::{Row, RowError, RowResult};
use super::Summary;
use crate::auth::LEGACY_PREFIX;
use crate::db::import::{self as work, ImportedUser, StoredUser};
use crate::db::maps::SheetCols;
use crate::db::meta;
use crate::db::users::Fields;
use crate::domain::{legacy_username_key, username_key, LEGACY_KEY_PREFIX};

/// Old tokens lived 100 days (the old `JWT_ACCESS_TOKEN_EXPIRES`), so a revocation can be
/// forgotten that long after it was made.
const REVOCATION_TTL_S: i64 = 100 * 24 * 3600;

/// What a re-import does with the password of a user that is already in the database.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PasswordChoice {
    /// Store the dump's legacy hash (new user, or the database still holds a legacy hash).
    Dump,
    /// Keep the database's argon2id hash: the user logged in (or changed the password) on the
    /// new backend and the old system has not changed it since the last import.
    KeepCurrent,
}

/// The password merge rule. `recorded` is the legacy hash stored by the previous import of
/// this user; when the dump's hash differs from it, the password was changed in the old system
/// after that import, and the dump is newer than the argon2id hash.
pub(crate) fn merge_password(current: &str, dump: &str, recorded: Option<&str>) -> PasswordChoice {
    let upgraded = current.starts_with("$argon2");
    match recorded {
        Some(r) if upgraded && r != dump => PasswordChoice::Dump,
        _ if upgraded => PasswordChoice::KeepCurrent,
        _ => PasswordChoice::Dump,
    }
}

/// `kack_users` → `users` (see the module doc for the merge rule).
pub(super) fn user(tx: &Transaction, row: &Row, s: &mut Summary) -> RowResult<bool> {
    let id = row.int("id")?;
    let name = row.text("username")?;
    let stored = work::stored_user(tx, id)?;
    let key = account_key(tx, id, &name, stored.as_ref())?;
    let hex = row.text("password")?.trim().to_ascii_lowercase();
    let legacy = format!("{LEGACY_PREFIX}{hex}");
    let meta_key = format!("import.legacy_password.{id}");
    let recorded = meta::get(tx, &meta_key)?;
    let password = match stored {
        Some(StoredUser { username_key: old_key, .. }) if old_key != key => {
            return Err(RowError(format!(
                "user id {id} is `{old_key}` in the database but `{name}` in the dump: refusing to merge two different accounts"
            )));
        }
        Some(StoredUser { password: pw, .. })
            if merge_password(&pw, &legacy, recorded.as_deref()) == PasswordChoice::KeepCurrent =>
        {
            s.passwords_kept += 1;
            pw
        }
        _ => legacy.clone(),
    };
    let user = ImportedUser {
        id,
        username: name,
        username_key: key,
        password,
        mail: row.text("mail")?,
        is_admin: row.flag("is_admin")?,
    };
    work::upsert_user(tx, &user)?;
    meta::set(tx, &meta_key, &legacy)?;
    Ok(true)
}

/// The stored name key of the dump's account `id`, by the rule the start-up key migration
/// follows: the current key ([`username_key`]); an account already in the database keeps the
/// key it has if that is one of its two forms; and a name that the old system kept apart from
/// another account's (e.g. ` admin` next to `Admin`) but that now means the same gets
/// `OLD:` + its old key, so both accounts import and log in with their names as before. Only
/// two accounts with the same name under the old rule itself stop the import.
fn account_key(tx: &Transaction, id: i64, name: &str, stored: Option<&StoredUser>) -> RowResult<String> {
    let key = username_key(name);
    let old_form = format!("{LEGACY_KEY_PREFIX}{}", legacy_username_key(name));
    if let Some(s) = stored.filter(|s| s.username_key == key || s.username_key == old_form) {
        return Ok(s.username_key.clone());
    }
    if stored.is_some() {
        // A different account under this id: the caller refuses to merge.
        return Ok(key);
    }
    let Some(owner) = work::name_owner_other_than(tx, &key, id)? else { return Ok(key) };
    // The same name under the old rule is the same account name, not a second one.
    let owner_name = crate::db::users::by_id(tx, owner)?.map(|a| a.username).unwrap_or_default();
    let twin = legacy_username_key(&owner_name) == legacy_username_key(name);
    let other = match work::name_owner_other_than(tx, &old_form, id)? {
        None if !twin => return Ok(old_form),
        None => owner,
        Some(other) => other,
    };
    Err(RowError(format!(
        "user name `{name}` (id {id}) is already used by user id {other} (the old system compared names case-insensitively, trailing spaces ignored)"
    )))
}

/// Parses the old `alarms` text (`242;245; 250;250`, kacky ids as the client typed them):
/// entries are trimmed, blanks ignored, duplicates collapse; returns the ids and how many
/// non-blank entries were not integers.
pub(crate) fn parse_alarms(text: &str) -> (BTreeSet<i64>, u64) {
    let mut ids = BTreeSet::new();
    let mut bad = 0;
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        match entry.parse::<i64>() {
            Ok(id) => {
                ids.insert(id);
            }
            Err(_) => bad += 1,
        }
    }
    (ids, bad)
}

/// `user_fields`: the profile row is upserted; alarm ids are parked in a temporary table and
/// turned into map rows at the end ([`work::resolve_alarms`], which has the rule), when all
/// maps are known.
pub(super) fn user_fields(tx: &Transaction, row: &Row, s: &mut Summary) -> RowResult<bool> {
    let id = row.int("id")?;
    let fields = Fields {
        discord: row.text_or("discord_handle", ""),
        tm20: row.text_or("tm20_login", ""),
        tmnf: row.text_or("tmnf_login", ""),
        finish_feed: false,
    };
    work::upsert_user_fields(tx, id, &fields)?;
    let (ids, bad) = parse_alarms(&row.text_or("alarms", ""));
    s.alarms_unparsable += bad;
    for kid in ids {
        work::park_alarm(tx, id, kid)?;
    }
    Ok(true)
}

/// `spreadsheet`: personal notes, upserted by (user, map); NULLs get the column defaults.
pub(super) fn spreadsheet(tx: &Transaction, row: &Row, _: &mut Summary) -> RowResult<bool> {
    let (user_id, map_id) = (row.int("user_id")?, row.int("map_id")?);
    let cols = SheetCols {
        map_diff: row.int_or("map_diff", 0)?,
        map_pb: row.int_or("map_pb", 0)?,
        map_rank: row.int_or("map_rank", 0)?,
        clip: row.text_or("clip", ""),
    };
    work::upsert_sheet_row(tx, user_id, map_id, &cols)?;
    Ok(true)
}

/// `token_blacklist` → `revoked_tokens`: the old `date` (server local time) becomes unix time.
pub(super) fn revoked_token(tx: &Transaction, row: &Row, _: &mut Summary) -> RowResult<bool> {
    let date = row.text("date")?;
    let revoked_at = unix_time(&date).ok_or_else(|| RowError(format!("column `date`: `{date}` is not a date-time")))?;
    work::insert_revoked_token(tx, &row.text("jti")?, revoked_at, revoked_at + REVOCATION_TTL_S)?;
    Ok(true)
}

/// `YYYY-MM-DD HH:MM:SS[.fff]` read as this machine's local time, as the old backend wrote it.
pub(crate) fn unix_time(text: &str) -> Option<i64> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let local = Local.from_local_datetime(&naive).earliest();
    Some(local.map_or_else(|| naive.and_utc().timestamp(), |t| t.timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_are_trimmed_deduplicated_and_lenient() {
        let (ids, bad) = parse_alarms("242;245; 250;250;;x; -3 ");
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec![-3, 242, 245, 250]);
        assert_eq!(bad, 1);
        assert_eq!(parse_alarms(""), (BTreeSet::new(), 0));
    }

    #[test]
    fn password_merge_rule() {
        let argon = "$argon2id$v=19$m=19456,t=2,p=1$abc$def";
        let old = "sha256$aa";
        assert_eq!(merge_password(old, old, None), PasswordChoice::Dump);
        assert_eq!(merge_password("sha256$bb", old, Some("sha256$bb")), PasswordChoice::Dump);
        assert_eq!(merge_password(argon, old, Some(old)), PasswordChoice::KeepCurrent);
        assert_eq!(merge_password(argon, old, None), PasswordChoice::KeepCurrent);
        assert_eq!(merge_password(argon, old, Some("sha256$cc")), PasswordChoice::Dump);
    }

    #[test]
    fn dates_parse_with_and_without_fraction() {
        let a = unix_time("2023-10-01 12:00:00").unwrap();
        assert_eq!(unix_time(" 2023-10-01 12:00:00.250 "), Some(a));
        assert_eq!(unix_time("2023-10-01 12:00:01"), Some(a + 1));
        assert_eq!(unix_time("yesterday"), None);
    }
}
