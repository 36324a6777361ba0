-- Pushes to send through WNS: durable, claimed with a lease (so a crashed sender's claim
-- expires and another node takes it), retried with backoff.
CREATE TABLE push_outbox (
    id              TEXT PRIMARY KEY,
    device_id       TEXT NOT NULL REFERENCES devices(id),
    reason          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,
    last_outcome    TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX push_outbox_due ON push_outbox(state, next_attempt_at);
CREATE INDEX push_outbox_by_device ON push_outbox(device_id, state);
