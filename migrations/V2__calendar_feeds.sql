-- A player's secret calendar feed (`/calendar/<token>.ics`): at most one per user; the token
-- is the credential, so only its SHA-256 is stored. Deleting the account deletes the feed.
CREATE TABLE calendar_feeds (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL               -- unix seconds
);
