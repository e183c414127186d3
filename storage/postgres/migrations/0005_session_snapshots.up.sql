-- +goose Up
-- A session carries what authenticating a request needs of its operator,
-- and is read with its tenant's roles version, so that a request costs one
-- round trip. Sessions of earlier releases have no roles and are refused:
-- their operators log in again.
ALTER TABLE backoffice_tenants ADD COLUMN roles_version bigint NOT NULL DEFAULT 1;
ALTER TABLE backoffice_sessions ADD COLUMN name text NOT NULL DEFAULT '';
ALTER TABLE backoffice_sessions ADD COLUMN roles jsonb NOT NULL DEFAULT '[]';
ALTER TABLE backoffice_sessions ADD COLUMN all_accounts boolean NOT NULL DEFAULT false;
ALTER TABLE backoffice_sessions ADD COLUMN accounts jsonb NOT NULL DEFAULT '[]';
