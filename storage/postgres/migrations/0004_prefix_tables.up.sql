-- +goose Up
-- Releases before the prefix named the tables tenants, operators, roles,
-- sessions… which collide with a host's own. This renames them, with their
-- indexes and the constraints the library names in its errors, to the
-- backoffice_ names 0001 now creates. A database created by this release
-- has them already, and is left alone: nothing here touches a table that
-- is not the library's.
-- +goose StatementBegin
DO $$
DECLARE
    t text;
    r record;
BEGIN
    IF to_regclass('backoffice_tenants') IS NOT NULL THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['tenants', 'operators', 'roles', 'audit_entries', 'sessions', 'tokens',
                             'login_attempts', 'end_users', 'onboardings', 'devices'] LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', t, 'backoffice_' || t);
        -- Constraints first: renaming one renames its index too.
        FOR r IN SELECT conname FROM pg_constraint
                 WHERE conrelid = ('backoffice_' || t)::regclass AND conname NOT LIKE 'backoffice\_%' LOOP
            EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', 'backoffice_' || t, r.conname, 'backoffice_' || r.conname);
        END LOOP;
        FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE i.indrelid = ('backoffice_' || t)::regclass AND c.relname NOT LIKE 'backoffice\_%' LOOP
            EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname, 'backoffice_' || r.relname);
        END LOOP;
    END LOOP;
END
$$;
-- +goose StatementEnd
