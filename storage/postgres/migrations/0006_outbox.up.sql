-- +goose Up
-- The transactional outbox: each message is written in the same statement
-- as its change and audit entry, and delivered by a dispatcher. The
-- payload (which holds a notice's link) is erased once the message is
-- delivered or dead.
CREATE TABLE backoffice_outbox (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL,
    topic        text NOT NULL,
    payload      text NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts     integer NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    delivered_at timestamptz
);
CREATE INDEX backoffice_outbox_due ON backoffice_outbox (next_at) WHERE status = 'pending';
CREATE INDEX backoffice_outbox_status ON backoffice_outbox (status, created_at);
