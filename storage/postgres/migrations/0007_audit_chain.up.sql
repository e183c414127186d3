-- +goose Up
-- The audit log becomes a hash chain per tenant (PCI DSS v4.0 10.3.2,
-- 10.3.4): every entry gets its tenant's next sequence number and
-- hash = sha256(previous hash || digest of the entry), computed in the
-- statement that writes the entry. The head row of a tenant holds the
-- chain's end; updating it is what serializes a tenant's writers, so the
-- chain never forks. Entries written before this migration stay outside
-- the chain (seq NULL).
CREATE TABLE backoffice_audit_heads (
    tenant_id text PRIMARY KEY,
    seq       bigint NOT NULL CHECK (seq > 0),
    hash      bytea NOT NULL,
    prev      bytea NOT NULL
);
ALTER TABLE backoffice_audit_entries ADD COLUMN seq bigint, ADD COLUMN hash bytea;
CREATE UNIQUE INDEX backoffice_audit_entries_chain ON backoffice_audit_entries (tenant_id, seq);
