//! Login tokens and passwords, independent of HTTP.
//!
//! Tokens are HS256 JWTs with the old claims (`sub`, `jti`, `iat`, `nbf`, `exp`, `type`,
//! `fresh`, `isAdmin`) plus `uid` and `ver`: the user id and the user's token version, so a
//! password change revokes every earlier token and a re-registered name cannot inherit the
//! tokens of a deleted account. The payload is ASCII and chosen to base64url-encode without
//! `-`/`_`, because the frontend decodes it with `atob` to read `isAdmin`.
//!
//! Passwords are argon2id PHC strings; accounts imported from the old system hold
//! `sha256$<hex>` (unsalted SHA-256) and are upgraded on their next successful login.

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm as Argon2Algorithm, Argon2, Block, Params, PasswordHash, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix marking a legacy (old system) password hash.
pub const LEGACY_PREFIX: &str = "sha256$";

/// Lower-case hex SHA-256, as the old system stored passwords and mail addresses.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The highest memory cost a stored hash may ask for (KiB); ours use 19 MiB.
const MAX_M_COST_KIB: u32 = 256 * 1024;

/// The reserved size of argon2's working memory, in 1 KiB blocks: above glibc's largest
/// dynamic mmap threshold (32 MiB), so every hash maps its memory fresh and unmaps it when done.
/// Allocations below that threshold (our 19 MiB) raise it once freed, after which they come from
/// the heap and stay resident for good; only the 19 MiB actually used are ever touched.
const RESERVED_BLOCKS: usize = 33 * 1024;

/// Runs argon2 into `out` with working memory that goes back to the system right after (see
/// [`RESERVED_BLOCKS`]), so a login storm leaves no large process behind.
fn argon2_into(argon: &Argon2, pwd: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), argon2::Error> {
    let n = argon.params().block_count();
    let mut blocks = Vec::with_capacity(n.max(RESERVED_BLOCKS));
    blocks.resize(n, Block::default());
    argon.hash_password_into_with_memory(pwd, salt, out, &mut blocks)
}

/// Hashes a new password with argon2id (OWASP parameters) and a fresh 16-byte salt from the
/// OS random number generator, as a PHC string. CPU-heavy: call off the runtime.
pub fn hash_password(pwd: &str) -> String {
    let argon = Argon2::default();
    let salt = Salt::generate();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let phc = argon2_into(&argon, pwd.as_bytes(), salt.as_ref(), &mut out).ok().and_then(|()| {
        Some(PasswordHash {
            algorithm: Argon2Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(argon.params()).ok()?,
            salt: Some(salt),
            hash: Some(Output::new(&out).ok()?),
        })
    });
    phc.map(|h| h.to_string()).unwrap_or_default()
}

/// Result of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes,
    /// Correct, but stored in the legacy form: store the new argon2id hash.
    YesUpgrade(String),
}

/// Verifies `pwd` against a stored hash of either form. CPU-heavy: call off the runtime.
pub fn verify_password(pwd: &str, stored: &str) -> Verified {
    if let Some(legacy) = stored.strip_prefix(LEGACY_PREFIX) {
        let ok = constant_time_eq(sha256_hex(pwd).as_bytes(), legacy.to_ascii_lowercase().as_bytes());
        return if ok { Verified::YesUpgrade(hash_password(pwd)) } else { Verified::No };
    }
    if verify_phc(pwd, stored).unwrap_or(false) {
        Verified::Yes
    } else {
        Verified::No
    }
}

/// Checks an argon2 PHC string with its own algorithm, version and parameters.
fn verify_phc(pwd: &str, stored: &str) -> Option<bool> {
    let hash = PasswordHash::new(stored).ok()?;
    let algorithm = Argon2Algorithm::try_from(hash.algorithm.as_str()).ok()?;
    let version = hash.version.map_or(Some(Version::default()), |v| Version::try_from(v).ok())?;
    let params = Params::try_from(&hash).ok().filter(|p| p.m_cost() <= MAX_M_COST_KIB)?;
    let (salt, expected) = (hash.salt?, hash.hash?);
    let mut out = vec![0u8; expected.len()];
    argon2_into(&Argon2::new(algorithm, version, params), pwd.as_bytes(), salt.as_ref(), &mut out).ok()?;
    Some(constant_time_eq(&out, expected.as_bytes()))
}

/// Compares two secrets in time independent of where they differ (the length is not hidden).
/// Use it for anything a client could guess byte by byte: password hashes, shared passwords,
/// API or bot tokens.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Whether a typed shared secret (the streamer password) is the configured one, in time that
/// depends on neither where they differ nor their lengths: their SHA-256 digests are compared
/// with [`constant_time_eq`].
pub fn secret_eq(given: &str, expected: &str) -> bool {
    constant_time_eq(&Sha256::digest(given.as_bytes()), &Sha256::digest(expected.as_bytes()))
}

/// The claims of a login token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    #[serde(default)]
    pub fresh: bool,
    #[serde(default)]
    pub iat: i64,
    #[serde(default)]
    pub jti: String,
    #[serde(rename = "type", default = "access")]
    pub typ: String,
    pub sub: String,
    #[serde(default)]
    pub nbf: i64,
    pub exp: i64,
    #[serde(rename = "isAdmin", default)]
    pub is_admin: u8,
    /// User id: tokens belong to an account, not to a name.
    pub uid: i64,
    /// The user's token version when issued; bumped by password changes.
    pub ver: i64,
    /// Padding that keeps the base64url payload free of `-` and `_` (see module docs).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pad: String,
}

fn access() -> String {
    "access".into()
}

/// A new token id (`jti`, what a logout revokes): 128 random bits as 32 hex digits.
pub fn new_jti() -> String {
    crate::random_hex::<16>()
}

/// Why a token was refused; maps to the old status codes and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// 401
    Expired,
    /// 422 with the message.
    Invalid(String),
}

/// Signing and verification keys, built once from `jwt_secret`.
pub struct Jwt {
    /// `None` for an empty secret, which jsonwebtoken refuses as an HMAC key: then no token
    /// gets a signature and none verifies. (Configuration never gets here with one.)
    keys: Option<(EncodingKey, DecodingKey)>,
    validation: Validation,
}

impl Jwt {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let keys =
            EncodingKey::from_secret(secret.as_bytes()).ok().zip(DecodingKey::from_secret(secret.as_bytes()).ok());
        Self { keys, validation }
    }

    /// Signs `claims`, first choosing `pad` so the payload encodes without `-`/`_`.
    pub fn issue(&self, mut claims: Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let mut payload = String::new();
        for attempt in 0..2000u32 {
            claims.pad = pad_for(attempt);
            payload = URL_SAFE_NO_PAD.encode(ascii_json(&claims));
            if !payload.contains(['-', '_']) {
                break;
            }
        }
        let message = format!("{header}.{payload}");
        let signature = self
            .keys
            .as_ref()
            .and_then(|(encoding, _)| jsonwebtoken::crypto::sign(message.as_bytes(), encoding, Algorithm::HS256).ok())
            .unwrap_or_default();
        format!("{message}.{signature}")
    }

    /// Verifies signature, algorithm, expiry and not-before; the caller checks revocation and
    /// the user. `now` is passed in so expiry follows the application clock.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        if header_alg(token).is_some_and(|a| a != "HS256") {
            return Err(TokenError::Invalid("The specified alg value is not allowed".into()));
        }
        let Some((_, decoding)) = &self.keys else {
            return Err(TokenError::Invalid("Signature verification failed".into()));
        };
        let mut validation = self.validation.clone();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let data = jsonwebtoken::decode::<Claims>(token, decoding, &validation).map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::Invalid("Signature verification failed".into()),
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                TokenError::Invalid("The specified alg value is not allowed".into())
            }
            ErrorKind::MissingRequiredClaim(c) => TokenError::Invalid(format!("Missing claim: {c}")),
            ErrorKind::Json(_) => TokenError::Invalid("Invalid token claims".into()),
            _ => TokenError::Invalid("Not enough segments or invalid encoding".into()),
        })?;
        let claims = data.claims;
        Self::check_times(&claims, now)?;
        if claims.typ == "refresh" {
            return Err(TokenError::Invalid("Only non-refresh tokens are allowed".into()));
        }
        Ok(claims)
    }

    /// Expiry and not-before at `now`; for claims whose signature was checked before.
    pub fn check_times(claims: &Claims, now: i64) -> Result<(), TokenError> {
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now {
            return Err(TokenError::Invalid("The token is not yet valid (nbf)".into()));
        }
        Ok(())
    }
}

fn pad_for(attempt: u32) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    if attempt == 0 {
        return String::new();
    }
    let mut n = attempt as usize;
    let mut s = String::new();
    while n > 0 {
        s.push(CHARS[n % CHARS.len()] as char);
        n /= CHARS.len();
    }
    s
}

/// Compact JSON with every non-ASCII character written as a `\u` escape.
fn ascii_json<T: Serialize>(value: &T) -> Vec<u8> {
    let json = serde_json::to_string(value).unwrap_or_default();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

/// The `alg` of a token's header, if the header is readable JSON.
fn header_alg(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("alg").map(|a| a.as_str().unwrap_or("?").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_secrets_compare_by_value_whatever_their_lengths() {
        assert!(secret_eq("streampw", "streampw"));
        assert!(!secret_eq("streampx", "streampw"));
        assert!(!secret_eq("stream", "streampw"));
        assert!(!secret_eq("", "streampw"));
        assert!(secret_eq("", ""));
    }

    fn claims(sub: &str) -> Claims {
        Claims {
            fresh: false,
            iat: 1000,
            jti: new_jti(),
            typ: "access".into(),
            sub: sub.into(),
            nbf: 1000,
            exp: 5000,
            is_admin: 1,
            uid: 7,
            ver: 0,
            pad: String::new(),
        }
    }

    #[test]
    fn payload_is_ascii_and_atob_safe() {
        let jwt = Jwt::new("k");
        for name in ["bob", "Ünïcødé 🏁", "a-b_c", "x".repeat(80).as_str()] {
            let t = jwt.issue(claims(name));
            let payload = t.split('.').nth(1).unwrap();
            assert!(!payload.contains(['-', '_']), "{payload}");
            let json = URL_SAFE_NO_PAD.decode(payload).unwrap();
            assert!(json.is_ascii());
            assert_eq!(jwt.verify(&t, 2000).unwrap().sub, name);
        }
    }

    #[test]
    fn expiry_nbf_alg_and_signature() {
        let jwt = Jwt::new("k");
        let t = jwt.issue(claims("bob"));
        assert_eq!(jwt.verify(&t, 5000), Err(TokenError::Expired));
        assert_eq!(jwt.verify(&t, 999), Err(TokenError::Invalid("The token is not yet valid (nbf)".into())));
        assert!(matches!(Jwt::new("other").verify(&t, 2000), Err(TokenError::Invalid(m)) if m.contains("Signature")));
        let parts: Vec<&str> = t.split('.').collect();
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        assert_eq!(jwt.verify(&none, 2000), Err(TokenError::Invalid("The specified alg value is not allowed".into())));
        assert!(jwt.verify("garbage", 2000).is_err());
    }

    #[test]
    fn an_empty_secret_signs_nothing() {
        let jwt = Jwt::new("");
        let t = jwt.issue(claims("bob"));
        assert!(t.ends_with('.'), "{t}");
        assert_eq!(jwt.verify(&t, 2000), Err(TokenError::Invalid("Signature verification failed".into())));
        let signed = Jwt::new("k").issue(claims("bob"));
        assert_eq!(jwt.verify(&signed, 2000), Err(TokenError::Invalid("Signature verification failed".into())));
    }

    #[test]
    fn hashes_from_argon2_0_5_still_verify() {
        // Produced by `hash_password` with argon2 0.5 / password-hash 0.5 before the upgrade.
        let old = "$argon2id$v=19$m=19456,t=2,p=1$Ff6+cqQ/7Lex522PwfboYw$ip8wfSzbVH9raA4wxXQyP2Uvz6EV1664xS7jTVBNt30";
        assert_eq!(verify_password("correct horse battery staple", old), Verified::Yes);
        assert_eq!(verify_password("correct horse battery stapler", old), Verified::No);
        assert_eq!(verify_password("correct horse battery staple", &old.replace("$v=19", "$v=16")), Verified::No);
        assert_eq!(verify_password("correct horse battery staple", "$argon2id$garbage"), Verified::No);
        assert_eq!(verify_password("", ""), Verified::No);
    }

    #[test]
    fn new_hashes_keep_the_format_and_get_fresh_salts() {
        let (a, b) = (hash_password("same"), hash_password("same"));
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "every hash gets its own salt");
        // 16 salt bytes, as argon2 0.5 generated them: 22 characters of unpadded base64.
        assert_eq!(a.split('$').nth(4).map(str::len), Some(22), "{a}");
        // The crate's own verifier agrees with the hashes made with reused memory.
        use argon2::password_hash::PasswordVerifier;
        assert!(Argon2::default().verify_password(b"same", a.as_str()).is_ok());
        assert!(Argon2::default().verify_password(b"other", a.as_str()).is_err());
        // A stored hash asking for absurd memory is refused, not computed.
        let greedy = a.replace("m=19456", "m=4000000");
        assert_eq!(verify_password("same", &greedy), Verified::No);
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret "));
        assert!(!constant_time_eq(b"secret", b""));
    }

    #[test]
    fn passwords_and_legacy_upgrade() {
        let h = hash_password("hunter22");
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(verify_password("hunter22", &h), Verified::Yes);
        assert_eq!(verify_password("nope", &h), Verified::No);
        let legacy = format!("{LEGACY_PREFIX}{}", sha256_hex("old-pass"));
        assert!(matches!(verify_password("old-pass", &legacy), Verified::YesUpgrade(n) if n.starts_with("$argon2id$")));
        assert_eq!(verify_password("wrong", &legacy), Verified::No);
    }
}
