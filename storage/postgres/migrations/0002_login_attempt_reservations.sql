-- A20: login attempts are reserved before they are checked. A run holds
-- its settled failures (count) and the reservations not yet settled
-- (pending); a run may hold reservations and no failure yet.
ALTER TABLE login_attempts DROP CONSTRAINT IF EXISTS login_attempts_count_check;
ALTER TABLE login_attempts ADD COLUMN pending integer NOT NULL DEFAULT 0;
ALTER TABLE login_attempts ADD CONSTRAINT login_attempts_counts_check CHECK (count >= 0 AND pending >= 0);
