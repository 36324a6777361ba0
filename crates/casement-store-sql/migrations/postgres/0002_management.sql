-- The command queue, management sessions and their messages, inventory, the audit log.
ALTER TABLE devices ADD COLUMN last_session_at BIGINT;
ALTER TABLE devices ADD COLUMN last_context TEXT;
ALTER TABLE devices ADD COLUMN devinfo TEXT;

CREATE TABLE commands (
    id             TEXT PRIMARY KEY,
    device_id      TEXT NOT NULL REFERENCES devices(id),
    kind           TEXT NOT NULL,
    class          TEXT NOT NULL CHECK (class IN ('inventory', 'password-reset', 'unenrollment', 'push-configuration', 'app-management', 'settings')),
    label          TEXT NOT NULL,
    payload        TEXT NOT NULL,
    secret         BIGINT NOT NULL DEFAULT 0,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'done', 'failed', 'expired', 'cancelled')),
    status_code    BIGINT,
    original_error TEXT,
    results        TEXT,
    attempts       BIGINT NOT NULL DEFAULT 0,
    max_attempts   BIGINT NOT NULL DEFAULT 10,
    session_row    TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    expires_at     BIGINT,
    created_by     TEXT NOT NULL
);
CREATE INDEX commands_by_device_state ON commands(device_id, state, created_at);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    device_id      TEXT NOT NULL REFERENCES devices(id),
    session_id     TEXT NOT NULL,
    context        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    evidence       TEXT NOT NULL,
    started_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    ended_at       BIGINT,
    outcome        TEXT,
    core_state     TEXT,
    version        BIGINT NOT NULL,
    message_count  BIGINT NOT NULL DEFAULT 0,
    commands_sent  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_device ON sessions(device_id, started_at);
CREATE UNIQUE INDEX one_active_session_per_device ON sessions(device_id) WHERE ended_at IS NULL;

CREATE TABLE session_messages (
    session_row TEXT NOT NULL REFERENCES sessions(id),
    seq         BIGINT NOT NULL,
    direction   TEXT NOT NULL CHECK (direction IN ('device', 'server')),
    body        TEXT NOT NULL,
    truncated   BIGINT NOT NULL DEFAULT 0,
    at          BIGINT NOT NULL,
    PRIMARY KEY (session_row, seq)
);

CREATE TABLE session_commands (
    session_row TEXT NOT NULL REFERENCES sessions(id),
    command_id  TEXT NOT NULL REFERENCES commands(id),
    msg_id      BIGINT NOT NULL,
    cmd_id      BIGINT NOT NULL,
    PRIMARY KEY (session_row, command_id, msg_id)
);

CREATE TABLE inventory (
    device_id  TEXT NOT NULL REFERENCES devices(id),
    loc_uri    TEXT NOT NULL,
    value      TEXT,
    format     TEXT,
    read_at    BIGINT NOT NULL,
    PRIMARY KEY (device_id, loc_uri)
);

CREATE TABLE audit_log (
    id      TEXT PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit_log(at);
