-- +goose Up
-- E2, C4: the name search's keys by tenant, creation-date bucket and
-- trigram. The trigram index of 0001 finds every user holding a fragment
-- before the newest page of them can be kept; with these keys a search
-- reads the newest bucket first and stops once it has a page
-- (storage/postgres/enduser.go, nameRounds).
--
-- backoffice_name_keys(tenant, created, search) is 'tenant/bucket/trigram'
-- for each trigram pg_trgm's show_trgm finds in search without a space
-- (the ones a LIKE '%fragment%' can require; the others pad a word's
-- ends), bucket being the average month (2629746 s) since 2000-01-01 UTC
-- that created falls in; NULL when there is none. Called with a fragment
-- and a bucket's first instant, it makes the keys that a user of that
-- bucket holding the fragment has. It names show_trgm with pg_trgm's
-- schema, found here, so it works whatever the inserting session's
-- search_path (and in PL/pgSQL, which costs a third of a SQL function
-- here, since an index's function cannot be inlined anyway).
--
-- On a large table, make the index beforehand without blocking writes
-- (once this migration's function exists, for instance by running the
-- statements above the index by hand), and this migration will find it:
--   CREATE INDEX CONCURRENTLY backoffice_end_users_name_keys ON backoffice_end_users
--       USING gin (backoffice_name_keys(tenant_id, created_at, search_text));
-- +goose StatementBegin
DO $do$
BEGIN
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION backoffice_name_keys(tenant text, created timestamptz, search text) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
DECLARE
    prefix text := tenant || '/' || floor(extract(epoch FROM created - timestamptz '2000-01-01 00:00:00+00') / 2629746)::integer || '/';
BEGIN
    RETURN nullif(ARRAY(SELECT prefix || t FROM unnest(%I.show_trgm(search)) AS t WHERE strpos(t, ' ') = 0), '{}');
END
$$$f$, (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'));
END
$do$;
-- +goose StatementEnd
CREATE INDEX IF NOT EXISTS backoffice_end_users_name_keys ON backoffice_end_users
    USING gin (backoffice_name_keys(tenant_id, created_at, search_text));
