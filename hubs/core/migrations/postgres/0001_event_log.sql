-- The hub's append-only event log (see nave_hub_core::events). Versions below 100 belong to
-- nave-hub-core; each hub's own migrations start at 100.
CREATE TABLE hub_events (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT   NOT NULL UNIQUE,
    tenant_id      TEXT,
    actor          TEXT   NOT NULL,
    kind           TEXT   NOT NULL,
    payload        TEXT   NOT NULL,
    correlation_id TEXT   NOT NULL,
    at_ms          BIGINT NOT NULL
);
CREATE INDEX hub_events_tenant_seq ON hub_events (tenant_id, seq);
