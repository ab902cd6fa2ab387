//! Stage one of the reader: splits the byte stream into statements. A state machine that
//! survives buffer boundaries finds each `;` outside quotes and comments, drops ordinary
//! comments (keeping their newlines for line numbers), keeps `/*!…*/` executable comments and
//! hands the finished statement to the parser ([`parse_statement`]).

use super::values::{is_space, parse_statement};
use super::{DumpError, Statement};

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
pub(super) struct Splitter {
    /// Line of the next byte (1-based).
    pub(super) line: usize,
    state: Scan,
    /// The current statement: comments removed, leading whitespace skipped.
    stmt: Vec<u8>,
    /// Line where `stmt` starts.
    stmt_line: usize,
    /// Line where the current quote or comment opened, for "unterminated" messages.
    open_line: usize,
    /// The statement outgrew `max_statement`: its bytes are dropped up to its `;`.
    overflow: bool,
    pub(super) max_statement: usize,
}

impl Splitter {
    pub(super) fn new(max_statement: usize) -> Self {
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
    pub(super) fn start(&mut self) {
        self.stmt.clear();
        self.overflow = false;
    }

    fn has_statement(&self) -> bool {
        self.overflow || !self.stmt.is_empty()
    }

    /// Feeds a chunk; returns how many bytes were used and whether a statement ended there.
    /// Runs of quoted text are copied in one go since they are the bulk of a dump.
    pub(super) fn scan(&mut self, chunk: &[u8]) -> (usize, bool) {
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
    pub(super) fn finish(&mut self) -> Result<bool, DumpError> {
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
    pub(super) fn statement(&self) -> Result<Statement, DumpError> {
        if self.overflow {
            let message = format!("statement longer than {} bytes, skipped", self.max_statement);
            return Err(DumpError::new(self.stmt_line, message));
        }
        parse_statement(&self.stmt, self.stmt_line)
    }
}
