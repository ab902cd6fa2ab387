//! The start-up data migration of the stored name keys: the unique name key when its rule
//! changed, and the indexed look-alike key when its Unicode data changed (or was never
//! computed). Names themselves are never changed.

use std::collections::HashSet;

use rusqlite::{params, Connection, TransactionBehavior};

use super::super::meta;
use crate::domain::{
    legacy_username_key, lookalike_key, lookalike_key_rule, username_key, username_key_rule, LEGACY_KEY_PREFIX,
};

/// What [`rekey`] did.
#[derive(Debug, Default, PartialEq)]
pub struct Rekeyed {
    /// Accounts whose stored key changed.
    pub changed: usize,
    /// Accounts (id, name) whose name has an older account's key under the current rule; they
    /// keep a key of their own behind [`LEGACY_KEY_PREFIX`].
    pub kept_old: Vec<(i64, String)>,
    /// Accounts whose look-alike key was computed (all after a change of its Unicode data).
    pub lookalikes: usize,
}

/// `app_meta` key holding the [`username_key_rule`] the stored keys follow.
pub const KEY_RULE_META: &str = "users.username_key_rule";

/// Recomputes every stored name key under the current rule, once: at the first start after an
/// upgrade (guarded by the [`KEY_RULE_META`] marker, in one transaction with it). Names are
/// never changed. Accounts are taken oldest (lowest id) first: the first to reach a key gets
/// it; a later one whose name now means the same (` bob`, `bob\u{200B}` or `ｂｏｂ` after `bob`)
/// gets `OLD:` + its key under the old rule, which a look-up by name tries first
/// ([`super::by_name`]), so it still logs in with its name spelt as before; its tokens name the id
/// and keep working. `None` when the keys were already current.
///
/// The look-alike keys are brought up to date in the same transaction (`rekey_lookalikes`).
pub fn rekey(conn: &mut Connection) -> rusqlite::Result<Option<Rekeyed>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut report = rekey_names(&tx)?;
    if let Some(n) = rekey_lookalikes(&tx, report.is_some())? {
        report.get_or_insert_with(Rekeyed::default).lookalikes = n;
    }
    tx.commit()?;
    Ok(report)
}

/// The name keys, when their rule changed.
fn rekey_names(tx: &Connection) -> rusqlite::Result<Option<Rekeyed>> {
    let rule = username_key_rule();
    if meta::get(tx, KEY_RULE_META)?.as_deref() == Some(rule.as_str()) {
        return Ok(None);
    }
    let rows = tx
        .prepare("SELECT id, username, username_key FROM users ORDER BY id")?
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut taken = HashSet::with_capacity(rows.len());
    let mut report = Rekeyed::default();
    let mut changes = Vec::new();
    for (id, name, stored) in rows {
        let mut key = username_key(&name);
        if !taken.insert(key.clone()) {
            // Keys under the current rule never start with the prefix, so only these compete.
            let old = [legacy_username_key(&name), stored.trim_start_matches(LEGACY_KEY_PREFIX).to_owned()];
            let mut candidates = old.iter().map(|k| format!("{LEGACY_KEY_PREFIX}{k}"));
            key =
                candidates.find(|k| !taken.contains(k)).unwrap_or_else(|| format!("{LEGACY_KEY_PREFIX}{stored}#{id}"));
            taken.insert(key.clone());
            report.kept_old.push((id, name));
        }
        if key != stored {
            changes.push((id, key));
        }
    }
    // Two passes, so no intermediate state breaks the unique index.
    for (id, _) in &changes {
        tx.prepare_cached("UPDATE users SET username_key = ?2 WHERE id = ?1")?
            .execute(params![id, format!("\u{1}rekey {id}")])?;
    }
    for (id, key) in &changes {
        tx.prepare_cached("UPDATE users SET username_key = ?2 WHERE id = ?1")?.execute(params![id, key])?;
    }
    meta::set(tx, KEY_RULE_META, &rule)?;
    report.changed = changes.len();
    Ok(Some(report))
}

/// `app_meta` key holding the [`lookalike_key_rule`] the stored look-alike keys follow.
pub const LOOKALIKE_RULE_META: &str = "users.lookalike_key_rule";

/// Computes the stored look-alike keys: of every account when their rule (the Unicode data)
/// changed or was never recorded (the first start after the column was added), or with `all`
/// (the name keys were just recomputed too), else only of accounts that have none yet (made by
/// an import). The number computed; `None` if none was.
fn rekey_lookalikes(tx: &Connection, all: bool) -> rusqlite::Result<Option<usize>> {
    let rule = lookalike_key_rule();
    let current = !all && meta::get(tx, LOOKALIKE_RULE_META)?.as_deref() == Some(rule.as_str());
    let sql = if current {
        "SELECT id, username FROM users WHERE lookalike_key IS NULL"
    } else {
        "SELECT id, username FROM users"
    };
    let rows = tx
        .prepare(sql)?
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (id, name) in &rows {
        tx.prepare_cached("UPDATE users SET lookalike_key = ?2 WHERE id = ?1")?
            .execute(params![id, lookalike_key(name)])?;
    }
    if !current {
        meta::set(tx, LOOKALIKE_RULE_META, &rule)?;
    }
    Ok((!current || !rows.is_empty()).then_some(rows.len()))
}
