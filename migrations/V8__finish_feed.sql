-- The finish feed, the followed players, and verified Discord links.

-- One row per happening the finish follower or the WR ingestion noticed: a map first finished
-- (`finish`), a better score (`pb`), a new world record (`wr`), a finish count reaching a
-- milestone (`milestone`). Clients page through them by id (never reused). `discord` is the
-- delivery state of the finish webhook: 'off' when no webhook was configured when the row was
-- written, else claimed 'pending' → 'sending' → 'sent'/'failed', so each row is posted once
-- across restarts. Rows are kept until a week after the event (see db::finishes::prune).
CREATE TABLE finish_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type      TEXT    NOT NULL,
    edition         INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('finish', 'pb', 'wr', 'milestone')),
    login           TEXT    NOT NULL,
    kacky_id        INTEGER,
    score           INTEGER,
    rank            INTEGER,
    previous_score  INTEGER,
    count           INTEGER,
    at              INTEGER NOT NULL,               -- unix seconds, when it was noticed
    discord         TEXT    NOT NULL DEFAULT 'off'
                    CHECK (discord IN ('off', 'pending', 'sending', 'sent', 'failed')),
    discord_at      INTEGER
);
CREATE INDEX finish_events_event ON finish_events (event_type, edition, id);
CREATE INDEX finish_events_kind ON finish_events (event_type, edition, kind, id);
CREATE INDEX finish_events_login ON finish_events (login COLLATE NOCASE, id);
CREATE INDEX finish_events_at ON finish_events (at);
CREATE INDEX finish_events_pending ON finish_events (id) WHERE discord = 'pending';
-- A map is first finished once, and a milestone reached once, per player and event.
CREATE UNIQUE INDEX finish_events_first ON finish_events (event_type, edition, login, kacky_id)
    WHERE kind = 'finish';
CREATE UNIQUE INDEX finish_events_milestone ON finish_events (event_type, edition, login, count)
    WHERE kind = 'milestone';

-- What the follower knows of each followed player's personal bests in an event: the state the
-- next poll is compared with. A map never leaves it (an answer missing maps is not news).
CREATE TABLE finish_state (
    event_type  TEXT    NOT NULL,
    edition     INTEGER NOT NULL,
    login       TEXT    NOT NULL,
    kacky_id    INTEGER NOT NULL,
    score       INTEGER NOT NULL,
    rank        INTEGER,
    PRIMARY KEY (event_type, edition, login, kacky_id)
) WITHOUT ROWID;

-- Players whose state was learned (their first poll announces nothing).
CREATE TABLE finish_players (
    event_type  TEXT    NOT NULL,
    edition     INTEGER NOT NULL,
    login       TEXT    NOT NULL,
    learned_at  INTEGER NOT NULL,
    PRIMARY KEY (event_type, edition, login)
) WITHOUT ROWID;

-- Game logins an admin follows (streamers without an account).
CREATE TABLE followed_logins (
    login     TEXT    PRIMARY KEY,
    added_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Accounts opt in to the feed; a Discord account verified through OAuth2 links to at most one
-- account. The typed `discord_handle` stays as it was.
ALTER TABLE user_fields ADD COLUMN finish_feed INTEGER NOT NULL DEFAULT 0 CHECK (finish_feed IN (0, 1));
ALTER TABLE user_fields ADD COLUMN discord_id TEXT;
ALTER TABLE user_fields ADD COLUMN discord_name TEXT;
CREATE UNIQUE INDEX user_fields_discord_id ON user_fields (discord_id) WHERE discord_id IS NOT NULL;
CREATE INDEX user_fields_finish_feed ON user_fields (user_id) WHERE finish_feed = 1;

-- Pending Discord link flows: the `state` is stored hashed, used once, valid ten minutes.
CREATE TABLE discord_link_states (
    state_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX discord_link_states_created ON discord_link_states (created_at);

-- Mentions sent per Discord id, for the hourly cap on typed (unverified) ids.
CREATE TABLE discord_mentions (
    discord_id  TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX discord_mentions_id ON discord_mentions (discord_id, at);
CREATE INDEX discord_mentions_at ON discord_mentions (at);
