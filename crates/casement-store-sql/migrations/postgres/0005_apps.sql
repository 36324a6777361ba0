-- The app catalog and install requests. An install's status is derived from its commands and
-- pushes when read.
CREATE TABLE apps (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    payloads    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE installs (
    id          TEXT PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(id),
    device_id   TEXT NOT NULL REFERENCES devices(id),
    command_ids TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX installs_by_device ON installs(device_id, created_at);
