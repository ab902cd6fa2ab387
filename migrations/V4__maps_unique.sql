-- One map row per (event, kacky id, version): what the map upload treats as "the same map".
-- Before this, a CSV repeating a map inserted two rows; a later overwrite updated one of them
-- while the sheet showed the other. Databases that already hold such duplicates (from that
-- bug, or from an import) are merged first, so this migration never fails on them:
--
-- * of each group of duplicates the newest map row (highest id) is kept;
-- * personal sheet rows and alarms of the older rows move to the kept row unless the user
--   already has one there (the kept row's own data wins; among the older rows, the newest
--   one's wins); the rest are deleted;
-- * the kept row keeps its world record; if it has none, the newest record of the older rows
--   moves to it (with its Discord notify flags); the others are deleted;
-- * then the older rows are deleted and the unique index is created.

CREATE TEMP TABLE map_dupes AS
SELECT m.id AS old_id,
       (SELECT MAX(n.id) FROM maps n
         WHERE n.event_id = m.event_id AND n.kacky_id_int = m.kacky_id_int
           AND n.map_version = m.map_version) AS keep_id
  FROM maps m
 WHERE EXISTS (SELECT 1 FROM maps n
                WHERE n.event_id = m.event_id AND n.kacky_id_int = m.kacky_id_int
                  AND n.map_version = m.map_version AND n.id > m.id);

-- INSERT … SELECT … ORDER BY inserts in that order, so OR IGNORE keeps the first row per
-- (user, kept map): the kept map's own row (already there), else the newest older one's.
INSERT OR IGNORE INTO spreadsheet (user_id, map_id, map_diff, map_pb, map_rank, clip)
SELECT s.user_id, d.keep_id, s.map_diff, s.map_pb, s.map_rank, s.clip
  FROM spreadsheet s JOIN temp.map_dupes d ON d.old_id = s.map_id
 ORDER BY d.old_id DESC;
DELETE FROM spreadsheet WHERE map_id IN (SELECT old_id FROM temp.map_dupes);

INSERT OR IGNORE INTO alarms (user_id, map_id)
SELECT a.user_id, d.keep_id FROM alarms a JOIN temp.map_dupes d ON d.old_id = a.map_id;
DELETE FROM alarms WHERE map_id IN (SELECT old_id FROM temp.map_dupes);

-- World records keep their ids (the notify flags point at them), so they are moved, not copied.
UPDATE worldrecords
   SET map_id = (SELECT keep_id FROM temp.map_dupes WHERE old_id = worldrecords.map_id)
 WHERE id IN (SELECT MAX(w.id)
                FROM worldrecords w JOIN temp.map_dupes d ON d.old_id = w.map_id
               WHERE NOT EXISTS (SELECT 1 FROM worldrecords k WHERE k.map_id = d.keep_id)
               GROUP BY d.keep_id);
DELETE FROM worldrecords_discord_notify
 WHERE id IN (SELECT w.id FROM worldrecords w JOIN temp.map_dupes d ON d.old_id = w.map_id);
DELETE FROM worldrecords WHERE map_id IN (SELECT old_id FROM temp.map_dupes);

DELETE FROM maps WHERE id IN (SELECT old_id FROM temp.map_dupes);
DROP TABLE temp.map_dupes;

-- The unique index starts with (event_id, kacky_id_int), so it serves those look-ups too.
CREATE UNIQUE INDEX maps_event_kid_version ON maps (event_id, kacky_id_int, map_version);
DROP INDEX maps_event_kid;
