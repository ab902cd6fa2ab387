//! What the auth extractors know about tokens without asking the database each time: whether
//! a token id is revoked, and the account a token names (its token version, name, admin flag).
//! Both are cached in memory (moka) and kept current by this process's own writes, so
//! revocation stays immediate: logout marks the token id revoked, a password change, a reset
//! or a deletion forgets the account (its next request reads the new token version). Entries
//! also expire after a few seconds, for changes made by another process (the `admin` command,
//! an import). The admin flag of admin endpoints is always read fresh from the database.
//!
//! A read that races a write cannot leave a stale entry behind: every write bumps a counter
//! first, and a read that saw the counter move while it was at the database drops what it
//! cached.
//!
//! Tokens whose signature was checked are remembered too (by their full text, so only the very
//! same signed bytes match): a reload skips the base64, JSON and HMAC work; expiry is still
//! checked against the clock on every request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Claims, Jwt, TokenError};
use crate::db::users::Account;
use crate::db::{self, Db, DbError};

/// How long an account is trusted without a look at the database.
const ACCOUNT_TTL: Duration = Duration::from_secs(5);
/// How long "this token id is not revoked" is trusted (only this process revokes).
const REVOKED_TTL: Duration = Duration::from_secs(60);
const MAX_ENTRIES: u64 = 100_000;
/// How long a checked token is remembered, and the most bytes of tokens kept.
const TOKEN_TTL: Duration = Duration::from_secs(300);
const TOKEN_BYTES: u64 = 4 * 1024 * 1024;

pub struct Sessions {
    accounts: moka::sync::Cache<i64, Option<Arc<Account>>>,
    revoked: moka::sync::Cache<String, bool>,
    tokens: moka::sync::Cache<Arc<str>, Arc<Claims>>,
    writes: AtomicU64,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            accounts: moka::sync::Cache::builder().max_capacity(MAX_ENTRIES).time_to_live(ACCOUNT_TTL).build(),
            revoked: moka::sync::Cache::builder().max_capacity(MAX_ENTRIES).time_to_live(REVOKED_TTL).build(),
            tokens: moka::sync::Cache::builder()
                .max_capacity(TOKEN_BYTES)
                .weigher(|token: &Arc<str>, _: &Arc<Claims>| u32::try_from(token.len() + 256).unwrap_or(u32::MAX))
                .time_to_live(TOKEN_TTL)
                .build(),
            writes: AtomicU64::new(0),
        }
    }
}

impl Sessions {
    /// The claims of a token whose signature is good, checked for expiry at `now`.
    pub fn verify(&self, jwt: &Jwt, token: &str, now: i64) -> Result<Arc<Claims>, TokenError> {
        let claims = match self.tokens.get(token) {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(jwt.verify(token, now)?);
                self.tokens.insert(Arc::from(token), claims.clone());
                claims
            }
        };
        Jwt::check_times(&claims, now)?;
        Ok(claims)
    }

    /// Whether `jti` is revoked, and the account `user_id` (if it exists): from memory, or in
    /// one database round trip.
    pub async fn lookup(&self, db: &Db, jti: &str, user_id: i64) -> Result<(bool, Option<Arc<Account>>), DbError> {
        if let (Some(revoked), Some(account)) = (self.revoked.get(jti), self.accounts.get(&user_id)) {
            return Ok((revoked, account));
        }
        let before = self.writes.load(Ordering::Acquire);
        let owned = jti.to_owned();
        let (revoked, account) = db.run(move |c| db::users::token_state(c, &owned, user_id)).await?;
        let account = account.map(Arc::new);
        self.revoked.insert(jti.to_owned(), revoked);
        self.accounts.insert(user_id, account.clone());
        if self.writes.load(Ordering::Acquire) != before {
            self.revoked.invalidate(jti);
            self.accounts.invalidate(&user_id);
        }
        Ok((revoked, account))
    }

    /// After the database marked `jti` revoked (logout).
    pub async fn revoked(&self, jti: &str) {
        self.writes.fetch_add(1, Ordering::AcqRel);
        self.revoked.insert(jti.to_owned(), true);
    }

    /// After a write to the account (password, deletion): its next request reads it afresh.
    pub async fn forget(&self, user_id: i64) {
        self.writes.fetch_add(1, Ordering::AcqRel);
        self.accounts.invalidate(&user_id);
    }
}
