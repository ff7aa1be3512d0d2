-- Identity hub tables. Instants are unix milliseconds (BIGINT), ids are uuid text: the same
-- column semantics as the SQLite migration, so the store's SQL serves both.

CREATE TABLE users (
    id                  TEXT    PRIMARY KEY,
    email               TEXT    NOT NULL UNIQUE,
    password_hash       TEXT    NOT NULL,
    platform_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    totp_secret         TEXT,
    totp_pending_secret TEXT,
    totp_enabled_at_ms  BIGINT,
    totp_last_step      BIGINT,
    created_at_ms       BIGINT  NOT NULL
);

-- A session is one refresh-token family: every rotation stays in it, revocation ends all of it.
CREATE TABLE sessions (
    id             TEXT   PRIMARY KEY,
    user_id        TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at_ms  BIGINT NOT NULL,
    revoked_at_ms  BIGINT,
    revoke_reason  TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    id             TEXT   PRIMARY KEY,
    session_id     TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash     TEXT   NOT NULL UNIQUE,
    created_at_ms  BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    used_at_ms     BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Ed25519 signing keys; the newest unretired one signs, retired ones verify until their tokens expire.
CREATE TABLE signing_keys (
    kid             TEXT   PRIMARY KEY,
    private_key_der BYTEA  NOT NULL,
    public_key      BYTEA  NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    retired_at_ms   BIGINT
);

CREATE TABLE api_keys (
    id             TEXT   PRIMARY KEY,
    key_hash       TEXT   NOT NULL UNIQUE,
    prefix         TEXT   NOT NULL,
    name           TEXT   NOT NULL,
    tenant_id      TEXT   NOT NULL,
    role           TEXT   NOT NULL,
    created_by     TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    revoked_at_ms  BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- Login failures per throttle key (`account:<email>` or `source:<ip>`).
CREATE TABLE login_throttle (
    throttle_key    TEXT   PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_ms BIGINT NOT NULL,
    locked_until_ms BIGINT
);
