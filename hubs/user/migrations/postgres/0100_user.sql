-- The user hub's tables. Instants are unix milliseconds; ids are uuid text.

-- Platform users' profiles, keyed by the identity hub's user id; created on first read or write.
-- `revision` is bumped first by every change, which locks the row on PostgreSQL and takes
-- SQLite's write lock, so read-modify-write changes (preference merges) never lose an update.
CREATE TABLE profiles (
    user_id TEXT PRIMARY KEY,
    display_name TEXT,
    avatar_url TEXT,
    locale TEXT,
    time_zone TEXT,
    preferences TEXT NOT NULL DEFAULT '{}',
    revision BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- End-customers who write in through channels, one row per person per tenant.
-- `revision` plays the same role as in `profiles`.
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT,
    first_name TEXT,
    last_name TEXT,
    picture_url TEXT,
    locale TEXT,
    time_zone TEXT,
    email TEXT,
    phone TEXT,
    messages_in BIGINT NOT NULL DEFAULT 0,
    messages_out BIGINT NOT NULL DEFAULT 0,
    first_seen_at_ms BIGINT,
    last_seen_at_ms BIGINT,
    revision BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX contacts_by_tenant ON contacts (tenant_id, id);

-- How a contact is known on each channel installation (e.g. a Facebook page-scoped id).
-- One channel user of one installation is one contact: the unique key makes concurrent
-- first messages resolve to the same contact.
CREATE TABLE contact_identities (
    tenant_id TEXT NOT NULL,
    installation_id TEXT NOT NULL,
    channel_user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, installation_id, channel_user_id)
);
CREATE INDEX contact_identities_by_contact ON contact_identities (contact_id);
