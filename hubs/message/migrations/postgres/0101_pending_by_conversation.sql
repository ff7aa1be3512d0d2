-- A worker asks for the oldest pending message of one conversation. Indexed by status first, that
-- read walked every message the conversation ever had; indexed by conversation and order over the
-- pending ones only, it reads one entry.
DROP INDEX messages_pending;
CREATE INDEX messages_pending ON messages (conversation_id, seq)
    WHERE status IN ('received', 'queued', 'retrying');
