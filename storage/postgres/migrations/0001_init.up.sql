-- +goose Up
-- backoffice schema, version 1. Every table and index is prefixed
-- backoffice_, so the schema lives beside a host's own tables. (Releases
-- before the prefix created the same tables unprefixed; 0004 renames them.)
-- Every table carries its tenant; every mutable record a version; the
-- constraints below guard the rules only the database can make atomic.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE backoffice_tenants (
    id                          text PRIMARY KEY,
    name                        text NOT NULL,
    preset                      text NOT NULL,
    sso_enabled                 boolean NOT NULL DEFAULT false,
    sso_group_roles             jsonb NOT NULL DEFAULT '{}',
    enduser_forgot_password_off boolean NOT NULL DEFAULT false,
    version                     bigint NOT NULL CHECK (version > 0),
    created_at                  timestamptz NOT NULL,
    updated_at                  timestamptz NOT NULL
);

CREATE TABLE backoffice_operators (
    tenant_id      text NOT NULL REFERENCES backoffice_tenants (id),
    id             text NOT NULL,
    username       text NOT NULL DEFAULT '',
    email          text NOT NULL DEFAULT '',
    first_name     text NOT NULL,
    last_name      text NOT NULL,
    roles          jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(roles) = 'array'),
    all_accounts   boolean NOT NULL,
    accounts       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(accounts) = 'array'),
    status         text NOT NULL CHECK (status IN ('invited', 'active', 'blocked', 'deactivated')),
    email_verified boolean NOT NULL,
    password_hash  text NOT NULL DEFAULT '',
    mfa_secret     text NOT NULL DEFAULT '',
    mfa_enrolled   boolean NOT NULL,
    mfa_last_step  bigint NOT NULL,
    external_key   text NOT NULL DEFAULT '',
    session_epoch  bigint NOT NULL,
    version        bigint NOT NULL CHECK (version > 0),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (username <> '' OR email <> '')
);
-- A6: username and email unique within a tenant, case-insensitively.
CREATE UNIQUE INDEX backoffice_operators_username_key ON backoffice_operators (tenant_id, lower(username)) WHERE username <> '';
CREATE UNIQUE INDEX backoffice_operators_email_key ON backoffice_operators (tenant_id, lower(email)) WHERE email <> '';
CREATE UNIQUE INDEX backoffice_operators_external_key_key ON backoffice_operators (tenant_id, external_key) WHERE external_key <> '';

CREATE TABLE backoffice_roles (
    tenant_id   text NOT NULL REFERENCES backoffice_tenants (id),
    name        text NOT NULL,
    abbrev      text NOT NULL,
    description text NOT NULL,
    permissions jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(permissions) = 'array'),
    version     bigint NOT NULL CHECK (version > 0),
    PRIMARY KEY (tenant_id, name)
);

-- Audit entries outlive what they describe (A14), so they have no foreign
-- key to it. The key serves the history of one record, newest first.
CREATE TABLE backoffice_audit_entries (
    tenant_id   text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    id          text NOT NULL,
    actor_kind  text NOT NULL,
    actor_id    text NOT NULL,
    actor_name  text NOT NULL,
    action      text NOT NULL CHECK (action <> ''),
    at          timestamptz NOT NULL,
    changes     jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant_id, target_type, target_id, id)
);

-- Sessions, tokens and attempts may live in Redis instead; here they have
-- no foreign keys either, as there.
CREATE TABLE backoffice_sessions (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL,
    operator_id text NOT NULL,
    epoch       bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX backoffice_sessions_operator ON backoffice_sessions (tenant_id, operator_id);
CREATE INDEX backoffice_sessions_tenant_id ON backoffice_sessions (tenant_id, id);

CREATE TABLE backoffice_tokens (
    id          text PRIMARY KEY,
    purpose     text NOT NULL CHECK (purpose IN ('invitation', 'password_reset', 'mfa_challenge')),
    tenant_id   text NOT NULL,
    operator_id text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
-- One live token per operator and purpose: issuing one voids the others.
CREATE UNIQUE INDEX backoffice_tokens_operator_purpose ON backoffice_tokens (tenant_id, operator_id, purpose);

CREATE TABLE backoffice_login_attempts (
    tenant_id   text NOT NULL,
    operator_id text NOT NULL,
    count       integer NOT NULL,
    pending     integer NOT NULL DEFAULT 0,
    last        timestamptz NOT NULL,
    CONSTRAINT backoffice_login_attempts_counts_check CHECK (count >= 0 AND pending >= 0),
    PRIMARY KEY (tenant_id, operator_id)
);

CREATE TABLE backoffice_end_users (
    tenant_id      text NOT NULL REFERENCES backoffice_tenants (id),
    id             text NOT NULL,
    tag            text NOT NULL DEFAULT '',
    type           text NOT NULL CHECK (type IN ('physical_person', 'business', 'non_governmental_organization', 'governmental_organization')),
    status         text NOT NULL CHECK (status IN ('pending', 'validated', 'canceled')),
    kyc            text NOT NULL CHECK (kyc IN ('none', 'pending', 'validated', 'refused')),
    kyc_note       text NOT NULL DEFAULT '',
    first_name     text NOT NULL DEFAULT '',
    last_name      text NOT NULL DEFAULT '',
    legal_name     text NOT NULL DEFAULT '',
    email          text NOT NULL DEFAULT '',
    phone          text NOT NULL DEFAULT '',
    address        jsonb NOT NULL DEFAULT '{}',
    birth_date     date,
    parent_id      text,
    tax_residences jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tax_residences) = 'array'),
    onboarding_id  text NOT NULL DEFAULT '',
    -- E2: lower(first || ' ' || last || ' ' || legal || ' ' || email), made by
    -- the Go code so that the stored text and the searched term are
    -- lower-cased the same way whatever the database's locale.
    search_text    text NOT NULL,
    version        bigint NOT NULL CHECK (version > 0),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    -- E9: a parent is a user of the same tenant.
    FOREIGN KEY (tenant_id, parent_id) REFERENCES backoffice_end_users (tenant_id, id)
);
-- E2: part-of-word name search.
CREATE INDEX backoffice_end_users_search ON backoffice_end_users USING gin (search_text gin_trgm_ops);
-- E2: exact lookups, newest first.
CREATE INDEX backoffice_end_users_email ON backoffice_end_users (tenant_id, lower(email), created_at DESC, id DESC) WHERE email <> '';
CREATE INDEX backoffice_end_users_tag ON backoffice_end_users (tenant_id, tag, created_at DESC, id DESC) WHERE tag <> '';
CREATE INDEX backoffice_end_users_parent ON backoffice_end_users (tenant_id, parent_id, created_at DESC, id DESC) WHERE parent_id IS NOT NULL;
-- E3: the list of all users and its filters, keyset-paginated.
CREATE INDEX backoffice_end_users_created ON backoffice_end_users (tenant_id, created_at DESC, id DESC);
CREATE INDEX backoffice_end_users_status ON backoffice_end_users (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX backoffice_end_users_type ON backoffice_end_users (tenant_id, type, created_at DESC, id DESC);
CREATE INDEX backoffice_end_users_status_type ON backoffice_end_users (tenant_id, status, type, created_at DESC, id DESC);

CREATE TABLE backoffice_onboardings (
    tenant_id     text NOT NULL REFERENCES backoffice_tenants (id),
    id            text NOT NULL,
    activation_id text NOT NULL UNIQUE,
    profile       jsonb NOT NULL,
    expires_at    timestamptz NOT NULL,
    completed_at  timestamptz,
    user_id       text,
    version       bigint NOT NULL CHECK (version > 0),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES backoffice_end_users (tenant_id, id),
    CHECK ((completed_at IS NULL) = (user_id IS NULL))
);
CREATE INDEX backoffice_onboardings_list ON backoffice_onboardings (tenant_id, (user_id IS NOT NULL), id DESC);

CREATE TABLE backoffice_devices (
    tenant_id    text NOT NULL,
    id           text NOT NULL,
    user_id      text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('mobile', 'web')),
    status       text NOT NULL CHECK (status IN ('passcode_missing', 'active', 'locked')),
    tag          text NOT NULL DEFAULT '',
    info         text NOT NULL DEFAULT '',
    passcode_set boolean NOT NULL,
    lock_reason  text NOT NULL DEFAULT '',
    lock_message text NOT NULL DEFAULT '',
    locked_at    timestamptz,
    deleted      boolean NOT NULL,
    deleted_at   timestamptz,
    version      bigint NOT NULL CHECK (version > 0),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES backoffice_end_users (tenant_id, id),
    CHECK (status <> 'locked' OR lock_reason <> '')
);
CREATE INDEX backoffice_devices_user ON backoffice_devices (tenant_id, user_id, deleted, created_at, id);
