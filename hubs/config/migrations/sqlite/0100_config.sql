-- The config hub's settings. Values are JSON text; secrets are sealed bytes (ChaCha20-Poly1305,
-- see src/seal.rs) and never stored in clear. Instants are unix milliseconds; ids are uuid text.
-- `scope` is `global`, `tenant:<id>` or `installation:<tenant id>:<installation id>`.

-- The hub's one change counter. Every write increments it first, in its transaction: that takes
-- the write lock at once (SQLite) or the row lock (PostgreSQL), so writes are serialized and
-- versions commit in order without gaps — a watcher replaying `version > n` misses nothing.
CREATE TABLE config_counter (
    id INTEGER PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO config_counter (id, version) VALUES (1, 0);

-- What is set now, per scope and key. A row whose `value` and `sealed` are both NULL was unset;
-- it stays so its `version` answers optimistic-concurrency checks.
CREATE TABLE config_values (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    tenant_id TEXT,
    installation_id TEXT,
    value TEXT,
    sealed BLOB,
    version BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Every change (set, unset, rollback), append-only, by version.
CREATE TABLE config_changes (
    version BIGINT PRIMARY KEY,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    tenant_id TEXT,
    installation_id TEXT,
    action TEXT NOT NULL,
    value TEXT,
    sealed BLOB,
    previous TEXT,
    previous_sealed BLOB,
    rolled_back_to BIGINT,
    actor TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX config_changes_by_setting ON config_changes (scope, key, version);
