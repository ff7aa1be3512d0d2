-- The message hub's tables. Instants are unix milliseconds; ids are uuid text.
-- The same file exists for PostgreSQL; only the identity columns differ.

-- One conversation per channel installation and channel conversation id (for Messenger: page and
-- PSID). `mode` is `bot` (the bot answers), `waiting` (handed off, no agent yet) or `human`
-- (`assignee` answers; the bot is skipped).
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    installation_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    channel_conversation TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    contact_id TEXT,
    mode TEXT NOT NULL DEFAULT 'bot',
    assignee TEXT,
    messages BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    last_message_at_ms BIGINT NOT NULL,
    UNIQUE (installation_id, channel_conversation)
);
CREATE INDEX conversations_by_tenant ON conversations (tenant_id, last_message_at_ms);

-- Messages in and out. `seq` orders them (per conversation: the order of work and delivery).
-- In: `received` → `processed` | `refused` | `retrying` → ... | `dead`.
-- Out: `queued` → `delivered` | `retrying` → ... | `dead`.
-- `channel_id` is the channel's id of an inbound message (unique per installation: a
-- re-delivered webhook is one message) and the ids the channel gave a delivered reply.
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE UNIQUE INDEX messages_inbound_once ON messages (installation_id, channel_id) WHERE direction = 'in';
CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
CREATE INDEX messages_pending ON messages (status, conversation_id) WHERE status IN ('received', 'queued', 'retrying');
CREATE INDEX messages_by_tenant_status ON messages (tenant_id, status, seq);

-- Every status a message went through, in order.
CREATE TABLE message_status (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX message_status_by_message ON message_status (message_id, seq);

-- Each tenant's routing rules, an ordered JSON list, replaced as a whole with a version.
CREATE TABLE routing_rules (
    tenant_id TEXT PRIMARY KEY,
    rules TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
