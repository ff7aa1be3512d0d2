//! The message hub's tables, behind one [`MessageStore`] over [`Db`].
//!
//! Every query is written once for both backends and run through [`nave_hub_core::on_db!`].
//! The statement that changes a message's status also appends the change to the message's
//! `history` (JSON lines, oldest first), so a message's history is exactly the changes that
//! happened to it, and costs no write of its own.
//!
//! On SQLite, what runs for every message (ingest, the engine's reads, progress, outcomes,
//! deliveries) goes through a [`SqliteWriter`]: each operation is one hand-off to the
//! database thread, and the operations of many messages share a commit. The statements are
//! the same text on both paths (the constants below).

use nave_hub_core::db::{BeginWrite, HubMigrations};
use nave_hub_core::events::{AppendEvent, EventRecord, append_event_sync};
use nave_hub_core::writer::{SqliteWriter, execute, query_all, query_opt};
use nave_hub_core::{Db, DbConfig, Error, Result, on_db};
use uuid::Uuid;

use crate::types::{
    Conversation, ConversationFilter, ConversationMode, ConversationPage, Direction, Enrichment,
    MessageRecord, MessageStatus, Reply, RoutingRule, RoutingRules, StatusChange,
};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The message hub's migrations for both backends.
pub const MIGRATIONS: HubMigrations = HubMigrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

const CONVERSATION_COLS: &str = "id, tenant_id, installation_id, platform, channel_conversation, \
    sender, recipient, contact_id, mode, assignee, messages, created_at_ms, last_message_at_ms";

const MESSAGE_COLS: &str = "seq, id, tenant_id, conversation_id, installation_id, direction, \
    channel_id, author, body, status, attempts, next_attempt_at_ms, last_error, progress, \
    reply_to, created_at_ms, updated_at_ms";

/// Statuses that still have work to do.
const PENDING: &str = "('received', 'queued', 'retrying')";

#[derive(Debug, sqlx::FromRow)]
struct ConversationRow {
    id: String,
    tenant_id: String,
    installation_id: String,
    platform: String,
    channel_conversation: String,
    sender: String,
    recipient: String,
    contact_id: Option<String>,
    mode: String,
    assignee: Option<String>,
    messages: i64,
    created_at_ms: i64,
    last_message_at_ms: i64,
}

fn uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(Error::internal)
}

fn opt_uuid(text: Option<&str>) -> Result<Option<Uuid>> {
    text.map(uuid).transpose()
}

impl TryFrom<ConversationRow> for Conversation {
    type Error = Error;
    fn try_from(row: ConversationRow) -> Result<Conversation> {
        Ok(Conversation {
            id: uuid(&row.id)?,
            tenant_id: uuid(&row.tenant_id)?,
            installation_id: uuid(&row.installation_id)?,
            platform: row.platform,
            channel_conversation: row.channel_conversation,
            sender: row.sender,
            recipient: row.recipient,
            contact_id: opt_uuid(row.contact_id.as_deref())?,
            mode: ConversationMode::parse(&row.mode)
                .ok_or_else(|| Error::internal_msg(format!("stored mode `{}`", row.mode)))?,
            assignee: opt_uuid(row.assignee.as_deref())?,
            messages: row.messages,
            created_at_ms: row.created_at_ms,
            last_message_at_ms: row.last_message_at_ms,
        })
    }
}

/// A stored message as the engine works on it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    /// Order of arrival.
    pub seq: i64,
    /// The message id.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The conversation.
    pub conversation_id: String,
    /// The channel installation.
    pub installation_id: String,
    /// `in` or `out`.
    pub direction: String,
    /// The channel's id(s).
    pub channel_id: Option<String>,
    /// Who wrote it.
    pub author: String,
    /// JSON: a `ChannelMessage` (in) or a `Reply` (out).
    pub body: String,
    /// The status name.
    pub status: String,
    /// Failed attempts at the current step.
    pub attempts: i64,
    /// When to try again.
    pub next_attempt_at_ms: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// JSON [`Progress`]: what is done already, so a retry does not repeat it.
    pub progress: String,
    /// The message a reply answers.
    pub reply_to: Option<String>,
    /// Stored at.
    pub created_at_ms: i64,
    /// Changed at.
    pub updated_at_ms: i64,
}

/// How far the work on an inbound message got; saved on every retry so that finished steps
/// (the usage count, the wallet hold, each processor) are not done twice.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// The rule that matched, by position, when one did.
    #[serde(default)]
    pub rule: Option<usize>,
    /// The message was counted against the plan.
    #[serde(default)]
    pub counted: bool,
    /// The wallet hold of the message's cost.
    #[serde(default)]
    pub hold_id: Option<Uuid>,
    /// Processors that finished.
    #[serde(default)]
    pub processed_by: Vec<Uuid>,
    /// What processors added.
    #[serde(default)]
    pub enrichment: Enrichment,
    /// Processors that failed for good, with why.
    #[serde(default)]
    pub processor_errors: Vec<(Uuid, String)>,
}

impl MessageRow {
    /// The parsed status.
    pub fn status(&self) -> Result<MessageStatus> {
        MessageStatus::parse(&self.status)
            .ok_or_else(|| Error::internal_msg(format!("stored status `{}`", self.status)))
    }

    /// The parsed progress.
    pub fn progress(&self) -> Progress {
        serde_json::from_str(&self.progress).unwrap_or_default()
    }

    /// The public view.
    pub fn record(&self) -> Result<MessageRecord> {
        let direction = if self.direction == "in" {
            Direction::In
        } else {
            Direction::Out
        };
        let (inbound, outbound, enrichment) = match direction {
            Direction::In => {
                let progress = self.progress();
                let enrichment = (!progress.processed_by.is_empty()).then_some(progress.enrichment);
                (
                    Some(serde_json::from_str(&self.body).map_err(Error::internal)?),
                    None,
                    enrichment,
                )
            }
            Direction::Out => (
                None,
                Some(serde_json::from_str::<Reply>(&self.body).map_err(Error::internal)?),
                None,
            ),
        };
        Ok(MessageRecord {
            id: uuid(&self.id)?,
            seq: self.seq,
            conversation_id: uuid(&self.conversation_id)?,
            direction,
            channel_id: self.channel_id.clone(),
            author: self.author.clone(),
            inbound,
            outbound,
            status: self.status()?,
            attempts: self.attempts,
            next_attempt_at_ms: self.next_attempt_at_ms,
            last_error: self.last_error.clone(),
            enrichment,
            reply_to: opt_uuid(self.reply_to.as_deref())?,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
        })
    }
}

/// One inbound message to store.
#[derive(Debug, Clone)]
pub struct NewInbound {
    /// The new message's id (used only if it is new).
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The channel installation.
    pub installation_id: Uuid,
    /// The platform.
    pub platform: String,
    /// The channel's conversation id.
    pub channel_conversation: String,
    /// The person.
    pub sender: String,
    /// The business side.
    pub recipient: String,
    /// The channel's message id.
    pub channel_id: String,
    /// The message as JSON.
    pub body: String,
    /// When it was received.
    pub at_ms: i64,
}

/// One outbound message to queue.
#[derive(Debug, Clone)]
pub struct NewOutbound {
    /// Its id.
    pub id: Uuid,
    /// `bot:<installation>` or `agent:<user>`.
    pub author: String,
    /// The reply as JSON.
    pub body: String,
    /// The inbound message it answers.
    pub reply_to: Option<Uuid>,
}

/// The outcome of a step, to record on a message.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Done: `status` (processed, refused, delivered, dead), with the details.
    Settled {
        /// The final status.
        status: MessageStatus,
        /// Why, for the status history.
        detail: Option<String>,
        /// The failure, for refused and dead.
        error: Option<String>,
    },
    /// Failed in a way that may pass: try again at `at_ms`.
    Retry {
        /// When.
        at_ms: i64,
        /// Why.
        error: String,
    },
}

/// Typed access to the message hub's tables.
#[derive(Debug, Clone)]
pub struct MessageStore {
    db: Db,
    /// The hot paths, on SQLite.
    writer: Option<SqliteWriter>,
}

const INSERT_CONVERSATION: &str = "INSERT INTO conversations (id, tenant_id, installation_id, \
    platform, channel_conversation, sender, recipient, created_at_ms, last_message_at_ms) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
    ON CONFLICT (installation_id, channel_conversation) DO NOTHING RETURNING id";
const FIND_CONVERSATION: &str = "SELECT id FROM conversations \
    WHERE installation_id = $1 AND channel_conversation = $2";
const INSERT_INBOUND: &str = "INSERT INTO messages (id, tenant_id, conversation_id, \
    installation_id, direction, channel_id, author, body, status, created_at_ms, \
    updated_at_ms, history) VALUES ($1, $2, $3, $4, 'in', $5, 'contact', $6, 'received', $7, $7, \
    $8) ON CONFLICT (installation_id, channel_id) WHERE direction = 'in' DO NOTHING \
    RETURNING seq";
const BUMP_CONVERSATION: &str = "UPDATE conversations SET messages = messages + 1, \
    last_message_at_ms = CASE WHEN last_message_at_ms > $2 THEN last_message_at_ms ELSE $2 END \
    WHERE id = $1";
const SAVE_PROGRESS: &str = "UPDATE messages SET progress = $2, updated_at_ms = $3 WHERE id = $1";
const SETTLE: &str = "UPDATE messages SET status = $2, last_error = $3, next_attempt_at_ms = NULL, \
    progress = COALESCE($4, progress), updated_at_ms = $5, history = history || $6 WHERE id = $1";
const RETRY: &str = "UPDATE messages SET status = 'retrying', attempts = attempts + 1, \
    last_error = $2, next_attempt_at_ms = $3, \
    progress = COALESCE($4, progress), updated_at_ms = $5, history = history || $6 WHERE id = $1";
const INSERT_REPLY: &str = "INSERT INTO messages (id, tenant_id, conversation_id, installation_id, \
    direction, author, body, status, reply_to, created_at_ms, updated_at_ms, history) \
    VALUES ($1, $2, $3, $4, 'out', $5, $6, 'queued', $7, $8, $8, $9) RETURNING seq";
const AFTER_REPLIES: &str = "UPDATE conversations SET messages = messages + $2, \
    mode = COALESCE($3, mode), last_message_at_ms = $4 WHERE id = $1";
const DELIVERED: &str = "UPDATE messages SET status = 'delivered', channel_id = $2, \
    last_error = NULL, next_attempt_at_ms = NULL, updated_at_ms = $3, history = history || $4 \
    WHERE id = $1";
const SET_CONTACT: &str = "UPDATE conversations SET contact_id = $2 WHERE id = $1";

/// One line of a message's `history`: a [`StatusChange`] as JSON and a newline.
fn history_line(status: MessageStatus, detail: Option<&str>, at_ms: i64) -> String {
    let change = StatusChange {
        status,
        detail: detail.map(str::to_owned),
        at_ms,
    };
    let mut line = serde_json::to_string(&change).expect("a status change serializes");
    line.push('\n');
    line
}

/// A message's `history` column as its status changes, oldest first.
fn parse_history(history: &str) -> Result<Vec<StatusChange>> {
    history
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|e| {
                Error::internal_msg(format!("a stored status change does not parse: {e}"))
            })
        })
        .collect()
}

/// A `messages` row read on the writer's connection, columns in [`MESSAGE_COLS`] order.
fn message_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        seq: row.get(0)?,
        id: row.get(1)?,
        tenant_id: row.get(2)?,
        conversation_id: row.get(3)?,
        installation_id: row.get(4)?,
        direction: row.get(5)?,
        channel_id: row.get(6)?,
        author: row.get(7)?,
        body: row.get(8)?,
        status: row.get(9)?,
        attempts: row.get(10)?,
        next_attempt_at_ms: row.get(11)?,
        last_error: row.get(12)?,
        progress: row.get(13)?,
        reply_to: row.get(14)?,
        created_at_ms: row.get(15)?,
        updated_at_ms: row.get(16)?,
    })
}

/// A reply just queued, as the engine reads it.
fn queued_row(
    seq: i64,
    reply: &NewOutbound,
    tenant: &str,
    conversation: &str,
    installation: &str,
    now_ms: i64,
) -> MessageRow {
    MessageRow {
        seq,
        id: reply.id.to_string(),
        tenant_id: tenant.to_owned(),
        conversation_id: conversation.to_owned(),
        installation_id: installation.to_owned(),
        direction: "out".into(),
        channel_id: None,
        author: reply.author.clone(),
        body: reply.body.clone(),
        status: MessageStatus::Queued.as_str().into(),
        attempts: 0,
        next_attempt_at_ms: None,
        last_error: None,
        progress: "{}".into(),
        reply_to: reply.reply_to.map(|r| r.to_string()),
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    }
}

/// A `conversations` row read on the writer's connection, in [`CONVERSATION_COLS`] order.
fn conversation_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ConversationRow> {
    Ok(ConversationRow {
        id: row.get(0)?,
        tenant_id: row.get(1)?,
        installation_id: row.get(2)?,
        platform: row.get(3)?,
        channel_conversation: row.get(4)?,
        sender: row.get(5)?,
        recipient: row.get(6)?,
        contact_id: row.get(7)?,
        mode: row.get(8)?,
        assignee: row.get(9)?,
        messages: row.get(10)?,
        created_at_ms: row.get(11)?,
        last_message_at_ms: row.get(12)?,
    })
}

impl MessageStore {
    /// Connects to the hub's database and migrates it.
    pub async fn open(config: &DbConfig) -> Result<Self> {
        let db = Db::connect(config, MIGRATIONS).await?;
        let writer = SqliteWriter::for_hub(config, "message")?;
        Ok(Self { db, writer })
    }

    /// The underlying database (for the event log).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores inbound messages in one transaction, skipping those whose channel id the
    /// installation already has. Returns, per message, its conversation and whether it was new;
    /// `started` holds the events of conversations created here.
    pub async fn ingest(
        &self,
        batch: &[NewInbound],
        started: &(dyn Fn(&NewInbound, Uuid) -> EventRecord + Sync),
    ) -> Result<Vec<(Uuid, bool)>> {
        if let Some(writer) = &self.writer {
            // Each message with the id and event its conversation gets if it is new.
            let batch: Vec<(NewInbound, Uuid, EventRecord)> = batch
                .iter()
                .map(|m| {
                    let id = Uuid::now_v7();
                    (m.clone(), id, started(m, id))
                })
                .collect();
            return writer
                .run(move |conn| {
                    let mut out = Vec::with_capacity(batch.len());
                    for (m, new_id, event) in &batch {
                        let (tenant, installation) =
                            (m.tenant_id.to_string(), m.installation_id.to_string());
                        // Most messages are of a conversation that exists: look it up first.
                        let found = query_opt(
                            conn,
                            FIND_CONVERSATION,
                            &[&installation, &m.channel_conversation],
                            |row| row.get::<_, String>(0),
                        )?;
                        let created = if found.is_some() {
                            None
                        } else {
                            query_opt(
                                conn,
                                INSERT_CONVERSATION,
                                &[
                                    &new_id.to_string(),
                                    &tenant,
                                    &installation,
                                    &m.platform,
                                    &m.channel_conversation,
                                    &m.sender,
                                    &m.recipient,
                                    &m.at_ms,
                                ],
                                |row| row.get::<_, String>(0),
                            )?
                        };
                        let conversation = match (found, created) {
                            (Some(id), _) => id,
                            (None, Some(id)) => {
                                append_event_sync(conn, event)?;
                                id
                            }
                            (None, None) => {
                                return Err(Error::internal_msg("a conversation vanished"));
                            }
                        };
                        let inserted = query_opt(
                            conn,
                            INSERT_INBOUND,
                            &[
                                &m.id.to_string(),
                                &tenant,
                                &conversation,
                                &installation,
                                &m.channel_id,
                                &m.body,
                                &m.at_ms,
                                &history_line(MessageStatus::Received, None, m.at_ms),
                            ],
                            |row| row.get::<_, i64>(0),
                        )?;
                        if inserted.is_some() {
                            execute(conn, BUMP_CONVERSATION, &[&conversation, &m.at_ms])?;
                        }
                        out.push((uuid(&conversation)?, inserted.is_some()));
                    }
                    Ok(out)
                })
                .await;
        }
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            let mut out = Vec::with_capacity(batch.len());
            for m in batch {
                let new_id = Uuid::now_v7();
                let created: Option<String> = sqlx::query_scalar(INSERT_CONVERSATION)
                    .bind(new_id.to_string())
                    .bind(m.tenant_id.to_string())
                    .bind(m.installation_id.to_string())
                    .bind(&m.platform)
                    .bind(&m.channel_conversation)
                    .bind(&m.sender)
                    .bind(&m.recipient)
                    .bind(m.at_ms)
                    .fetch_optional(&mut *tx)
                    .await?;
                let conversation = match created {
                    Some(id) => {
                        tx.append_event(&started(m, new_id)).await?;
                        id
                    }
                    None => sqlx::query_scalar(FIND_CONVERSATION)
                        .bind(m.installation_id.to_string())
                        .bind(&m.channel_conversation)
                        .fetch_one(&mut *tx)
                        .await?,
                };
                let inserted: Option<i64> = sqlx::query_scalar(INSERT_INBOUND)
                    .bind(m.id.to_string())
                    .bind(m.tenant_id.to_string())
                    .bind(&conversation)
                    .bind(m.installation_id.to_string())
                    .bind(&m.channel_id)
                    .bind(&m.body)
                    .bind(m.at_ms)
                    .bind(history_line(MessageStatus::Received, None, m.at_ms))
                    .fetch_optional(&mut *tx)
                    .await?;
                if inserted.is_some() {
                    sqlx::query(BUMP_CONVERSATION).bind(&conversation).bind(m.at_ms).execute(&mut *tx).await?;
                }
                out.push((uuid(&conversation)?, inserted.is_some()));
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    /// A conversation as it is now, and its oldest messages that still have work to do, up to
    /// `limit`, in order.
    pub async fn pending(
        &self,
        conversation: Uuid,
        limit: u32,
    ) -> Result<(Option<Conversation>, Vec<MessageRow>)> {
        let rows_sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1 \
             AND status IN {PENDING} ORDER BY seq LIMIT $2"
        );
        let (id, limit) = (conversation.to_string(), i64::from(limit));
        if let Some(writer) = &self.writer {
            let conversation_sql =
                format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
            let (read, rows) = writer.read(|conn| {
                let read = query_opt(conn, &conversation_sql, &[&id], conversation_row)?;
                let rows = query_all(conn, &rows_sql, &[&id, &limit], message_row)?;
                Ok((read, rows))
            })?;
            return Ok((read.map(Conversation::try_from).transpose()?, rows));
        }
        let read = self.conversation(conversation).await?;
        let rows = on_db!(&self.db, pool => sqlx::query_as::<_, MessageRow>(&rows_sql)
            .bind(id).bind(limit).fetch_all(pool).await)?;
        Ok((read, rows))
    }

    /// Conversations with work left, for the start-up scan.
    pub async fn pending_conversations(&self) -> Result<Vec<Uuid>> {
        let sql =
            format!("SELECT DISTINCT conversation_id FROM messages WHERE status IN {PENDING}");
        let ids: Vec<String> =
            on_db!(&self.db, pool => sqlx::query_scalar(&sql).fetch_all(pool).await)?;
        ids.iter().map(|id| uuid(id)).collect()
    }

    /// Saves how far the work on a message got.
    pub async fn save_progress(
        &self,
        message: &str,
        progress: &Progress,
        now_ms: i64,
    ) -> Result<()> {
        let json = serde_json::to_string(progress).map_err(Error::internal)?;
        if let Some(writer) = &self.writer {
            let message = message.to_owned();
            return writer
                .run(move |conn| {
                    execute(conn, SAVE_PROGRESS, &[&message, &json, &now_ms]).map(|_| ())
                })
                .await;
        }
        on_db!(&self.db, pool => sqlx::query(SAVE_PROGRESS)
            .bind(message).bind(json).bind(now_ms).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Records a step's outcome on a message; for a processed inbound message also queues its
    /// replies and notes the conversation's new mode, all in one transaction. Returns the
    /// queued replies as stored.
    pub async fn settle(
        &self,
        message: &MessageRow,
        outcome: &Outcome,
        progress: Option<&Progress>,
        replies: &[NewOutbound],
        mode: Option<ConversationMode>,
        now_ms: i64,
    ) -> Result<Vec<MessageRow>> {
        let progress = progress
            .map(|p| serde_json::to_string(p).map_err(Error::internal))
            .transpose()?;
        // The outcome's line in the message's history, and each reply's first.
        let line = match outcome {
            Outcome::Settled {
                status,
                detail,
                error,
            } => history_line(*status, detail.as_deref().or(error.as_deref()), now_ms),
            Outcome::Retry { error, .. } => {
                history_line(MessageStatus::Retrying, Some(error), now_ms)
            }
        };
        let queued_line = history_line(MessageStatus::Queued, None, now_ms);
        if let Some(writer) = &self.writer {
            let (id, tenant, conversation, installation) = (
                message.id.clone(),
                message.tenant_id.clone(),
                message.conversation_id.clone(),
                message.installation_id.clone(),
            );
            let (outcome, replies) = (outcome.clone(), replies.to_vec());
            return writer
                .run(move |conn| {
                    match &outcome {
                        Outcome::Settled { status, error, .. } => {
                            execute(
                                conn,
                                SETTLE,
                                &[&id, &status.as_str(), error, &progress, &now_ms, &line],
                            )?;
                        }
                        Outcome::Retry { at_ms, error } => {
                            execute(conn, RETRY, &[&id, error, at_ms, &progress, &now_ms, &line])?;
                        }
                    }
                    let mut queued = Vec::with_capacity(replies.len());
                    for reply in &replies {
                        let seq = query_opt(
                            conn,
                            INSERT_REPLY,
                            &[
                                &reply.id.to_string(),
                                &tenant,
                                &conversation,
                                &installation,
                                &reply.author,
                                &reply.body,
                                &reply.reply_to.map(|r| r.to_string()),
                                &now_ms,
                                &queued_line,
                            ],
                            |row| row.get::<_, i64>(0),
                        )?
                        .ok_or_else(|| Error::internal_msg("storing a reply returned no seq"))?;
                        queued.push(queued_row(
                            seq,
                            reply,
                            &tenant,
                            &conversation,
                            &installation,
                            now_ms,
                        ));
                    }
                    if !replies.is_empty() || mode.is_some() {
                        execute(
                            conn,
                            AFTER_REPLIES,
                            &[
                                &conversation,
                                &(replies.len() as i64),
                                &mode.map(|m| m.as_str()),
                                &now_ms,
                            ],
                        )?;
                    }
                    Ok(queued)
                })
                .await;
        }
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            match outcome {
                Outcome::Settled { status, error, .. } => {
                    sqlx::query(SETTLE)
                        .bind(&message.id).bind(status.as_str()).bind(error).bind(&progress).bind(now_ms)
                        .bind(line)
                        .execute(&mut *tx).await?;
                }
                Outcome::Retry { at_ms, error } => {
                    sqlx::query(RETRY)
                        .bind(&message.id).bind(error).bind(at_ms).bind(&progress).bind(now_ms)
                        .bind(line)
                        .execute(&mut *tx).await?;
                }
            }
            let mut queued = Vec::with_capacity(replies.len());
            for reply in replies {
                let seq: i64 = sqlx::query_scalar(INSERT_REPLY)
                    .bind(reply.id.to_string()).bind(&message.tenant_id)
                    .bind(&message.conversation_id).bind(&message.installation_id)
                    .bind(&reply.author).bind(&reply.body)
                    .bind(reply.reply_to.map(|r| r.to_string())).bind(now_ms).bind(&queued_line)
                    .fetch_one(&mut *tx).await?;
                queued.push(queued_row(
                    seq, reply, &message.tenant_id, &message.conversation_id,
                    &message.installation_id, now_ms,
                ));
            }
            if !replies.is_empty() || mode.is_some() {
                sqlx::query(AFTER_REPLIES)
                    .bind(&message.conversation_id).bind(replies.len() as i64)
                    .bind(mode.map(|m| m.as_str())).bind(now_ms)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, Error>(queued)
        })
    }

    /// Marks a reply delivered with the ids the channel gave it.
    pub async fn delivered(
        &self,
        message: &MessageRow,
        channel_ids: &[String],
        now_ms: i64,
    ) -> Result<()> {
        let ids = channel_ids.join(",");
        let line = history_line(MessageStatus::Delivered, Some(&ids), now_ms);
        if let Some(writer) = &self.writer {
            let id = message.id.clone();
            return writer
                .run(move |conn| execute(conn, DELIVERED, &[&id, &ids, &now_ms, &line]).map(|_| ()))
                .await;
        }
        on_db!(&self.db, pool => sqlx::query(DELIVERED)
            .bind(&message.id).bind(&ids).bind(now_ms).bind(&line)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Queues an agent's message on a conversation.
    pub async fn queue_agent_message(
        &self,
        conversation: &Conversation,
        reply: &NewOutbound,
        now_ms: i64,
    ) -> Result<()> {
        let insert = "INSERT INTO messages (id, tenant_id, conversation_id, installation_id, \
            direction, author, body, status, created_at_ms, updated_at_ms, history) \
            VALUES ($1, $2, $3, $4, 'out', $5, $6, 'queued', $7, $7, $8)";
        let line = history_line(MessageStatus::Queued, None, now_ms);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(insert)
                .bind(reply.id.to_string()).bind(conversation.tenant_id.to_string())
                .bind(conversation.id.to_string()).bind(conversation.installation_id.to_string())
                .bind(&reply.author).bind(&reply.body).bind(now_ms).bind(&line)
                .execute(&mut *tx).await?;
            sqlx::query("UPDATE conversations SET messages = messages + 1, last_message_at_ms = $2 WHERE id = $1")
                .bind(conversation.id.to_string()).bind(now_ms).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, Error>(())
        })
    }

    /// Puts a dead message back in line: attempts reset, status `received` or `queued`.
    pub async fn revive(&self, message: &MessageRow, detail: &str, now_ms: i64) -> Result<bool> {
        let status = if message.direction == "in" {
            MessageStatus::Received
        } else {
            MessageStatus::Queued
        };
        let line = history_line(status, Some(detail), now_ms);
        let changed = on_db!(&self.db, pool => sqlx::query(
            "UPDATE messages SET status = $2, attempts = 0, next_attempt_at_ms = NULL, \
             updated_at_ms = $3, history = history || $4 WHERE id = $1 AND status = 'dead'")
            .bind(&message.id).bind(status.as_str()).bind(now_ms).bind(&line)
            .execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(changed == 1)
    }

    /// One message.
    pub async fn message(&self, id: Uuid) -> Result<Option<MessageRow>> {
        let sql = format!("SELECT {MESSAGE_COLS} FROM messages WHERE id = $1");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, MessageRow>(&sql)
            .bind(id.to_string()).fetch_optional(pool).await)?,
        )
    }

    /// A message's status history, oldest first (none for a message that does not exist).
    pub async fn history(&self, id: Uuid) -> Result<Vec<StatusChange>> {
        let history: Option<String> = on_db!(&self.db, pool => sqlx::query_scalar(
            "SELECT history FROM messages WHERE id = $1")
            .bind(id.to_string()).fetch_optional(pool).await)?;
        parse_history(history.as_deref().unwrap_or_default())
    }

    /// A conversation's messages in order, after `after` (a seq).
    pub async fn messages(
        &self,
        conversation: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3"
        );
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, MessageRow>(&sql)
            .bind(conversation.to_string()).bind(after).bind(i64::from(limit))
            .fetch_all(pool).await)?,
        )
    }

    /// A tenant's dead messages, oldest first, after `after` (a seq).
    pub async fn dead_letters(
        &self,
        tenant: Uuid,
        after: i64,
        limit: u32,
    ) -> Result<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE tenant_id = $1 AND status = 'dead' \
             AND seq > $2 ORDER BY seq LIMIT $3"
        );
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, MessageRow>(&sql)
            .bind(tenant.to_string()).bind(after).bind(i64::from(limit))
            .fetch_all(pool).await)?,
        )
    }

    /// One conversation.
    pub async fn conversation(&self, id: Uuid) -> Result<Option<Conversation>> {
        let sql = format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1");
        if let Some(writer) = &self.writer {
            let row =
                writer.read(|conn| query_opt(conn, &sql, &[&id.to_string()], conversation_row))?;
            return row.map(Conversation::try_from).transpose();
        }
        let row = on_db!(&self.db, pool => sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(id.to_string()).fetch_optional(pool).await)?;
        row.map(Conversation::try_from).transpose()
    }

    /// A tenant's conversations, most recently active first.
    pub async fn conversations(
        &self,
        tenant: Uuid,
        filter: &ConversationFilter,
    ) -> Result<ConversationPage> {
        let (before_ms, before_id) = match filter.after.as_deref() {
            None => (i64::MAX, String::new()),
            Some(cursor) => {
                let (ms, id) = cursor.split_once(':').ok_or_else(|| {
                    Error::invalid(
                        "after",
                        "not a cursor this API gave; pass a page's `next` as is",
                    )
                })?;
                let ms = ms.parse::<i64>().map_err(|_| {
                    Error::invalid(
                        "after",
                        "not a cursor this API gave; pass a page's `next` as is",
                    )
                })?;
                (ms, id.to_owned())
            }
        };
        let sql = format!(
            "SELECT {CONVERSATION_COLS} FROM conversations WHERE tenant_id = $1 \
             AND ($2 = '' OR last_message_at_ms < $3 OR (last_message_at_ms = $3 AND id < $2)) \
             AND ($4 IS NULL OR installation_id = $4) AND ($5 IS NULL OR contact_id = $5) \
             AND ($6 IS NULL OR mode = $6) AND ($7 IS NULL OR assignee = $7) \
             ORDER BY last_message_at_ms DESC, id DESC LIMIT $8"
        );
        let limit = filter.limit.clamp(1, 200);
        let before_ms = if before_id.is_empty() {
            i64::MAX
        } else {
            before_ms
        };
        let rows = on_db!(&self.db, pool => sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(tenant.to_string()).bind(&before_id).bind(before_ms)
            .bind(filter.installation_id.map(|i| i.to_string()))
            .bind(filter.contact_id.map(|i| i.to_string()))
            .bind(filter.mode.map(|m| m.as_str()))
            .bind(filter.assignee.map(|i| i.to_string()))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool).await)?;
        let mut items = rows
            .into_iter()
            .map(Conversation::try_from)
            .collect::<Result<Vec<_>>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|c| format!("{}:{}", c.last_message_at_ms, c.id))
        } else {
            None
        };
        Ok(ConversationPage { items, next })
    }

    /// Sets a conversation's mode and assignee, appending `event` in the same transaction.
    pub async fn set_mode(
        &self,
        id: Uuid,
        mode: ConversationMode,
        assignee: Option<Uuid>,
        event: &EventRecord,
    ) -> Result<()> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE conversations SET mode = $2, assignee = $3 WHERE id = $1")
                .bind(id.to_string()).bind(mode.as_str()).bind(assignee.map(|a| a.to_string()))
                .execute(&mut *tx).await?;
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok::<_, Error>(())
        })
    }

    /// Notes the contact behind a conversation.
    pub async fn set_contact(&self, id: Uuid, contact: Uuid) -> Result<()> {
        if let Some(writer) = &self.writer {
            let (id, contact) = (id.to_string(), contact.to_string());
            return writer
                .run(move |conn| execute(conn, SET_CONTACT, &[&id, &contact]).map(|_| ()))
                .await;
        }
        on_db!(&self.db, pool => sqlx::query(SET_CONTACT)
            .bind(id.to_string()).bind(contact.to_string()).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// A tenant's routing rules (none, version 0, when never set).
    pub async fn rules(&self, tenant: Uuid) -> Result<RoutingRules> {
        let row: Option<(String, i64)> = on_db!(&self.db, pool => sqlx::query_as(
            "SELECT rules, version FROM routing_rules WHERE tenant_id = $1")
            .bind(tenant.to_string()).fetch_optional(pool).await)?;
        Ok(match row {
            None => RoutingRules::default(),
            Some((rules, version)) => RoutingRules {
                rules: serde_json::from_str::<Vec<RoutingRule>>(&rules).map_err(Error::internal)?,
                version,
            },
        })
    }

    /// Replaces a tenant's rules if their version is still `expected` (when given); returns the
    /// new version.
    pub async fn put_rules(
        &self,
        tenant: Uuid,
        rules: &[RoutingRule],
        expected: Option<i64>,
        now_ms: i64,
        event: &EventRecord,
    ) -> Result<i64> {
        let json = serde_json::to_string(rules).map_err(Error::internal)?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_write().await?;
            // Writes first, so that SQLite takes its write lock before the read.
            sqlx::query("INSERT INTO routing_rules (tenant_id, rules, version, updated_at_ms) \
                         VALUES ($1, '[]', 0, $2) ON CONFLICT (tenant_id) DO NOTHING")
                .bind(tenant.to_string()).bind(now_ms).execute(&mut *tx).await?;
            // A no-op update locks the row (PostgreSQL) before the version is read.
            sqlx::query("UPDATE routing_rules SET version = version WHERE tenant_id = $1")
                .bind(tenant.to_string()).execute(&mut *tx).await?;
            let current: i64 = sqlx::query_scalar("SELECT version FROM routing_rules WHERE tenant_id = $1")
                .bind(tenant.to_string()).fetch_one(&mut *tx).await?;
            if let Some(expected) = expected
                && expected != current
            {
                return Err(Error::conflict(format!(
                    "the rules are at version {current}, not {expected}: read them again and reapply your change"
                )));
            }
            sqlx::query("UPDATE routing_rules SET rules = $2, version = version + 1, updated_at_ms = $3 WHERE tenant_id = $1")
                .bind(tenant.to_string()).bind(&json).bind(now_ms).execute(&mut *tx).await?;
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok(current + 1)
        })
    }
}
