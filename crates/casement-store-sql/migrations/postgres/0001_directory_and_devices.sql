-- Users, STS tokens, devices and their certificates. Times are unix milliseconds.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    upn           TEXT NOT NULL,
    upn_lower     TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sts_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT
);

CREATE TABLE devices (
    id                 TEXT PRIMARY KEY,
    platform           TEXT NOT NULL CHECK (platform IN ('windows-8.1', 'windows-10')),
    user_id            TEXT NOT NULL REFERENCES users(id),
    upn                TEXT NOT NULL,
    user_sid           TEXT,
    name               TEXT,
    enrollment_context TEXT NOT NULL,
    enrolled_at        BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    retired_at         BIGINT,
    retired_reason     TEXT
);
CREATE INDEX devices_by_user ON devices(user_id);

CREATE TABLE certificates (
    serial_hex  TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL REFERENCES devices(id),
    thumbprint  TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL CHECK (not_after > not_before),
    pem         TEXT NOT NULL,
    issued_at   BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX certificates_by_device ON certificates(device_id);
