-- Roles and personal API tokens (issue 15). Accounts made before roles existed could do
-- everything: they become administrators. A token is stored as the SHA-256 of its value only.
ALTER TABLE admins ADD COLUMN role TEXT NOT NULL DEFAULT 'administrator'
    CHECK (role IN ('administrator', 'operator', 'helpdesk', 'auditor'));

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('administrator', 'operator', 'helpdesk', 'auditor')),
    owner        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL CHECK (expires_at > created_at),
    revoked_at   BIGINT,
    last_used_at BIGINT
);
