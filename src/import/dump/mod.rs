//! Streaming reader for MariaDB/MySQL dump files (mysqldump output and phpMyAdmin SQL exports).
//!
//! The importer only needs the rows of a few `INSERT` statements, but a dump can be large and is
//! full of other SQL. So the reader works in two stages and holds at most one statement:
//!
//! 1. **Splitting** (`split`): a byte-level state machine, fed by [`DumpReader`] from
//!    [`BufRead::fill_buf`], finds statement ends (`;` outside quotes and comments), drops
//!    ordinary comments, keeps `/*!…*/` executable comments (they are statements of their own)
//!    and counts lines.
//! 2. **Parsing** (`values`, `literals`): a statement starting with `INSERT`/`REPLACE` is parsed
//!    by a `Cursor` into an [`Insert`] using MySQL's string-escape rules; anything else becomes
//!    [`Statement::Other`]. `values` holds the cursor and the statement grammar (table, column
//!    list, rows); `literals` reads the single values (strings, numbers, hex and bit literals,
//!    `NULL`/`TRUE`/`FALSE`).
//!
//! This file holds the public types ([`Statement`], [`Insert`], [`SqlValue`], [`DumpError`]) and
//! the [`DumpReader`] iterator that drives both stages. The unit tests are in `tests` (examples)
//! and `proptests` (round trips, and no panic on any input).
//!
//! A problem inside one statement (a bad value, ragged rows, invalid UTF-8 in a value) is
//! reported for that statement and reading goes on with the next one, so the caller decides
//! whether to stop. An I/O error, or input ending inside a string or comment, ends the iteration.
//! Statements other than `INSERT` may contain invalid UTF-8 (e.g. a latin1 table comment): they
//! are skipped anyway, so their `head` is decoded lossily instead of failing the import.
//!
//! Not supported (not produced by the dump tools for table data): the client-side `DELIMITER`
//! command, `INSERT … SELECT` / `INSERT … SET` (reported as errors, never skipped silently) and
//! the `NO_BACKSLASH_ESCAPES` SQL mode.

use std::io::{BufRead, ErrorKind};
use std::iter::FusedIterator;

use split::Splitter;

mod literals;
mod split;
mod values;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// Largest statement held in memory: MySQL's own ceiling for `max_allowed_packet` (1 GiB), so no
/// statement a server accepted is refused, while a dump with a runaway quote cannot eat all RAM.
const MAX_STATEMENT_BYTES: usize = 1 << 30;

/// A value in an INSERT row.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// An integer that fits in `i64` (also `TRUE`/`FALSE` and `b'…'` bit literals).
    Int(i64),
    /// A decimal, float, exponent or too-big integer, exactly as written, so `DECIMAL` columns
    /// lose no precision on the way through.
    Num(String),
    /// A string (or hex literal) with MySQL escapes resolved.
    Str(String),
}

impl SqlValue {
    /// The value as an integer: `Int`, or a `Num`/`Str` whose trimmed text is an integer, because
    /// dumps sometimes store ids and scores in text columns.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Int(i) => Some(*i),
            SqlValue::Num(s) | SqlValue::Str(s) => s.trim().parse().ok(),
            SqlValue::Null => None,
        }
    }

    /// The text of a `Str`; `None` for anything else, so numbers are never mistaken for names.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Any non-NULL value rendered as text, for text columns that were dumped as numbers.
    pub fn to_text(&self) -> Option<String> {
        match self {
            SqlValue::Null => None,
            SqlValue::Int(i) => Some(i.to_string()),
            SqlValue::Num(s) | SqlValue::Str(s) => Some(s.clone()),
        }
    }
}

/// One INSERT statement: table name (without backticks/db prefix), optional column list, rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// Table name without quoting and without a `db.` prefix.
    pub table: String,
    /// The column list, if the statement has one (mysqldump usually omits it).
    pub columns: Option<Vec<String>>,
    /// The rows; all have the same length (and match `columns` when present).
    pub rows: Vec<Vec<SqlValue>>,
    /// 1-based line where the statement starts.
    pub line: usize,
}

/// One statement of the dump.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// An `INSERT`/`REPLACE … VALUES` statement.
    Insert(Insert),
    /// Anything else (CREATE, SET, LOCK, ALTER, DROP, USE, START TRANSACTION, COMMIT, `/*!…*/`
    /// directives…) — skipped by the importer.
    Other {
        /// 1-based line where the statement starts.
        line: usize,
        /// The first ~60 characters, whitespace collapsed, for messages.
        head: String,
    },
}

/// A problem in the dump, located by the line where the offending statement starts (the
/// message adds the exact line when it differs).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct DumpError {
    /// 1-based line where the statement (or unterminated comment) starts.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl DumpError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        DumpError { line, message: message.into() }
    }
}

/// Streams statements one at a time from any reader, so a 100 MB dump is read in bounded memory
/// (at most one statement is held).
pub struct DumpReader<R: BufRead> {
    reader: R,
    bytes_read: u64,
    split: Splitter,
    /// Set at the end of input or after a fatal error: the iterator is fused.
    done: bool,
}

impl<R: BufRead> DumpReader<R> {
    /// Wraps a buffered reader; nothing is read until the first `next()`.
    pub fn new(reader: R) -> Self {
        DumpReader { reader, bytes_read: 0, split: Splitter::new(MAX_STATEMENT_BYTES), done: false }
    }

    /// Bytes consumed from the reader so far, for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads up to the end of the next statement. `Ok(false)` at a clean end of input.
    fn read_statement(&mut self) -> Result<bool, DumpError> {
        self.split.start();
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    let message = format!("read error: {e}");
                    return Err(DumpError::new(self.split.line, message));
                }
            };
            if chunk.is_empty() {
                return self.split.finish();
            }
            let (used, ended) = self.split.scan(chunk);
            self.reader.consume(used);
            self.bytes_read += used as u64;
            if ended {
                return Ok(true);
            }
        }
    }
}

impl<R: BufRead> Iterator for DumpReader<R> {
    type Item = Result<Statement, DumpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.read_statement() {
            Ok(true) => Some(self.split.statement()),
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl<R: BufRead> FusedIterator for DumpReader<R> {}
