-- Initial schema: the old MariaDB tables with their meaning kept, plus real foreign keys,
-- cascading deletes from users, and an index for every lookup path.

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,               -- $-formatted display name
    shortname   TEXT    NOT NULL,               -- e.g. KK7; the CSV upload keys events by it
    type        TEXT    NOT NULL CHECK (type IN ('KK', 'KR')),
    edition     INTEGER NOT NULL,
    startdate   TEXT    NOT NULL,               -- YYYY-MM-DD, informational
    enddate     TEXT    NOT NULL,
    visible     INTEGER NOT NULL DEFAULT 0 CHECK (visible IN (0, 1)),
    UNIQUE (type, edition)
);
CREATE UNIQUE INDEX events_shortname ON events (shortname);

CREATE TABLE maps (
    id            INTEGER PRIMARY KEY,
    event_id      INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,             -- full in-game name ending in #<kacky id>
    kacky_id      TEXT    NOT NULL,             -- with version suffix, e.g. "17 [v2]"
    kacky_id_int  INTEGER NOT NULL,
    map_version   TEXT    NOT NULL DEFAULT '',  -- '' or '[v2]'
    author        TEXT    NOT NULL,
    tmx_id        TEXT    NOT NULL DEFAULT '',
    tm_uid        TEXT    NOT NULL DEFAULT '',
    difficulty    INTEGER NOT NULL DEFAULT 0    -- community rating 0-100
);
CREATE INDEX maps_event_kid ON maps (event_id, kacky_id_int);
CREATE INDEX maps_kid ON maps (kacky_id_int);

-- One current world record per map.
CREATE TABLE worldrecords (
    id        INTEGER PRIMARY KEY,
    map_id    INTEGER NOT NULL UNIQUE REFERENCES maps (id) ON DELETE CASCADE,
    nickname  TEXT    NOT NULL DEFAULT '',
    login     TEXT    NOT NULL DEFAULT '',
    score     INTEGER NOT NULL,                 -- milliseconds
    date      TEXT    NOT NULL,                 -- YYYY-MM-DD HH:MM:SS
    source    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX worldrecords_login ON worldrecords (login);

-- Kept for the external records API / Discord bot that share the old table.
CREATE TABLE worldrecords_discord_notify (
    id         INTEGER PRIMARY KEY REFERENCES worldrecords (id) ON DELETE CASCADE,
    notified   INTEGER NOT NULL DEFAULT 0,
    time_diff  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE tmx_tmlogin_mapping (
    tmx_login   TEXT,
    tmf_login   TEXT,
    tm20_login  TEXT
);
CREATE INDEX tmx_mapping_tmx ON tmx_tmlogin_mapping (tmx_login COLLATE NOCASE);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: tokens name the id
    username       TEXT    NOT NULL,            -- as typed at registration
    username_key   TEXT    NOT NULL UNIQUE,     -- lower-cased, trailing spaces removed
    password       TEXT    NOT NULL,            -- argon2id PHC string, or 'sha256$<hex>' (legacy)
    mail           TEXT    NOT NULL,            -- sha256 hex of the address as typed
    is_admin       INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    token_version  INTEGER NOT NULL DEFAULT 0   -- bumped on password change: older JWTs stop working
);

CREATE TABLE user_fields (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    discord_handle  TEXT NOT NULL DEFAULT '',
    tm20_login      TEXT NOT NULL DEFAULT '',
    tmnf_login      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE spreadsheet (
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    map_id    INTEGER NOT NULL REFERENCES maps (id) ON DELETE CASCADE,
    map_diff  INTEGER NOT NULL DEFAULT 0,
    map_pb    INTEGER NOT NULL DEFAULT 0,
    map_rank  INTEGER NOT NULL DEFAULT 0,
    clip      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, map_id)
) WITHOUT ROWID;
CREATE INDEX spreadsheet_map ON spreadsheet (map_id);

-- Discord alarms as rows, so a toggle is one atomic statement.
CREATE TABLE alarms (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    map_id   INTEGER NOT NULL REFERENCES maps (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, map_id)
) WITHOUT ROWID;
CREATE INDEX alarms_map ON alarms (map_id);

-- At most one live reset token per user; the token itself is stored hashed.
CREATE TABLE reset_tokens (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL               -- unix seconds
);

CREATE TABLE revoked_tokens (
    jti         TEXT    PRIMARY KEY,
    revoked_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL               -- pruned after this
) WITHOUT ROWID;
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);

-- Streamer message and target (was a text file next to the code).
CREATE TABLE stream_message (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    target   TEXT NOT NULL DEFAULT '',
    message  TEXT NOT NULL DEFAULT ''
);

-- Small key/value store: generated demo JWT secret, seed marker.
CREATE TABLE app_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;
