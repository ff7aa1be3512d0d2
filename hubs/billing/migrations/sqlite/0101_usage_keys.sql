-- What was counted under a caller's key (e.g. `message:<id>`), so that counting again under the
-- same key (a retry after a crash) counts nothing, and giving it back gives back exactly that
-- amount, once. A key is kept for the period it was counted in and the next; older ones are
-- removed when a counter's next period begins. The key is the table (WITHOUT ROWID): one b-tree
-- less to write per count.
CREATE TABLE usage_keys (
    tenant_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    key TEXT NOT NULL,
    period_start_ms BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, metric, key)
) WITHOUT ROWID;
CREATE INDEX usage_keys_by_period ON usage_keys (tenant_id, metric, period_start_ms);
