-- How far the message hub has been fed from the inbox (`events.seq`). Starts at the events
-- already stored, so an upgraded host does not answer old messages.
CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
);
INSERT INTO cursors (name, seq) SELECT 'inbox', COALESCE(MAX(seq), 0) FROM events;
