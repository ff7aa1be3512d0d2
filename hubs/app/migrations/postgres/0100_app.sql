-- The app hub's tables. Instants are unix milliseconds; ids are uuid text; flags are 0/1 BIGINT
-- so one SQL text serves SQLite and PostgreSQL.

-- The catalogue: one listing per app. `scope` is '' for a public listing and the owner tenant's
-- id for a private one, so a name is unique per scope; that a private name may not shadow a
-- public one (and the reverse) is checked in the same transaction as the insert.
CREATE TABLE listings (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    owner_tenant_id TEXT,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    publisher TEXT NOT NULL,
    role TEXT NOT NULL,
    icon_url TEXT,
    fee_amount BIGINT NOT NULL,
    fee_currency TEXT NOT NULL,
    unlisted BIGINT NOT NULL DEFAULT 0,
    latest_version TEXT,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (name, scope)
);
CREATE INDEX listings_by_name ON listings (name);

-- Every uploaded version of a listing's spoke, as the host recorded it.
CREATE TABLE versions (
    listing_id TEXT NOT NULL REFERENCES listings (id),
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    role TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at_ms BIGINT NOT NULL,
    PRIMARY KEY (listing_id, version)
);

-- Tenants' subscriptions (their installations of apps). The id is the id of the saga run that
-- created it, so a step replayed after a crash finds its row.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    listing_id TEXT NOT NULL REFERENCES listings (id),
    app_name TEXT NOT NULL,
    version TEXT NOT NULL,
    previous_version TEXT,
    status TEXT NOT NULL,
    fee_amount BIGINT NOT NULL,
    fee_currency TEXT NOT NULL,
    hold_id TEXT,
    fee_captured BIGINT NOT NULL DEFAULT 0,
    installation_id TEXT,
    failure TEXT,
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX subscriptions_by_tenant ON subscriptions (tenant_id, created_at_ms);
