-- The bytes (keys and values) each installation's kv store holds, kept with every write, so
-- the quota check reads one row instead of summing the whole store.
CREATE TABLE kv_usage (
    installation  TEXT PRIMARY KEY,
    bytes         INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO kv_usage (installation, bytes)
SELECT installation, SUM(length(CAST(key AS BLOB)) + length(value)) FROM kv GROUP BY installation;
