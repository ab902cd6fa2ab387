//! Account rules: what a user name is, how two names compare, what a new password must be.

use std::fmt;

use super::Invalid;

/// Longest user name, in characters (the old column was `varchar(80)`).
pub const USERNAME_MAX: usize = 80;
/// Shortest and longest new password, in characters.
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 80;

/// How names compare: case-insensitive, trailing blanks ignored (the old MariaDB collation).
/// Also the key of the unique index, so two accounts can never share it.
pub fn username_key(name: &str) -> String {
    name.trim_end().to_lowercase()
}

/// A user name as registered: 1–80 characters and not blank.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName(String);

impl UserName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let n = raw.chars().count();
        if n == 0 || n > USERNAME_MAX {
            return Err(Invalid(format!("`user` must have 1 to {USERNAME_MAX} characters")));
        }
        if raw.trim().is_empty() {
            return Err(Invalid("`user` must not be blank".into()));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The comparison key ([`username_key`]).
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password someone wants to set (registration, profile, reset, `admin create`): 8–80
/// characters. Logging in checks any stored password, so old short ones still work there.
/// Never printed: `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// `field` names the JSON key (or CLI flag) in the error.
    pub fn parse(raw: &str, field: &str) -> Result<Self, Invalid> {
        let n = raw.chars().count();
        if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
            return Err(Invalid(format!("`{field}` must have {PASSWORD_MIN} to {PASSWORD_MAX} characters")));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords() {
        assert_eq!(UserName::parse("Bob ").unwrap().key(), "bob");
        assert!(UserName::parse("   ").is_err());
        assert!(UserName::parse("").is_err());
        assert!(UserName::parse(&"x".repeat(81)).is_err());
        assert!(NewPassword::parse("short", "pwd").unwrap_err().0.contains("`pwd` must have 8 to 80"));
        assert!(NewPassword::parse("long enough", "pwd").is_ok());
        assert_eq!(format!("{:?}", NewPassword::parse("secret123", "pwd").unwrap()), "NewPassword(***)");
    }
}
