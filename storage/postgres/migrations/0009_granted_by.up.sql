-- +goose Up
-- Who empowered each operator (F4): the operators that created, invited,
-- reactivated or granted it anything, whose four-eyes requests it may not
-- approve, and those that may hold its keys. Added with defaults, so the
-- release before keeps running on this schema.
ALTER TABLE backoffice_operators
    ADD COLUMN granted_by    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(granted_by) = 'array'),
    ADD COLUMN controlled_by jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(controlled_by) = 'array');
