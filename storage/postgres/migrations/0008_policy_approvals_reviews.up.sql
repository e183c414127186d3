-- +goose Up
-- A tenant's security policy (PCI DSS v4.0 requirement 8), what it needs
-- of operators and sessions, time-bound grants, four-eyes requests and
-- access review campaigns (7.2.4). Every column is added with a default,
-- so the release before keeps running on this schema.
ALTER TABLE backoffice_tenants ADD COLUMN policy jsonb;
ALTER TABLE backoffice_operators
    ADD COLUMN password_history    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(password_history) = 'array'),
    ADD COLUMN password_changed_at timestamptz,
    ADD COLUMN last_login_at       timestamptz,
    ADD COLUMN last_login_from     text NOT NULL DEFAULT '',
    ADD COLUMN role_until          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(role_until) = 'object'),
    ADD COLUMN access_until        timestamptz;
ALTER TABLE backoffice_sessions
    ADD COLUMN idle_timeout bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_seen    timestamptz,
    ADD COLUMN role_until   jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN access_until timestamptz;

CREATE TABLE backoffice_approvals (
    tenant_id    text NOT NULL,
    id           text NOT NULL,
    action       text NOT NULL,
    status       text NOT NULL CHECK (status IN ('pending', 'approved', 'done', 'failed', 'rejected')),
    requested_by text NOT NULL,
    body         jsonb NOT NULL,
    expires_at   timestamptz NOT NULL,
    version      bigint NOT NULL CHECK (version > 0),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX backoffice_approvals_status ON backoffice_approvals (tenant_id, status, id);

CREATE TABLE backoffice_reviews (
    tenant_id  text NOT NULL,
    id         text NOT NULL,
    due_at     timestamptz NOT NULL,
    closed_at  timestamptz,
    body       jsonb NOT NULL,
    version    bigint NOT NULL CHECK (version > 0),
    PRIMARY KEY (tenant_id, id)
);
