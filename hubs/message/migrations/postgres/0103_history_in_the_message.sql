-- A message's status history moves into its own row, as JSON lines (one status change a line,
-- oldest first), appended by the same statement that changes the status.
--
-- A `message_status` row per change, with its index, wrote two more B-trees with every change,
-- in a separate statement, while the message's own row was rewritten anyway. The history is
-- read only whole, for one message.
ALTER TABLE messages ADD COLUMN history TEXT NOT NULL DEFAULT '';
UPDATE messages SET history = lines.history
FROM (
    SELECT message_id, string_agg(
        json_build_object('status', status, 'detail', detail, 'at_ms', at_ms)::text || E'\n',
        '' ORDER BY seq) AS history
    FROM message_status GROUP BY message_id
) AS lines
WHERE lines.message_id = messages.id;
DROP TABLE message_status;
