-- The tenant hub's tables. Instants are unix milliseconds; ids are uuid text.

-- Workspaces. `revision` is bumped by every membership change: the first write of each
-- transaction, so changes to one tenant are serialized (last-owner rule) on both backends.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    revision BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL
);

-- Who belongs to which tenant, with one role each.
CREATE TABLE memberships (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

-- Invitations; the token is shown once and kept only as its SHA-256.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    accepted_at_ms BIGINT,
    accepted_by TEXT,
    revoked_at_ms BIGINT
);
CREATE INDEX invitations_by_tenant ON invitations (tenant_id);
