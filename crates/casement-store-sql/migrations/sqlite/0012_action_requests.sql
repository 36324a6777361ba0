-- Device actions waiting for a second administrator's approval (issue 15 part 1, config
-- `wipe_approval`). The commands table is not touched: a request becomes commands only when
-- it is approved.
CREATE TABLE action_requests (
    id           TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL REFERENCES devices(id),
    action       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    decided_by   TEXT,
    decided_at   BIGINT,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected'))
);
CREATE INDEX action_requests_by_time ON action_requests (requested_at);
