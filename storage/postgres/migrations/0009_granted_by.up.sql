-- +goose Up
-- Who empowered each operator (F4): the operators that created, invited,
-- reactivated or granted it anything, whose four-eyes requests it may not
-- approve. Added with a default, so the release before keeps running on
-- this schema.
ALTER TABLE backoffice_operators
    ADD COLUMN granted_by jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(granted_by) = 'array');
