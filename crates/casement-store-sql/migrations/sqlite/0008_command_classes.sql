-- no-transaction
-- Command classes are rows of a lookup table, not a CHECK list: a new class is one migration
-- that inserts its name (docs/architecture.md, "Adding a command class"). The names are
-- casement_dm::CommandClass::as_str; a test checks that every class of the enum is here.
--
-- SQLite cannot drop a CHECK constraint, so `commands` is rebuilt this once, following
-- SQLite's documented procedure for other kinds of table schema changes ("ALTER TABLE",
-- section 7): foreign keys off outside the transaction, new table, copy, drop, rename,
-- indexes, foreign_key_check, commit. Hence `no-transaction` (a PRAGMA foreign_keys inside a
-- transaction is a no-op). Written so that running it again after a crash before sqlx records
-- it is harmless.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE IF NOT EXISTS command_classes (
    name TEXT PRIMARY KEY
);
INSERT OR IGNORE INTO command_classes (name) VALUES
    ('inventory'), ('password-reset'), ('unenrollment'), ('push-configuration'),
    ('app-management'), ('settings');

DROP TABLE IF EXISTS commands_rebuilt;
CREATE TABLE commands_rebuilt (
    id             TEXT PRIMARY KEY,
    device_id      TEXT NOT NULL REFERENCES devices(id),
    kind           TEXT NOT NULL,
    class          TEXT NOT NULL REFERENCES command_classes(name),
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
INSERT INTO commands_rebuilt
    (id, device_id, kind, class, label, payload, secret, state, status_code, original_error,
     results, attempts, max_attempts, session_row, created_at, updated_at, expires_at, created_by)
SELECT id, device_id, kind, class, label, payload, secret, state, status_code, original_error,
       results, attempts, max_attempts, session_row, created_at, updated_at, expires_at, created_by
FROM commands;
DROP TABLE commands;
ALTER TABLE commands_rebuilt RENAME TO commands;
CREATE INDEX commands_by_device_state ON commands(device_id, state, created_at);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
