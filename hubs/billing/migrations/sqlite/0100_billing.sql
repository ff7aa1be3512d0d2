-- The billing hub's tables. Instants are unix milliseconds; ids are uuid text; counters BIGINT.
-- Plans and tenant plans are replaced wholesale by each snapshot import; usage survives imports.

-- One row (id = 1): the digest of the snapshot in force. `revision` is bumped first by every
-- import, so imports are serialized on both backends (the first write takes the lock).
CREATE TABLE billing_state (
    id BIGINT PRIMARY KEY,
    revision BIGINT NOT NULL DEFAULT 0,
    digest TEXT,
    imported_at_ms BIGINT
);
INSERT INTO billing_state (id, revision) VALUES (1, 0);

-- Plans as imported. NULL limits mean unlimited; `apps` is JSON: "all" or a list of app names.
CREATE TABLE plans (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    messages_per_period BIGINT,
    installations BIGINT,
    apps TEXT NOT NULL
);

-- Each tenant's plan and the day of month (1-28) its periods start on.
CREATE TABLE tenant_plans (
    tenant_id TEXT PRIMARY KEY,
    plan_code TEXT NOT NULL REFERENCES plans (code),
    anchor_day BIGINT NOT NULL
);

-- Usage counters per tenant, metric and period (`period_start_ms`; 0 for gauges that carry over,
-- such as installations). Not tied to tenant_plans: counters outlive plan changes.
CREATE TABLE usage_counters (
    tenant_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    period_start_ms BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, metric, period_start_ms)
);
