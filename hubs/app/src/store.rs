//! The app hub's tables, behind one [`AppStore`] over [`Db`].
//!
//! Every query is written once for both backends and run through [`nave_hub_core::on_db!`] (see
//! `nave_hub_core::db` for why). Each write is one database transaction that makes the change and
//! appends its event, so the log never misses or invents a change. Writes that check before they
//! change (names, versions, a subscription's status) start with a write, so SQLite takes its
//! write lock at once, and guard their `UPDATE`s with the state they expect, so a concurrent
//! change makes them fail cleanly instead of overwriting.

use nave_hub_core::db::HubMigrations;
use nave_hub_core::events::{AppendEvent, EventRecord};
use nave_hub_core::{Db, DbConfig, Error, Result, on_db};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The app hub's migrations for both backends.
pub const MIGRATIONS: HubMigrations = HubMigrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// A row of `listings`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListingRow {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub owner_tenant_id: Option<String>,
    pub display_name: String,
    pub description: String,
    pub publisher: String,
    pub role: String,
    pub icon_url: Option<String>,
    pub fee_amount: i64,
    pub fee_currency: String,
    pub unlisted: i64,
    pub latest_version: Option<String>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A row of `versions`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub listing_id: String,
    pub version: String,
    pub sha256: String,
    pub role: String,
    pub uploaded_by: String,
    pub uploaded_at_ms: i64,
}

/// A row of `subscriptions`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubscriptionRow {
    pub id: String,
    pub tenant_id: String,
    pub listing_id: String,
    pub app_name: String,
    pub version: String,
    pub previous_version: Option<String>,
    pub status: String,
    pub fee_amount: i64,
    pub fee_currency: String,
    pub hold_id: Option<String>,
    pub fee_captured: i64,
    pub installation_id: Option<String>,
    pub failure: Option<String>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// What [`AppStore::insert_version`] did.
#[derive(Debug)]
pub enum VersionInsert {
    /// Recorded now.
    Inserted(VersionRow),
    /// Already recorded with the same digest: nothing changed.
    Existing(VersionRow),
    /// Already recorded with another digest.
    Conflict(VersionRow),
}

const LISTING_COLS: &str = "id, name, scope, owner_tenant_id, display_name, description, \
     publisher, role, icon_url, fee_amount, fee_currency, unlisted, latest_version, created_by, \
     created_at_ms, updated_at_ms";
const VERSION_COLS: &str = "listing_id, version, sha256, role, uploaded_by, uploaded_at_ms";
const SUB_COLS: &str = "id, tenant_id, listing_id, app_name, version, previous_version, status, \
     fee_amount, fee_currency, hold_id, fee_captured, installation_id, failure, created_by, \
     created_at_ms, updated_at_ms";

/// Typed access to the app tables.
#[derive(Debug, Clone)]
pub struct AppStore {
    /// The hub's own database.
    db: Db,
}

impl AppStore {
    /// Connects to the hub's database and migrates it.
    pub async fn open(config: &DbConfig) -> Result<Self> {
        Ok(Self {
            db: Db::connect(config, MIGRATIONS).await?,
        })
    }

    /// The underlying database (event log, saga runner).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// One listing.
    pub async fn listing(&self, id: &str) -> Result<Option<ListingRow>> {
        let sql = format!("SELECT {LISTING_COLS} FROM listings WHERE id = $1");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, ListingRow>(&sql)
            .bind(id).fetch_optional(pool).await)?,
        )
    }

    /// Every listing with this name (public and any tenant's private ones).
    pub async fn listings_named(&self, name: &str) -> Result<Vec<ListingRow>> {
        let sql = format!("SELECT {LISTING_COLS} FROM listings WHERE name = $1 ORDER BY scope");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, ListingRow>(&sql)
            .bind(name).fetch_all(pool).await)?,
        )
    }

    /// Public listings and those private to `tenant` (every listing when `None`), by name.
    pub async fn catalogue(&self, tenant: Option<&str>) -> Result<Vec<ListingRow>> {
        let filter = if tenant.is_some() {
            "WHERE scope = '' OR scope = $1"
        } else {
            ""
        };
        let sql = format!("SELECT {LISTING_COLS} FROM listings {filter} ORDER BY name, scope");
        Ok(on_db!(&self.db, pool => {
            let mut q = sqlx::query_as::<_, ListingRow>(&sql);
            if let Some(t) = tenant {
                q = q.bind(t);
            }
            q.fetch_all(pool).await
        })?)
    }

    /// Inserts a listing unless its name is taken: for a public one by any listing, for a
    /// private one by the public listing or the tenant's own (`conflict` naming which).
    pub async fn insert_listing(&self, row: &ListingRow, event: &EventRecord) -> Result<()> {
        let sql = format!(
            "INSERT INTO listings ({LISTING_COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // Insert first (takes SQLite's write lock), then look for a clash; roll back on one.
            let inserted = sqlx::query(&format!("{sql} ON CONFLICT (name, scope) DO NOTHING"))
                .bind(&row.id).bind(&row.name).bind(&row.scope).bind(&row.owner_tenant_id)
                .bind(&row.display_name).bind(&row.description).bind(&row.publisher)
                .bind(&row.role).bind(&row.icon_url).bind(row.fee_amount).bind(&row.fee_currency)
                .bind(row.unlisted).bind(&row.latest_version).bind(&row.created_by)
                .bind(row.created_at_ms).bind(row.updated_at_ms)
                .execute(&mut *tx).await?.rows_affected();
            let clash: Option<String> = if row.scope.is_empty() {
                sqlx::query_scalar("SELECT scope FROM listings WHERE name = $1 AND id <> $2 LIMIT 1")
                    .bind(&row.name).bind(&row.id).fetch_optional(&mut *tx).await?
            } else {
                sqlx::query_scalar("SELECT scope FROM listings WHERE name = $1 AND scope = '' LIMIT 1")
                    .bind(&row.name).fetch_optional(&mut *tx).await?
            };
            if inserted == 0 || clash.is_some() {
                tx.rollback().await?;
                let message = match (inserted, clash.as_deref(), row.scope.is_empty()) {
                    (_, Some(""), false) => format!(
                        "a public app is named `{}`: a private app may not shadow it; choose another name",
                        row.name
                    ),
                    (_, Some(_), true) => format!(
                        "a tenant's private app is named `{}`: choose another name for the public app",
                        row.name
                    ),
                    _ if row.scope.is_empty() => format!("a public app named `{}` exists", row.name),
                    _ => format!("this tenant already has a private app named `{}`", row.name),
                };
                return Err(Error::conflict(message));
            }
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Writes a listing's changeable fields back.
    pub async fn update_listing(&self, row: &ListingRow, event: &EventRecord) -> Result<()> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE listings SET display_name = $1, description = $2, publisher = $3, \
                 icon_url = $4, fee_amount = $5, unlisted = $6, updated_at_ms = $7 WHERE id = $8",
            )
            .bind(&row.display_name).bind(&row.description).bind(&row.publisher)
            .bind(&row.icon_url).bind(row.fee_amount).bind(row.unlisted).bind(row.updated_at_ms)
            .bind(&row.id)
            .execute(&mut *tx).await?;
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// A listing's versions (any order).
    pub async fn versions(&self, listing_id: &str) -> Result<Vec<VersionRow>> {
        let sql = format!("SELECT {VERSION_COLS} FROM versions WHERE listing_id = $1");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, VersionRow>(&sql)
            .bind(listing_id).fetch_all(pool).await)?,
        )
    }

    /// One version of a listing.
    pub async fn version(&self, listing_id: &str, version: &str) -> Result<Option<VersionRow>> {
        let sql =
            format!("SELECT {VERSION_COLS} FROM versions WHERE listing_id = $1 AND version = $2");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, VersionRow>(&sql)
            .bind(listing_id).bind(version).fetch_optional(pool).await)?,
        )
    }

    /// Records a version and the listing's new latest version, or reports the one already there.
    /// `latest` computes the newest version from the listing's versions after the insert.
    pub async fn insert_version(
        &self,
        row: &VersionRow,
        latest: impl Fn(&[String]) -> Option<String> + Send,
        event: &EventRecord,
    ) -> Result<VersionInsert> {
        let insert = format!(
            "INSERT INTO versions ({VERSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (listing_id, version) DO NOTHING"
        );
        let select =
            format!("SELECT {VERSION_COLS} FROM versions WHERE listing_id = $1 AND version = $2");
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(&insert)
                .bind(&row.listing_id).bind(&row.version).bind(&row.sha256).bind(&row.role)
                .bind(&row.uploaded_by).bind(row.uploaded_at_ms)
                .execute(&mut *tx).await?.rows_affected();
            if inserted == 0 {
                let existing = sqlx::query_as::<_, VersionRow>(&select)
                    .bind(&row.listing_id).bind(&row.version)
                    .fetch_one(&mut *tx).await?;
                tx.rollback().await?;
                return Ok(if existing.sha256 == row.sha256 {
                    VersionInsert::Existing(existing)
                } else {
                    VersionInsert::Conflict(existing)
                });
            }
            let all: Vec<String> = sqlx::query_scalar("SELECT version FROM versions WHERE listing_id = $1")
                .bind(&row.listing_id).fetch_all(&mut *tx).await?;
            sqlx::query("UPDATE listings SET latest_version = $1 WHERE id = $2")
                .bind(latest(&all)).bind(&row.listing_id)
                .execute(&mut *tx).await?;
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok(VersionInsert::Inserted(row.clone()))
        })
    }

    /// One subscription.
    pub async fn subscription(&self, id: &str) -> Result<Option<SubscriptionRow>> {
        let sql = format!("SELECT {SUB_COLS} FROM subscriptions WHERE id = $1");
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, SubscriptionRow>(&sql)
            .bind(id).fetch_optional(pool).await)?,
        )
    }

    /// A tenant's subscriptions, newest first.
    pub async fn subscriptions(&self, tenant_id: &str) -> Result<Vec<SubscriptionRow>> {
        let sql = format!(
            "SELECT {SUB_COLS} FROM subscriptions WHERE tenant_id = $1 \
             ORDER BY created_at_ms DESC, id DESC"
        );
        Ok(
            on_db!(&self.db, pool => sqlx::query_as::<_, SubscriptionRow>(&sql)
            .bind(tenant_id).fetch_all(pool).await)?,
        )
    }

    /// How many of a tenant's subscriptions are active.
    pub async fn active_count(&self, tenant_id: &str) -> Result<i64> {
        Ok(on_db!(&self.db, pool => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM subscriptions WHERE tenant_id = $1 AND status = 'active'",
        )
        .bind(tenant_id).fetch_one(pool).await)?)
    }

    /// Inserts a subscription; `false` (and no event) when its id exists already.
    pub async fn insert_subscription(
        &self,
        row: &SubscriptionRow,
        event: &EventRecord,
    ) -> Result<bool> {
        let sql = format!(
            "INSERT INTO subscriptions ({SUB_COLS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (id) DO NOTHING"
        );
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(&sql)
                .bind(&row.id).bind(&row.tenant_id).bind(&row.listing_id).bind(&row.app_name)
                .bind(&row.version).bind(&row.previous_version).bind(&row.status)
                .bind(row.fee_amount).bind(&row.fee_currency).bind(&row.hold_id)
                .bind(row.fee_captured).bind(&row.installation_id).bind(&row.failure)
                .bind(&row.created_by).bind(row.created_at_ms).bind(row.updated_at_ms)
                .execute(&mut *tx).await?.rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Writes a subscription's changeable fields back if its status is still `expected`;
    /// `false` (and no event) when it changed meanwhile.
    pub async fn update_subscription(
        &self,
        row: &SubscriptionRow,
        expected: &str,
        event: &EventRecord,
    ) -> Result<bool> {
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE subscriptions SET version = $1, previous_version = $2, status = $3, \
                 fee_captured = $4, installation_id = $5, failure = $6, updated_at_ms = $7 \
                 WHERE id = $8 AND status = $9",
            )
            .bind(&row.version).bind(&row.previous_version).bind(&row.status)
            .bind(row.fee_captured).bind(&row.installation_id).bind(&row.failure)
            .bind(row.updated_at_ms).bind(&row.id).bind(expected)
            .execute(&mut *tx).await?.rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.append_event(event).await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
