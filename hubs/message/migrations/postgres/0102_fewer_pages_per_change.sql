-- Only the dead-letter list reads messages by tenant and status. An index of every message by
-- (tenant, status) changed twice with every status change; dead messages alone are indexed now.
-- (The SQLite file also drops AUTOINCREMENT; PostgreSQL's identity columns have no such cost.)
DROP INDEX messages_by_tenant_status;
CREATE INDEX messages_dead ON messages (tenant_id, seq) WHERE status = 'dead';
