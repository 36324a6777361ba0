-- The web portal and console: administrator accounts, signed-in browser sessions (only the
-- SHA-256 of the cookie is stored), failed sign-ins for rate limiting, and indexes for the
-- console's device list and the dashboard's sessions-per-context chart.
CREATE TABLE admins (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    username_lower TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('portal', 'console')),
    subject_id  TEXT NOT NULL,
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL CHECK (expires_at > created_at)
);
CREATE INDEX web_sessions_by_expiry ON web_sessions(expires_at);

CREATE TABLE login_failures (
    login_key TEXT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures(login_key, at);

CREATE INDEX sessions_by_start ON sessions(started_at);
CREATE INDEX devices_by_last_session ON devices(last_session_at);
