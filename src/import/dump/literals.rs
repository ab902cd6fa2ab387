//! The single values of an INSERT row: quoted strings, `N'…'`, hex (`0x…`, `X'…'`) and bit
//! (`0b…`, `b'…'`) literals, numbers, `NULL`/`TRUE`/`FALSE` and charset introducers. A second
//! `impl` block of the [`Cursor`], kept apart so the statement grammar reads on its own.

use super::values::{count_digits, is_ident_byte, Cursor};
use super::{DumpError, SqlValue};

impl Cursor<'_> {
    /// String-like literals: `'…'`, `"…"`, `N'…'`, `0x…`, `X'…'`, `0b…`, `b'…'`.
    /// `None` if none starts here.
    pub(super) fn literal(&mut self) -> Option<Result<SqlValue, DumpError>> {
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
    pub(super) fn number(&mut self) -> Result<SqlValue, DumpError> {
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
    pub(super) fn word_value(&mut self) -> Result<SqlValue, DumpError> {
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
