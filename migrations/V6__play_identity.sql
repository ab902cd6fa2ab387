-- What the poller learned about each game server, kept across restarts of the backend: the
-- last observed play (its number, map and start) and the change times seen between maps. The
-- number is the play's identity in /live, the calendar feed and the notifier, so a restart must
-- go on counting where it left off; the change times give the servers' real slots at once.
CREATE TABLE live_tracks (
    event       TEXT    NOT NULL,                -- the event label, e.g. KK7
    server      INTEGER NOT NULL,                -- server_number (servers.yaml)
    play        INTEGER NOT NULL,
    kacky_id    INTEGER NOT NULL,
    start_ms    INTEGER NOT NULL,                -- unix milliseconds
    changes_ms  TEXT    NOT NULL DEFAULT '[]',   -- JSON array of change times (ms), oldest first
    updated_at  INTEGER NOT NULL,                -- unix seconds
    PRIMARY KEY (event, server)
) WITHOUT ROWID;

-- Notifications name their play by (server, play number, map). Rows written before have no
-- number; the notifier matches those by their start within a tolerance until they are pruned.
ALTER TABLE notifications ADD COLUMN play INTEGER;
CREATE UNIQUE INDEX notifications_play ON notifications (user_id, server, play, kacky_id);
