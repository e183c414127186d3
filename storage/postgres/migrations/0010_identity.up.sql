-- +goose Up
-- What identifies operators: on a tenant, its identity provider (I1–I6:
-- SAML settings, link-by-email, SCIM token digests, the groups it named)
-- and its passkeys' relying party (W2); on an operator, whether the
-- identity provider manages it, its groups there, and its passkeys (W1).
-- Added with defaults, so the release before keeps running on this schema.
ALTER TABLE backoffice_tenants
    ADD COLUMN identity jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(identity) = 'object');
ALTER TABLE backoffice_operators
    ADD COLUMN identity jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(identity) = 'object');
-- What may be used once across every instance (a SAML assertion's id),
-- until when: accessctl.OnceStore.
CREATE TABLE backoffice_once (
    tenant_id text NOT NULL,
    key       text NOT NULL,
    until     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
