-- Session retention (issue 17, docs/retention.md). A session that carried nothing (started and
-- ended in one exchange, no command, no warning) leaves a compact row in idle_sessions instead
-- of a sessions row with both messages; what decided its context is stored once per distinct
-- value in session_evidence and referred to by a 63-bit hash of it.

CREATE TABLE session_evidence (
    id        BIGINT PRIMARY KEY,
    context   TEXT NOT NULL,
    reason    TEXT NOT NULL,
    evidence  TEXT NOT NULL
);

-- Keyed by day first (started_at / 86400000): retention deletes whole days from the front of
-- the index, and a device's history is one seek per day. No foreign key (devices are retired,
-- never deleted; the check would cost an index probe per insert).
CREATE TABLE idle_sessions (
    day          INTEGER NOT NULL,
    device_id    TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    session_id   TEXT NOT NULL,
    evidence_id  BIGINT NOT NULL,
    PRIMARY KEY (day, device_id, started_at)
);

-- A device under investigation keeps every session's messages until this time (unix ms).
ALTER TABLE devices ADD COLUMN record_sessions_until BIGINT;
