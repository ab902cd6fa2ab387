//! Stage two of the reader: a recursive-descent `Cursor` over one statement's bytes. This file
//! has the tokens (whitespace, `/*!…*/` markers, words, quoted names) and the `INSERT … VALUES`
//! grammar down to one value; the single literals are read in `literals`.

use super::{DumpError, Insert, SqlValue, Statement};

/// How many characters of a skipped statement are kept for messages.
const HEAD_CHARS: usize = 60;

/// UTF-8 byte order mark, which some editors put in front of exported files.
const BOM: &[u8] = b"\xEF\xBB\xBF";

pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Bytes of an unquoted identifier or keyword (MySQL allows `$` and any non-ASCII letter).
pub(super) fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

pub(super) fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Parses one statement (comments already removed, `/*!…*/` kept).
pub(super) fn parse_statement(buf: &[u8], line: usize) -> Result<Statement, DumpError> {
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
pub(super) struct Cursor<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
    /// Line where the statement starts.
    pub(super) line: usize,
    /// How many `/*!` markers are open; their `*/` is then skipped like whitespace.
    exec_depth: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// An error for this statement; mentions the exact line of `at` when it is not the first.
    pub(super) fn error(&self, at: usize, message: impl Into<String>) -> DumpError {
        let before = &self.buf[..at.min(self.buf.len())];
        let at_line = self.line + before.iter().filter(|&&b| b == b'\n').count();
        let mut message = message.into();
        if at_line != self.line {
            message = format!("{message} (at line {at_line})");
        }
        DumpError::new(self.line, message)
    }

    /// What is at the cursor, for "expected …, found …" messages.
    pub(super) fn describe(&self) -> String {
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
    pub(super) fn skip_ws(&mut self) {
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
    pub(super) fn word(&mut self) -> Option<&'a [u8]> {
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
    pub(super) fn quoted(&mut self, quote: u8) -> Result<Vec<u8>, DumpError> {
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
