-- A message's status history moves into its own row, as JSON lines (one status change a line,
-- oldest first), appended by the same statement that changes the status.
--
-- A `message_status` row per change, with its index, wrote two more B-trees (two more pages to
-- the WAL) with every change, in a separate statement, while the message's own row was
-- rewritten anyway. The history is read only whole, for one message.
ALTER TABLE messages ADD COLUMN history TEXT NOT NULL DEFAULT '';
UPDATE messages SET history = COALESCE((
    SELECT group_concat(
        json_object('status', s.status, 'detail', s.detail, 'at_ms', s.at_ms) || char(10),
        '' ORDER BY s.seq)
    FROM message_status s WHERE s.message_id = messages.id), '');
DROP TABLE message_status;
