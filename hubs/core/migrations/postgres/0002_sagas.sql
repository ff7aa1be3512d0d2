-- Sagas in flight and done (see nave_hub_core::saga): the persisted progress that lets a
-- process killed mid-saga finish or compensate it after a restart.
CREATE TABLE hub_sagas (
    id             TEXT    PRIMARY KEY,
    kind           TEXT    NOT NULL,
    tenant_id      TEXT,
    state          TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    next_step      BIGINT  NOT NULL,
    failed_step    BIGINT,
    error          TEXT,
    correlation_id TEXT    NOT NULL,
    created_at_ms  BIGINT  NOT NULL,
    updated_at_ms  BIGINT  NOT NULL
);
CREATE INDEX hub_sagas_open ON hub_sagas (kind, status);
