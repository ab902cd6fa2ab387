//! A player's game login as typed into the profile (`tmnf`, `tm20`): the login alphabet of the
//! games, so it can be shown, logged and sent upstream without surprises.

use std::fmt;

use super::Invalid;

/// Longest game login, in characters (the old column was `varchar(50)`).
pub const GAME_LOGIN_MAX: usize = 50;

/// A TMNF or TM2020 login: ASCII letters, digits, `_`, `-` and `.`, at most
/// [`GAME_LOGIN_MAX`] characters, not `.` or `..`; or empty (no login). Logins stored before
/// this rule are left as they are; only new values are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameLogin(String);

impl GameLogin {
    /// `field` names the JSON key in the error.
    pub fn parse(raw: &str, field: &str) -> Result<Self, Invalid> {
        if raw.chars().count() > GAME_LOGIN_MAX {
            return Err(Invalid(format!("`{field}` is longer than {GAME_LOGIN_MAX} characters")));
        }
        if let Some(c) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
            return Err(Invalid(format!(
                "`{field}` must hold only letters, digits, `_`, `-` and `.` (a game login); it contains {}",
                shown(c)
            )));
        }
        if raw == "." || raw == ".." {
            return Err(Invalid(format!("`{field}` must not be `.` or `..`")));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for GameLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A refused character as the message shows it: printable ASCII quoted, anything else by its
/// code point (a newline or a bidi override must not reach the message as itself).
fn shown(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("`{c}`")
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_alphabet_and_nothing_else() {
        for ok in ["", "sir_blud", "x3sAA1m0Sc6LwBg0Bd8gpQ", "a.b-c_d", "...", &"a".repeat(50)] {
            assert_eq!(GameLogin::parse(ok, "tmnf").unwrap().as_str(), ok);
        }
        for (bad, says) in [
            (".", "must not be `.` or `..`"),
            ("..", "must not be `.` or `..`"),
            ("a\nb", "U+000A"),
            ("a b", "U+0020"),
            ("a/b", "`/`"),
            ("ä", "U+00E4"),
            ("a\u{202e}", "U+202E"),
        ] {
            let e = GameLogin::parse(bad, "tm20").unwrap_err().0;
            assert!(e.starts_with("`tm20` must") && e.contains(says), "{bad:?}: {e}");
        }
        assert!(GameLogin::parse(&"a".repeat(51), "tmnf").unwrap_err().0.contains("longer than 50"));
    }
}
