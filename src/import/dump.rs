//! Streaming reader for MariaDB/MySQL dump files (mysqldump output and phpMyAdmin SQL exports).
//!
//! The importer only needs the rows of a few `INSERT` statements, but a dump can be large and is
//! full of other SQL. So the reader works in two stages and holds at most one statement:
//!
//! 1. **Splitting** ([`DumpReader`]): a byte-level state machine fed from [`BufRead::fill_buf`]
//!    finds statement ends (`;` outside quotes and comments), drops ordinary comments, keeps
//!    `/*!…*/` executable comments (they are statements of their own) and counts lines.
//! 2. **Parsing** (`Cursor`): a statement starting with `INSERT`/`REPLACE` is parsed into an
//!    [`Insert`] using MySQL's string-escape rules; anything else becomes [`Statement::Other`].
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

/// Largest statement held in memory: MySQL's own ceiling for `max_allowed_packet` (1 GiB), so no
/// statement a server accepted is refused, while a dump with a runaway quote cannot eat all RAM.
const MAX_STATEMENT_BYTES: usize = 1 << 30;

/// How many characters of a skipped statement are kept for messages.
const HEAD_CHARS: usize = 60;

/// UTF-8 byte order mark, which some editors put in front of exported files.
const BOM: &[u8] = b"\xEF\xBB\xBF";

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

/// Where the splitter is in the SQL text. The "pending" states exist because `-`, `/` and `/*`
/// only turn out to start a comment when the next byte arrives, possibly in the next buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scan {
    Normal,
    /// One `-` seen, not yet stored.
    Dash,
    /// `--` seen: a comment if the next byte is whitespace or a control character.
    DashDash,
    /// `/` seen, not yet stored.
    Slash,
    /// `/*` seen: `!` makes it executable, `M` may start MariaDB's `/*M!`.
    SlashStar,
    /// `/*M` seen.
    SlashStarM,
    /// Inside an ordinary `/* … */` comment; `star` if the last byte was `*`.
    Block {
        star: bool,
    },
    /// Inside a `/*! … */` executable comment, which is kept.
    Exec {
        star: bool,
    },
    /// Inside `-- …` or `# …` up to the end of the line.
    LineComment,
    /// Inside a `'…'`, `"…"` or `` `…` `` quote; `escape` right after a backslash.
    Quoted {
        quote: u8,
        escape: bool,
    },
}

/// Splits the byte stream into statements, keeping only the current one.
struct Splitter {
    /// Line of the next byte (1-based).
    line: usize,
    state: Scan,
    /// The current statement: comments removed, leading whitespace skipped.
    stmt: Vec<u8>,
    /// Line where `stmt` starts.
    stmt_line: usize,
    /// Line where the current quote or comment opened, for "unterminated" messages.
    open_line: usize,
    /// The statement outgrew `max_statement`: its bytes are dropped up to its `;`.
    overflow: bool,
    max_statement: usize,
}

impl Splitter {
    fn new(max_statement: usize) -> Self {
        Splitter {
            line: 1,
            state: Scan::Normal,
            stmt: Vec::new(),
            stmt_line: 1,
            open_line: 1,
            overflow: false,
            max_statement,
        }
    }

    /// Forgets the previous statement (keeping the buffer's capacity).
    fn start(&mut self) {
        self.stmt.clear();
        self.overflow = false;
    }

    fn has_statement(&self) -> bool {
        self.overflow || !self.stmt.is_empty()
    }

    /// Feeds a chunk; returns how many bytes were used and whether a statement ended there.
    /// Runs of quoted text are copied in one go since they are the bulk of a dump.
    fn scan(&mut self, chunk: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while i < chunk.len() {
            if let Scan::Quoted { quote, escape: false } = self.state {
                let rest = &chunk[i..];
                let run = rest.iter().position(|&c| c == quote || c == b'\\' || c == b'\n').unwrap_or(rest.len());
                self.push_run(&rest[..run]);
                i += run;
                if i == chunk.len() {
                    break;
                }
            }
            let b = chunk[i];
            i += 1;
            let ended = self.step(b);
            if b == b'\n' {
                self.line += 1;
            }
            if ended {
                return (i, true);
            }
        }
        (i, false)
    }

    /// Handles one byte; true when it is the `;` ending a non-empty statement.
    fn step(&mut self, b: u8) -> bool {
        match self.state {
            Scan::Normal => self.normal(b),
            Scan::Quoted { quote, escape } => {
                self.quoted(b, quote, escape);
                false
            }
            Scan::LineComment => {
                if b == b'\n' {
                    self.state = Scan::Normal;
                    self.push(b);
                }
                false
            }
            Scan::Block { star } => {
                self.block(b, star);
                false
            }
            Scan::Exec { star } => {
                self.push(b);
                self.state = if star && b == b'/' { Scan::Normal } else { Scan::Exec { star: b == b'*' } };
                false
            }
            Scan::Dash | Scan::DashDash | Scan::Slash | Scan::SlashStar | Scan::SlashStarM => self.pending(b),
        }
    }

    fn normal(&mut self, b: u8) -> bool {
        match b {
            b';' => return self.has_statement(),
            b'\'' | b'"' | b'`' => {
                self.open_line = self.line;
                self.push(b);
                self.state = Scan::Quoted { quote: b, escape: false };
            }
            b'-' => self.state = Scan::Dash,
            b'/' => {
                self.open_line = self.line;
                self.state = Scan::Slash;
            }
            b'#' => self.state = Scan::LineComment,
            _ => self.push(b),
        }
        false
    }

    /// Resolves a held-back `-`, `--`, `/`, `/*` or `/*M` now that the next byte is known.
    fn pending(&mut self, b: u8) -> bool {
        match (self.state, b) {
            (Scan::Dash, b'-') => self.state = Scan::DashDash,
            (Scan::DashDash, 0..=b' ') => {
                // MySQL: `--` starts a comment only when followed by whitespace/control.
                self.state = Scan::LineComment;
                return self.step(b);
            }
            (Scan::Slash, b'*') => self.state = Scan::SlashStar,
            (Scan::SlashStar, b'!') => self.open_exec(b"/*!"),
            (Scan::SlashStar, b'M') => self.state = Scan::SlashStarM,
            (Scan::SlashStarM, b'!') => self.open_exec(b"/*M!"),
            (Scan::SlashStar | Scan::SlashStarM, _) => {
                // A comment separates tokens, as in MySQL: `a/**/b` is two words.
                self.push(b' ');
                self.block(b, false);
            }
            (Scan::DashDash, _) => {
                self.state = Scan::Normal;
                self.push_run(b"--");
                return self.normal(b);
            }
            _ => {
                let held = if self.state == Scan::Slash { b'/' } else { b'-' };
                self.state = Scan::Normal;
                self.push(held);
                return self.normal(b);
            }
        }
        false
    }

    fn quoted(&mut self, b: u8, quote: u8, escape: bool) {
        self.push(b);
        self.state = if escape {
            Scan::Quoted { quote, escape: false }
        } else if b == quote {
            // A doubled quote simply closes and reopens: no special case needed here.
            Scan::Normal
        } else {
            Scan::Quoted { quote, escape: b == b'\\' && quote != b'`' }
        };
    }

    /// Inside an ordinary comment: drop the text but keep newlines, so the parser can still
    /// tell on which line a value is.
    fn block(&mut self, b: u8, star: bool) {
        if star && b == b'/' {
            self.state = Scan::Normal;
            return;
        }
        if b == b'\n' {
            self.push(b'\n');
        }
        self.state = Scan::Block { star: b == b'*' };
    }

    fn open_exec(&mut self, marker: &[u8]) {
        self.push_run(marker);
        self.state = Scan::Exec { star: false };
    }

    /// Appends a byte; leading whitespace is skipped so `stmt_line` is the first real byte's.
    fn push(&mut self, b: u8) {
        if self.stmt.is_empty() && !self.overflow {
            if is_space(b) {
                return;
            }
            self.stmt_line = self.line;
        }
        if self.stmt.len() >= self.max_statement {
            self.overflow = true;
        } else {
            self.stmt.push(b);
        }
    }

    /// Appends a run of quoted text (the statement has begun) or a `--`/`/*!` marker (which
    /// may begin it); runs never contain a newline, so line counting stays in `scan`.
    fn push_run(&mut self, run: &[u8]) {
        if run.is_empty() {
            return;
        }
        if !self.has_statement() {
            self.stmt_line = self.line;
        }
        if self.stmt.len() + run.len() > self.max_statement {
            self.overflow = true;
        } else {
            self.stmt.extend_from_slice(run);
        }
    }

    /// End of input: a held-back byte is stored; ending inside a quote or comment is an error
    /// because the dump was cut off and data would silently go missing.
    fn finish(&mut self) -> Result<bool, DumpError> {
        let unterminated = match std::mem::replace(&mut self.state, Scan::Normal) {
            Scan::Dash => {
                self.push(b'-');
                None
            }
            Scan::Slash => {
                self.push(b'/');
                None
            }
            Scan::Normal | Scan::DashDash | Scan::LineComment => None,
            Scan::Quoted { quote: b'`', .. } => Some("quoted identifier"),
            Scan::Quoted { .. } => Some("string"),
            Scan::SlashStar | Scan::SlashStarM | Scan::Block { .. } => Some("/* comment"),
            Scan::Exec { .. } => Some("/*! comment"),
        };
        let Some(what) = unterminated else {
            return Ok(self.has_statement());
        };
        let line = if self.has_statement() { self.stmt_line } else { self.open_line };
        let message = format!("unterminated {what} (opened on line {}, input ends first)", self.open_line);
        Err(DumpError::new(line, message))
    }

    /// Turns the finished statement into a [`Statement`].
    fn statement(&self) -> Result<Statement, DumpError> {
        if self.overflow {
            let message = format!("statement longer than {} bytes, skipped", self.max_statement);
            return Err(DumpError::new(self.stmt_line, message));
        }
        parse_statement(&self.stmt, self.stmt_line)
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Bytes of an unquoted identifier or keyword (MySQL allows `$` and any non-ASCII letter).
fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Parses one statement (comments already removed, `/*!…*/` kept).
fn parse_statement(buf: &[u8], line: usize) -> Result<Statement, DumpError> {
    let mut cur = Cursor { buf, pos: 0, line, exec_depth: 0 };
    match cur.word() {
        Some(w) if w.eq_ignore_ascii_case(b"INSERT") || w.eq_ignore_ascii_case(b"REPLACE") => {
            cur.insert().map(Statement::Insert)
        }
        _ => Ok(Statement::Other { line, head: head_of(buf) }),
    }
}

/// The first [`HEAD_CHARS`] characters with whitespace collapsed, for messages.
fn head_of(buf: &[u8]) -> String {
    let prefix = &buf[..buf.len().min(HEAD_CHARS * 16)];
    let text = String::from_utf8_lossy(prefix);
    let text = text.trim_start_matches('\u{feff}');
    let mut head = String::new();
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            head.push(' ');
        }
        head.push_str(word);
        if head.chars().count() >= HEAD_CHARS {
            break;
        }
    }
    head.chars().take(HEAD_CHARS).collect()
}

/// Recursive-descent parser over one statement's bytes.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Line where the statement starts.
    line: usize,
    /// How many `/*!` markers are open; their `*/` is then skipped like whitespace.
    exec_depth: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// An error for this statement; mentions the exact line of `at` when it is not the first.
    fn error(&self, at: usize, message: impl Into<String>) -> DumpError {
        let before = &self.buf[..at.min(self.buf.len())];
        let at_line = self.line + before.iter().filter(|&&b| b == b'\n').count();
        let mut message = message.into();
        if at_line != self.line {
            message = format!("{message} (at line {at_line})");
        }
        DumpError::new(self.line, message)
    }

    /// What is at the cursor, for "expected …, found …" messages.
    fn describe(&self) -> String {
        let rest = self.rest();
        if rest.is_empty() {
            return "end of statement".into();
        }
        let n = rest.iter().take_while(|&&b| is_ident_byte(b)).count();
        let n = n.clamp(1, 24).min(rest.len());
        format!("`{}`", String::from_utf8_lossy(&rest[..n]))
    }

    /// Skips whitespace, a BOM and the markers of `/*!NNNNN … */` executable comments, whose
    /// content MySQL runs as ordinary SQL (e.g. `INSERT /*!IGNORE*/ INTO`).
    fn skip_ws(&mut self) {
        loop {
            let rest = self.rest();
            if rest.first().is_some_and(|&b| is_space(b)) {
                self.pos += 1;
            } else if rest.starts_with(BOM) {
                self.pos += BOM.len();
            } else if rest.starts_with(b"/*") {
                let marker = if rest.starts_with(b"/*M!") { 4 } else { 3 };
                let marker = marker.min(rest.len());
                self.pos += marker + count_digits(&rest[marker..]);
                self.exec_depth += 1;
            } else if self.exec_depth > 0 && rest.starts_with(b"*/") {
                self.pos += 2;
                self.exec_depth -= 1;
            } else {
                return;
            }
        }
    }

    /// An unquoted word (keyword or bare identifier), if one is next.
    fn word(&mut self) -> Option<&'a [u8]> {
        self.skip_ws();
        let rest = self.rest();
        let n = rest.iter().take_while(|&&b| is_ident_byte(b)).count();
        if n == 0 {
            return None;
        }
        self.pos += n;
        Some(&rest[..n])
    }

    /// Consumes the keyword `kw` (any case) if it is next.
    fn keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        let save = self.pos;
        match self.word() {
            Some(w) if w.eq_ignore_ascii_case(kw.as_bytes()) => true,
            _ => {
                self.pos = save;
                false
            }
        }
    }

    /// Consumes the punctuation byte `b` if it is next.
    fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8, context: &str) -> Result<(), DumpError> {
        if self.eat(b) {
            return Ok(());
        }
        let message = format!("expected `{}` {context}, found {}", char::from(b), self.describe());
        Err(self.error(self.pos, message))
    }

    /// The body of a quoted string or identifier with escapes resolved; the cursor is on the
    /// opening quote. Backticks know no backslash escapes, only a doubled backtick.
    fn quoted(&mut self, quote: u8) -> Result<Vec<u8>, DumpError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let rest = self.rest();
            let special = |b: &u8| *b == quote || (*b == b'\\' && quote != b'`');
            let Some(n) = rest.iter().position(special) else {
                return Err(self.error(start, "unterminated string"));
            };
            out.extend_from_slice(&rest[..n]);
            self.pos += n + 1;
            let next = rest.get(n + 1).copied();
            if rest[n] == quote {
                if next != Some(quote) {
                    return Ok(out);
                }
                out.push(quote);
                self.pos += 1;
                continue;
            }
            let Some(escaped) = next else {
                return Err(self.error(start, "unterminated string"));
            };
            self.pos += 1;
            push_escape(&mut out, escaped);
        }
    }

    /// A table or column name; `db.table` / `` `db`.`table` `` yields the last part.
    fn name(&mut self) -> Result<String, DumpError> {
        let mut name = self.identifier()?;
        while self.eat(b'.') {
            name = self.identifier()?;
        }
        Ok(name)
    }

    fn identifier(&mut self) -> Result<String, DumpError> {
        self.skip_ws();
        let start = self.pos;
        let bytes = match self.peek() {
            // `"…"` is an identifier under ANSI_QUOTES; accepting it costs nothing.
            Some(q @ (b'`' | b'"')) => self.quoted(q)?,
            _ => match self.word() {
                Some(w) => w.to_vec(),
                None => {
                    let message = format!("expected a name, found {}", self.describe());
                    return Err(self.error(start, message));
                }
            },
        };
        String::from_utf8(bytes).map_err(|_| self.error(start, "name is not valid UTF-8"))
    }

    /// `( name, … )`, also used to skip a `PARTITION (…)` clause.
    fn name_list(&mut self) -> Result<Vec<String>, DumpError> {
        self.expect(b'(', "to open the column list")?;
        let mut names = Vec::new();
        if self.eat(b')') {
            return Ok(names);
        }
        loop {
            names.push(self.name()?);
            if self.eat(b')') {
                return Ok(names);
            }
            self.expect(b',', "between column names")?;
        }
    }

    /// `[modifiers] [INTO] table [PARTITION (…)] [(cols)] VALUES rows [ON DUPLICATE …]`, the
    /// cursor being after `INSERT`/`REPLACE`.
    fn insert(&mut self) -> Result<Insert, DumpError> {
        const MODIFIERS: [&str; 4] = ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE"];
        while MODIFIERS.iter().any(|kw| self.keyword(kw)) {}
        self.keyword("INTO");
        let table = self.name()?;
        self.insert_body(&table).map_err(|mut e| {
            e.message = format!("INSERT into `{table}`: {}", e.message);
            e
        })
    }

    fn insert_body(&mut self, table: &str) -> Result<Insert, DumpError> {
        if self.keyword("PARTITION") {
            self.name_list()?;
        }
        self.skip_ws();
        let columns = match self.peek() {
            Some(b'(') => Some(self.name_list()?),
            _ => None,
        };
        if !(self.keyword("VALUES") || self.keyword("VALUE")) {
            let message = format!("expected VALUES, found {} (only INSERT … VALUES is supported)", self.describe());
            return Err(self.error(self.pos, message));
        }
        let rows = self.rows(columns.as_ref().map(Vec::len))?;
        self.skip_ws();
        // `ON DUPLICATE KEY UPDATE …` / `AS alias …` do not change the rows: ignore them.
        if self.pos < self.buf.len() && !self.keyword("ON") && !self.keyword("AS") {
            let message = format!("unexpected {} after the rows", self.describe());
            return Err(self.error(self.pos, message));
        }
        Ok(Insert { table: table.to_string(), columns, rows, line: self.line })
    }

    /// `(…), (…), …` where every row has the width of the column list or the first row.
    fn rows(&mut self, columns: Option<usize>) -> Result<Vec<Vec<SqlValue>>, DumpError> {
        let mut rows: Vec<Vec<SqlValue>> = Vec::new();
        loop {
            self.skip_ws();
            let start = self.pos;
            let row = self.row()?;
            let (expected, what) = match (columns, rows.first()) {
                (Some(n), _) => (n, "columns"),
                (None, Some(first)) => (first.len(), "values in the first row"),
                (None, None) => (row.len(), ""),
            };
            if row.len() != expected {
                let message =
                    format!("row {} has {} values but there are {expected} {what}", rows.len() + 1, row.len());
                return Err(self.error(start, message));
            }
            rows.push(row);
            if !self.eat(b',') {
                return Ok(rows);
            }
        }
    }

    fn row(&mut self) -> Result<Vec<SqlValue>, DumpError> {
        self.expect(b'(', "to open a row")?;
        let mut values = Vec::new();
        if self.eat(b')') {
            return Ok(values);
        }
        loop {
            values.push(self.value()?);
            if self.eat(b')') {
                return Ok(values);
            }
            self.expect(b',', "between values")?;
        }
    }

    fn value(&mut self) -> Result<SqlValue, DumpError> {
        self.skip_ws();
        if let Some(value) = self.literal() {
            return value;
        }
        match self.peek() {
            Some(b'0'..=b'9' | b'-' | b'+' | b'.') => self.number(),
            Some(b) if is_ident_byte(b) => self.word_value(),
            _ => {
                let message = format!("expected a value, found {}", self.describe());
                Err(self.error(self.pos, message))
            }
        }
    }

    /// String-like literals: `'…'`, `"…"`, `N'…'`, `0x…`, `X'…'`, `0b…`, `b'…'`.
    /// `None` if none starts here.
    fn literal(&mut self) -> Option<Result<SqlValue, DumpError>> {
        let rest = self.rest();
        let first = rest.first()?.to_ascii_lowercase();
        let second = rest.get(1).copied();
        let third = rest.get(2).copied().unwrap_or(b' ');
        Some(match (first, second) {
            (b'\'' | b'"', _) => self.string(rest[0]),
            (b'n', Some(b'\'')) => {
                self.pos += 1;
                self.string(b'\'')
            }
            (b'x', Some(b'\'')) => self.hex_string(),
            (b'0', Some(b'x')) if third.is_ascii_hexdigit() => self.hex_number(),
            (b'b', Some(b'\'')) => self.bit_string(),
            (b'0', Some(b'b')) if matches!(third, b'0' | b'1') => self.bit_number(),
            _ => return None,
        })
    }

    fn string(&mut self, quote: u8) -> Result<SqlValue, DumpError> {
        let start = self.pos;
        let bytes = self.quoted(quote)?;
        String::from_utf8(bytes).map(SqlValue::Str).map_err(|_| self.error(start, "string value is not valid UTF-8"))
    }

    /// Hex literals hold bytes; the importer only stores text, so they must decode as UTF-8.
    fn hex_value(&self, start: usize, digits: &[u8]) -> Result<SqlValue, DumpError> {
        let nibble = |d: u8| match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => 0,
        };
        let odd = digits.len() % 2;
        let mut bytes = Vec::with_capacity(digits.len() / 2 + 1);
        if odd == 1 {
            bytes.push(nibble(digits[0]));
        }
        for pair in digits[odd..].chunks_exact(2) {
            bytes.push(nibble(pair[0]) << 4 | nibble(pair[1]));
        }
        String::from_utf8(bytes)
            .map(SqlValue::Str)
            .map_err(|_| self.error(start, "hex literal is not valid UTF-8 text"))
    }

    /// `0x1F` (an odd digit count is padded on the left, as MySQL does).
    fn hex_number(&mut self) -> Result<SqlValue, DumpError> {
        let start = self.pos;
        let rest = &self.rest()[2..];
        let n = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if rest.get(n).is_some_and(|&b| is_ident_byte(b)) {
            return Err(self.error(start, "malformed hex literal"));
        }
        self.pos += 2 + n;
        self.hex_value(start, &rest[..n])
    }

    /// `X'1F'` (an even number of digits is required).
    fn hex_string(&mut self) -> Result<SqlValue, DumpError> {
        let start = self.pos;
        let rest = &self.rest()[2..];
        let n = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if rest.get(n) != Some(&b'\'') || n % 2 == 1 {
            return Err(self.error(start, "malformed X'…' hex literal"));
        }
        self.pos += 2 + n + 1;
        self.hex_value(start, &rest[..n])
    }

    fn bit_value(&self, start: usize, digits: &[u8]) -> Result<SqlValue, DumpError> {
        if digits.len() > 63 {
            return Err(self.error(start, "bit literal longer than 63 bits"));
        }
        let value = digits.iter().fold(0i64, |acc, d| acc << 1 | i64::from(*d == b'1'));
        Ok(SqlValue::Int(value))
    }

    /// `0b0101`.
    fn bit_number(&mut self) -> Result<SqlValue, DumpError> {
        let start = self.pos;
        let rest = &self.rest()[2..];
        let n = rest.iter().take_while(|b| matches!(b, b'0' | b'1')).count();
        if rest.get(n).is_some_and(|&b| is_ident_byte(b)) {
            return Err(self.error(start, "malformed bit literal"));
        }
        self.pos += 2 + n;
        self.bit_value(start, &rest[..n])
    }

    /// `b'0101'`, as phpMyAdmin writes BIT columns.
    fn bit_string(&mut self) -> Result<SqlValue, DumpError> {
        let start = self.pos;
        let rest = &self.rest()[2..];
        let n = rest.iter().take_while(|b| matches!(b, b'0' | b'1')).count();
        if rest.get(n) != Some(&b'\'') {
            return Err(self.error(start, "malformed b'…' bit literal"));
        }
        self.pos += 2 + n + 1;
        self.bit_value(start, &rest[..n])
    }

    /// `[+-]digits[.digits][e[+-]digits]`: `Int` when it is a plain integer that fits, else
    /// `Num` with the text as written.
    fn number(&mut self) -> Result<SqlValue, DumpError> {
        let start = self.pos;
        let rest = self.rest();
        let at = |i: usize| rest.get(i).copied();
        let tail = |i: usize| rest.get(i..).unwrap_or_default();
        let mut n = usize::from(matches!(at(0), Some(b'-' | b'+')));
        let mut digits = count_digits(tail(n));
        n += digits;
        let mut integer = true;
        if at(n) == Some(b'.') {
            integer = false;
            let frac = count_digits(tail(n + 1));
            digits += frac;
            n += 1 + frac;
        }
        if digits > 0 && matches!(at(n), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(at(n + 1), Some(b'-' | b'+')));
            let exp = count_digits(tail(n + 1 + sign));
            if exp > 0 {
                integer = false;
                n += 1 + sign + exp;
            }
        }
        if digits == 0 || at(n).is_some_and(|b| is_ident_byte(b) || b == b'.') {
            let message = format!("malformed number {}", self.describe());
            return Err(self.error(start, message));
        }
        self.pos += n;
        let text = String::from_utf8_lossy(&rest[..n]).into_owned();
        Ok(match text.parse::<i64>() {
            Ok(i) if integer => SqlValue::Int(i),
            _ => SqlValue::Num(text),
        })
    }

    /// `NULL`, `TRUE`, `FALSE`, or a charset introducer (`_binary '…'`, `_utf8mb4'…'`) that
    /// is skipped because only the literal after it matters.
    fn word_value(&mut self) -> Result<SqlValue, DumpError> {
        let start = self.pos;
        let word = self.word().unwrap_or_default();
        if word.len() > 1 && word[0] == b'_' {
            self.skip_ws();
            return self.literal().unwrap_or_else(|| {
                let word = String::from_utf8_lossy(word);
                let message = format!("expected a string after `{word}`");
                Err(self.error(self.pos, message))
            });
        }
        match word.to_ascii_uppercase().as_slice() {
            b"NULL" => Ok(SqlValue::Null),
            b"TRUE" => Ok(SqlValue::Int(1)),
            b"FALSE" => Ok(SqlValue::Int(0)),
            _ => {
                let word = String::from_utf8_lossy(word);
                let message = format!("unexpected `{word}` where a value was expected");
                Err(self.error(start, message))
            }
        }
    }
}

/// Resolves the byte after a backslash the way MySQL does: the usual control escapes, `\%` and
/// `\_` kept with their backslash (they are LIKE escapes), anything else stands for itself.
fn push_escape(out: &mut Vec<u8>, escaped: u8) {
    match escaped {
        b'0' => out.push(0),
        b'b' => out.push(0x08),
        b'n' => out.push(b'\n'),
        b'r' => out.push(b'\r'),
        b't' => out.push(b'\t'),
        b'Z' => out.push(0x1a),
        b'%' | b'_' => out.extend_from_slice(&[b'\\', escaped]),
        other => out.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::{BufReader, Read};

    fn all(sql: &str) -> Vec<Result<Statement, DumpError>> {
        DumpReader::new(sql.as_bytes()).collect()
    }

    fn stmts(sql: &str) -> Vec<Statement> {
        all(sql).into_iter().map(|r| r.unwrap()).collect()
    }

    fn insert(sql: &str) -> Insert {
        match stmts(sql).as_slice() {
            [Statement::Insert(ins)] => ins.clone(),
            other => panic!("expected one INSERT, got {other:?}"),
        }
    }

    /// The single value of `INSERT INTO t VALUES (<literal>);`.
    fn value(literal: &str) -> SqlValue {
        let ins = insert(&format!("INSERT INTO t VALUES ({literal});"));
        ins.rows[0][0].clone()
    }

    fn error(sql: &str) -> DumpError {
        all(sql).into_iter().find_map(Result::err).expect("an error")
    }

    fn s(text: &str) -> SqlValue {
        SqlValue::Str(text.to_string())
    }

    fn num(text: &str) -> SqlValue {
        SqlValue::Num(text.to_string())
    }

    fn other(line: usize, head: &str) -> Statement {
        Statement::Other { line, head: head.to_string() }
    }

    #[test]
    fn escapes_each() {
        assert_eq!(value(r"'a\'b'"), s("a'b"));
        assert_eq!(value(r"'a\\b'"), s("a\\b"));
        assert_eq!(value(r"'a\nb'"), s("a\nb"));
        assert_eq!(value(r"'a\0b'"), s("a\0b"));
        assert_eq!(value("'a''b'"), s("a'b"));
        assert_eq!(value(r#"'a\"b'"#), s("a\"b"));
        assert_eq!(value(r"'a\tb'"), s("a\tb"));
        assert_eq!(value(r"'a\rb'"), s("a\rb"));
        assert_eq!(value(r"'a\Zb'"), s("a\u{1a}b"));
        assert_eq!(value(r"'a\bb'"), s("a\u{8}b"));
        assert_eq!(value(r"'a\qb'"), s("aqb"));
        assert_eq!(value(r"'a\%b\_c'"), s("a\\%b\\_c"));
        assert_eq!(value(r#""a""b\"c'd""#), s("a\"b\"c'd"));
        assert_eq!(value(r"'\é'"), s("é"));
        assert_eq!(value("''"), s(""));
        assert_eq!(value("''''"), s("'"));
    }

    #[test]
    fn numbers_null_and_hex() {
        assert_eq!(value("NULL"), SqlValue::Null);
        assert_eq!(value("null"), SqlValue::Null);
        assert_eq!(value("-42"), SqlValue::Int(-42));
        assert_eq!(value("+7"), SqlValue::Int(7));
        assert_eq!(value("0"), SqlValue::Int(0));
        assert_eq!(value("-3.50"), num("-3.50"));
        assert_eq!(value(".5"), num(".5"));
        assert_eq!(value("1e10"), num("1e10"));
        assert_eq!(value("-1.5E-3"), num("-1.5E-3"));
        assert_eq!(value("18446744073709551615"), num("18446744073709551615"));
        assert_eq!(value("-9223372036854775808"), SqlValue::Int(i64::MIN));
        assert_eq!(value("0x4869"), s("Hi"));
        assert_eq!(value("0x169"), s("\u{1}i"));
        assert_eq!(value("X'4869'"), s("Hi"));
        assert_eq!(value("x''"), s(""));
        assert_eq!(value("_binary 'ab'"), s("ab"));
        assert_eq!(value("_utf8mb4'ab'"), s("ab"));
        assert_eq!(value("_binary 0x41"), s("A"));
        assert_eq!(value("N'ab'"), s("ab"));
        assert_eq!(value("b'101'"), SqlValue::Int(5));
        assert_eq!(value("0b11"), SqlValue::Int(3));
        assert_eq!(value("TRUE"), SqlValue::Int(1));
        assert_eq!(value("false"), SqlValue::Int(0));
    }

    #[test]
    fn value_accessors() {
        assert_eq!(SqlValue::Int(5).as_i64(), Some(5));
        assert_eq!(num(" 12 ").as_i64(), Some(12));
        assert_eq!(s("13").as_i64(), Some(13));
        assert_eq!(num("1.5").as_i64(), None);
        assert_eq!(SqlValue::Null.as_i64(), None);
        assert_eq!(s("x").as_str(), Some("x"));
        assert_eq!(SqlValue::Int(1).as_str(), None);
        assert_eq!(SqlValue::Int(-1).to_text().as_deref(), Some("-1"));
        assert_eq!(num("2.50").to_text().as_deref(), Some("2.50"));
        assert_eq!(s("a").to_text().as_deref(), Some("a"));
        assert_eq!(SqlValue::Null.to_text(), None);
    }

    #[test]
    fn comments_and_semicolons() {
        let sql = "-- a comment; with semicolon\n\
                   # hash comment; too\n\
                   /* block; comment\n over lines; */\n\
                   INSERT INTO t VALUES ('x;y', \"-- not; a comment\", '/* nor; this */', '#');\n\
                   /*!40101 SET NAMES utf8mb4 */;\n\
                   SELECT 1 /* inline; */ + 2 -- trailing; comment\n;\n\
                   SELECT 5--1;";
        let out = stmts(sql);
        assert_eq!(out.len(), 4, "{out:#?}");
        let Statement::Insert(ins) = &out[0] else { panic!("{out:?}") };
        assert_eq!(ins.line, 5);
        assert_eq!(ins.rows, vec![vec![s("x;y"), s("-- not; a comment"), s("/* nor; this */"), s("#")]]);
        assert_eq!(out[1], other(6, "/*!40101 SET NAMES utf8mb4 */"));
        assert_eq!(out[2], other(7, "SELECT 1 + 2"));
        assert_eq!(out[3], other(9, "SELECT 5--1"));
    }

    #[test]
    fn executable_comment_with_semicolons_and_insert_inside() {
        let out = stmts("/*!50003 CREATE TRIGGER x BEGIN SET a=1; END */;\nINSERT /*!IGNORE*/ INTO t VALUES (1) /*!40000 ON DUPLICATE KEY UPDATE a=1 */;");
        assert_eq!(out[0], other(1, "/*!50003 CREATE TRIGGER x BEGIN SET a=1; END */"));
        let Statement::Insert(ins) = &out[1] else { panic!("{out:?}") };
        assert_eq!(ins.rows, vec![vec![SqlValue::Int(1)]]);
    }

    #[test]
    fn mariadb_sandbox_line_does_not_hide_data() {
        let sql = "/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\n\
                   /*!40101 SET NAMES utf8mb4 */;\n/*M!100616 SET NOTE_VERBOSITY=0 */;\n\
                   INSERT INTO t VALUES (1);\n";
        let out = stmts(sql);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(matches!(out[0], Statement::Other { line: 1, .. }));
        assert_eq!(out[1], other(4, "/*M!100616 SET NOTE_VERBOSITY=0 */"));
        assert!(matches!(&out[2], Statement::Insert(i) if i.line == 5));
    }

    #[test]
    fn insert_forms() {
        let cases = [
            "INSERT INTO `t` (`a`, `b`) VALUES (1, 2);",
            "insert into t(a,b) values(1,2)",
            "INSERT IGNORE INTO `db`.`t` (a, b) VALUE (1, 2);",
            "REPLACE INTO db.t (`a`,`b`) VALUES (1,2);",
            "INSERT\n  LOW_PRIORITY\tINTO\n`t`\n(\n`a`\n,\n`b`\n)\nVALUES\n(\n1\n,\n2\n)\n;",
            "INSERT t (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE a = VALUES(a);",
            "INSERT INTO t PARTITION (p0) (t.a, b) VALUES (1, 2);",
        ];
        for sql in cases {
            let ins = insert(sql);
            assert_eq!(ins.table, "t", "{sql}");
            assert_eq!(ins.columns, Some(vec!["a".into(), "b".into()]), "{sql}");
            assert_eq!(ins.rows, vec![vec![SqlValue::Int(1), SqlValue::Int(2)]]);
        }
        let ins = insert("INSERT INTO `we``ird` VALUES (),();");
        assert_eq!(ins.table, "we`ird");
        assert_eq!(ins.columns, None);
        assert_eq!(ins.rows, vec![Vec::<SqlValue>::new(), Vec::new()]);
    }

    #[test]
    fn phpmyadmin_fragment() {
        let sql = r#"-- phpMyAdmin SQL Dump
-- version 5.2.1

SET SQL_MODE = "NO_AUTO_VALUE_ON_ZERO";
START TRANSACTION;
SET time_zone = "+00:00";


/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;

--
-- Database: `kacky`
--
CREATE DATABASE IF NOT EXISTS `kacky` COLLATE `utf8_general_ci`;

CREATE TABLE IF NOT EXISTS `events` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` text NOT NULL,
  `visible` tinyint(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=13 DEFAULT CHARSET=utf8;

--
-- Dumping data for table `events`
--

INSERT INTO `events` (`id`, `name`, `visible`) VALUES
(1, '$o$i$a00K$a60a$aa0ck', 1),
(2, 'Kacky Reloaded 2', 0),
(3, 'Bob\'s; \"event\"', NULL);
COMMIT;

/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
"#;
        let expected = vec![
            other(4, r#"SET SQL_MODE = "NO_AUTO_VALUE_ON_ZERO""#),
            other(5, "START TRANSACTION"),
            other(6, r#"SET time_zone = "+00:00""#),
            other(9, "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIEN"),
            other(10, "/*!40101 SET NAMES utf8mb4 */"),
            other(15, "CREATE DATABASE IF NOT EXISTS `kacky` COLLATE `utf8_general_"),
            other(17, "CREATE TABLE IF NOT EXISTS `events` ( `id` int(11) NOT NULL "),
            Statement::Insert(Insert {
                table: "events".into(),
                columns: Some(vec!["id".into(), "name".into(), "visible".into()]),
                rows: vec![
                    vec![SqlValue::Int(1), s("$o$i$a00K$a60a$aa0ck"), SqlValue::Int(1)],
                    vec![SqlValue::Int(2), s("Kacky Reloaded 2"), SqlValue::Int(0)],
                    vec![SqlValue::Int(3), s("Bob's; \"event\""), SqlValue::Null],
                ],
                line: 28,
            }),
            other(32, "COMMIT"),
            other(34, "/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT "),
        ];
        assert_eq!(stmts(sql), expected);
    }

    #[test]
    fn mysqldump_fragment() {
        let sql = "-- MySQL dump 10.13  Distrib 8.0.35, for Linux (x86_64)\n\
--\n\
-- Host: localhost    Database: kacky\n\
-- ------------------------------------------------------\n\
/*!40103 SET TIME_ZONE='+00:00' */;\n\
\n\
DROP TABLE IF EXISTS `maps`;\n\
CREATE TABLE `maps` (\n\
  `id` int NOT NULL,\n\
  PRIMARY KEY (`id`)\n\
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\
\n\
LOCK TABLES `maps` WRITE;\n\
/*!40000 ALTER TABLE `maps` DISABLE KEYS */;\n\
INSERT INTO `maps` VALUES (1,'a\\'b',NULL),(2,'c',3);\n\
/*!40000 ALTER TABLE `maps` ENABLE KEYS */;\n\
UNLOCK TABLES;\n\
-- Dump completed on 2023-11-24 19:10:00\n";
        let expected = vec![
            other(5, "/*!40103 SET TIME_ZONE='+00:00' */"),
            other(7, "DROP TABLE IF EXISTS `maps`"),
            other(8, "CREATE TABLE `maps` ( `id` int NOT NULL, PRIMARY KEY (`id`) "),
            other(13, "LOCK TABLES `maps` WRITE"),
            other(14, "/*!40000 ALTER TABLE `maps` DISABLE KEYS */"),
            Statement::Insert(Insert {
                table: "maps".into(),
                columns: None,
                rows: vec![
                    vec![SqlValue::Int(1), s("a'b"), SqlValue::Null],
                    vec![SqlValue::Int(2), s("c"), SqlValue::Int(3)],
                ],
                line: 15,
            }),
            other(16, "/*!40000 ALTER TABLE `maps` ENABLE KEYS */"),
            other(17, "UNLOCK TABLES"),
        ];
        assert_eq!(stmts(sql), expected);
    }

    #[test]
    fn utf8_nickname_with_codes_and_quotes() {
        let ins =
            insert(r"INSERT INTO wr (nick) VALUES ('$f08,.*+-.$fffwikos$f08\'.^\'\'- $ffogf'), ('Ünïcödé 🏁 ''ok''');");
        assert_eq!(ins.rows[0][0], s("$f08,.*+-.$fffwikos$f08'.^''- $ffogf"));
        assert_eq!(ins.rows[1][0], s("Ünïcödé 🏁 'ok'"));
    }

    #[test]
    fn final_statement_without_semicolon() {
        let out = stmts("SET a=1;\nINSERT INTO t VALUES (1)\n-- the end");
        assert_eq!(out.len(), 2);
        assert!(matches!(&out[1], Statement::Insert(i) if i.rows == vec![vec![SqlValue::Int(1)]]));
        assert_eq!(stmts("SELECT 1-"), vec![other(1, "SELECT 1-")]);
        assert_eq!(stmts("SELECT 1/"), vec![other(1, "SELECT 1/")]);
        assert!(stmts(" \n;; -- x\n ;").is_empty());
    }

    #[test]
    fn unterminated_string_reports_statement_line() {
        let sql = "SET a=1;\n\nINSERT INTO t VALUES\n(1, 'abc);\n";
        let results = all(sql);
        assert_eq!(results.len(), 2);
        let err = results[1].clone().unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("unterminated string"), "{err}");
        assert!(err.message.contains("line 4"), "{err}");
        assert_eq!(error("SELECT `abc").line, 1);
        assert!(error("\n/* never closed").message.contains("comment"));
        assert!(error("/*!40101 SET x=1").message.contains("/*!"));
    }

    #[test]
    fn mismatched_rows_are_errors() {
        let err = error("INSERT INTO t VALUES (1,2),\n(3);");
        assert_eq!(err.line, 1);
        assert!(err.message.contains("row 2 has 1 values"), "{err}");
        assert!(err.message.contains("(at line 2)"), "{err}");
        let err = error("INSERT INTO t (a) VALUES (1,2);");
        assert!(err.message.contains("1 columns"), "{err}");
        assert!(err.to_string().starts_with("line 1: INSERT into `t`:"), "{err}");
    }

    #[test]
    fn garbage_values_are_errors() {
        let err = error("INSERT INTO t VALUES (1, foo);");
        assert!(err.message.contains("`foo`"), "{err}");
        for sql in [
            "INSERT INTO t VALUES (1 2);",
            "INSERT INTO t VALUES (1,);",
            "INSERT INTO t VALUES (1",
            "INSERT INTO t VALUES 1;",
            "INSERT INTO t VALUES (12abc);",
            "INSERT INTO t VALUES (1.2.3);",
            "INSERT INTO t VALUES (-);",
            "INSERT INTO t VALUES (0x4G);",
            "INSERT INTO t VALUES (X'123');",
            "INSERT INTO t VALUES (0xFF);",
            "INSERT INTO t VALUES (_binary);",
            "INSERT INTO t VALUES (NOW());",
            "INSERT INTO t VALUES (1) garbage;",
            "INSERT INTO t SELECT * FROM u;",
            "INSERT INTO (a) VALUES (1);",
        ] {
            assert!(all(sql).iter().any(Result::is_err), "{sql}");
        }
    }

    #[test]
    fn invalid_utf8_is_an_error_and_reading_goes_on() {
        let mut bytes = b"INSERT INTO t VALUES ('ok'), ('".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe, b'x']);
        bytes.extend_from_slice(b"');\nINSERT INTO t VALUES (2);\n-- \xff comment\nSET x='\xc3';");
        let results: Vec<_> = DumpReader::new(bytes.as_slice()).collect();
        assert_eq!(results.len(), 3, "{results:?}");
        let err = results[0].clone().unwrap_err();
        assert!(err.message.contains("UTF-8"), "{err}");
        assert!(matches!(&results[1], Ok(Statement::Insert(i)) if i.line == 2));
        assert!(matches!(&results[2], Ok(Statement::Other { line: 4, .. })));
        let mut bad_name = b"INSERT INTO `t".to_vec();
        bad_name.extend_from_slice(b"\xc3` VALUES (1);");
        let results: Vec<_> = DumpReader::new(bad_name.as_slice()).collect();
        let err = results[0].clone().unwrap_err();
        assert!(err.message.contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn tiny_buffer_reads_statements_across_boundaries() {
        let sql = "/* c */ INSERT INTO `maps` VALUES (1,'a\\'b;c',NULL),\n(2,'é🏁--x',3.25);\n-- x\n/*!40000 ALTER TABLE `maps` ENABLE KEYS */;INSERT INTO t VALUES (-5);";
        let expected = stmts(sql);
        for cap in 1..=9 {
            let reader = DumpReader::new(BufReader::with_capacity(cap, sql.as_bytes()));
            let got: Vec<_> = reader.map(Result::unwrap).collect();
            assert_eq!(got, expected, "capacity {cap}");
        }
        let Statement::Insert(ins) = &expected[0] else { panic!("{expected:?}") };
        assert_eq!(ins.rows[0][1], s("a'b;c"));
        assert_eq!(ins.rows[1][1], s("é🏁--x"));
        assert_eq!(ins.rows[1][2], num("3.25"));
        assert_eq!(expected.len(), 3);
    }

    #[test]
    fn line_numbers() {
        let sql = "-- header\n\n/* multi\nline */\nINSERT INTO t VALUES\n(1),\n(2);\n  SET x = 1;\n";
        let out = stmts(sql);
        assert!(matches!(&out[0], Statement::Insert(i) if i.line == 5));
        assert_eq!(out[1], other(8, "SET x = 1"));
        let err = error("\n\n\n\nINSERT INTO t VALUES (1),\n/* a\ncomment */ (oops);");
        assert_eq!(err.line, 5);
        assert!(err.message.contains("(at line 7)"), "{err}");
    }

    #[test]
    fn bytes_read_counts_consumed_input() {
        let sql = "SET a=1;\nSET b=2;\n";
        let mut reader = DumpReader::new(sql.as_bytes());
        assert_eq!(reader.bytes_read(), 0);
        reader.next();
        assert_eq!(reader.bytes_read(), 8);
        assert_eq!(reader.by_ref().count(), 1);
        assert_eq!(reader.bytes_read(), sql.len() as u64);
    }

    #[test]
    fn oversized_statement_is_skipped_with_an_error() {
        let sql = "INSERT INTO t VALUES ('a long string');\nSET b=2;";
        let mut reader = DumpReader::new(sql.as_bytes());
        reader.split.max_statement = 10;
        let results: Vec<_> = reader.collect();
        assert!(results[0].as_ref().unwrap_err().message.contains("longer"));
        assert_eq!(results[1], Ok(other(2, "SET b=2")));
    }

    /// A reader that fails after its data, to check I/O errors end the iteration.
    struct Failing(&'static [u8]);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn io_error_ends_iteration() {
        let mut reader = DumpReader::new(BufReader::new(Failing(b"SET a=1; SET b")));
        assert_eq!(reader.next(), Some(Ok(other(1, "SET a=1"))));
        let err = reader.next().unwrap().unwrap_err();
        assert!(err.message.contains("disk on fire"), "{err}");
        assert_eq!(reader.next(), None);
    }

    /// Writes a value the way mysqldump does (`doubled` uses `''` for quotes, as some tools do).
    fn write_value(v: &SqlValue, doubled: bool) -> String {
        let SqlValue::Str(text) = v else {
            return v.to_text().unwrap_or_else(|| "NULL".into());
        };
        let mut out = String::from("'");
        for c in text.chars() {
            match c {
                '\0' => out.push_str("\\0"),
                '\'' if doubled => out.push_str("''"),
                '\'' => out.push_str("\\'"),
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{1a}' => out.push_str("\\Z"),
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    }

    fn tricky_string() -> impl Strategy<Value = String> {
        let chars = vec![
            '\\', '\'', '"', '\n', '\r', '\t', '\0', '\u{1a}', '\u{8}', '%', '_', ';', '(', ')', ',', '*', '/', '-',
            '#', '`', 'a', 'é', '🏁', ' ',
        ];
        prop::collection::vec(prop::sample::select(chars), 0..16).prop_map(|cs| cs.into_iter().collect())
    }

    fn arb_value() -> impl Strategy<Value = SqlValue> {
        prop_oneof![
            Just(SqlValue::Null),
            any::<i64>().prop_map(SqlValue::Int),
            any::<String>().prop_map(SqlValue::Str),
            tricky_string().prop_map(SqlValue::Str),
            "-?[0-9]{1,6}\\.[0-9]{1,6}".prop_map(SqlValue::Num),
            "[0-9]\\.[0-9]{1,3}[eE]-?[0-9]{1,2}".prop_map(SqlValue::Num),
            "[1-9][0-9]{19,24}".prop_map(SqlValue::Num),
        ]
    }

    fn arb_rows() -> impl Strategy<Value = Vec<Vec<SqlValue>>> {
        (1..5usize).prop_flat_map(|width| prop::collection::vec(prop::collection::vec(arb_value(), width), 1..5))
    }

    /// Reads `bytes` fully and checks the iterator stops and consumed everything.
    fn drain(bytes: &[u8], cap: usize) -> Result<(), TestCaseError> {
        let mut reader = DumpReader::new(BufReader::with_capacity(cap, bytes));
        let bound = bytes.len() + 2;
        let n = reader.by_ref().take(bound).count();
        prop_assert!(n < bound);
        prop_assert!(reader.next().is_none());
        prop_assert_eq!(reader.bytes_read(), bytes.len() as u64);
        Ok(())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), cap in 1..64usize) {
            drain(&bytes, cap)?;
        }

        #[test]
        fn sql_like_noise_never_panics(
            parts in prop::collection::vec(prop::sample::select(vec![
                "'", "\\", ";", "(", ")", ",", "/*", "*/", "/*!", "/*M!", "--", "-- ", "#", "\n",
                " ", "INSERT INTO t VALUES", "`", "\"", "0x", "X'", "b'", "_binary", "1", "-1.5e3",
                "NULL", "abc", "é", "\u{0}", ".", "VALUES", "(1,'a')",
            ]), 0..60),
            cap in 1..16usize,
        ) {
            let text: String = parts.concat();
            drain(text.as_bytes(), cap)?;
        }

        #[test]
        fn round_trip(rows in arb_rows(), doubled in any::<bool>(), newline in any::<bool>(), cap in 1..32usize) {
            let sep = if newline { ",\n" } else { "," };
            let body: Vec<String> = rows
                .iter()
                .map(|row| {
                    let vals: Vec<String> = row.iter().map(|v| write_value(v, doubled)).collect();
                    format!("({})", vals.join(sep))
                })
                .collect();
            let sql = format!("SET x=1;\nINSERT INTO `t` VALUES {};\nCOMMIT;", body.join(sep));
            let reader = DumpReader::new(BufReader::with_capacity(cap, sql.as_bytes()));
            let out: Vec<_> = reader.collect::<Result<_, _>>().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(out.len(), 3);
            let Statement::Insert(ins) = &out[1] else {
                return Err(TestCaseError::fail(format!("{:?}", out[1])));
            };
            prop_assert_eq!(&ins.table, "t");
            prop_assert_eq!(ins.line, 2);
            prop_assert_eq!(&ins.rows, &rows);
        }
    }
}
