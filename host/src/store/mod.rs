//! The host's database: the plugin registry, installations, kv stores and inbound events.
//!
//! SQLite in the data folder, in WAL mode, migrated at start-up. Queries are checked at run
//! time (`sqlx::query_as`), so building the host needs no database.
//!
//! SQLite takes one writer at a time. What runs for every message — inbound events, the
//! inbox cursor and the spokes' kv stores — goes through a [`SqliteWriter`]: whole operations,
//! group-committed (many webhooks, one transaction), run by the callers themselves rather than
//! by a thread per connection. The rest (plugins, installations) writes through a sqlx pool of
//! one connection and reads through a pool of its own (WAL readers do not block the writer).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use nave_hub_core::writer::{SqliteWriter, execute, query_all, query_opt};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{FromRow, Row};
use uuid::Uuid;

use crate::runtime::Manifest;

/// A handle on the host database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    /// Readers.
    pool: SqlitePool,
    /// The one sqlx writer connection.
    writer: SqlitePool,
    /// The hot paths: events, the inbox cursor, kv.
    hot: SqliteWriter,
}

/// One uploaded version of a plugin, without its bytes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PluginVersion {
    /// The spoke's name from `describe()`.
    pub name: String,
    /// Its version from `describe()`.
    pub version: String,
    /// `channel`, `bot` or `processor`.
    pub role: String,
    /// `sha256:<hex>` of the component's bytes.
    pub digest: String,
    /// Size of the component in bytes.
    pub size: i64,
    /// What `describe()` returned.
    pub manifest: Manifest,
    /// When it was uploaded (RFC 3339).
    pub created_at: String,
}

#[derive(FromRow)]
struct PluginVersionRow {
    name: String,
    version: String,
    role: String,
    digest: String,
    size: i64,
    manifest: String,
    created_at: String,
}

impl TryFrom<PluginVersionRow> for PluginVersion {
    type Error = anyhow::Error;
    fn try_from(row: PluginVersionRow) -> anyhow::Result<PluginVersion> {
        Ok(PluginVersion {
            manifest: serde_json::from_str(&row.manifest).context("stored manifest")?,
            name: row.name,
            version: row.version,
            role: row.role,
            digest: row.digest,
            size: row.size,
            created_at: row.created_at,
        })
    }
}

/// An installation as stored: secret settings still sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallationRecord {
    /// Its id, used in the webhook URL.
    pub id: Uuid,
    /// The tenant that owns it.
    pub tenant: String,
    /// The plugin's name.
    pub plugin: String,
    /// The pinned version.
    pub version: String,
    /// Setting name → value; secret values are sealed.
    pub settings: std::collections::BTreeMap<String, String>,
    /// Hosts the tenant granted for outbound calls.
    pub allowed_hosts: Vec<String>,
    /// Per-installation call deadline, when it overrides the operator's default.
    pub deadline_ms: Option<u64>,
    /// Per-installation memory cap, when it overrides the operator's default.
    pub memory_mib: Option<u64>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
}

#[derive(FromRow)]
struct InstallationRow {
    id: String,
    tenant: String,
    plugin: String,
    version: String,
    settings: String,
    allowed_hosts: String,
    deadline_ms: Option<i64>,
    memory_mib: Option<i64>,
    created_at: String,
    updated_at: String,
}

impl TryFrom<InstallationRow> for InstallationRecord {
    type Error = anyhow::Error;
    fn try_from(row: InstallationRow) -> anyhow::Result<InstallationRecord> {
        Ok(InstallationRecord {
            id: Uuid::from_str(&row.id).context("stored installation id")?,
            tenant: row.tenant,
            plugin: row.plugin,
            version: row.version,
            settings: serde_json::from_str(&row.settings).context("stored settings")?,
            allowed_hosts: serde_json::from_str(&row.allowed_hosts).context("stored hosts")?,
            deadline_ms: row.deadline_ms.map(|v| v as u64),
            memory_mib: row.memory_mib.map(|v| v as u64),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// An event to store from a webhook.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The channel's id of the message or notice.
    pub channel_id: String,
    /// `message`, `postback`, `delivery` or `read`.
    pub kind: &'static str,
    /// The normalized event, serialized to JSON once on the webhook path.
    pub payload: String,
}

/// An inbox event as the feeder reads it.
#[derive(Debug, Clone)]
pub struct InboxEvent {
    /// Position in the inbox.
    pub seq: i64,
    /// The channel installation's id.
    pub installation: String,
    /// Its tenant.
    pub tenant: String,
    /// `message`, `postback`, `delivery` or `read`.
    pub kind: String,
    /// The event as JSON.
    pub payload: String,
    /// The webhook's correlation id.
    pub correlation_id: String,
}

/// A stored inbound event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredEvent {
    /// Position in the host's event sequence; pass it as `after` to page on.
    pub seq: i64,
    /// The channel's id of the message or notice.
    pub channel_id: String,
    /// `message`, `postback`, `delivery` or `read`.
    pub kind: String,
    /// The normalized event.
    pub payload: serde_json::Value,
    /// The correlation id of the webhook request that brought it.
    pub correlation_id: String,
    /// When the host received it (RFC 3339).
    pub received_at: String,
}

/// Why a kv write was refused.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The installation's quota would be exceeded.
    #[error("kv quota of {quota} bytes exceeded ({used} bytes in use, {wanted} more wanted)")]
    Quota {
        /// The quota.
        quota: u64,
        /// Bytes stored now.
        used: u64,
        /// Bytes the write adds.
        wanted: u64,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] nave_hub_core::Error),
}

/// The current time as RFC 3339, as stored.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats as RFC 3339")
}

impl Store {
    /// Opens (creating) `dir/nave.db` and runs the migrations.
    pub async fn open(dir: &Path) -> anyhow::Result<Store> {
        let options = SqliteConnectOptions::new()
            .filename(dir.join("nave.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // No ping before each use: a file does not drop a connection.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening the database in {}", dir.display()))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .context("migrating the database")?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("opening the database in {}", dir.display()))?;
        let hot = SqliteWriter::open(&dir.join("nave.db"), "host")
            .with_context(|| format!("opening the database in {}", dir.display()))?;
        Ok(Store { pool, writer, hot })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    // --- plugins -------------------------------------------------------------------------

    /// Stores a new plugin version; `false` when the same name and version already exist.
    pub async fn insert_plugin_version(
        &self,
        plugin: &PluginVersion,
        wasm: &[u8],
    ) -> sqlx::Result<bool> {
        let manifest = serde_json::to_string(&plugin.manifest).expect("manifest serializes");
        let done = sqlx::query(
            "INSERT INTO plugin_versions (name, version, role, digest, manifest, size, wasm, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&plugin.name)
        .bind(&plugin.version)
        .bind(&plugin.role)
        .bind(&plugin.digest)
        .bind(manifest)
        .bind(plugin.size)
        .bind(wasm)
        .bind(&plugin.created_at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    const PLUGIN_COLUMNS: &str = "name, version, role, digest, size, manifest, created_at";

    /// The version with this digest, if uploaded.
    pub async fn plugin_by_digest(&self, digest: &str) -> anyhow::Result<Option<PluginVersion>> {
        let sql = format!(
            "SELECT {} FROM plugin_versions WHERE digest = ?",
            Self::PLUGIN_COLUMNS
        );
        let row: Option<PluginVersionRow> = sqlx::query_as(&sql)
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?;
        row.map(PluginVersion::try_from).transpose()
    }

    /// One version of a plugin, if uploaded.
    pub async fn plugin_version(
        &self,
        name: &str,
        version: &str,
    ) -> anyhow::Result<Option<PluginVersion>> {
        let sql = format!(
            "SELECT {} FROM plugin_versions WHERE name = ? AND version = ?",
            Self::PLUGIN_COLUMNS
        );
        let row: Option<PluginVersionRow> = sqlx::query_as(&sql)
            .bind(name)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        row.map(PluginVersion::try_from).transpose()
    }

    /// The bytes of the component with this digest.
    pub async fn plugin_wasm(&self, digest: &str) -> sqlx::Result<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT wasm FROM plugin_versions WHERE digest = ?")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await
    }

    /// Every version of every plugin, by name then upload order.
    pub async fn plugin_versions(&self, name: Option<&str>) -> anyhow::Result<Vec<PluginVersion>> {
        let sql = format!(
            "SELECT {} FROM plugin_versions WHERE (?1 IS NULL OR name = ?1) ORDER BY name, created_at, version",
            Self::PLUGIN_COLUMNS
        );
        let rows: Vec<PluginVersionRow> = sqlx::query_as(&sql)
            .bind(name)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(PluginVersion::try_from).collect()
    }

    // --- installations -------------------------------------------------------------------

    const INSTALLATION_COLUMNS: &str = "id, tenant, plugin, version, settings, allowed_hosts, deadline_ms, memory_mib, created_at, updated_at";

    /// Inserts a new installation or replaces the one with the same id.
    pub async fn save_installation(&self, record: &InstallationRecord) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO installations (id, tenant, plugin, version, settings, allowed_hosts, deadline_ms, memory_mib, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, settings = excluded.settings,
               allowed_hosts = excluded.allowed_hosts, deadline_ms = excluded.deadline_ms,
               memory_mib = excluded.memory_mib, updated_at = excluded.updated_at",
        )
        .bind(record.id.to_string())
        .bind(&record.tenant)
        .bind(&record.plugin)
        .bind(&record.version)
        .bind(serde_json::to_string(&record.settings).expect("settings serialize"))
        .bind(serde_json::to_string(&record.allowed_hosts).expect("hosts serialize"))
        .bind(record.deadline_ms.map(|v| v as i64))
        .bind(record.memory_mib.map(|v| v as i64))
        .bind(&record.created_at)
        .bind(&record.updated_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Every installation, for loading at start-up.
    pub async fn installations(&self) -> anyhow::Result<Vec<InstallationRecord>> {
        let sql = format!(
            "SELECT {} FROM installations ORDER BY created_at",
            Self::INSTALLATION_COLUMNS
        );
        let rows: Vec<InstallationRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        rows.into_iter().map(InstallationRecord::try_from).collect()
    }

    /// Removes an installation with its kv store; its events stay for the record.
    pub async fn delete_installation(&self, id: Uuid) -> sqlx::Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM kv WHERE installation = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM kv_usage WHERE installation = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM installations WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    // --- subscription saga runs ---------------------------------------------------------

    /// The installation id given to subscription saga run `run`, choosing `fresh` on the first
    /// call; later calls return the first choice.
    pub async fn run_installation(&self, run: Uuid, fresh: Uuid) -> sqlx::Result<Uuid> {
        sqlx::query(
            "INSERT INTO saga_installations (run_id, installation, created_at) VALUES (?, ?, ?)
             ON CONFLICT (run_id) DO NOTHING",
        )
        .bind(run.to_string())
        .bind(fresh.to_string())
        .bind(now())
        .execute(&self.writer)
        .await?;
        self.installation_of_run(run)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// The installation id given to subscription saga run `run`, if any.
    pub async fn installation_of_run(&self, run: Uuid) -> sqlx::Result<Option<Uuid>> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT installation FROM saga_installations WHERE run_id = ?")
                .bind(run.to_string())
                .fetch_optional(&self.writer)
                .await?;
        id.map(|id| Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e))))
            .transpose()
    }

    // --- kv --------------------------------------------------------------------------------

    /// The value under `key` in an installation's store.
    pub async fn kv_get(
        &self,
        installation: Uuid,
        key: &str,
    ) -> nave_hub_core::Result<Option<Vec<u8>>> {
        self.hot.read(|conn| {
            query_opt(
                conn,
                "SELECT value FROM kv WHERE installation = $1 AND key = $2",
                &[&installation.to_string(), &key],
                |row| row.get(0),
            )
        })
    }

    /// Stores `value` under `key` unless the installation's quota would be exceeded.
    ///
    /// Keys and values count in bytes; a value replaced stops counting.
    pub async fn kv_set(
        &self,
        installation: Uuid,
        key: &str,
        value: &[u8],
        quota: u64,
    ) -> Result<(), KvError> {
        let (key, value) = (key.to_owned(), value.to_vec());
        self.hot
            .run(move |conn| {
                let id = installation.to_string();
                let used = query_opt(
                    conn,
                    "SELECT bytes FROM kv_usage WHERE installation = $1",
                    &[&id],
                    |row| row.get::<_, i64>(0),
                )?
                .unwrap_or(0) as u64;
                let replaced = stored_size(conn, &id, &key)?;
                let wanted = (key.len() + value.len()) as u64;
                let after = used.saturating_sub(replaced) + wanted;
                if after > quota {
                    return Ok(Err(KvError::Quota {
                        quota,
                        used,
                        wanted,
                    }));
                }
                execute(
                    conn,
                    "INSERT INTO kv (installation, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (installation, key) DO UPDATE SET value = excluded.value",
                    &[&id, &key, &value],
                )?;
                execute(
                    conn,
                    "INSERT INTO kv_usage (installation, bytes) VALUES ($1, $2)
                     ON CONFLICT (installation) DO UPDATE SET bytes = excluded.bytes",
                    &[&id, &(after as i64)],
                )?;
                Ok(Ok(()))
            })
            .await?
    }

    /// Removes `key` from an installation's store.
    pub async fn kv_delete(&self, installation: Uuid, key: &str) -> nave_hub_core::Result<()> {
        let key = key.to_owned();
        self.hot
            .run(move |conn| {
                let id = installation.to_string();
                let size = stored_size(conn, &id, &key)?;
                if size == 0 {
                    return Ok(());
                }
                execute(
                    conn,
                    "DELETE FROM kv WHERE installation = $1 AND key = $2",
                    &[&id, &key],
                )?;
                execute(
                    conn,
                    "UPDATE kv_usage SET bytes = MAX(bytes - $2, 0) WHERE installation = $1",
                    &[&id, &(size as i64)],
                )
                .map(|_| ())
            })
            .await
    }

    /// The keys starting with `prefix`, in byte order.
    pub async fn kv_keys(
        &self,
        installation: Uuid,
        prefix: &str,
        limit: u32,
    ) -> nave_hub_core::Result<Vec<String>> {
        let prefix = prefix.to_owned();
        self.hot
            .run(move |conn| {
                // substr() rather than LIKE: a prefix may contain `%` or `_`.
                query_all(
                    conn,
                    "SELECT key FROM kv WHERE installation = $1 AND substr(key, 1, length($2)) = $2
                     ORDER BY key LIMIT $3",
                    &[&installation.to_string(), &prefix, &i64::from(limit)],
                    |row| row.get(0),
                )
            })
            .await
    }

    // --- events ----------------------------------------------------------------------------

    /// Stores events, skipping those whose channel id the installation already has.
    ///
    /// Returns, per event, whether it was new. All or none are written, in one transaction shared with
    /// the other webhooks being stored at the same time.
    pub async fn insert_events(
        &self,
        installation: Uuid,
        tenant: &str,
        correlation_id: &str,
        events: Vec<NewEvent>,
    ) -> anyhow::Result<Vec<bool>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (tenant, correlation_id) = (tenant.to_owned(), correlation_id.to_owned());
        let new = self
            .hot
            .run(move |conn| {
                let (installation, received_at) = (installation.to_string(), now());
                events
                    .iter()
                    .map(|event| {
                        execute(
                            conn,
                            "INSERT INTO events (installation, tenant, channel_id, kind, payload, correlation_id, received_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (installation, channel_id) DO NOTHING",
                            &[
                                &installation,
                                &tenant,
                                &event.channel_id,
                                &event.kind,
                                &event.payload,
                                &correlation_id,
                                &received_at,
                            ],
                        )
                        .map(|changed| changed > 0)
                    })
                    .collect()
            })
            .await
            .context("storing inbound events")?;
        Ok(new)
    }

    /// Moves the inbox cursor to `done` (the last event the message hub took), if given, then
    /// reads up to `limit` events after the cursor, oldest first: one operation per batch fed.
    ///
    /// Returns the cursor with the events.
    pub async fn inbox_next(
        &self,
        done: Option<i64>,
        limit: u32,
    ) -> nave_hub_core::Result<(i64, Vec<InboxEvent>)> {
        self.hot
            .run(move |conn| {
                if let Some(seq) = done {
                    execute(
                        conn,
                        "INSERT INTO cursors (name, seq) VALUES ('inbox', $1)
                         ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
                        &[&seq],
                    )?;
                }
                let cursor = query_opt(
                    conn,
                    "SELECT seq FROM cursors WHERE name = 'inbox'",
                    &[],
                    |row| row.get(0),
                )?
                .unwrap_or(0);
                let events = inbox_after(conn, cursor, limit)?;
                Ok((cursor, events))
            })
            .await
    }

    /// An installation's events after `after` (a `seq`), oldest first.
    pub async fn events(
        &self,
        installation: Uuid,
        after: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT seq, channel_id, kind, payload, correlation_id, received_at FROM events
             WHERE installation = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(installation.to_string())
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(StoredEvent {
                    seq: row.get("seq"),
                    channel_id: row.get("channel_id"),
                    kind: row.get("kind"),
                    payload: serde_json::from_str(row.get::<&str, _>("payload"))
                        .context("stored event")?,
                    correlation_id: row.get("correlation_id"),
                    received_at: row.get("received_at"),
                })
            })
            .collect()
    }
}

/// The bytes a stored key and its value count for (0 if the key is not stored).
fn stored_size(
    conn: &rusqlite::Connection,
    installation: &str,
    key: &str,
) -> nave_hub_core::Result<u64> {
    let size = query_opt(
        conn,
        "SELECT length(CAST(key AS BLOB)) + length(value) FROM kv
         WHERE installation = $1 AND key = $2",
        &[&installation, &key],
        |row| row.get::<_, i64>(0),
    )?;
    Ok(size.unwrap_or(0) as u64)
}

/// Every installation's events after `after`, oldest first, with their raw payload.
fn inbox_after(
    conn: &rusqlite::Connection,
    after: i64,
    limit: u32,
) -> nave_hub_core::Result<Vec<InboxEvent>> {
    query_all(
        conn,
        "SELECT seq, installation, tenant, kind, payload, correlation_id FROM events
         WHERE seq > $1 ORDER BY seq LIMIT $2",
        &[&after, &i64::from(limit)],
        |row| {
            Ok(InboxEvent {
                seq: row.get(0)?,
                installation: row.get(1)?,
                tenant: row.get(2)?,
                kind: row.get(3)?,
                payload: row.get(4)?,
                correlation_id: row.get(5)?,
            })
        },
    )
}
