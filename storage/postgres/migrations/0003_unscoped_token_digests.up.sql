-- +goose Up
-- Sessions and one-time tokens are looked up by (tenant, digest). Ids of
-- earlier releases carried the tenant and operator before the digest
-- ("tenant.operator.digest"); keep the digest alone, so that tokens handed
-- out before the upgrade still work. Only a database of a release before
-- the prefix has such ids.
-- +goose StatementBegin
DO $$
BEGIN
    IF to_regclass('backoffice_sessions') IS NULL THEN
        UPDATE sessions SET id = split_part(id, '.', 3) WHERE id LIKE '%.%.%';
        UPDATE tokens SET id = split_part(id, '.', 3) WHERE id LIKE '%.%.%';
        CREATE INDEX IF NOT EXISTS sessions_tenant_id ON sessions (tenant_id, id);
    END IF;
END
$$;
-- +goose StatementEnd
