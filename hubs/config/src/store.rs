//! The config hub's tables, behind one [`ConfigStore`] over [`Db`].
//!
//! Every query is written once for both backends and run through [`nave_hub_core::on_db!`] (see
//! `nave_hub_core::db` for why). Every change goes through [`ConfigStore::write`], one database
//! transaction that, in this order:
//!
//! 1. increments the hub's change counter — its first statement is a write, so SQLite takes the
//!    write lock at once and PostgreSQL makes concurrent writers wait on the counter row: writes
//!    are serialized, and versions commit in order and without gaps;
//! 2. reads the setting's current row and checks the caller's expected version;
//! 3. appends the change (with the value it replaced) and updates the current row;
//! 4. appends the event.

use nave_hub_core::db::HubMigrations;
use nave_hub_core::events::AppendEvent;
use nave_hub_core::ids::stored_id;
use nave_hub_core::{AuthContext, Db, DbConfig, Error, NewEvent, Result, on_db};

use crate::types::{ChangeAction, Scope, ScopeKind};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The config hub's migrations for both backends.
pub const MIGRATIONS: HubMigrations = HubMigrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// A row of `config_values`: what is set now at one scope.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ValueRow {
    pub scope: String,
    pub key: String,
    /// JSON text of a plain value.
    pub value: Option<String>,
    /// A sealed secret.
    pub sealed: Option<Vec<u8>>,
    pub version: i64,
}

/// A row of `config_changes`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChangeRow {
    pub version: i64,
    pub scope: String,
    pub key: String,
    pub tenant_id: Option<String>,
    pub installation_id: Option<String>,
    pub action: String,
    pub value: Option<String>,
    pub sealed: Option<Vec<u8>>,
    pub previous: Option<String>,
    pub previous_sealed: Option<Vec<u8>>,
    pub rolled_back_to: Option<i64>,
    pub actor: String,
    pub correlation_id: String,
    pub at_ms: i64,
}

impl ChangeRow {
    /// The scope this change was made at.
    pub fn scope(&self) -> Result<Scope> {
        scope_of(
            &self.scope,
            self.tenant_id.as_deref(),
            self.installation_id.as_deref(),
        )
    }
}

/// Rebuilds a scope from its stored columns.
pub fn scope_of(scope: &str, tenant: Option<&str>, installation: Option<&str>) -> Result<Scope> {
    let kind = scope.split(':').next().unwrap_or_default();
    let kind = ScopeKind::parse("scope", kind)
        .map_err(|_| Error::internal_msg(format!("stored config scope `{scope}` is unknown")))?;
    Scope::from_parts(
        kind,
        tenant.map(stored_id).transpose()?,
        installation.map(stored_id).transpose()?,
    )
    .map_err(|_| Error::internal_msg(format!("stored config scope `{scope}` is inconsistent")))
}

/// One change to record with [`ConfigStore::write`].
#[derive(Debug, Clone)]
pub struct Write {
    /// Where.
    pub scope: Scope,
    /// Which setting.
    pub key: String,
    /// What happens.
    pub action: ChangeAction,
    /// The plain value after it (JSON text).
    pub value: Option<String>,
    /// The sealed secret after it.
    pub sealed: Option<Vec<u8>>,
    /// For rollbacks.
    pub rolled_back_to: Option<i64>,
    /// Refuse unless the current version at the scope is this one (0: never set there).
    pub expected_version: Option<u64>,
    /// Refuse with `not_found` when nothing is set at the scope (for unsets).
    pub must_be_set: bool,
    /// When.
    pub now_ms: i64,
    /// The event to append; the store adds the version.
    pub event: NewEvent,
}

const CHANGE_COLS: &str = "version, scope, key, tenant_id, installation_id, action, value, \
     sealed, previous, previous_sealed, rolled_back_to, actor, correlation_id, at_ms";

/// Typed access to the config tables.
#[derive(Debug, Clone)]
pub struct ConfigStore {
    /// The hub's own database.
    db: Db,
}

impl ConfigStore {
    /// Connects to the hub's database and migrates it.
    pub async fn open(config: &DbConfig) -> Result<Self> {
        Ok(Self {
            db: Db::connect(config, MIGRATIONS).await?,
        })
    }

    /// The underlying database (for the event log).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The values set at any of `scopes` (storage keys), of one setting or of all.
    pub async fn values(&self, scopes: &[String], key: Option<&str>) -> Result<Vec<ValueRow>> {
        // At most three scopes: global, a tenant, an installation.
        let mut scopes = scopes.to_vec();
        scopes.resize(3, String::new());
        let filter = if key.is_some() { "AND key = $4" } else { "" };
        let sql = format!(
            "SELECT scope, key, value, sealed, version FROM config_values \
             WHERE scope IN ($1, $2, $3) AND (value IS NOT NULL OR sealed IS NOT NULL) {filter}"
        );
        Ok(on_db!(&self.db, pool => {
            let mut q = sqlx::query_as::<_, ValueRow>(&sql)
                .bind(&scopes[0])
                .bind(&scopes[1])
                .bind(&scopes[2]);
            if let Some(key) = key {
                q = q.bind(key);
            }
            q.fetch_all(pool).await
        })?)
    }

    /// One change, by version.
    pub async fn change(&self, version: i64) -> Result<Option<ChangeRow>> {
        let sql = format!("SELECT {CHANGE_COLS} FROM config_changes WHERE version = $1");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, ChangeRow>(&sql)
            .bind(version)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The newest `limit` changes of one setting at one scope, newest first.
    pub async fn history(&self, scope: &str, key: &str, limit: i64) -> Result<Vec<ChangeRow>> {
        let sql = format!(
            "SELECT {CHANGE_COLS} FROM config_changes WHERE scope = $1 AND key = $2 \
             ORDER BY version DESC LIMIT $3"
        );
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, ChangeRow>(&sql)
            .bind(scope)
            .bind(key)
            .bind(limit)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Up to `limit` changes with a version above `after`, oldest first.
    pub async fn changes_after(&self, after: i64, limit: i64) -> Result<Vec<ChangeRow>> {
        let sql = format!(
            "SELECT {CHANGE_COLS} FROM config_changes WHERE version > $1 ORDER BY version LIMIT $2"
        );
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, ChangeRow>(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Records one change, all or nothing (see the module docs for the steps).
    pub async fn write(&self, ctx: &AuthContext, w: &Write) -> Result<ChangeRow> {
        let scope = w.scope.storage_key();
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let version: i64 = sqlx::query_scalar(
                "UPDATE config_counter SET version = version + 1 WHERE id = 1 RETURNING version",
            )
            .fetch_one(&mut *tx)
            .await?;
            let current = sqlx::query_as::<_, ValueRow>(
                "SELECT scope, key, value, sealed, version FROM config_values \
                 WHERE scope = $1 AND key = $2",
            )
            .bind(&scope)
            .bind(&w.key)
            .fetch_optional(&mut *tx)
            .await?;
            check_current(w, current.as_ref())?;
            let row = ChangeRow {
                version,
                scope: scope.clone(),
                key: w.key.clone(),
                tenant_id: w.scope.tenant_id().map(|t| t.to_string()),
                installation_id: w.scope.installation_id().map(|i| i.to_string()),
                action: w.action.as_str().to_owned(),
                value: w.value.clone(),
                sealed: w.sealed.clone(),
                previous: current.as_ref().and_then(|c| c.value.clone()),
                previous_sealed: current.as_ref().and_then(|c| c.sealed.clone()),
                rolled_back_to: w.rolled_back_to,
                actor: ctx.actor(),
                correlation_id: ctx.correlation_id.clone(),
                at_ms: w.now_ms,
            };
            let insert = format!(
                "INSERT INTO config_changes ({CHANGE_COLS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            );
            sqlx::query(&insert)
                .bind(row.version)
                .bind(&row.scope)
                .bind(&row.key)
                .bind(&row.tenant_id)
                .bind(&row.installation_id)
                .bind(&row.action)
                .bind(&row.value)
                .bind(&row.sealed)
                .bind(&row.previous)
                .bind(&row.previous_sealed)
                .bind(row.rolled_back_to)
                .bind(&row.actor)
                .bind(&row.correlation_id)
                .bind(row.at_ms)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO config_values \
                 (scope, key, tenant_id, installation_id, value, sealed, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (scope, key) DO UPDATE SET \
                 value = excluded.value, sealed = excluded.sealed, version = excluded.version",
            )
            .bind(&row.scope)
            .bind(&row.key)
            .bind(&row.tenant_id)
            .bind(&row.installation_id)
            .bind(&row.value)
            .bind(&row.sealed)
            .bind(row.version)
            .execute(&mut *tx)
            .await?;
            let mut event = w.event.clone();
            if let Some(payload) = event.payload.as_object_mut() {
                payload.insert("version".into(), version.into());
            }
            tx.append_event(&event.record(ctx, w.now_ms)).await?;
            tx.commit().await?;
            Ok(row)
        })
    }
}

impl ConfigStore {
    /// Rebuilds `config_values` — a projection — from `config_changes`, the log of every
    /// change: each setting at each scope takes the value of its newest change (an unset leaves
    /// the empty row that keeps its version). One transaction, serialized with writers through
    /// the counter row like [`ConfigStore::write`]; returns the number of rows rebuilt.
    pub async fn rebuild_values(&self) -> Result<u64> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE config_counter SET version = version WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM config_values").execute(&mut *tx).await?;
            let rebuilt = sqlx::query(
                "INSERT INTO config_values \
                 (scope, key, tenant_id, installation_id, value, sealed, version) \
                 SELECT c.scope, c.key, c.tenant_id, c.installation_id, c.value, c.sealed, \
                 c.version FROM config_changes c WHERE c.version = \
                 (SELECT MAX(d.version) FROM config_changes d \
                  WHERE d.scope = c.scope AND d.key = c.key)",
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(rebuilt)
        })
    }
}

/// The optimistic-concurrency and "is it set" checks of a write against the current row.
fn check_current(w: &Write, current: Option<&ValueRow>) -> Result<()> {
    let at = current.map_or(0, |c| c.version);
    if let Some(expected) = w.expected_version
        && i64::try_from(expected).ok() != Some(at)
    {
        return Err(Error::conflict(format!(
            "`{}` at {} is at version {at}, not the expected {expected}: someone changed it \
             meanwhile; read it again and retry with its current version",
            w.key, w.scope
        )));
    }
    let is_set = current.is_some_and(|c| c.value.is_some() || c.sealed.is_some());
    if w.must_be_set && !is_set {
        return Err(Error::not_found(format!(
            "`{}` is not set at {}; nothing to unset",
            w.key, w.scope
        )));
    }
    Ok(())
}
