-- +goose Up
-- Each event sink's position in each tenant's audit chain (events.Store,
-- L2): the chain is the outbox, so a change writes nothing here; the
-- stream that delivers the chain to a sink moves the position on as the
-- sink acknowledges, leasing a tenant's stream to one instance at a time
-- (holder, next_at). Tenant first, like every key of the library.
CREATE TABLE backoffice_event_streams (
    tenant_id    text NOT NULL,
    sink         text NOT NULL,
    delivered    bigint NOT NULL DEFAULT 0 CHECK (delivered >= 0),
    delivered_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL,
    holder       text NOT NULL DEFAULT '',
    dead         boolean NOT NULL DEFAULT false,
    last_error   text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, sink)
);
