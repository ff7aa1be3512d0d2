-- A hub with one table of its own, to test merging with the core migrations.
CREATE TABLE test_things (id TEXT PRIMARY KEY);
