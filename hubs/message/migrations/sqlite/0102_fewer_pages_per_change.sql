-- Fewer pages written per message: each commit writes every page it changed to the WAL, and the
-- message flow commits several times per message.
--
-- 1. Only the dead-letter list reads messages by tenant and status. An index of every message
--    by (tenant, status) changed twice with every status change; dead messages alone are
--    indexed now.
-- 2. `seq` without AUTOINCREMENT, on `messages` and `message_status`: AUTOINCREMENT rewrote
--    `sqlite_sequence` with every insert only to keep a deleted newest seq from coming back,
--    and rows of these tables are never deleted. New rows still get the largest seq plus one,
--    so the order is the same. SQLite cannot drop AUTOINCREMENT in place: both tables are
--    rebuilt with their rows, seqs kept.
CREATE TABLE messages_next (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    installation_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    channel_id TEXT,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT,
    last_error TEXT,
    progress TEXT NOT NULL DEFAULT '{}',
    reply_to TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
INSERT INTO messages_next (seq, id, tenant_id, conversation_id, installation_id, direction,
    channel_id, author, body, status, attempts, next_attempt_at_ms, last_error, progress,
    reply_to, created_at_ms, updated_at_ms)
SELECT seq, id, tenant_id, conversation_id, installation_id, direction, channel_id, author, body,
    status, attempts, next_attempt_at_ms, last_error, progress, reply_to, created_at_ms,
    updated_at_ms
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_next RENAME TO messages;
CREATE UNIQUE INDEX messages_inbound_once ON messages (installation_id, channel_id) WHERE direction = 'in';
CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
CREATE INDEX messages_pending ON messages (conversation_id, seq)
    WHERE status IN ('received', 'queued', 'retrying');
CREATE INDEX messages_dead ON messages (tenant_id, seq) WHERE status = 'dead';

CREATE TABLE message_status_next (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT,
    at_ms BIGINT NOT NULL
);
INSERT INTO message_status_next (seq, message_id, status, detail, at_ms)
SELECT seq, message_id, status, detail, at_ms FROM message_status;
DROP TABLE message_status;
ALTER TABLE message_status_next RENAME TO message_status;
CREATE INDEX message_status_by_message ON message_status (message_id, seq);
