//! The hub's append-only event log: every state change, who caused it and under which request.
//!
//! Each hub database has a `hub_events` table (created by the core migrations). Hubs append in the
//! same transaction as the change they record, through [`AppendEvent`] on the transaction's
//! connection, so the log never misses or invents a change. Later issues read it for audit and
//! replay through [`EventLog::read`], page by page in `seq` order.

use std::future::Future;

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::from_millis;
use crate::context::AuthContext;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::ids::{new_id, stored_id};

/// The largest page [`EventLog::read`] returns.
pub const MAX_PAGE: u32 = 500;

/// A state change to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The tenant the change belongs to, if any (`None` for platform-level changes).
    pub tenant_id: Option<Uuid>,
    /// Dotted kind, e.g. `identity.user.signed_up`.
    pub kind: &'static str,
    /// Details of the change; never secrets (no passwords, tokens or key material).
    pub payload: serde_json::Value,
}

impl NewEvent {
    /// A platform-level event.
    pub fn new(kind: &'static str, payload: serde_json::Value) -> Self {
        Self {
            tenant_id: None,
            kind,
            payload,
        }
    }

    /// Returns this event attributed to a tenant.
    pub fn in_tenant(mut self, tenant_id: Uuid) -> Self {
        self.tenant_id = Some(tenant_id);
        self
    }

    /// Fixes the event's id, actor, correlation id and time.
    pub fn record(&self, ctx: &AuthContext, at_ms: i64) -> EventRecord {
        EventRecord {
            id: new_id(),
            tenant_id: self.tenant_id,
            actor: ctx.actor(),
            kind: self.kind.to_owned(),
            payload: self.payload.to_string(),
            correlation_id: ctx.correlation_id.clone(),
            at_ms,
        }
    }
}

/// An event ready to be written.
#[derive(Debug, Clone)]
pub struct EventRecord {
    id: Uuid,
    tenant_id: Option<Uuid>,
    actor: String,
    kind: String,
    payload: String,
    correlation_id: String,
    at_ms: i64,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in this hub's log; increases with every append.
    pub seq: i64,
    /// Unique id of the event.
    pub id: Uuid,
    /// The tenant it belongs to, if any.
    pub tenant_id: Option<Uuid>,
    /// Who caused it (`user:<id>`, `api_key:<id>`, `system`, `anonymous`).
    pub actor: String,
    /// Dotted kind, e.g. `identity.user.signed_up`.
    pub kind: String,
    /// Details of the change.
    pub payload: serde_json::Value,
    /// The correlation id of the request that caused it.
    pub correlation_id: String,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Which events to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventScope {
    /// Every event of the hub.
    All,
    /// Only events without a tenant.
    Platform,
    /// Only events of one tenant.
    Tenant(Uuid),
}

/// One page of events and where the next one starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    /// Events in `seq` order.
    pub events: Vec<Event>,
    /// Pass as `after_seq` to read the next page; `None` when this was the last one.
    pub next_after_seq: Option<i64>,
}

/// Appends an event on a connection, typically a transaction's, so it commits with the change.
pub trait AppendEvent {
    /// Writes the event and returns its `seq`.
    fn append_event(&mut self, event: &EventRecord) -> impl Future<Output = Result<i64>> + Send;
}

const INSERT: &str = "INSERT INTO hub_events (id, tenant_id, actor, kind, payload, correlation_id, at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq";

macro_rules! impl_append {
    ($conn:ty) => {
        impl AppendEvent for $conn {
            async fn append_event(&mut self, e: &EventRecord) -> Result<i64> {
                let seq: i64 = sqlx::query_scalar(INSERT)
                    .bind(e.id.to_string())
                    .bind(e.tenant_id.map(|t| t.to_string()))
                    .bind(&e.actor)
                    .bind(&e.kind)
                    .bind(&e.payload)
                    .bind(&e.correlation_id)
                    .bind(e.at_ms)
                    .fetch_one(&mut *self)
                    .await?;
                Ok(seq)
            }
        }
    };
}
impl_append!(SqliteConnection);
impl_append!(PgConnection);

/// Appends an event on a [`crate::writer::SqliteWriter`]'s connection, inside its operation.
pub fn append_event_sync(conn: &rusqlite::Connection, e: &EventRecord) -> Result<i64> {
    let seq = crate::writer::query_opt(
        conn,
        INSERT,
        &[
            &e.id.to_string(),
            &e.tenant_id.map(|t| t.to_string()),
            &e.actor,
            &e.kind,
            &e.payload,
            &e.correlation_id,
            &e.at_ms,
        ],
        |row| row.get::<_, i64>(0),
    )?;
    seq.ok_or_else(|| Error::internal_msg("appending an event returned no seq"))
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    id: String,
    tenant_id: Option<String>,
    actor: String,
    kind: String,
    payload: String,
    correlation_id: String,
    at_ms: i64,
}

impl EventRow {
    fn into_event(self) -> Result<Event> {
        Ok(Event {
            seq: self.seq,
            id: stored_id(&self.id)?,
            tenant_id: self.tenant_id.as_deref().map(stored_id).transpose()?,
            actor: self.actor,
            kind: self.kind,
            payload: serde_json::from_str(&self.payload).map_err(Error::internal)?,
            correlation_id: self.correlation_id,
            at: from_millis(self.at_ms)?,
        })
    }
}

const COLUMNS: &str = "seq, id, tenant_id, actor, kind, payload, correlation_id, at_ms";

/// Reads (and, outside transactions, appends to) a hub's event log.
#[derive(Debug, Clone)]
pub struct EventLog {
    /// The hub's database, which holds `hub_events`.
    db: Db,
}

impl EventLog {
    /// The log in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Appends one event on its own (for changes that need no other write).
    pub async fn append(&self, record: &EventRecord) -> Result<i64> {
        crate::on_db!(&self.db, pool => {
            let mut conn = pool.acquire().await?;
            conn.append_event(record).await
        })
    }

    /// Reads up to `limit` (at most [`MAX_PAGE`]) events with `seq > after_seq`, oldest first.
    pub async fn read(&self, scope: EventScope, after_seq: i64, limit: u32) -> Result<EventPage> {
        let limit = limit.clamp(1, MAX_PAGE);
        let fetch = i64::from(limit) + 1;
        let (filter, tenant) = match scope {
            EventScope::All => ("", None),
            EventScope::Platform => ("AND tenant_id IS NULL", None),
            EventScope::Tenant(t) => ("AND tenant_id = $3", Some(t.to_string())),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM hub_events WHERE seq > $1 {filter} ORDER BY seq LIMIT $2"
        );
        let rows: Vec<EventRow> = crate::on_db!(&self.db, pool => {
            let mut q = sqlx::query_as::<_, EventRow>(&sql).bind(after_seq).bind(fetch);
            if let Some(t) = &tenant {
                q = q.bind(t.clone());
            }
            q.fetch_all(pool).await
        })?;
        let more = rows.len() > limit as usize;
        let events = rows
            .into_iter()
            .take(limit as usize)
            .map(EventRow::into_event)
            .collect::<Result<Vec<_>>>()?;
        let next_after_seq = if more {
            events.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(EventPage {
            events,
            next_after_seq,
        })
    }
}
