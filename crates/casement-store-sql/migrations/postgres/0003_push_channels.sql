-- Each device's WNS push channel as last reported, and the state the server derived.
CREATE TABLE push_channels (
    device_id   TEXT PRIMARY KEY REFERENCES devices(id),
    state       TEXT NOT NULL CHECK (state IN ('unconfigured', 'configuring', 'active', 'expiring', 'revoked', 'failed')),
    uri         TEXT,
    expires_at  BIGINT,
    status      TEXT,
    last_error  TEXT,
    reason      TEXT,
    updated_at  BIGINT NOT NULL
);
