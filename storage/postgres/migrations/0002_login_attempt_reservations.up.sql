-- +goose Up
-- Login attempts are reserved before they are checked. A run holds its
-- settled failures (count) and the reservations not yet settled
-- (pending). A database created by 0001 of this release has them already;
-- one created by a release before the prefix gets them here.
-- +goose StatementBegin
DO $$
BEGIN
    IF to_regclass('backoffice_login_attempts') IS NULL THEN
        ALTER TABLE login_attempts DROP CONSTRAINT IF EXISTS login_attempts_count_check;
        ALTER TABLE login_attempts ADD COLUMN pending integer NOT NULL DEFAULT 0;
        ALTER TABLE login_attempts ADD CONSTRAINT login_attempts_counts_check CHECK (count >= 0 AND pending >= 0);
    END IF;
END
$$;
-- +goose StatementEnd
