-- Configuration profiles (issue 14, docs/profiles.md): profiles, device groups, assignments
-- and each device × profile's state. Times are unix milliseconds.

-- User-scoped settings (./User/... nodes) are a command class of their own.
INSERT INTO command_classes (name) VALUES ('user-settings');

CREATE TABLE profiles (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    name_lower    TEXT NOT NULL,
    description   TEXT NOT NULL,
    platforms     TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('device', 'user')),
    settings      TEXT NOT NULL,
    source_syncml TEXT,
    revision      BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    deleted_at    BIGINT
);
CREATE UNIQUE INDEX profiles_by_name ON profiles(name_lower) WHERE deleted_at IS NULL;

CREATE TABLE device_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_lower  TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    members     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
INSERT INTO device_groups (id, name, name_lower, description, members, created_at)
VALUES ('all-devices', 'All devices', 'all devices', 'Every enrolled device (built in)', '{"kind":"all"}', 0);

CREATE TABLE profile_assignments (
    profile_id  TEXT NOT NULL REFERENCES profiles(id),
    group_id    TEXT NOT NULL REFERENCES device_groups(id),
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (profile_id, group_id)
);
CREATE INDEX profile_assignments_by_group ON profile_assignments(group_id);

CREATE TABLE device_profiles (
    device_id     TEXT NOT NULL REFERENCES devices(id),
    profile_id    TEXT NOT NULL REFERENCES profiles(id),
    revision      BIGINT NOT NULL,
    assigned      BIGINT NOT NULL,
    status        TEXT NOT NULL,
    nodes         TEXT NOT NULL,
    due_at        BIGINT,
    drift_count   BIGINT NOT NULL,
    last_drift_at BIGINT,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (device_id, profile_id)
);
-- A check-in's one read: the device's rows due now.
CREATE INDEX device_profiles_due ON device_profiles(device_id, due_at);
-- Counts by status per profile.
CREATE INDEX device_profiles_by_profile ON device_profiles(profile_id, status);
