-- Event families are described in the code (src/domain/family.rs), so a new family such as
-- KX (Kacky Remixed) needs no schema change: the type column only keeps its form (upper case,
-- 1 to 8 characters) instead of listing KK and KR. SQLite cannot change a CHECK in place, so
-- the table is rebuilt (its rows, ids and indexes unchanged). Migrations run with foreign keys
-- off (see `Db::migrate`), so dropping the old table cascades to nothing; the maps keep
-- pointing at the same event ids.

CREATE TABLE events_new (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,               -- $-formatted display name
    shortname   TEXT    NOT NULL,               -- e.g. KK7; the CSV upload keys events by it
    type        TEXT    NOT NULL CHECK (length(type) BETWEEN 1 AND 8 AND type = upper(type)),
    edition     INTEGER NOT NULL,
    startdate   TEXT    NOT NULL,               -- YYYY-MM-DD, informational
    enddate     TEXT    NOT NULL,
    visible     INTEGER NOT NULL DEFAULT 0 CHECK (visible IN (0, 1)),
    UNIQUE (type, edition)
);
INSERT INTO events_new (id, name, shortname, type, edition, startdate, enddate, visible)
SELECT id, name, shortname, type, edition, startdate, enddate, visible FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE UNIQUE INDEX events_shortname ON events (shortname);
