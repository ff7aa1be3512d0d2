-- The wallet hub's ledger. Amounts are integer minor units; instants are unix milliseconds;
-- ids are uuid text. `transactions` and `postings` are append-only; `balances` is their
-- projection, updated in the same database transaction as the postings.

-- One row per account (`tenant:<id>:available`, `tenant:<id>:held`, `platform:revenue`, ...).
-- Tenant accounts never go below zero: the stores decrement them with a guarded UPDATE, and this
-- CHECK is the last line of defence.
CREATE TABLE balances (
    account TEXT PRIMARY KEY,
    balance BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    CHECK (balance >= 0 OR account LIKE 'platform:%')
);

-- Every money movement. `seq` orders a tenant's transactions as they committed (its accounts are
-- locked before the row is inserted); the `*_after` columns are the tenant's balances right after.
CREATE TABLE transactions (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    memo TEXT NOT NULL,
    idempotency_key TEXT,
    hold_id TEXT,
    actor TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    available_change BIGINT NOT NULL,
    held_change BIGINT NOT NULL,
    available_after BIGINT NOT NULL,
    held_after BIGINT NOT NULL
);
CREATE INDEX transactions_by_tenant ON transactions (tenant_id, seq);

-- The legs of each transaction; those of one transaction sum to zero.
CREATE TABLE postings (
    transaction_id TEXT NOT NULL REFERENCES transactions (id),
    account TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (transaction_id, account)
);
CREATE INDEX postings_by_account ON postings (account);

-- Reservations of available money; settled (captured, released, expired) exactly once.
CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    captured BIGINT,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT,
    settled_at_ms BIGINT
);
CREATE INDEX holds_to_expire ON holds (status, expires_at_ms);

-- Idempotency keys per scope (a tenant id, or `platform`): the operation, a hash of the request
-- and what it produced, so a replay returns the original result.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    operation TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    transaction_id TEXT,
    hold_id TEXT,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
