//! Importing the old MariaDB data (`kacky-backend import-mysql <dump.sql>`).
//!
//! The dump is streamed statement by statement ([`dump::DumpReader`]) into ONE SQLite
//! transaction: any problem (an unreadable statement, a row breaking a constraint, a missing
//! required value) rolls everything back and is reported with the dump line and table. Rows are
//! upserted by primary key, so running the same dump twice is harmless; see `accounts` for
//! how accounts merge and [`db::import::resolve_alarms`] for how alarm ids become maps. All SQL
//! is in [`crate::db`]: [`db::history`] for the history tables, [`db::import`] for the rest.
//! Statements other than INSERT, and tables the old schema did not have, are skipped with a
//! note in the [`Summary`].

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use rusqlite::{Transaction, TransactionBehavior};

use crate::db::{self, meta, Db, DbError};
use dump::{DumpError, DumpReader, Insert, Statement};
use row::{Columns, Row, RowResult};

mod accounts;
pub mod dump;
mod history;
mod row;

/// Why an import failed; nothing was written in every case.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Open { path: PathBuf, source: std::io::Error },
    /// The reader could not make sense of the dump.
    #[error("dump {0}")]
    Dump(#[from] DumpError),
    /// A row could not be stored.
    #[error("line {line}, table `{table}`, row {row}: {message}")]
    Row { line: usize, table: String, row: usize, message: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Db(DbError::Sqlite(e))
    }
}

/// Writes one row into the new schema; `Ok(true)` when it counts as imported.
type Writer = fn(&Transaction, &Row, &mut Summary) -> RowResult<bool>;

/// An old table: its column order (for INSERTs without a column list), the new table it goes
/// to, and its writer.
struct OldTable {
    name: &'static str,
    columns: &'static [&'static str],
    target: &'static str,
    write: Writer,
}

/// The old schema (`setup_utils/init.sql` plus the optional notify table), in dump order.
#[rustfmt::skip]
const OLD_TABLES: &[OldTable] = &[
    OldTable { name: "events", target: "events", write: history::event,
        columns: &["id", "name", "shortname", "type", "edition", "startdate", "enddate", "visible"] },
    OldTable { name: "kack_users", target: "users", write: accounts::user,
        columns: &["id", "username", "password", "mail", "is_admin"] },
    OldTable { name: "maps", target: "maps", write: history::map,
        columns: &["id", "kackyevent", "name", "kacky_id", "kacky_id_int", "map_version", "author",
                   "tmx_id", "tm_uid", "difficulty"] },
    OldTable { name: "reset_tokens", target: "reset_tokens", write: drop_reset_token,
        columns: &["user_id", "timestamp", "token"] },
    OldTable { name: "spreadsheet", target: "spreadsheet", write: accounts::spreadsheet,
        columns: &["user_id", "map_id", "map_diff", "map_pb", "map_rank", "clip"] },
    OldTable { name: "tmx_tmlogin_mapping", target: "tmx_tmlogin_mapping", write: history::mapping,
        columns: &["tmx_login", "tmf_login", "tm20_login"] },
    OldTable { name: "token_blacklist", target: "revoked_tokens", write: accounts::revoked_token,
        columns: &["id", "jti", "date"] },
    OldTable { name: "user_fields", target: "user_fields", write: accounts::user_fields,
        columns: &["id", "discord_handle", "tm20_login", "tmnf_login", "alarms"] },
    OldTable { name: "worldrecords", target: "worldrecords", write: history::worldrecord,
        columns: &["id", "map_id", "nickname", "login", "score", "date", "source"] },
    OldTable { name: "worldrecords_discord_notify", target: "worldrecords_discord_notify",
        write: history::wr_notify, columns: &["id", "notified", "time_diff"] },
];

/// The new tables in the order the summary lists them.
const SUMMARY_ORDER: &[&str] = &[
    "events",
    "maps",
    "worldrecords",
    "worldrecords_discord_notify",
    "tmx_tmlogin_mapping",
    "users",
    "user_fields",
    "alarms",
    "spreadsheet",
    "revoked_tokens",
];

/// `reset_tokens` are dropped: reset codes live minutes, and the new table stores them hashed.
fn drop_reset_token(_: &Transaction, _: &Row, s: &mut Summary) -> RowResult<bool> {
    s.reset_tokens_dropped += 1;
    Ok(false)
}

/// What an import did, printed by the CLI.
#[derive(Debug, Default)]
pub struct Summary {
    /// Rows imported per new table.
    pub counts: BTreeMap<&'static str, u64>,
    /// Tables not in the old schema, with the rows skipped.
    pub skipped_tables: BTreeMap<String, u64>,
    pub other_statements: u64,
    pub reset_tokens_dropped: u64,
    pub wr_duplicates: u64,
    pub notify_orphans: u64,
    pub alarms_unparsable: u64,
    pub alarms_without_map: u64,
    pub passwords_kept: u64,
    mapping_replaced: bool,
}

impl Summary {
    fn count(&mut self, table: &'static str, n: u64) {
        *self.counts.entry(table).or_default() += n;
    }

    /// Takes back one count (a world record replaced by a newer dump row for the same map).
    pub(crate) fn uncount(&mut self, table: &'static str) {
        if let Some(n) = self.counts.get_mut(table) {
            *n = n.saturating_sub(1);
        }
    }

    /// Empties `tmx_tmlogin_mapping` once per import, before the dump's rows go in.
    pub(crate) fn replace_mapping(&mut self, tx: &Transaction) -> rusqlite::Result<()> {
        if !self.mapping_replaced {
            db::history::clear_mapping(tx)?;
            self.mapping_replaced = true;
        }
        Ok(())
    }
}

/// Imports the dump at `path` into `db` (already migrated). `show_progress` draws a progress
/// bar on stderr (the CLI passes "stderr is a terminal").
pub fn import_file(db: &Db, path: &Path, show_progress: bool) -> Result<Summary, ImportError> {
    let open_err = |source| ImportError::Open { path: path.to_owned(), source };
    let file = File::open(path).map_err(open_err)?;
    let total = file.metadata().map_err(open_err)?.len();
    let mut reader = DumpReader::new(BufReader::with_capacity(1 << 16, file));
    let bar = progress_bar(total, show_progress);
    let mut conn = db.conn()?;
    let tx = Transaction::new(&mut conn, TransactionBehavior::Immediate)?;
    db::import::create_work_tables(&tx)?;
    let mut summary = Summary::default();
    let read = read_all(&tx, &mut reader, &bar, &mut summary);
    bar.finish_and_clear();
    read?;
    finish(&tx, &mut summary)?;
    tx.commit()?;
    Ok(summary)
}

/// Applies every statement; stops at the first problem (the caller then rolls back).
fn read_all<R: BufRead>(
    tx: &Transaction,
    reader: &mut DumpReader<R>,
    bar: &ProgressBar,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    while let Some(statement) = reader.next() {
        apply(tx, statement?, summary)?;
        bar.set_position(reader.bytes_read());
    }
    Ok(())
}

/// A bar driven by bytes read against the file size; hidden when not on a terminal.
fn progress_bar(total: u64, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(total).with_style(style)
}

/// Resolves the alarms, drops the work tables and marks the history as present so the seed
/// never loads over imported data. A dump without events (accounts only) leaves the marker
/// alone, so a new database still gets the built-in history at the first start.
fn finish(tx: &Transaction, summary: &mut Summary) -> Result<(), ImportError> {
    let (alarms, without_map) = db::import::resolve_alarms(tx)?;
    summary.count("alarms", alarms);
    summary.alarms_without_map = without_map;
    db::import::drop_work_tables(tx)?;
    if db::history::has_events(tx)? {
        meta::set(tx, "history_seeded", "1")?;
    }
    Ok(())
}

/// Routes one statement: INSERTs into known tables are written, everything else is noted.
fn apply(tx: &Transaction, statement: Statement, s: &mut Summary) -> Result<(), ImportError> {
    let ins = match statement {
        Statement::Insert(ins) => ins,
        Statement::Other { head, .. } => {
            s.other_statements += 1;
            if let Some(table) = created_table(&head) {
                note_created_table(tx, &table, s)?;
            }
            return Ok(());
        }
    };
    let Some(old) = OLD_TABLES.iter().find(|t| t.name.eq_ignore_ascii_case(&ins.table)) else {
        *s.skipped_tables.entry(ins.table).or_default() += ins.rows.len() as u64;
        return Ok(());
    };
    write_rows(tx, old, &ins, s)
}

/// Writes every row of one INSERT, naming line, table and row number on failure.
fn write_rows(tx: &Transaction, old: &OldTable, ins: &Insert, s: &mut Summary) -> Result<(), ImportError> {
    let fail =
        |row: usize, message: String| ImportError::Row { line: ins.line, table: ins.table.clone(), row, message };
    let cols = Columns::for_insert(ins, old.columns).map_err(|m| fail(1, m))?;
    for (i, values) in ins.rows.iter().enumerate() {
        let row = Row { cols: &cols, values };
        if (old.write)(tx, &row, s).map_err(|e| fail(i + 1, e.0))? {
            s.count(old.target, 1);
        }
    }
    Ok(())
}

/// A `CREATE TABLE` of the mapping table means its content is the dump's, even with no rows;
/// one of an unknown table is listed as skipped.
fn note_created_table(tx: &Transaction, table: &str, s: &mut Summary) -> rusqlite::Result<()> {
    if table.eq_ignore_ascii_case("tmx_tmlogin_mapping") {
        s.replace_mapping(tx)?;
    } else if !OLD_TABLES.iter().any(|t| t.name.eq_ignore_ascii_case(table)) {
        s.skipped_tables.entry(table.to_owned()).or_default();
    }
    Ok(())
}

/// The table name of a `CREATE TABLE [IF NOT EXISTS] [db.]name` statement head.
fn created_table(head: &str) -> Option<String> {
    let upper = head.to_ascii_uppercase();
    let rest = upper.strip_prefix("CREATE TABLE ")?;
    let skip = head.len() - rest.len() + if rest.starts_with("IF NOT EXISTS ") { "IF NOT EXISTS ".len() } else { 0 };
    let name = head.get(skip..)?.split([' ', '(']).next()?;
    let last = name.rsplit('.').next()?;
    let unquoted = last.strip_prefix('`').and_then(|n| n.strip_suffix('`'));
    match unquoted {
        Some(n) => Some(n.to_owned()),
        None if !last.contains('`') && !last.is_empty() => Some(last.to_owned()),
        None => None,
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "imported rows per table:")?;
        for table in SUMMARY_ORDER {
            let n = self.counts.get(table).copied().unwrap_or(0);
            writeln!(f, "  {table}: {n}")?;
        }
        writeln!(f, "notes:")?;
        for note in self.notes() {
            writeln!(f, "  - {note}")?;
        }
        Ok(())
    }
}

impl Summary {
    /// Human-readable remarks on what was skipped, dropped or merged.
    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "reset_tokens rows dropped (reset codes are short-lived; users can request a new one): {}",
            self.reset_tokens_dropped
        )];
        for (table, rows) in &self.skipped_tables {
            notes.push(format!("skipped table `{table}` (not in the old schema), rows: {rows}"));
        }
        let counted = [
            (self.wr_duplicates, "world-record rows for a map that already had one (the highest id was kept)"),
            (self.notify_orphans, "worldrecords_discord_notify rows without their world record, skipped"),
            (self.alarms_unparsable, "alarm entries that are not integers, skipped"),
            (self.alarms_without_map, "alarm ids matching no map, skipped"),
            (
                self.passwords_kept,
                "passwords already upgraded to argon2id and kept (the dump still has the legacy hash imported before)",
            ),
        ];
        for (n, text) in counted.into_iter().filter(|(n, _)| *n > 0) {
            notes.push(format!("{text}: {n}"));
        }
        notes.push(format!("statements other than INSERT, skipped: {}", self.other_statements));
        notes.push(
            "alarms: a kacky id means the map with that id in the most recent event (highest event id) that has one"
                .into(),
        );
        notes.push(
            "merge: rows are matched by primary key and the dump's values win, except a password already upgraded to \
             argon2id, kept while the dump holds the legacy hash imported before; rows only in SQLite are kept; \
             tmx_tmlogin_mapping is replaced"
                .into(),
        );
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::created_table;

    #[test]
    fn created_table_names() {
        let t = |h: &str| created_table(h);
        assert_eq!(t("CREATE TABLE IF NOT EXISTS `events` ( `id` int(11)").as_deref(), Some("events"));
        assert_eq!(t("CREATE TABLE `kacky`.`maps` (").as_deref(), Some("maps"));
        assert_eq!(t("create table foo(").as_deref(), Some("foo"));
        assert_eq!(t("CREATE TABLE `some_very_long_name_that_got_cu"), None);
        assert_eq!(t("CREATE DATABASE x"), None);
    }
}
