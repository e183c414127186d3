-- +goose Up
-- The company's identity provider (I1–I6): on a tenant, its SAML
-- settings, link-by-email switch and SCIM token digests; on an operator,
-- whether the identity provider manages it and the groups it is in. Added
-- with defaults, so the release before keeps running on this schema.
ALTER TABLE backoffice_tenants
    ADD COLUMN idp jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(idp) = 'object');
ALTER TABLE backoffice_operators
    ADD COLUMN idp jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(idp) = 'object');
-- What may be used once across every instance (a SAML assertion's id),
-- until when: accessctl.OnceStore.
CREATE TABLE backoffice_once (
    tenant_id text NOT NULL,
    key       text NOT NULL,
    until     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
