//! Account rules: what a user name is, how two names compare, what a new password must be.
//!
//! Three functions of a name, from strict to loose:
//! - [`legacy_username_key`]: the old rule (case-insensitive, trailing blanks ignored, the old
//!   MariaDB collation). Kept for accounts registered under it, see [`LEGACY_KEY_PREFIX`].
//! - [`username_key`]: the key of the unique index and of every look-up by name (login, reset,
//!   `admin promote`). Unicode NFKC with full case folding, blanks trimmed at both ends and
//!   collapsed inside, control/format/invisible characters dropped. Names equal under the old
//!   rule are equal under this one.
//! - [`lookalike_key`]: the name reduced to its Unicode TR39 confusable *skeleton*, then
//!   case-folded (Cyrillic `а` and Latin `a`, `0` and `o`, `1`/`I`/`l`, `rn`/`m` …).
//!   Registration refuses a name whose look-alike key equals an existing account's. It is
//!   stored beside the name and indexed; the skeleton data changes between Unicode versions,
//!   so the stored keys name their version ([`lookalike_key_rule`]) and are recomputed at the
//!   first start after it changes (`db::users::rekey`). A login needs the real spelling anyway.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::Invalid;

/// Longest user name, in characters (the old column was `varchar(80)`).
pub const USERNAME_MAX: usize = 80;
/// Shortest and longest new password, in characters.
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 80;

/// Starts the stored key of an account whose name collided with an older account's when the
/// keys were recomputed under the current rule: the prefix followed by the account's old key.
/// [`username_key`] never yields it (its last step is case folding, so it holds no capital
/// ASCII letters); a look-up by name tries `OLD:` + [`legacy_username_key`] first, so such an
/// account still logs in with its name as before.
pub const LEGACY_KEY_PREFIX: &str = "OLD:";

/// The old comparison rule: lower case, trailing blanks ignored.
pub fn legacy_username_key(name: &str) -> String {
    name.trim_end().to_lowercase()
}

/// Which version of [`username_key`] the stored keys follow. It names the Unicode data of the
/// crates the key depends on, so an upgrade that changes them recomputes the keys at the next
/// start (`db::users::rekey`). Change the leading number when the rule itself changes.
pub fn username_key_rule() -> String {
    let (n, c, g) =
        (unicode_normalization::UNICODE_VERSION, caseless::UNICODE_VERSION, unicode_properties::UNICODE_VERSION);
    format!("2 nfkc {}.{}.{} casefold {}.{}.{} gc {}.{}.{}", n.0, n.1, n.2, c.0, c.1, c.2, g.0, g.1, g.2)
}

/// Which version of [`lookalike_key`] the stored look-alike keys follow: the Unicode data of
/// the confusables table and of the crates the key depends on, so an upgrade that changes them
/// recomputes the keys at the next start (`db::users::rekey`). Change the leading number when
/// the rule itself changes.
pub fn lookalike_key_rule() -> String {
    let (s, n, c, g) = (
        unicode_security::UNICODE_VERSION,
        unicode_normalization::UNICODE_VERSION,
        caseless::UNICODE_VERSION,
        unicode_properties::UNICODE_VERSION,
    );
    format!(
        "1 skeleton {}.{}.{} nfkc {}.{}.{} casefold {}.{}.{} gc {}.{}.{}",
        s.0, s.1, s.2, n.0, n.1, n.2, c.0, c.1, c.2, g.0, g.1, g.2
    )
}

/// Characters a name may not contain, because they are invisible or change how the rest is
/// shown: controls (NUL, tab …), format characters (zero-width space and joiners, bidi
/// overrides like U+202E, soft hyphen, BOM), line/paragraph separators, code points that are
/// unassigned or default-ignorable (variation selectors, Hangul fillers, tags), and the blank
/// braille pattern.
pub fn is_hidden_char(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Unassigned
    ) || DEFAULT_IGNORABLE.iter().any(|&(low, high)| (low..=high).contains(&c))
        || c == BRAILLE_BLANK
}

/// A printable character that shows as nothing, a known way to make a name look blank.
const BRAILLE_BLANK: char = '\u{2800}';

/// Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt; the property is stable:
/// these ranges stay ignorable as characters get assigned in them). Most are format
/// characters anyway; the others are combining or filler characters that show nothing.
const DEFAULT_IGNORABLE: [(char, char); 17] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// Hidden characters dropped (before normalising, so what they separated composes).
fn visible(s: &str) -> String {
    s.chars().filter(|c| !is_hidden_char(*c)).collect()
}

/// Blanks trimmed and runs of blanks collapsed to one space.
fn collapse_blanks(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Full case folding of the NFKC form, twice, so the result is stable and holds no capitals.
fn nfkc_casefold(s: &str) -> String {
    let once = caseless::default_case_fold_str(&s.nfkc().collect::<String>());
    caseless::default_case_fold_str(&once.nfkc().collect::<String>())
}

/// How names compare: the key of the unique index (see the module doc). Applied to the old
/// key, so names the old rule called equal stay equal.
pub fn username_key(name: &str) -> String {
    collapse_blanks(&nfkc_casefold(&visible(&legacy_username_key(name))))
}

/// The look-alike key: the TR39 skeleton of the name as shown (NFKC, tidied, case kept, since
/// `В` looks like `B` but `в` not like `b`), case-folded, and that again (the skeleton maps `0`
/// to `O`; a folded letter may have a skeleton of its own).
pub fn lookalike_key(name: &str) -> String {
    let round = |s: &str| caseless::default_case_fold_str(&unicode_security::skeleton(s).collect::<String>());
    round(&round(&collapse_blanks(&visible(name).nfkc().collect::<String>())))
}

/// A user name as registered: Unicode NFKC, blanks trimmed at both ends, 1–80 characters, no
/// hidden characters ([`is_hidden_char`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName(String);

impl UserName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let length = || Invalid(format!("`user` must have 1 to {USERNAME_MAX} characters"));
        let n = raw.chars().count();
        if n == 0 || n > USERNAME_MAX {
            return Err(length());
        }
        let normal: String = raw.nfkc().collect();
        let name = normal.trim();
        if let Some(c) = name.chars().find(|c| is_hidden_char(*c)) {
            return Err(Invalid(format!(
                "`user` must not contain control, format or invisible characters (it contains U+{:04X})",
                u32::from(c)
            )));
        }
        if name.is_empty() {
            return Err(Invalid("`user` must not be blank".into()));
        }
        if name.chars().count() > USERNAME_MAX {
            return Err(length());
        }
        Ok(Self(name.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The comparison key ([`username_key`]).
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
    /// The look-alike key ([`lookalike_key`]).
    pub fn lookalike_key(&self) -> String {
        lookalike_key(&self.0)
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

    #[test]
    fn names_are_normalised_and_hidden_characters_refused() {
        assert_eq!(UserName::parse("\u{a0} Ｂob\u{3000}").unwrap().as_str(), "Bob");
        assert_eq!(UserName::parse("ﬁsh").unwrap().as_str(), "fish");
        for hidden in
            ["a\u{200b}b", "a\u{0}", "\u{202e}ab", "a\u{ad}b", "a\u{2028}b", "a\u{fe0f}", "\u{3164}", "a\u{e0041}"]
        {
            let e = UserName::parse(hidden).unwrap_err().0;
            assert!(e.contains("control, format or invisible"), "{hidden:?}: {e}");
        }
        assert_eq!(UserName::parse("\u{a0}").unwrap_err().0, "`user` must not be blank");
        // NFKC may lengthen a name past the limit.
        assert!(UserName::parse(&"\u{fdfa}".repeat(5)).unwrap_err().0.contains("1 to 80"));
        assert!(UserName::parse("emoji 😀 and ünïcödé").is_ok());
    }

    #[test]
    fn keys() {
        assert_eq!(username_key(" Bob  Smith\u{a0}"), "bob smith");
        assert_eq!(username_key("Zoë"), "zoë");
        assert_eq!(username_key("STRASSE"), username_key("Straße"));
        assert_eq!(username_key("ｂｏｂ\u{200b}"), "bob");
        assert_ne!(username_key("b\u{43e}b"), "bob", "look-alikes keep their own key");
        for twin in ["b\u{43e}b", "\u{412}\u{41e}\u{412}", "b0b", "ｂｏｂ", "BOB "] {
            assert_eq!(lookalike_key(twin), lookalike_key("bob"), "{twin:?}");
        }
        assert_eq!(lookalike_key("rn"), lookalike_key("m"));
        assert_ne!(lookalike_key("bob"), lookalike_key("bab"));
        assert!(username_key_rule().starts_with("2 nfkc "));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Never panics; a parsed name is trimmed and visible, and logs in as typed: the key of
        /// what was typed equals the key of what was stored.
        #[test]
        fn parsing_and_keys_agree(raw in "[ \u{a0}\u{3000}\u{200b}\u{202e}\u{0}aAbBoO0İıßẞſﬁＢｂ\u{43e}\u{412}\u{301}\u{fdfa}😀¨]{0,12}|.{0,12}") {
            let key = username_key(&raw);
            proptest::prop_assert!(!key.chars().any(|c| c.is_ascii_uppercase() || is_hidden_char(c)), "{:?}", key);
            proptest::prop_assert!(!key.starts_with(LEGACY_KEY_PREFIX));
            proptest::prop_assert_eq!(username_key(&key), key.clone(), "stable");
            let _ = lookalike_key(&raw);
            if let Ok(name) = UserName::parse(&raw) {
                proptest::prop_assert_eq!(name.as_str().trim(), name.as_str());
                proptest::prop_assert!(!name.as_str().chars().any(is_hidden_char));
                proptest::prop_assert_eq!(name.key(), key, "{:?} → {:?}", raw, name);
            }
        }

        /// Names the old rule called equal (case, trailing blanks) are equal under the new one.
        #[test]
        fn the_old_rule_implies_the_new(raw in ".{0,10}", upper in proptest::prelude::any::<bool>(), blanks in 0usize..3) {
            let variant = if upper { raw.to_uppercase() } else { raw.clone() } + &" ".repeat(blanks);
            if legacy_username_key(&variant) == legacy_username_key(&raw) {
                proptest::prop_assert_eq!(username_key(&variant), username_key(&raw));
            }
        }
    }
}
