-- The look-alike key of every account name (`domain::lookalike_key`: the Unicode TR39 skeleton,
-- case-folded), stored and indexed so that a registration checks it with one index look-up
-- instead of computing it for every account inside the write transaction. Not unique: accounts
-- made before the check existed may already look alike. The keys are filled in by the start-up
-- rekey (`db::users::rekey`), which also recomputes them when the Unicode data changes.
ALTER TABLE users ADD COLUMN lookalike_key TEXT;
CREATE INDEX users_lookalike_key ON users (lookalike_key);
