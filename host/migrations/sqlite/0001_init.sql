-- The host's own tables: the plugin registry, installations, their kv stores and inbound events.

CREATE TABLE plugin_versions (
    name        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    digest      TEXT    NOT NULL UNIQUE,
    manifest    TEXT    NOT NULL,          -- describe() as JSON
    size        INTEGER NOT NULL,
    wasm        BLOB    NOT NULL,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE installations (
    id             TEXT    PRIMARY KEY,
    tenant         TEXT    NOT NULL,
    plugin         TEXT    NOT NULL,
    version        TEXT    NOT NULL,
    settings       TEXT    NOT NULL,       -- JSON object; secret values sealed
    allowed_hosts  TEXT    NOT NULL,       -- JSON array of granted hosts
    deadline_ms    INTEGER,                -- NULL: the operator's default
    memory_mib     INTEGER,                -- NULL: the operator's default
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    FOREIGN KEY (plugin, version) REFERENCES plugin_versions (name, version)
);
CREATE INDEX installations_tenant ON installations (tenant);

CREATE TABLE kv (
    installation  TEXT NOT NULL,
    key           TEXT NOT NULL,
    value         BLOB NOT NULL,
    PRIMARY KEY (installation, key)
) WITHOUT ROWID;

CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    installation   TEXT    NOT NULL,
    tenant         TEXT    NOT NULL,
    channel_id     TEXT    NOT NULL,       -- the channel's own id, for de-duplication
    kind           TEXT    NOT NULL,
    payload        TEXT    NOT NULL,       -- JSON
    correlation_id TEXT    NOT NULL,
    received_at    TEXT    NOT NULL,
    UNIQUE (installation, channel_id)
);
