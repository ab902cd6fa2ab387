-- Alarm notifications already handled, so each (user, map, play) is notified once, across
-- restarts. A play is identified by its server and start (unix seconds); the notifier treats
-- starts within half a time limit as the same play, because each poll may shift the projected
-- start by a few seconds. Rows of plays that started more than a day ago are pruned.
CREATE TABLE notifications (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kacky_id    INTEGER NOT NULL,
    server      INTEGER NOT NULL,
    play_start  INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, kacky_id, server, play_start)
) WITHOUT ROWID;
CREATE INDEX notifications_start ON notifications (play_start);
