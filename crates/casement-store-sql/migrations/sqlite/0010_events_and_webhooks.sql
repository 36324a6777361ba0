-- Events out (issue 15): the event log read with a cursor (seq), webhook endpoints, and the
-- durable delivery outbox (claimed with a lease like push_outbox) with its attempt log.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    at         BIGINT NOT NULL,
    device_id  TEXT,
    subject    TEXT,
    data       TEXT NOT NULL,
    dedupe_key TEXT UNIQUE
);

CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL CHECK (url LIKE 'https://%'),
    secret     TEXT NOT NULL,
    -- ',kind,kind,' or '' for every kind (matched with LIKE '%,kind,%').
    kinds      TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id),
    event_seq       BIGINT NOT NULL REFERENCES events(seq),
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (webhook_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id, created_at);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
    webhook_id  TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status      BIGINT,
    error       TEXT
);
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts(webhook_id, at);
